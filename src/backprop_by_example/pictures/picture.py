"""The network drawn for one training instance: node values, and each weight with its gradient on its edge; the
same picture for each stage of the backward pass (stages.py), and beside the loss curve for training.gif.

Edge colour is the sign of dL/dw (red: positive, so SGD lowers the weight; blue: negative, SGD raises it) and
edge width its size on a log scale, since the seed's gradients span 1e-8 to 1e-1.
"""

import itertools
import math
import os
from pathlib import Path
from typing import NamedTuple

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.image import imsave
from PIL import GifImagePlugin, Image, ImageChops

from backprop_by_example import by_hand
from backprop_by_example.pictures.stages import numbers, short

POSITIVE, NEGATIVE = "#c0392b", "#2e6fb7"
HIGHLIGHT = "#e69f00"  # what a stage of the backward pass added
MAX_LABELLED_UNITS = 4  # wider layers get their edges drawn without labels
LABEL_PLACES = (1 / 3, 0.4, 0.28, 0.45)  # how far along its edge a label sits: the first where the labels fit
FULL_UNIT = 5200  # a unit's circle (pt^2), an inch across: room for its name and values
STAGE_PITCH = 0.5  # the least distance between a stage frame's units (axes units): a circle and 3 boxes under it
MAX_STAGE_UNITS = 16  # a stage frame grows taller for layers up to this wide; wider ones get small units, no values
STAGE_INCHES = 5.25 / 1.44  # a stage frame's inches per axes unit, up and down (those of the seed's picture)
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
    fig.subplots_adjust(left=0.01, right=0.99, bottom=0.01, top=0.93)  # first: the units' size depends on it
    loss = _draw_network(ax, x, t, W, V)
    fig.suptitle(f"{heading}:  x = {_short(x)}, t = {_short(t)}, loss {loss:.6g}", fontsize=12)
    return fig


def draw_training(x, t, W, V, heading, steps, losses, total=None):
    """The network picture of `draw`, beside the loss curve so far (`losses` at `steps`, on an axis up to `total`
    updates, if known): a frame of training.gif."""
    fig = _figure(15, 6)
    network, curve = fig.subplots(1, 2, width_ratios=[2, 1])
    fig.subplots_adjust(left=0.01, right=0.98, bottom=0.1, top=0.92, wspace=0.12)
    loss = _draw_network(network, x, t, W, V)
    curve.semilogy(steps, losses, color="#333333", lw=1.5)
    curve.plot(steps[-1:], losses[-1:], "o", color=NEGATIVE)
    if total is not None:
        curve.set_xlim(-0.02 * total, 1.02 * total)  # the same axis in every frame: the curve grows along it
    curve.set_xlabel("updates")
    curve.set_ylabel("loss L, summed over the instances")
    curve.grid(True, which="both", alpha=0.3)
    fig.suptitle(f"{heading}:  x = {_short(x)}, t = {_short(t)}, loss {loss:.6g}", fontsize=12)
    return fig


def draw_stage(stage, x, t, heading, scale):
    """One stage of the backward pass (stages.Stage): what is known so far, what the stage added in orange, and
    its formula with one case in numbers. `scale`: (log10 of the smallest, of the largest) |gradient| of the
    whole pass, so that an edge keeps its width from frame to frame.

    The seed's 2-2-2 picture is 10 x 7 inches; a layer of more than two units makes it taller, `STAGE_PITCH` from
    unit to unit, up to `MAX_STAGE_UNITS` units; a wider layer gets small circles without values (and those that
    the stage added values to ringed in orange)."""
    dims = [sum(1 for layer, _ in stage.units if layer == name) for name in ("x", "h", "y")]
    span = max(0.9, STAGE_PITCH * (min(max(dims), MAX_STAGE_UNITS) - 1))  # from the top unit to the bottom one
    grow = span - 0.9  # beyond the seed's picture, in axes units: as many more inches, at the same scale
    height = 7 + grow * STAGE_INCHES
    fig = _figure(10, height)
    ax = fig.add_axes((0.0, 1.19 / height, 1.0, (5.25 + grow * STAGE_INCHES) / height))
    ax.set_axis_off()
    ax.set_xlim(-0.45, 2.45)
    ax.set_ylim(-0.34 - grow, 1.1)
    layers = dict(zip("xhy", (_column(c, n, span) for c, n in enumerate(dims)), strict=True))
    pitch = span / (max(dims) - 1) if max(dims) > 1 else span
    full = pitch >= STAGE_PITCH - 1e-9  # room for the values
    area = _unit_area(ax, pitch)
    labels = {"w": [], "v": []}
    for (letter, i, j), values in stage.edges.items():
        src, dst = (
            (layers["x"][i - 1], layers["h"][j - 1]) if letter == "w" else (layers["h"][i - 1], layers["y"][j - 1])
        )
        new = ("edge", (letter, i, j), "grad") in stage.added
        labels[letter].append(_edge(ax, src, dst, f"{letter}{i}{j}", values["weight"], values.get("grad"), scale, new))
        if stage.focus == (letter, i, j):  # the edge worked out in numbers below
            ax.plot(*zip(src, dst, strict=True), color=HIGHLIGHT, lw=14, alpha=0.35, zorder=0.5, solid_capstyle="round")
    circles = []
    for (layer, n), values in stage.units.items():
        p = layers[layer][n - 1]
        added = [q for kind, unit, q in stage.added if kind == "unit" and unit == (layer, n)]
        text = "\n".join(f"{FORWARD_NAMES[q]} {short(values[q])}" for q in FORWARD_NAMES if q in values)
        circles.append(_node(ax, p, f"{layer}{n}", text, area, HIGHLIGHT if added and not full else "#333333"))
        for row, q in enumerate([q for q in BACKWARD_NAMES if q in values] if full else []):
            edge = dict(ec=HIGHLIGHT, lw=2) if q in added else dict(ec="#999999", lw=0.6)
            ax.text(
                p[0], p[1] - 0.17 - 0.065 * row, f"{BACKWARD_NAMES[q]} = {short(values[q])}", ha="center",
                va="center", fontsize=8, weight="bold" if q in added else "normal", zorder=5,
                bbox=dict(boxstyle="round,pad=0.2", fc="white", **edge),
            )  # fmt: skip
    if not full:
        ax.text(1.0, -0.3 - grow, f"more than {MAX_STAGE_UNITS} units in a layer: their values are in the tables of "
                "scripts/explain.py", ha="center", fontsize=9, color="#555555")  # fmt: skip
    if full and max(dims) <= MAX_LABELLED_UNITS:
        _label_edges(ax, labels.values(), circles)
    fig.suptitle(f"{heading}  —  stage {stage.number} of 7: {stage.title}", fontsize=12, y=1 - 0.14 / height)
    lines = [[stage.formula], *([numbers(worked), numbers(worked, most=2)] for worked in stage.worked)]
    for row, versions in enumerate(lines):
        _fitted_text(fig, (0.84 - 0.28 * row) / height, versions, fontsize=10 if row else 11, family="monospace",
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
    """Nodes with their values, edges with weight and gradient; returns the instance's loss. Units too close for
    their values are drawn smaller, with their names (`_unit_area`); edges are labelled where the labels fit."""
    step = by_hand.backprop([x], [t], W, V)
    dims = len(W), len(V), len(V[0])
    ax.set_axis_off()
    ax.set_xlim(-0.45, 2.45)
    ax.set_ylim(-0.16, 1.12)
    layers = [_column(c, n) for c, n in enumerate(dims)]
    area = _unit_area(ax, 0.9 / (max(dims) - 1) if max(dims) > 1 else 0.9)
    scale = gradient_scale([g for row in [*step.grad_W, *step.grad_V] for g in row])
    labels = [
        [_edge(ax, a, b, f"{name}{i + 1}{j + 1}", A[i][j], G[i][j], scale) for i, a in enumerate(src)
         for j, b in enumerate(dst)]
        for name, A, G, (src, dst) in (("w", W, step.grad_W, layers[:2]), ("v", V, step.grad_V, layers[1:]))
    ]  # fmt: skip
    texts = [
        [short(x[i]) for i in range(dims[0])],
        [f"in {short(step.h_in[0][j])}\nout {short(step.h_out[0][j])}" for j in range(dims[1])],
        [f"in {short(step.y_in[0][k])}\nout {short(step.y_out[0][k])}\nt {short(t[k])}" for k in range(dims[2])],
    ]
    circles = [
        _node(ax, p, f"{letter}{n}", text, area)
        for letter, column, values in zip("xhy", layers, texts, strict=True)
        for n, (p, text) in enumerate(zip(column, values, strict=True), start=1)
    ]
    ax.text(
        1.0, -0.13,
        "edge: weight and dL/dweight for this instance.  red: dL/dw > 0, blue: < 0;  width: |dL/dw|, log scale",
        ha="center", fontsize=9, color="#555555",
    )  # fmt: skip
    if area == FULL_UNIT and max(dims) <= MAX_LABELLED_UNITS:
        _label_edges(ax, labels, circles)
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
    each frame with its own palette and duration, then the trailer. A frame after the first is the part of it that
    differs from the one before, drawn over that one (as PIL's `save_all` does).
    """

    def __init__(self, path, seconds_per_frame, last_for=None):
        self.path = Path(path)
        self.part = self.path.with_name(self.path.name + ".part")
        self.ms, self.last_ms = round(1000 * seconds_per_frame), round(1000 * (last_for or seconds_per_frame))
        self.file, self.previous, self.held, self.closed = None, None, None, False

    def add(self, image):
        """One more frame (an RGB array, all of one size)."""
        if self.held is not None:
            self._write(*self.held, self.ms)
        image = Image.fromarray(image)
        box = (0, 0, *image.size) if self.previous is None else ImageChops.difference(self.previous, image).getbbox()
        box = box or (0, 0, 1, 1)  # the same picture again: a pixel of it
        self.previous, self.held = image, (image.crop(box).quantize(colors=255), box[:2])

    def close(self):
        """The GIF of the frames so far, the last one held `last_for`; no file where no frame came."""
        if self.closed or self.held is None:
            return
        self._write(*self.held, self.last_ms)
        self.file.write(b";")  # the GIF trailer
        self.file.close()
        os.replace(self.part, self.path)
        self.closed = True

    def _write(self, frame, offset, ms):
        if self.file is None:  # the first frame: the whole picture
            self.file = open(self.part, "wb")  # noqa: SIM115  (open from the first frame to `close`)
            header, _ = GifImagePlugin.getheader(frame, info={"loop": 0})
            self.file.writelines(header)
        self.file.writelines(GifImagePlugin.getdata(frame, offset, duration=ms, include_color_table=True))


def _short(values, most=4):
    """'[3, 1]'; of more than `most` values the first three and the last."""
    shown = [f"{v:.4g}" for v in values]
    return "[" + ", ".join(shown if len(shown) <= most else [*shown[:3], "...", shown[-1]]) + "]"


def _column(x, n, span=0.9):
    """n units at x, evenly from 0.95 down `span`, or one in the middle."""
    return [(x, 0.95 - span / 2 if n == 1 else 0.95 - span * k / (n - 1)) for k in range(n)]


def _unit_area(ax, pitch):
    """The circle (pt^2) of units `pitch` apart (axes units, up and down): full size where that leaves a tenth of the
    pitch between them, else 0.9 of the pitch across."""
    (_, low), (_, high) = ax.transData.transform([(0, 0), (0, pitch)])
    points = (high - low) * 72 / ax.figure.dpi
    return min(FULL_UNIT, (0.9 * points) ** 2)


class Label(NamedTuple):
    """An edge's label, from `a` to `b`: `text`, and the widest it gets in any stage of the pass (`widest`, bold)."""

    a: tuple
    b: tuple
    text: str
    widest: str
    box: dict  # the style of its box
    bold: bool


def _edge(ax, a, b, name, weight, grad, scale, new=False):
    """An edge: grey while its gradient is unknown (grad None), then coloured by its sign, as wide as its size.
    Returns its label, for `_label_edges`."""
    low, high = scale
    text = f"{name} = {weight:.4g}"
    if grad is None:
        colour, width = "#aaaaaa", 1.0
    else:
        size = 0.0 if grad == 0 or high == low else (math.log10(abs(grad)) - low) / (high - low)
        colour, width = (POSITIVE if grad > 0 else NEGATIVE), 0.8 + 5 * max(size, 0.0)
    ax.plot([a[0], b[0]], [a[1], b[1]], color=colour, lw=width, alpha=0.75, zorder=1)
    widest = f"{text}\n∂L/∂{name} = -8.88e-88"  # the widest of .3g
    text = text if grad is None else f"{text}\n∂L/∂{name} = {grad:.3g}"
    return Label(a, b, text, widest, dict(ec=HIGHLIGHT, lw=2.2) if new else dict(ec=colour, lw=0.8), new)


def _label_edges(ax, groups, circles):
    """Labels each group of edges (those between two layers: `_edge`'s labels) at the first of LABEL_PLACES, a
    fraction of the way from its source, where no label overlaps another, a text already there or a unit's circle
    (`circles`: `_node`'s); leaves a group unlabelled where none does. A third of the way first: the labels of
    crossing edges sit near their own source unit. Each label is measured at its widest, so that it keeps its place
    in every stage of the backward pass."""
    renderer = ax.figure.canvas.get_renderer()
    taken = [_extent(text, renderer) for text in ax.texts]
    for group in groups:
        for place in LABEL_PLACES:
            texts = [
                ax.text(
                    label.a[0] + place * (label.b[0] - label.a[0]), label.a[1] + place * (label.b[1] - label.a[1]),
                    label.widest, fontsize=8, ha="center", va="center", weight="bold", zorder=3,
                    bbox=dict(boxstyle="round,pad=0.2", fc="white", **label.box),
                )
                for label in group
            ]  # fmt: skip
            boxes = [_extent(text, renderer) for text in texts]
            if not (
                any(p.overlaps(q) for p, q in itertools.combinations(boxes, 2))
                or any(p.overlaps(q) for p in boxes for q in taken)
                or any(_on_circle(p, circle) for p in boxes for circle in circles)
            ):
                for text, label in zip(texts, group, strict=True):
                    text.set_text(label.text)
                    text.set_fontweight("bold" if label.bold else "normal")
                taken += boxes
                break
            for text in texts:
                text.remove()


def _extent(text, renderer):
    """Where a text is drawn (its box, if it has one), in pixels, less a pixel all round: texts that touch do not
    overlap."""
    if text.get_bbox_patch() is None:
        return text.get_window_extent(renderer).padded(-1)
    text.update_bbox_position_size(renderer)
    return text.get_bbox_patch().get_window_extent(renderer).padded(-1)


def _on_circle(box, circle):
    (x, y), radius = circle
    return math.hypot(min(max(x, box.x0), box.x1) - x, min(max(y, box.y0), box.y1) - y) < radius


def _fitted_text(fig, y, versions, **style):
    """The first of `versions` that fits into the figure's width, centred at height y (a fraction of the figure);
    the last where none does."""
    renderer = fig.canvas.get_renderer()
    for version in versions:
        text = fig.text(0.5, y, version, ha="center", **style)
        box = text.get_window_extent(renderer)
        if (box.x0 >= 0 and box.x1 <= fig.bbox.width) or version is versions[-1]:
            return text
        text.remove()


def _node(ax, p, name, text, area=FULL_UNIT, ring="#333333"):
    """A unit: a circle (a marker: round on any aspect), with its name and `text` (its values) at full size, its
    name alone where smaller but room for it. Returns the circle: (centre, radius) in pixels."""
    ax.scatter(*p, s=area, c="#f4f1ea", edgecolors=ring, linewidths=1.2, zorder=2)
    if area == FULL_UNIT:
        ax.text(p[0], p[1] + 0.045, name, ha="center", va="center", fontsize=11, weight="bold", zorder=4)
        ax.text(p[0], p[1] - 0.03, text, ha="center", va="center", fontsize=7.5, zorder=4)
    elif area >= 24**2:  # 24 pt across
        ax.text(p[0], p[1], name, ha="center", va="center", fontsize=7, zorder=4)
    return ax.transData.transform(p), math.sqrt(area) / 2 * ax.figure.dpi / 72
