"""The network drawn for one training instance: node values, and each weight with its gradient on its edge; the
same picture for each stage of the backward pass (stages.py), and beside the loss curve for training.gif.

Edge colour is the sign of dL/dw (red: positive, so SGD lowers the weight; blue: negative, SGD raises it) and
edge width its size on a log scale, since the seed's gradients span 1e-8 to 1e-1.
"""

import math
import os
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.image import imsave
from PIL import GifImagePlugin, Image

from backprop_by_example import by_hand
from backprop_by_example.stages import numbers, short

POSITIVE, NEGATIVE = "#c0392b", "#2e6fb7"
HIGHLIGHT = "#e69f00"  # what a stage of the backward pass added
MAX_LABELLED_UNITS = 4  # wider layers get their edges drawn without labels
# how a stage frame labels each value: the forward ones inside the node, the gradients in boxes under it
FORWARD_NAMES = {"x": "", "h_in": "in", "h_out": "out", "y_in": "in", "y_out": "out", "t": "t"}
BACKWARD_NAMES = {
    "e": "e", "grad_y_out": "∂L/∂out", "grad_y_in": "∂L/∂in",
    "grad_h_out": "∂L/∂out", "grad_h_in": "∂L/∂in", "grad_x": "∂L/∂x",
}  # fmt: skip


def draw(x, t, W, V, heading="The seed's network"):
    """A matplotlib Figure of the pass of instance x (target t) through weights W, V, worked out by `by_hand`."""
    fig = _figure(10, 6)
    ax = fig.subplots()
    loss = _draw_network(ax, x, t, W, V)
    fig.suptitle(f"{heading}:  x = {_short(x)}, t = {_short(t)}, loss {loss:.6g}", fontsize=12)
    fig.subplots_adjust(left=0.01, right=0.99, bottom=0.01, top=0.93)
    return fig


def draw_training(x, t, W, V, heading, steps, losses, total=None):
    """The network picture of `draw`, beside the loss curve so far (`losses` at `steps`, on an axis up to `total`
    updates, if known): a frame of training.gif."""
    fig = _figure(15, 6)
    network, curve = fig.subplots(1, 2, width_ratios=[2, 1])
    loss = _draw_network(network, x, t, W, V)
    curve.semilogy(steps, losses, color="#333333", lw=1.5)
    curve.plot(steps[-1:], losses[-1:], "o", color=NEGATIVE)
    if total is not None:
        curve.set_xlim(-0.02 * total, 1.02 * total)  # the same axis in every frame: the curve grows along it
    curve.set_xlabel("updates")
    curve.set_ylabel("loss L, summed over the instances")
    curve.grid(True, which="both", alpha=0.3)
    fig.suptitle(f"{heading}:  x = {_short(x)}, t = {_short(t)}, loss {loss:.6g}", fontsize=12)
    fig.subplots_adjust(left=0.01, right=0.98, bottom=0.1, top=0.92, wspace=0.12)
    return fig


def draw_stage(stage, x, t, heading, scale):
    """One stage of the backward pass (stages.Stage): what is known so far, what the stage added in orange, and
    its formula with one case in numbers. `scale`: (log10 of the smallest, of the largest) |gradient| of the
    whole pass, so that an edge keeps its width from frame to frame."""
    fig = _figure(10, 7)
    ax = fig.add_axes((0.0, 0.17, 1.0, 0.75))
    ax.set_axis_off()
    ax.set_xlim(-0.45, 2.45)
    ax.set_ylim(-0.34, 1.1)
    dims = [sum(1 for layer, _ in stage.units if layer == name) for name in ("x", "h", "y")]
    layers = dict(zip("xhy", (_column(c, n) for c, n in enumerate(dims)), strict=True))
    labelled = max(dims) <= MAX_LABELLED_UNITS
    for (letter, i, j), values in stage.edges.items():
        src, dst = (
            (layers["x"][i - 1], layers["h"][j - 1]) if letter == "w" else (layers["h"][i - 1], layers["y"][j - 1])
        )
        new = ("edge", (letter, i, j), "grad") in stage.added
        _edge(ax, src, dst, f"{letter}{i}{j}", values["weight"], values.get("grad"), scale, labelled, new)
        if stage.focus == (letter, i, j):  # the edge worked out in numbers below
            ax.plot(*zip(src, dst, strict=True), color=HIGHLIGHT, lw=14, alpha=0.35, zorder=0.5, solid_capstyle="round")
    for (layer, n), values in stage.units.items():
        p = layers[layer][n - 1]
        _node(ax, p, f"{layer}{n}", "\n".join(f"{FORWARD_NAMES[q]} {short(values[q])}" for q in FORWARD_NAMES
                                             if q in values))  # fmt: skip
        backward = [q for q in BACKWARD_NAMES if q in values]
        for row, q in enumerate(backward):
            new = ("unit", (layer, n), q) in stage.added
            edge = dict(ec=HIGHLIGHT, lw=2) if new else dict(ec="#999999", lw=0.6)
            ax.text(
                p[0], p[1] - 0.17 - 0.065 * row, f"{BACKWARD_NAMES[q]} = {short(values[q])}", ha="center",
                va="center", fontsize=8, weight="bold" if new else "normal", zorder=5,
                bbox=dict(boxstyle="round,pad=0.2", fc="white", **edge),
            )  # fmt: skip
    fig.suptitle(f"{heading}  —  stage {stage.number} of 7: {stage.title}", fontsize=12)
    lines = [stage.formula, *(numbers(worked) for worked in stage.worked)]
    for row, line in enumerate(lines):
        fig.text(0.5, 0.12 - 0.04 * row, line, ha="center", fontsize=10 if row else 11, family="monospace",
                 color=HIGHLIGHT if row else "#222222", weight="bold" if not row else "normal")  # fmt: skip
    return fig


def gradient_scale(grads):
    """(log10 of the smallest, of the largest) nonzero |gradient|: the range that edge widths span."""
    magnitudes = [abs(g) for g in grads if g != 0]
    return (math.log10(min(magnitudes)), math.log10(max(magnitudes))) if magnitudes else (0.0, 1.0)


def _figure(width, height):
    # Figure and the Agg canvas, not pyplot: no window, no global backend, and 0.1 s less to import
    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def _draw_network(ax, x, t, W, V):
    """Nodes with their values, edges with weight and gradient; returns the instance's loss."""
    step = by_hand.backprop([x], [t], W, V)
    inputs, hidden, outputs = len(W), len(V), len(V[0])
    ax.set_axis_off()
    ax.set_xlim(-0.45, 2.45)
    ax.set_ylim(-0.16, 1.12)
    layers = [_column(0, inputs), _column(1, hidden), _column(2, outputs)]
    scale = gradient_scale([g for row in [*step.grad_W, *step.grad_V] for g in row])
    labelled = max(inputs, hidden, outputs) <= MAX_LABELLED_UNITS
    for name, A, G, (src, dst) in (("w", W, step.grad_W, layers[:2]), ("v", V, step.grad_V, layers[1:])):
        for i, a in enumerate(src):
            for j, b in enumerate(dst):
                _edge(ax, a, b, f"{name}{i + 1}{j + 1}", A[i][j], G[i][j], scale, labelled)

    for i, p in enumerate(layers[0]):
        _node(ax, p, f"x{i + 1}", f"{x[i]:.4g}")
    for j, p in enumerate(layers[1]):
        _node(ax, p, f"h{j + 1}", f"in {step.h_in[0][j]:.4g}\nout {step.h_out[0][j]:.4g}")
    for k, p in enumerate(layers[2]):
        _node(ax, p, f"y{k + 1}", f"in {step.y_in[0][k]:.4g}\nout {step.y_out[0][k]:.4g}\nt {t[k]:.4g}")
    ax.text(
        1.0, -0.13,
        "edge: weight and dL/dweight for this instance.  red: dL/dw > 0, blue: < 0;  width: |dL/dw|, log scale",
        ha="center", fontsize=9, color="#555555",
    )  # fmt: skip
    return step.loss[0]


def render(fig):
    """The figure as an RGB array (height x width x 3)."""
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()


def save_png(image, path):
    imsave(path, image)


def save_gif(images, path, seconds_per_frame, last_for=None):
    """The images (RGB arrays of one size) as an animated GIF that loops, each shown `seconds_per_frame`, the last
    `last_for` seconds (default: as long as the others)."""
    frames = [Image.fromarray(image).quantize(colors=255) for image in images]
    durations = [round(1000 * seconds_per_frame)] * len(frames)
    durations[-1] = round(1000 * (last_for or seconds_per_frame))
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=durations, loop=0)


class GifWriter:
    """An animated GIF that loops, written frame by frame: each frame goes to disk when the next one comes, so that
    memory holds one frame however many there are (PIL's `save_all` holds them all until it writes). The frame held
    back is the last: `close` writes it, shown `last_for` seconds (default: as long as the others), and only then
    renames `<name>.part` to the GIF's name, so that the GIF is whole or not there.

    The GIF is made of PIL's documented pieces (GifImagePlugin.getheader, getdata): the header with the loop, then
    each frame with its own palette and duration, then the trailer.
    """

    def __init__(self, path, seconds_per_frame, last_for=None):
        self.path = Path(path)
        self.part = self.path.with_name(self.path.name + ".part")
        self.ms, self.last_ms = round(1000 * seconds_per_frame), round(1000 * (last_for or seconds_per_frame))
        self.file, self.held, self.closed = None, None, False

    def add(self, image):
        """One more frame (an RGB array, all of one size)."""
        if self.held is not None:
            self._write(self.held, self.ms)
        self.held = Image.fromarray(image).quantize(colors=255)

    def close(self):
        """The GIF of the frames so far, the last one held `last_for`; no file where no frame came."""
        if self.closed or self.held is None:
            return
        self._write(self.held, self.last_ms)
        self.file.write(b";")  # the GIF trailer
        self.file.close()
        os.replace(self.part, self.path)
        self.closed = True

    def _write(self, frame, ms):
        if self.file is None:
            self.file = open(self.part, "wb")  # noqa: SIM115  (open from the first frame to `close`)
            header, _ = GifImagePlugin.getheader(frame, info={"loop": 0})
            self.file.writelines(header)
        self.file.writelines(GifImagePlugin.getdata(frame, duration=ms, include_color_table=True))


def _short(values):
    return "[" + ", ".join(f"{v:.4g}" for v in values) + "]"


def _column(x, n):
    return [(x, 0.5 if n == 1 else 0.95 - 0.9 * k / (n - 1)) for k in range(n)]


def _edge(ax, a, b, name, weight, grad, scale, labelled, new=False):
    """An edge: grey while its gradient is unknown (grad None), then coloured by its sign, as wide as its size."""
    low, high = scale
    if grad is None:
        colour, width, text = "#aaaaaa", 1.0, f"{name} = {weight:.4g}"
    else:
        size = 0.0 if grad == 0 or high == low else (math.log10(abs(grad)) - low) / (high - low)
        colour, width = (POSITIVE if grad > 0 else NEGATIVE), 0.8 + 5 * max(size, 0.0)
        text = f"{name} = {weight:.4g}\n∂L/∂{name} = {grad:.3g}"
    ax.plot([a[0], b[0]], [a[1], b[1]], color=colour, lw=width, alpha=0.75, zorder=1)
    if labelled:
        # a third of the way along, so the labels of crossing edges sit near their own source node
        lx, ly = a[0] + (b[0] - a[0]) / 3, a[1] + (b[1] - a[1]) / 3
        edge = dict(ec=HIGHLIGHT, lw=2.2) if new else dict(ec=colour, lw=0.8)
        ax.text(
            lx, ly, text, fontsize=8, ha="center", va="center", weight="bold" if new else "normal",
            bbox=dict(boxstyle="round,pad=0.2", fc="white", **edge), zorder=3,
        )  # fmt: skip


def _node(ax, p, name, text):
    ax.scatter(*p, s=5200, c="#f4f1ea", edgecolors="#333333", linewidths=1.2, zorder=2)  # round on any aspect
    ax.text(p[0], p[1] + 0.045, name, ha="center", va="center", fontsize=11, weight="bold", zorder=4)
    ax.text(p[0], p[1] - 0.03, text, ha="center", va="center", fontsize=7.5, zorder=4)
