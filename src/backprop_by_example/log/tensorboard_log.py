"""What a run shows in TensorBoard: the loss, and with `log.details` every weight, gradient and the network picture.

The x axis counts updates. Everything at step s belongs to the weights after s updates: the weights themselves,
the loss and outputs of the forward pass through them, the gradient there, which update s + 1 applies (after
Lightning's gradient clipping, if any), and the picture. So weights(s + 1) = weights(s) - lr * grads(s).
A point every `trainer.log_every_n_steps` updates (1: every update), and one after the last update (no gradient:
none is applied; loss and outputs where an update sees every instance).

Tags:
    loss                          L of the update, summed over its instances (its batch or the batches it
                                  accumulates, and DDP's processes)
    weights/w11 ... weights/v22   each weight (a histogram weights/W for a matrix of more than `max_scalars`)
    grads/w11 ... grads/v22       dL/dw as the update applies it (grads/W likewise)
    losses/instance1 ...          per-instance loss and outputs, for data sets of at most `max_instances`
    outputs/instance1_y1 ...      instances that every update sees whole
Images: `network`, the picture of `picture.draw`, at the start of epoch 0, of every `picture_every_n_epochs`-th
epoch, and after the last update; the last is also saved as network.png in the run dir.

With `log.animation`, the same moments make the frames of training.gif (animation.TrainingAnimation), whose loss
curve this callback feeds.
"""

from contextlib import nullcontext
from pathlib import Path

import torch
from lightning.pytorch.callbacks import Callback
from tensorboard.compat.proto.summary_pb2 import Summary

from backprop_by_example import torch_by_hand
from backprop_by_example.network import squared_error, weight_names
from backprop_by_example.pictures import picture


class BackpropLog(Callback):
    """Writes the loss, and with `details` everything else listed above, to the run's TensorBoard logger.

    An update's scalars are gathered into one tensor (a few tensor ops, no wait for the device), and `WRITE_EVERY`
    updates at a time they become TensorBoard events, straight to its writer: LightningModule.log costs about
    half a millisecond per value and step (more than the seed's whole training step), add_scalar about 50 us per
    value, and waking the writer's thread every update another 0.2 ms.
    """

    WRITE_EVERY = 20

    def __init__(
        self, run_dir, details, max_scalars, max_instances, picture_every_n_epochs, picture_instance, animation=None
    ):
        self.run_dir = Path(run_dir)
        self.details = details
        self.max_scalars = max_scalars
        self.max_instances = max_instances
        self.picture_every = picture_every_n_epochs
        self.instance = picture_instance - 1
        self.every = 1  # trainer.log_every_n_steps
        self.whole = False  # whether every update sees all instances (one batch per update, DDP's shares summed)
        self.per_instance = False  # and the data set is small enough for per-instance values
        self.from_step = False  # and the training step gives them, in instance order
        self.tags = []  # the scalars' tags, in the order of each update's values
        self.X, self.T = None, None  # the data, on the module's device
        self.dtype = None  # the weights': every value is written in it
        self.scalars, self.histograms = [], []  # the weight matrices logged entry by entry, and as histograms
        self.flat_weights = []  # views of the first, one row each: they follow the weights as the updates go
        self.step = 0  # updates so far (Lightning's global_step as of the last batch's end)
        self.loss = None  # L of the batches of the update under way
        self.weights, self.weight_histograms = [], []  # copies of the weights after `step` updates, where logged
        self.instance_values = []  # each instance's loss and outputs before the update under way, where logged
        self.pending = []  # (step, [loss, weights, gradients, instance values]) of the updates not yet written
        self.animation = animation  # the TrainingAnimation that gets the loss curve, if any

    def on_train_start(self, trainer, module):
        """The tags of each update's values, in their order: the loss, every weight, every gradient, per instance."""
        self.every, self.dtype = trainer.log_every_n_steps, module.net.W.dtype
        batches = trainer.num_training_batches  # of each epoch, as limit_train_batches leaves them
        whole_epoch = batches == trainer.datamodule.batches_per_epoch()
        self.whole = whole_epoch and -(-batches // trainer.accumulate_grad_batches) == 1
        self.X, self.T = (A.to(module.device) for A in (trainer.datamodule.X, trainer.datamodule.T))
        self.per_instance = self.details and self.whole and len(self.T) <= self.max_instances
        # The autograd step trains on the per-instance losses (compiled, if it is): its loss is their sum, and it
        # returns them. They are the instances' when an update is one batch, the data in order, on one process: then
        # the log takes them from the step; else from an eager pass of the same arithmetic (outputs_and_losses)
        one_batch = batches == 1 and trainer.world_size == 1 and not trainer.datamodule.shuffle
        self.from_step = self.per_instance and one_batch and module.hparams.gradients == "autograd"
        matrices = self.matrices(module) if self.details else []
        self.scalars = [A for _, A in matrices if self.as_scalars(A)]
        self.histograms = [(letter, A) for letter, A in matrices if not self.as_scalars(A)]
        self.flat_weights = [A.detach().view(-1) for A in self.scalars]
        names = [name for letter, A in matrices if self.as_scalars(A) for name in weight_names(letter, *A.shape)]
        self.tags = ["loss"] + [f"weights/{n}" for n in names] + [f"grads/{n}" for n in names]
        if self.per_instance:
            instances, outputs = range(1, len(self.T) + 1), range(1, self.T.shape[1] + 1)
            self.tags += [f"losses/instance{i}" for i in instances]
            self.tags += [f"outputs/instance{i}_y{k}" for i in instances for k in outputs]
        self.step = trainer.global_step
        if self.step % self.every == 0:
            self.copy_weights()

    def on_train_epoch_start(self, trainer, module):
        if trainer.is_global_zero and trainer.current_epoch % self.picture_every == 0:
            self.log_picture(trainer, module, trainer.global_step)

    def on_train_batch_start(self, trainer, module, batch, batch_idx):
        """Each instance's values before a logged update, where the training step's outputs are not every instance's
        in order (shuffled, accumulated, shared out to DDP's processes) or not there (the by_hand engines): a forward
        pass of their own."""
        if self.per_instance and not self.from_step and self.loss is None and self.step % self.every == 0:
            if trainer.is_global_zero:
                self.instance_values = [self.outputs_and_losses(trainer, module)]

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
            if self.from_step:  # the training step's own forward pass
                Y, losses = outputs["outputs"]
                self.instance_values = [losses, Y]
            self.pending.append((self.step, [self.loss, *self.weights, *grads, *self.instance_values]))
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
        experiment = trainer.logger.experiment
        for (letter, A), weights in zip(self.histograms, self.weight_histograms, strict=True):
            experiment.add_histogram(f"weights/{letter.upper()}", weights, self.step)
            experiment.add_histogram(f"grads/{letter.upper()}", A.grad, self.step)

    def on_train_end(self, trainer, module):
        """The point after the last update: its weights, and where it saw every instance, the loss and outputs."""
        if not trainer.is_global_zero:
            return
        self.write(trainer)
        step, values = trainer.global_step, {}
        if self.whole:
            instance_values = self.outputs_and_losses(trainer, module)
            values["loss"] = instance_values[: len(self.T)].sum().item()
            if self.per_instance:
                values |= dict(zip(self.tags[-len(instance_values) :], instance_values.tolist(), strict=True))
        self.add_to_curve([(step, values["loss"])] if "loss" in values else [])
        names = [tag for tag in self.tags if tag.startswith("weights/")]
        values |= dict(zip(names, torch.cat(self.flat_weights).tolist() if self.flat_weights else [], strict=True))
        for letter, A in self.histograms:
            trainer.logger.experiment.add_histogram(f"weights/{letter.upper()}", A.detach(), step)
        self.write_event(trainer, values, step)
        self.log_picture(trainer, module, step, save_as=self.run_dir / "network.png")

    def on_exception(self, trainer, module, exception):
        self.write(trainer)  # a stop, or an error: what was logged so far is in the event file

    def on_save_checkpoint(self, trainer, module, checkpoint):
        """Every update up to a checkpoint in the event file, on disk: also where a stop ends the process without
        Lightning's handling of it (a worker of ddp_spawn)."""
        if trainer.is_global_zero:
            self.write(trainer)
            trainer.logger.experiment.flush()

    def outputs_and_losses(self, trainer, module):
        """Each instance's loss, then its outputs, in the training step's arithmetic, eagerly (as summary.json has
        them: outputs_as_trained): where the training step does not return them, and after the last update."""
        with trainer.precision_plugin.forward_context():
            Y, losses = outputs_as_trained(module, self.X, self.T)
        return torch.cat([losses, Y.flatten()]).to(module.net.W.dtype)

    def write(self, trainer):
        """The pending updates' values as one TensorBoard event per update (a few tensor ops for all of them)."""
        if not self.pending:
            return
        steps, values = zip(*self.pending, strict=True)
        columns = [torch.stack(column).reshape(len(steps), -1).to(self.dtype) for column in zip(*values, strict=True)]
        rows = torch.cat(columns, dim=1).tolist()
        for row, step in zip(rows, steps, strict=True):
            self.write_event(trainer, dict(zip(self.tags, row, strict=True)), step)
        self.add_to_curve([(step, row[0]) for row, step in zip(rows, steps, strict=True)])
        self.pending = []

    def add_to_curve(self, points):
        if self.animation is not None:
            self.animation.add_losses(points)

    @staticmethod
    def write_event(trainer, values, step):
        scalars = [Summary.Value(tag=tag, simple_value=v) for tag, v in values.items()]
        trainer.logger.experiment._get_file_writer().add_summary(Summary(value=scalars), step)

    def as_scalars(self, A):
        return A.numel() <= self.max_scalars

    @staticmethod
    def matrices(module):
        """The weight matrices with their letters, in the order of the tags."""
        return ("w", module.net.W), ("v", module.net.V)

    def log_picture(self, trainer, module, step, save_as=None):
        """The network picture (with `details`) at `step`; with an animation, the loss curve up to `step` for its
        frame (which its hook, after this one, draws)."""
        x, t = trainer.datamodule.X[self.instance].tolist(), trainer.datamodule.T[self.instance].tolist()
        W, V = module.net.W.detach().double().cpu().tolist(), module.net.V.detach().double().cpu().tolist()
        heading = f"After {step} updates, instance {self.instance + 1}"
        if self.details:
            image = picture.render(picture.draw(x, t, W, V, heading))
            trainer.logger.experiment.add_image("network", image, step, dataformats="HWC")
            if save_as:
                picture.save_png(image, save_as)
        if self.animation is not None:
            self.write(trainer)


def outputs_as_trained(module, X, T):
    """Y and each instance's loss as the training step computes them, eagerly, without gradients; called under the
    precision's forward_context, as the step is: in autocast, but for the fused engine, which computes in the weights'
    dtype whatever the precision (torch_by_hand.without_autocast)."""
    fused = torch_by_hand.fused(module.hparams.gradients, module.hparams.compile)
    with torch.no_grad(), torch_by_hand.without_autocast(X.device) if fused else nullcontext():
        Y = module(X)
        return Y, squared_error(Y, T)


def hparams(cfg, trainer, module, summary):
    """The values that define a run, for TensorBoard's HPARAMS tab: the settings it ran with, the initial weights
    (of the run it continues, for a resumed one), and the epochs and updates it ended after."""
    model = cfg.model
    params = {
        "lr": cfg.optimizer.lr,
        "epochs": summary["epochs"],
        "steps": summary["steps"],
        "precision": str(trainer.precision),
        "accelerator": trainer.strategy.root_device.type,
        "seed": cfg.seed,
        "dims": f"{model.input_dim}-{model.hidden_dim}-{model.output_dim}",
        "batch_size": cfg.data.batch_size or "all",
        "shuffle": cfg.data.shuffle,
    }
    for name in ("W", "V"):
        A = module.hparams[name]  # the initial weights, given or drawn
        if len(A) * len(A[0]) <= cfg.log.max_scalars:
            params |= _entries(f"init_{name.lower()}", A)
    return params


def _entries(prefix, A):
    """{prefix11: A[0][0], prefix12: A[0][1], ...}, named as in `network.weight_names`."""
    values = [a for row in A for a in row]
    return dict(zip(weight_names(prefix, len(A), len(A[0])), values, strict=True))
