"""TensorBoard's `network` image: the picture of `picture.draw` for instance `log.picture_instance`, at the start of
epoch 0, of every `log.picture_every_n_epochs`-th epoch, and after the last update; the last is also network.png in
the run dir."""

from pathlib import Path

from backprop_by_example.log.scalars import tensorboard_of
from backprop_by_example.pictures import picture


class NetworkPicture:
    """Drawn at BackpropLog's hooks (a callback of its own would cost every update Lightning's dispatch of each hook
    to it, for two moments a hundred epochs apart)."""

    def __init__(self, run_dir, picture_every_n_epochs, picture_instance):
        self.run_dir, self.every, self.instance = Path(run_dir), picture_every_n_epochs, picture_instance - 1

    def at_epoch_start(self, trainer, module):
        due = trainer.current_epoch % self.every == 0
        if trainer.is_global_zero and due and tensorboard_of(trainer.loggers) is not None:
            self.draw(trainer, module, trainer.global_step)

    def at_end(self, trainer, module):
        if trainer.is_global_zero:
            self.draw(trainer, module, trainer.global_step, save_as=self.run_dir / "network.png")

    def draw(self, trainer, module, step, save_as=None):
        x, t = trainer.datamodule.X[self.instance].tolist(), trainer.datamodule.T[self.instance].tolist()
        W, V = module.net.W.detach().double().cpu().tolist(), module.net.V.detach().double().cpu().tolist()
        heading = f"After {step} updates, instance {self.instance + 1}"
        image = picture.render(picture.draw(x, t, W, V, heading))
        tensorboard = tensorboard_of(trainer.loggers)  # loggers of numbers alone get network.png in the run dir
        if tensorboard is not None:
            tensorboard.experiment.add_image("network", image, step, dataformats="HWC")
        if save_as:
            picture.save_png(image, save_as)
