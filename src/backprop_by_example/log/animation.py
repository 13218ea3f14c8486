"""training.gif (`log.animation=true`): the network picture beside the loss curve so far (picture.draw_training), at
the start of epoch 0 and of every `log.picture_every_n_epochs`-th epoch (the moments of TensorBoard's `network`
images), and after the last update; half a second a frame, the last for three.

Memory holds one frame, however many there are: each goes to disk when the next one is drawn (picture.GifWriter).
What redraws a frame is tiny beside its image (the step, the instance, W and V), and it travels in last.ckpt with the
loss curve, so that a resumed run draws the frames of the run it continues first: its gif shows the whole run, as
TensorBoard does. Both are kept evenly thinned beyond a bound (`Thinned`): the curve beyond `CURVE_POINTS` points
(more than the curve's width in pixels), the frames' data beyond `FRAME_VALUES` numbers (only a resumed run's redrawn
frames thin out: the gif of the run that draws them has every frame).

A stop (Ctrl-C, SIGTERM) writes the gif so far when it writes last.ckpt, ending with a frame of the weights it saves;
a run that ends with an error writes the frames drawn so far.
"""

import bisect
import math
from pathlib import Path
from typing import NamedTuple

from lightning.pytorch.callbacks import Callback

from backprop_by_example.pictures import picture

CURVE_POINTS = 4096
FRAME_VALUES = 2**20  # about 30 MB as Python lists


class Frame(NamedTuple):
    """What a frame shows: the weights after `step` updates, for one instance."""

    step: int
    instance: int  # counted from 1
    x: list
    t: list
    W: list
    V: list


class Thinned:
    """At most `limit` of the items added, evenly spaced: every `stride`-th, the stride doubling (every other item
    kept is dropped) whenever there would be more. `last`: the item added last, kept or not."""

    def __init__(self, limit):
        self.limit, self.items, self.stride, self.count, self.last = limit, [], 1, 0, None

    def add(self, item):
        if self.count % self.stride == 0:
            self.items.append(item)
            if len(self.items) > self.limit:
                del self.items[1::2]
                self.stride *= 2
        self.count += 1
        self.last = item

    def state_dict(self):
        """Plain lists and numbers: a checkpoint that torch.load(weights_only=True) reads."""
        return {"items": [list(item) for item in self.items], "stride": self.stride, "count": self.count,
                "last": None if self.last is None else list(self.last)}  # fmt: skip

    def load_state_dict(self, state, kind):
        """`kind`: makes an item of a list (Frame._make, tuple)."""
        self.items = [kind(item) for item in state["items"]]
        self.stride, self.count = state["stride"], state["count"]
        self.last = None if state["last"] is None else kind(state["last"])


class TrainingAnimation(Callback):
    """Writes training.gif into the run dir (on the first process of a DDP run).

    BackpropLog feeds it the loss curve (`add_losses`), and must come before it in the Trainer's callbacks: at a
    picture moment, at a checkpoint and at the end, BackpropLog's hook writes the losses logged so far, and this
    one's draws with them.
    """

    SECONDS_PER_FRAME, LAST_FOR = 0.5, 3

    def __init__(self, run_dir, picture_every_n_epochs, picture_instance):
        self.path = Path(run_dir) / "training.gif"
        self.every, self.instance = picture_every_n_epochs, picture_instance
        self.frames, self.curve = Thinned(1), Thinned(CURVE_POINTS)  # `setup` sizes the first
        self.gif, self.total = None, None

    def setup(self, trainer, module, stage):
        values = sum(A.numel() for A in (module.net.W, module.net.V)) + sum(module.net.V.shape)
        self.frames.limit = max(16, FRAME_VALUES // values)

    def add_losses(self, points):
        """(step, loss) of the updates logged since the last call, in order (BackpropLog.write, .on_train_end)."""
        for step, loss in points:
            if self.curve.last is None or step > self.curve.last[0]:  # a resumed run logs its first step again
                self.curve.add((step, loss))

    def on_load_checkpoint(self, trainer, module, checkpoint):
        saved = checkpoint.get("animation")
        if saved:  # the run this one continues had an animation
            self.frames.load_state_dict(saved["frames"], Frame._make)
            self.curve.load_state_dict(saved["curve"], tuple)

    def on_train_start(self, trainer, module):
        """The frames of the run this one continues, if any, drawn again: the gif shows the whole run."""
        if not trainer.is_global_zero:
            return
        total = trainer.estimated_stepping_batches
        self.total = total if math.isfinite(total) else None  # no limit to the epochs or updates
        self.gif = picture.GifWriter(self.path, self.SECONDS_PER_FRAME, last_for=self.LAST_FOR)
        for frame in self.frames.items:
            self.gif.add(self.draw(frame, frame.step))

    def on_train_epoch_start(self, trainer, module):
        """A picture moment. (A run resumed in the middle of an epoch does not start that epoch again.)"""
        if not trainer.is_global_zero or trainer.current_epoch % self.every != 0:
            return
        frame = self.frame(trainer, module)
        self.frames.add(frame)
        self.gif.add(self.draw(frame, frame.step))

    def on_train_end(self, trainer, module):
        if trainer.is_global_zero:
            self.finish(trainer, module)

    def on_save_checkpoint(self, trainer, module, checkpoint):
        """The frames' data and the curve go into the checkpoint (here, not in `state_dict`: Lightning asks for that
        before the callbacks' on_save_checkpoint, where BackpropLog writes the latest losses). At a stop, the gif."""
        checkpoint["animation"] = {"frames": self.frames.state_dict(), "curve": self.curve.state_dict()}
        if trainer.is_global_zero and trainer.checkpoint_callback.stopping:
            self.finish(trainer, module)

    def on_exception(self, trainer, module, exception):
        """An error: the frames drawn so far (no new one: the weights may be half updated). A stop: already written."""
        if self.gif is not None:
            self.gif.close()

    def finish(self, trainer, module):
        """The last frame, the weights as they are now beside the whole curve so far, and the gif written."""
        if self.gif is not None and not self.gif.closed:
            self.gif.add(self.draw(self.frame(trainer, module), None))
            self.gif.close()

    def frame(self, trainer, module):
        i = self.instance - 1
        x, t = trainer.datamodule.X[i].tolist(), trainer.datamodule.T[i].tolist()
        W, V = (A.detach().double().cpu().tolist() for A in (module.net.W, module.net.V))
        return Frame(trainer.global_step, self.instance, x, t, W, V)

    def draw(self, frame, before):
        """The frame as an RGB image, with the curve's points before step `before` (None: all of them)."""
        points = self.curve.items
        if before is not None:
            points = points[: bisect.bisect_left(points, before, key=lambda point: point[0])]
        steps, losses = ([p[0] for p in points], [p[1] for p in points]) if points else ([frame.step], [math.nan])
        heading = f"After {frame.step} updates, instance {frame.instance}"
        figure = picture.draw_training(frame.x, frame.t, frame.W, frame.V, heading, steps, losses, total=self.total)
        return picture.render(figure)
