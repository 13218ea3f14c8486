"""The LightningModule: the seed's network, summed squared error, plain SGD or the config's optimizer (cells 23-24)."""

import lightning as L
import torch

from backprop_by_example import torch_by_hand
from backprop_by_example.network import Network, squared_error


class BackpropModule(L.LightningModule):
    """L = sum over instances and outputs of (Y - T)**2; one SGD step W -= lr * dL/dW, V -= lr * dL/dV.

    W and V are the weights a run started from (at a resume: those of the run it continues, kept as hparams).
    `gradients`: "autograd", or "by_hand" for the seed's own derivation (torch_by_hand); `compile`: torch.compile it.
    `optimizer`: parameters -> torch.optim.Optimizer (Hydra's partial of conf/optimizer), given `lr`; None: plain SGD.
    """

    def __init__(self, W, V, lr, compile=False, gradients="autograd", optimizer=None):
        super().__init__()
        self.save_hyperparameters(ignore=["optimizer"])  # a checkpoint loads with weights_only: no classes in it
        self.optimizer = optimizer or torch.optim.SGD
        self.net = Network(W, V)
        self.loss_and_outputs = self.autograd_loss if gradients == "autograd" else self.by_hand_loss
        self.by_hand = torch_by_hand.squared_error
        self.scale = 1  # see on_train_start
        self.example_input_array = torch.zeros(1, len(W))  # one instance: the model summary's FLOPs and sizes
        # The complete epochs and updates these weights have had, and the updates float16's loss scaler skipped
        # (run/checkpoint.py, run/skipped.py): buffers, so that they travel with the weights, into checkpoints and
        # back from ddp_spawn's workers
        for name in ("epochs_done", "steps_done", "steps_skipped"):
            self.register_buffer(name, torch.zeros((), dtype=torch.long))

    def setup(self, stage):
        """model.compile: compiled in each process that trains (a compiled function does not survive ddp_spawn's
        pickling), for each shape it meets (a smaller last batch gets a graph of its own)."""
        if self.hparams.compile and self.hparams.gradients == "autograd":
            self.loss_and_outputs = torch.compile(self.autograd_loss, dynamic=False)
        elif self.hparams.compile:
            self.by_hand = torch_by_hand.Fused()

    def forward(self, X):
        return self.net(X)

    def autograd_loss(self, X, T):
        """L summed over the batch, so that its gradient is the sum of the instances' (cells 23-24); and the
        outputs Y and each instance's loss, on the way."""
        Y = self.net(X)
        losses = squared_error(Y, T)
        return losses.sum(), (Y.detach(), losses.detach())

    def by_hand_loss(self, X, T):
        """The same sum, its gradient worked out by hand (torch_by_hand): no outputs on the way."""
        return self.by_hand(X, T, self.net.W, self.net.V), None

    def training_step(self, batch, batch_idx):
        """The batch's summed loss, to train on; and for the callbacks (the log, the progress bar), the same loss
        and `outputs`: Y and each instance's loss, where the engine has them (else None)."""
        X, T = batch  # already in the weights' dtype (data.TrainingData)
        loss, outputs = self.loss_and_outputs(X, T)
        trained = loss * self.scale if self.scale != 1 else loss
        return {"loss": trained, "batch_loss": loss.detach(), "outputs": outputs}

    def on_train_start(self):
        # The gradient is that of the loss summed over every instance of the update, but Lightning averages: DDP
        # averages the gradients of its processes, each of which holds a share of the instances, and
        # accumulate_grad_batches divides each batch's loss by their number. Scaled back up, the update is the seed's.
        self.scale = self.trainer.world_size * self.trainer.accumulate_grad_batches

    def configure_optimizers(self):
        return self.optimizer(self.parameters(), lr=self.hparams.lr)
