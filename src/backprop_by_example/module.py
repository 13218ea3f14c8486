"""The LightningModule: the seed's network, summed squared error, plain SGD."""

from contextlib import nullcontext

import lightning as L
import torch

from backprop_by_example import torch_by_hand
from backprop_by_example.network import Network, squared_error


class BackpropModule(L.LightningModule):
    """L = sum over instances and outputs of (Y - T)**2; one SGD step W -= lr * dL/dW, V -= lr * dL/dV.

    W and V are the weights a run started from (at a resume: those of the run it continues, kept as hparams).
    `gradients`: "autograd", or "by_hand" for the seed's own derivation (torch_by_hand.SquaredError).
    """

    def __init__(self, W, V, lr, compile=False, gradients="autograd"):
        super().__init__()
        self.save_hyperparameters()
        self.net = Network(W, V)
        self.example_input_array = torch.zeros(1, len(W))  # one instance: the model summary's FLOPs and sizes
        # the loss whose backward pass trains: autograd's, or the seed's derivation (compiled in `setup`)
        self.loss = self.autograd_loss if gradients == "autograd" else self.by_hand_loss
        # Y and the per-instance losses, in the arithmetic of the training step (compiled with its loss, if that is)
        self.step_outputs = self.outputs_and_losses
        self.keep_outputs = False  # whether the training step trains on them and returns them (the log asks)
        self.scale = 1  # see on_train_start
        self.by_hand = torch_by_hand.squared_error
        # Complete epochs and updates these weights have had. Buffers, so that they travel with the weights: into
        # checkpoints and back from the worker processes of ddp_spawn.
        self.register_buffer("epochs_done", torch.zeros((), dtype=torch.long))
        self.register_buffer("steps_done", torch.zeros((), dtype=torch.long))
        self.register_buffer("steps_skipped", torch.zeros((), dtype=torch.long))  # see on_before_optimizer_step
        self.scaled = False  # whether a loss scaler may skip updates (16-mixed on CUDA)

    def setup(self, stage):
        """With model.compile, the loss and its gradient compiled, in each process that trains (a compiled function
        does not survive ddp_spawn's pickling). Each for the shapes it meets (dynamic=False): a smaller last batch
        gets a graph of its own, so that no sum runs in a graph compiled for another size, as one long serial loop."""
        if not self.hparams.compile:
            return
        if self.hparams.gradients == "autograd":
            self.loss = torch.compile(self.autograd_loss, dynamic=False)
            self.step_outputs = torch.compile(self.outputs_and_losses, dynamic=False)  # compiled when first called
        else:
            self.by_hand = torch_by_hand.Fused()

    @property
    def reads_columns(self):
        """Whether its step reads the data column by column (the fused engine, unit by unit: data.TrainingData)."""
        return self.hparams.gradients == "by_hand" and self.hparams.compile

    @property
    def with_outputs(self):
        """Whether the training step can train on Y and the per-instance losses: autograd's loss is their sum."""
        return self.hparams.gradients == "autograd"

    def forward(self, X):
        return self.net(X)

    def outputs_and_losses(self, X, T):
        """Y = net(X) and each instance's loss sum((y - t)**2)."""
        Y = self.net(X)
        return Y, squared_error(Y, T)

    def outputs_as_trained(self, X, T):
        """Y and each instance's loss as the training step computes them, eagerly, without gradients; called under
        the precision's forward_context, as the step is: in autocast, but for the fused engine, which computes in the
        weights' dtype whatever the precision (torch_by_hand.Fused)."""
        fused = torch_by_hand.without_autocast(X.device) if self.reads_columns else nullcontext()
        with torch.no_grad(), fused:
            return self.outputs_and_losses(X, T)

    def autograd_loss(self, X, T):
        """Summed over the batch, so its gradient is the sum of the per-instance gradients (seed cells 23-24)."""
        return squared_error(self.net(X), T).sum()

    def by_hand_loss(self, X, T):
        """The same sum, its gradient worked out by hand (torch_by_hand)."""
        return self.by_hand(X, T, self.net.W, self.net.V)

    def training_step(self, batch, batch_idx):
        """The batch's summed loss, to train on; `batch_loss` and `outputs` (with `keep_outputs`, the batch's Y and
        per-instance losses, else None) for the TensorBoard log (tensorboard_log.BackpropLog: cheaper than self.log)."""
        X, T = batch  # already in the weights' dtype (data.TrainingData)
        if self.keep_outputs:
            Y, losses = self.step_outputs(X, T)
            loss, outputs = losses.sum(), (Y.detach(), losses.detach())
        else:  # the sum alone: a compiled loss need not write Y and the losses for anyone
            loss, outputs = self.loss(X, T), None
        trained = loss * self.scale if self.scale != 1 else loss
        return {"loss": trained, "batch_loss": loss.detach(), "outputs": outputs}

    def on_train_start(self):
        # The gradient is that of the loss summed over every instance of the update, but Lightning averages:
        # DDP averages the gradients of its processes, each of which holds a share of the instances, and
        # accumulate_grad_batches divides each batch's loss by their number. Scaled back up, the update is the
        # seed's sum.
        self.scale = self.trainer.world_size * self.trainer.accumulate_grad_batches
        self.scaled = getattr(self.trainer.precision_plugin, "scaler", None) is not None
        # A resumed run gets the optimizer state of its checkpoint, learning rate included: the config's lr wins.
        for group in self.trainer.optimizers[0].param_groups:
            group["lr"] = self.hparams.lr

    def on_before_optimizer_step(self, optimizer):
        """16-mixed on CUDA computes in float16 with the loss scaled up (Lightning's torch.amp.GradScaler, from 2**16):
        an update whose gradients overflow (inf or nan, as the seed's first does) is skipped and the scale halved.
        Lightning counts it as a step all the same; counted here as skipped, for the report (no wait for the device)."""
        if self.scaled:
            finite = torch.stack([torch.isfinite(p.grad).all() for p in self.parameters() if p.grad is not None])
            self.steps_skipped += ~finite.all()

    def on_train_end(self):
        self.count_progress()

    def count_progress(self):
        """epochs_done and steps_done from Lightning's own loop counters, as they stand after the last update.

        Called by the checkpoint before it saves (checkpoint.LastCheckpoint), and at the end of the fit.
        """
        fit_loop = self.trainer.fit_loop
        epoch = fit_loop.epoch_progress.current.started - 1  # the epoch under way, or the last one
        self.steps_done.fill_(self.trainer.global_step)
        self.epochs_done.fill_(max(epoch + fit_loop.epoch_loop.batch_progress.is_last_batch, 0))

    def on_load_checkpoint(self, checkpoint):
        checkpoint["state_dict"].setdefault("steps_skipped", torch.zeros((), dtype=torch.long))  # older checkpoints

    def on_save_checkpoint(self, checkpoint):
        checkpoint["precision"] = str(self.trainer.precision)  # a resume must use the same (resume.check)

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=self.hparams.lr)
