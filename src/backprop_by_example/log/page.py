"""training.html (`log.page=true`): every logged update's loss, weights and gradients, the values TensorBoard gets
(BackpropLog hands each written row to `add_rows`), in one self-contained page to scrub through (pictures/page.py).

TensorBoard keeps each scalar as a float32; so does the page, in its shortest digits (str of a numpy float32).
Beyond `PAGE_NUMBERS` numbers the rows are evenly thinned (animation.Thinned: every other one dropped, as often as
needed), and the page says so; the point after the last update is always kept.
"""

from pathlib import Path

import numpy as np
from lightning.pytorch.callbacks import Callback

from backprop_by_example.log.animation import Thinned
from backprop_by_example.pictures import page

PAGE_NUMBERS = 2**17  # about 1.5 MB of digits


class TrainingPage(Callback):
    """Writes training.html into the run dir at the end of training (and, stopped or failed, the rows so far).

    Must come after BackpropLog in the Trainer's callbacks: its on_train_end hands over the last rows first.
    """

    def __init__(self, run_dir, X, T, max_instances, heading="Training the seed's network"):
        self.path = Path(run_dir) / "training.html"
        self.X, self.T, self.max_instances, self.heading = X, T, max_instances, heading
        self.tags, self.rows, self.dims, self.last = None, None, None, None

    def setup(self, trainer, module, stage):
        self.dims = [*module.net.W.shape, module.net.V.shape[1]]

    def add_rows(self, tags, points):
        """(step, [the value of each tag]) of the updates just written, in order."""
        if self.tags is None:
            self.tags, self.rows = list(tags), Thinned(max(16, PAGE_NUMBERS // len(tags)))
        for point in points:
            if self.rows.last is None or point[0] > self.rows.last[0]:
                self.rows.add(point)

    def add_last(self, tags, step, values):
        """The point after the last update: {tag: value} of those it has (no gradients)."""
        self.add_rows(tags, [(step, [values.get(tag) for tag in tags])])
        self.last = self.rows.last

    def on_train_end(self, trainer, module):
        if trainer.is_global_zero:
            self.write()

    def on_exception(self, trainer, module, exception):
        if trainer.is_global_zero and self.rows is not None:
            self.write(stopped=True)

    def write(self, stopped=False):
        points = list(self.rows.items) if self.rows else []
        if self.rows and self.rows.last is not None and (not points or points[-1] is not self.rows.last):
            points.append(self.rows.last)
        left_out = []
        if self.rows and self.rows.stride > 1:
            left_out.append(f"updates between those shown: 1 in {self.rows.stride} of the {self.rows.count} logged "
                            f"is kept, to keep this file small")  # fmt: skip
        small = len(self.X) <= self.max_instances
        if not small:
            left_out.append(f"each instance's values at the units: the data has {len(self.X)} instances, "
                            f"more than log.max_instances = {self.max_instances}")  # fmt: skip
        if stopped:
            left_out.append("the rest of the run: it stopped here")
        data = {
            "kind": "training", "heading": self.heading, "dims": self.dims, "tags": self.tags or ["loss"],
            "steps": [step for step, _ in points], "total_steps": self.rows.count if self.rows else 0,
            "X": self.X.tolist() if small else None, "T": self.T.tolist() if small else None, "left_out": left_out,
        }  # fmt: skip
        rows = "[" + ",".join("[" + ",".join(_float32(v) for v in row) + "]" for _, row in points) + "]"
        text = page.html(data | {"rows": "__ROWS__"}, "Backprop by example: training")
        page.write(self.path, text.replace('"__ROWS__"', rows, 1))  # the rows' digits as they are, not json's


def _float32(value):
    """TensorBoard's float32 of a value, in its shortest digits; null for none; NaN and Infinity as JavaScript's."""
    if value is None:
        return "null"
    text = str(np.float32(value))
    return {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}.get(text, text)
