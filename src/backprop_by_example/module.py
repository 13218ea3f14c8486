"""The LightningModule: the seed's network, summed squared error, plain SGD."""

import lightning as L
import torch

from backprop_by_example.network import Network, squared_error


class BackpropModule(L.LightningModule):
    """L = sum over instances and outputs of (Y - T)**2; one SGD step W -= lr * dL/dW, V -= lr * dL/dV."""

    def __init__(self, W, V, lr):
        super().__init__()
        self.save_hyperparameters()
        self.net = Network(W, V)

    def forward(self, X):
        return self.net(X)

    def loss(self, X, T):
        """Summed over the batch, so its gradient is the sum of the per-instance gradients (seed cells 23-24)."""
        return squared_error(self.net(X), T).sum()

    def training_step(self, batch, batch_idx):
        X, T = (b.to(self.net.W.dtype) for b in batch)
        Y = self(X)
        losses = squared_error(Y, T)
        loss = losses.sum()
        self.log("loss", loss, on_step=False, on_epoch=True, prog_bar=True, batch_size=len(X))
        return {"loss": loss, "losses": losses.detach(), "Y": Y.detach()}  # the extras for the TensorBoard log

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=self.hparams.lr)
