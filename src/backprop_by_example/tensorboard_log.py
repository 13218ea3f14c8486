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

    All of an epoch's values go into one event, straight to TensorBoard's writer, and the events go out
    `WRITE_EVERY` epochs at a time: LightningModule.log costs about half a millisecond per value and step (more
    than the seed's whole training step), add_scalar about 50 us per value, and waking the writer's thread for
    every epoch another 0.2 ms. The step axis is Lightning's: epoch-end values at the index of the epoch's last
    update (global_step - 1); pictures at the update about to happen.
    """

    WRITE_EVERY = 20

    def __init__(self, run_dir, details, max_scalars, max_instances, picture_every_n_epochs, picture_instance):
        self.run_dir = Path(run_dir)
        self.details = details
        self.max_scalars = max_scalars
        self.max_instances = max_instances
        self.picture_every = picture_every_n_epochs
        self.instance = picture_instance - 1
        self.metrics, self.grads, self.loss = {}, {}, 0.0
        self.pending = []  # (Summary, step) of the epochs not yet written

    def on_train_epoch_start(self, trainer, module):
        self.metrics, self.loss = {}, 0.0
        if self.details and trainer.is_global_zero and trainer.current_epoch % self.picture_every == 0:
            self.log_picture(trainer, module, trainer.global_step)

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
        self.loss = self.loss + outputs["batch_loss"]  # a tensor: no wait for the device until the epoch's end

    def on_before_optimizer_step(self, trainer, module, optimizer):
        """The gradient about to be applied, and for a small data set each instance's outputs and loss."""
        if not self.details:
            return
        self.grads = {"w": module.net.W.grad.clone(), "v": module.net.V.grad.clone()}
        X, T = trainer.datamodule.X, trainer.datamodule.T
        if len(X) <= self.max_instances and trainer.num_training_batches == 1:
            with torch.no_grad():  # the weights of this epoch's forward pass: the update comes after this hook
                Y, losses = module.outputs_and_losses(X.to(module.device), T.to(module.device))
            for i, (loss, y) in enumerate(zip(losses.tolist(), Y.tolist(), strict=True), start=1):
                self.metrics[f"losses/instance{i}"] = loss
                self.metrics |= {f"outputs/instance{i}_y{k}": y_k for k, y_k in enumerate(y, start=1)}

    def on_train_epoch_end(self, trainer, module):
        step = trainer.global_step - 1
        # L summed over the epoch's batches and, under DDP, over the processes' shares (every process calls this)
        self.metrics["loss"] = trainer.strategy.reduce(torch.as_tensor(self.loss), reduce_op="sum")
        if self.details:
            for name, A in (("w", module.net.W.detach()), ("v", module.net.V.detach())):
                self.log_matrix(trainer, f"weights/{name}", A, step)
                self.log_matrix(trainer, f"grads/{name}", self.grads[name], step)
        if trainer.is_global_zero:
            values = [Summary.Value(tag=tag, simple_value=float(value)) for tag, value in self.metrics.items()]
            self.pending.append((Summary(value=values), step))
            if len(self.pending) >= self.WRITE_EVERY:
                self.write(trainer)

    def on_train_end(self, trainer, module):
        self.write(trainer)
        if self.details and trainer.is_global_zero:
            self.log_picture(trainer, module, trainer.global_step, save_as=self.run_dir / "network.png")

    def on_exception(self, trainer, module, exception):
        self.write(trainer)  # Ctrl-C: what was logged so far is in the event file

    def write(self, trainer):
        writer = trainer.logger.experiment._get_file_writer() if self.pending else None
        for summary, step in self.pending:
            writer.add_summary(summary, step)
        self.pending = []

    def log_matrix(self, trainer, prefix, A, step):
        """Each entry as a scalar (prefix11, prefix12, ...), or the whole matrix as one histogram if it is large."""
        if A.numel() <= self.max_scalars:
            self.metrics |= _entries(prefix, A.tolist())
        else:
            trainer.logger.experiment.add_histogram(prefix[:-1] + prefix[-1].upper(), A, step)

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
