"""The LightningModule: the seed's network, summed squared error, plain SGD."""

import lightning as L
import torch

from backprop_by_example.network import Network, squared_error


class BackpropModule(L.LightningModule):
    """L = sum over instances and outputs of (Y - T)**2; one SGD step W -= lr * dL/dW, V -= lr * dL/dV."""

    def __init__(self, W, V, lr, compile=False):
        super().__init__()
        self.save_hyperparameters()
        self.net = Network(W, V)
        if compile:  # one fused kernel for the pass, and through AOTAutograd for its backward
            self.outputs_and_losses = torch.compile(self.outputs_and_losses)
        # Epochs these weights have been trained for. A buffer, so that it travels with the weights: into
        # checkpoints (resume) and back from the worker processes of ddp_spawn.
        self.register_buffer("epochs_done", torch.zeros((), dtype=torch.long))

    def forward(self, X):
        return self.net(X)

    def outputs_and_losses(self, X, T):
        """Y = net(X) and each instance's loss sum((y - t)**2)."""
        Y = self.net(X)
        return Y, squared_error(Y, T)

    def loss(self, X, T):
        """Summed over the batch, so its gradient is the sum of the per-instance gradients (seed cells 23-24)."""
        return self.outputs_and_losses(X, T)[1].sum()

    def training_step(self, batch, batch_idx):
        X, T = (b.to(self.net.W.dtype) for b in batch)
        loss = self.loss(X, T)
        # DDP averages the gradients of its processes, each of which holds a share of the instances:
        # world_size times the mean of the shares' gradients is their sum, the gradient of the summed loss.
        # batch_loss is for the TensorBoard log (tensorboard_log.BackpropLog, cheaper than self.log).
        return {"loss": loss * self.trainer.world_size, "batch_loss": loss.detach()}

    def on_train_epoch_end(self):
        self.epochs_done.add_(1)

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=self.hparams.lr)
