"""What a run shows in TensorBoard: the loss, and with `log.details` every weight, gradient and the network picture.

Tags, one point per epoch:
    loss                          L summed over the epoch's batches (and DDP's processes)
    weights/w11 ... weights/v22   the weights after the epoch's update (a histogram weights/W beyond `max_scalars`)
    grads/w11 ... grads/v22       the gradient that update used (grads/W likewise)
    losses/instance1 ...          per-instance loss and outputs of the epoch's forward pass, for data sets of at
    outputs/instance1_y1 ...      most `max_instances` instances
Images: `network`, the picture of `picture.draw`, at the start of epoch 0, of every `picture_every_n_epochs`-th
epoch, and after the last; the last is also saved as network.png in the run dir.
"""

from pathlib import Path

import torch
from lightning.pytorch.callbacks import Callback
from tensorboard.compat.proto.summary_pb2 import Summary

from backprop_by_example import picture
from backprop_by_example.network import weight_names


class BackpropLog(Callback):
    """Writes the loss, and with `details` everything else listed above, to the run's TensorBoard logger.

    An epoch's scalars are gathered into one tensor (a couple of tensor ops per epoch, no wait for the device), and
    `WRITE_EVERY` epochs at a time they become TensorBoard events, straight to its writer: LightningModule.log
    costs about half a millisecond per value and step (more than the seed's whole training step), add_scalar about
    50 us per value, and waking the writer's thread every epoch another 0.2 ms. The step axis is Lightning's:
    epoch-end values at the index of the epoch's last update (global_step - 1); pictures at the update about to
    happen.
    """

    WRITE_EVERY = 20

    def __init__(self, run_dir, details, max_scalars, max_instances, picture_every_n_epochs, picture_instance):
        self.run_dir = Path(run_dir)
        self.details = details
        self.max_scalars = max_scalars
        self.max_instances = max_instances
        self.picture_every = picture_every_n_epochs
        self.instance = picture_instance - 1
        self.per_instance = False  # whether the data set is small enough for per-instance values
        self.tags = []  # the scalars' tags, in the order of each epoch's values
        self.loss, self.grads, self.instance_values = 0.0, [], None
        self.X, self.T = None, None  # for per-instance values: the data, on the module's device
        self.pending = []  # (values, step) of the epochs not yet written

    def on_train_start(self, trainer, module):
        """The tags of each epoch's values, in their order: the loss, W and dL/dW, V and dL/dV, each instance's."""
        T = trainer.datamodule.T
        self.per_instance = self.details and len(T) <= self.max_instances and trainer.num_training_batches == 1
        self.tags = ["loss"]
        if self.details:
            for letter, A in self.matrices(module):
                if A.numel() <= self.max_scalars:
                    names = weight_names(letter, *A.shape)
                    self.tags += [f"weights/{n}" for n in names] + [f"grads/{n}" for n in names]
        if self.per_instance:
            self.X, self.T = (A.to(module.device) for A in (trainer.datamodule.X, T))
            instances, outputs = range(1, len(T) + 1), range(1, T.shape[1] + 1)
            self.tags += [f"losses/instance{i}" for i in instances]
            self.tags += [f"outputs/instance{i}_y{k}" for i in instances for k in outputs]

    def on_train_epoch_start(self, trainer, module):
        self.loss = 0.0
        if self.details and trainer.is_global_zero and trainer.current_epoch % self.picture_every == 0:
            self.log_picture(trainer, module, trainer.global_step)

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
        self.loss = self.loss + outputs["batch_loss"]

    def on_before_optimizer_step(self, trainer, module, optimizer):
        """The gradient about to be applied, and for a small data set each instance's loss and outputs."""
        if not self.details:
            return
        self.grads = [A.grad.detach().clone() for _, A in self.matrices(module)]
        if self.per_instance:
            with torch.no_grad():  # the weights of this epoch's forward pass: the update comes after this hook
                Y, losses = module.outputs_and_losses(self.X, self.T)
            self.instance_values = torch.cat([losses, Y.flatten()])

    def on_train_epoch_end(self, trainer, module):
        step = trainer.global_step - 1
        # L summed over the epoch's batches and, under DDP, over the processes' shares (every process calls this)
        values = [trainer.strategy.reduce(torch.as_tensor(self.loss), reduce_op="sum").reshape(1)]
        if self.details:
            for (letter, A), grad in zip(self.matrices(module), self.grads, strict=True):
                if A.numel() <= self.max_scalars:
                    values += [A.detach().flatten(), grad.flatten()]
                else:
                    experiment = trainer.logger.experiment
                    experiment.add_histogram(f"weights/{letter.upper()}", A.detach(), step)
                    experiment.add_histogram(f"grads/{letter.upper()}", grad, step)
        if self.per_instance:
            values.append(self.instance_values)
        if trainer.is_global_zero:
            self.pending.append((torch.cat(values), step))
            if len(self.pending) >= self.WRITE_EVERY:
                self.write(trainer)

    def on_train_end(self, trainer, module):
        self.write(trainer)
        if self.details and trainer.is_global_zero:
            self.log_picture(trainer, module, trainer.global_step, save_as=self.run_dir / "network.png")

    def on_exception(self, trainer, module, exception):
        self.write(trainer)  # Ctrl-C: what was logged so far is in the event file

    def write(self, trainer):
        """The pending epochs' values as one TensorBoard event per epoch."""
        if not self.pending:
            return
        rows = torch.stack([values for values, _ in self.pending]).tolist()
        writer = trainer.logger.experiment._get_file_writer()
        for row, (_, step) in zip(rows, self.pending, strict=True):
            scalars = [Summary.Value(tag=tag, simple_value=v) for tag, v in zip(self.tags, row, strict=True)]
            writer.add_summary(Summary(value=scalars), step)
        self.pending = []

    @staticmethod
    def matrices(module):
        """The weight matrices with their letters, in the order of the tags."""
        return ("w", module.net.W), ("v", module.net.V)

    def log_picture(self, trainer, module, step, save_as=None):
        x, t = trainer.datamodule.X[self.instance].tolist(), trainer.datamodule.T[self.instance].tolist()
        W, V = module.net.W.detach().double().cpu().tolist(), module.net.V.detach().double().cpu().tolist()
        image = picture.render(picture.draw(x, t, W, V, f"After {step} updates, instance {self.instance + 1}"))
        trainer.logger.experiment.add_image("network", image, step, dataformats="HWC")
        if save_as:
            picture.save_png(image, save_as)


def hparams(cfg, trainer, module):
    """The values that define a run, for TensorBoard's HPARAMS tab."""
    model = cfg.model
    params = {
        "lr": cfg.optimizer.lr,
        "epochs": cfg.trainer.max_epochs,
        "precision": str(trainer.precision),
        "accelerator": trainer.strategy.root_device.type,
        "seed": cfg.seed,
        "dims": f"{model.input_dim}-{model.hidden_dim}-{model.output_dim}",
        "init": "given" if model.W is not None and model.V is not None else "random",
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
