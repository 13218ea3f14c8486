"""What a run shows in TensorBoard's SCALARS: the loss, and with `log.details` every weight and its gradient.

The x axis counts updates. Everything at step s belongs to the weights after s updates: the weights themselves,
the loss and outputs of the forward pass through them, the gradient there, which update s + 1 applies (after
Lightning's gradient clipping, if any), and the picture. So with plain SGD (optimizer=sgd, the default)
weights(s + 1) = weights(s) - lr * grads(s); other optimizers step from grads(s) and their own state (momentum, Adam's
moments), as their documented update rule says (the hparams' `update`).
A point every `trainer.log_every_n_steps` updates (1: every update), and one after the last update (no gradient:
none is applied; loss and outputs where an update sees every instance).

Tags:
    loss                          L of the update, summed over its instances (its batch or the batches it
                                  accumulates, and DDP's processes)
    weights/w11 ... weights/v22   each weight (a histogram weights/W for a matrix of more than `max_scalars`)
    grads/w11 ... grads/v22       dL/dw as the update applies it (grads/W likewise)
    losses/instance1 ...          per-instance loss and outputs (log/instances.py)
    outputs/instance1_y1 ...
The images are log/pictures.py's, the HPARAMS log/hparams.py's; with `log.animation` this callback feeds the loss
curve to training.gif (log/animation.py), and with `log.page` every row it writes to training.html (log/page.py).
"""

import torch
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.loggers import TensorBoardLogger
from tensorboard.compat.proto.summary_pb2 import Summary

from backprop_by_example.log.instances import InstanceValues
from backprop_by_example.network import weight_names


def tensorboard_of(loggers):
    """The TensorBoardLogger among `loggers` (conf/logger), or None."""
    return next((logger for logger in loggers if isinstance(logger, TensorBoardLogger)), None)


class BackpropLog(Callback):
    """Writes the loss, and with `details` everything else listed above, to the run's loggers (conf/logger).

    An update's scalars are gathered into one tensor (a few tensor ops, no wait for the device), and `WRITE_EVERY`
    updates at a time they become one row {tag: value} per update. TensorBoard gets each row as one event, straight to
    its writer: LightningModule.log costs about half a millisecond per value and step (more than the seed's whole
    training step), add_scalar about 50 us per value, and waking the writer's thread every update another 0.2 ms.
    Every other logger gets the same rows through its public `log_metrics(row, step)`; the histograms and the network
    picture of each due epoch go to TensorBoard only.
    """

    WRITE_EVERY = 20

    def __init__(
        self, details, max_scalars, max_instances, picture_every_n_epochs, picture=None, animation=None, page=None
    ):
        self.details = details
        self.picture = picture  # log/pictures.NetworkPicture, with `details`
        self.max_scalars = max_scalars
        self.max_instances = max_instances
        self.picture_every = picture_every_n_epochs
        self.every = 1  # trainer.log_every_n_steps
        self.whole = False  # whether every update sees all instances (one batch per update, DDP's shares summed)
        self.instances = None  # InstanceValues, with `details`
        self.tags = []  # the scalars' tags, in the order of each update's values
        self.dtype = None  # the weights': every value is written in it
        self.scalars, self.histograms = [], []  # the weight matrices logged entry by entry, and as histograms
        self.flat_weights = []  # views of the first, one row each: they follow the weights as the updates go
        self.step = 0  # updates so far (Lightning's global_step as of the last batch's end)
        self.loss = None  # L of the batches of the update under way
        self.weights, self.weight_histograms = [], []  # copies of the weights after `step` updates, where logged
        self.pending = []  # (step, [loss, weights, gradients, instance values]) of the updates not yet written
        self.animation = animation  # the TrainingAnimation that gets the loss curve, if any
        self.page = page  # the TrainingPage that gets every row written, if any
        self.tensorboard = None  # TensorBoard's SummaryWriter, if it is among the loggers
        self.others = []  # the other loggers

    def on_train_start(self, trainer, module):
        """The tags of each update's values, in their order: the loss, every weight, every gradient, per instance."""
        self.every, self.dtype = trainer.log_every_n_steps, module.net.W.dtype
        tensorboard = tensorboard_of(trainer.loggers)
        self.tensorboard = tensorboard.experiment if tensorboard else None
        self.others = [logger for logger in trainer.loggers if logger is not tensorboard]
        batches = trainer.num_training_batches  # of each epoch, as limit_train_batches leaves them
        whole_epoch = batches == trainer.datamodule.batches_per_epoch()
        self.whole = whole_epoch and -(-batches // trainer.accumulate_grad_batches) == 1
        self.instances = InstanceValues(trainer, module, self.whole and self.details, self.max_instances)
        matrices = self.matrices(module) if self.details else []
        self.scalars = [A for _, A in matrices if self.as_scalars(A)]
        histograms = self.tensorboard is not None
        self.histograms = [(letter, A) for letter, A in matrices if not self.as_scalars(A) and histograms]
        self.flat_weights = [A.detach().view(-1) for A in self.scalars]
        names = [name for letter, A in matrices if self.as_scalars(A) for name in weight_names(letter, *A.shape)]
        self.tags = ["loss"] + [f"weights/{n}" for n in names] + [f"grads/{n}" for n in names]
        self.tags += self.instances.tags if self.instances.on else []
        self.step = trainer.global_step
        if self.step % self.every == 0:
            self.copy_weights()

    def on_train_epoch_start(self, trainer, module):
        """The network picture, where it is due; the loss curve so far to the animation, whose frame of this moment
        (its hook, after this one) shows it."""
        if self.picture is not None:
            self.picture.at_epoch_start(trainer, module)
        if self.animation is not None and trainer.current_epoch % self.picture_every == 0:
            self.write(trainer)

    def on_train_batch_start(self, trainer, module, batch, batch_idx):
        """Each instance's values before a logged update, where the training step's outputs are not every instance's
        in order (shuffled, accumulated, shared out to DDP's processes) or not there (the by_hand engines): a forward
        pass of their own."""
        if self.loss is None and self.step % self.every == 0 and trainer.is_global_zero:
            self.instances.before_update(trainer, module)

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
        """The end of a batch: its loss added to the update's; after the update's last batch, its values."""
        loss = outputs["batch_loss"]
        self.loss = loss if self.loss is None else self.loss + loss
        step, logged = trainer.global_step, self.step % self.every == 0
        if step == self.step:  # accumulate_grad_batches: the update is still to come
            return
        if logged and trainer.world_size > 1:  # L summed over the processes' shares (every process calls this)
            self.loss = trainer.strategy.reduce(self.loss, reduce_op="sum")
        if logged and trainer.is_global_zero:
            # The gradients just applied. No copies needed: Lightning sets them to None before each update
            # (optimizer.zero_grad), so each update's are tensors of their own; a clipped one is clipped in place.
            grads = [A.grad for A in self.scalars]
            if self.histograms:
                self.log_histograms(trainer)
            self.instances.of_step(outputs)
            self.pending.append((self.step, [self.loss, *self.weights, *grads, *self.instances.values]))
            if len(self.pending) >= self.WRITE_EVERY:
                self.write(trainer)
        self.step, self.loss = step, None
        if step % self.every == 0:
            self.copy_weights()

    def copy_weights(self):
        """The weights after `step` updates: copies (one op for all the scalars), for the next update changes them
        in place."""
        self.weights = [torch.cat(self.flat_weights)] if self.flat_weights else []
        self.weight_histograms = [A.detach().clone() for _, A in self.histograms]

    def log_histograms(self, trainer):
        """The matrices of more than `max_scalars` entries, and their gradients, at the update just logged."""
        for (letter, A), weights in zip(self.histograms, self.weight_histograms, strict=True):
            self.tensorboard.add_histogram(f"weights/{letter.upper()}", weights, self.step)
            self.tensorboard.add_histogram(f"grads/{letter.upper()}", A.grad, self.step)

    def on_train_end(self, trainer, module):
        """The point after the last update: its weights, and where it saw every instance, the loss and outputs."""
        if not trainer.is_global_zero:
            return
        self.write(trainer)
        step, values = trainer.global_step, {}
        if self.whole:
            instance_values = self.instances.eager(trainer, module)
            values["loss"] = instance_values[: len(self.instances.T)].sum().item()
            if self.instances.on:
                values |= dict(zip(self.instances.tags, instance_values.tolist(), strict=True))
        self.add_to_curve([(step, values["loss"])] if "loss" in values else [])
        names = [tag for tag in self.tags if tag.startswith("weights/")]
        values |= dict(zip(names, torch.cat(self.flat_weights).tolist() if self.flat_weights else [], strict=True))
        for letter, A in self.histograms:
            self.tensorboard.add_histogram(f"weights/{letter.upper()}", A.detach(), step)
        self.write_event(trainer, values, step)
        if self.page is not None:
            self.page.add_last(self.tags, step, values)
        if self.picture is not None:
            self.picture.at_end(trainer, module)

    def on_exception(self, trainer, module, exception):
        self.write(trainer)  # a stop, or an error: what was logged so far is in the event file

    def on_save_checkpoint(self, trainer, module, checkpoint):
        """Every update up to a checkpoint in the event file, on disk: also where a stop ends the process without
        Lightning's handling of it (a worker of ddp_spawn)."""
        if trainer.is_global_zero:
            self.write(trainer)
            if self.tensorboard is not None:
                self.tensorboard.flush()
            for logger in self.others:
                logger.save()

    def write(self, trainer):
        """The pending updates' values as one row per update, to every logger (a few tensor ops for all of them)."""
        if not self.pending:
            return
        steps, values = zip(*self.pending, strict=True)
        columns = [torch.stack(column).reshape(len(steps), -1).to(self.dtype) for column in zip(*values, strict=True)]
        rows = torch.cat(columns, dim=1).tolist()
        for row, step in zip(rows, steps, strict=True):
            self.write_event(trainer, dict(zip(self.tags, row, strict=True)), step)
        self.add_to_curve([(step, row[0]) for row, step in zip(rows, steps, strict=True)])
        if self.page is not None:
            self.page.add_rows(self.tags, list(zip(steps, rows, strict=True)))
        self.pending = []

    def add_to_curve(self, points):
        if self.animation is not None:
            self.animation.add_losses(points)

    def write_event(self, trainer, values, step):
        """One update's row {tag: value} to every logger."""
        if self.tensorboard is not None:
            scalars = [Summary.Value(tag=tag, simple_value=v) for tag, v in values.items()]
            self.tensorboard.file_writer.add_summary(Summary(value=scalars), step)
        for logger in self.others:
            logger.log_metrics(values, step)

    def as_scalars(self, A):
        return A.numel() <= self.max_scalars

    @staticmethod
    def matrices(module):
        """The weight matrices with their letters, in the order of the tags."""
        return ("w", module.net.W), ("v", module.net.V)
