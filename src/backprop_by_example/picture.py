"""The network drawn for one training instance: node values, and each weight with its gradient on its edge.

Edge colour is the sign of dL/dw (red: positive, so SGD lowers the weight; blue: negative, SGD raises it) and
edge width its size on a log scale, since the seed's gradients span 1e-8 to 1e-1.
"""

import math

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.image import imsave

from backprop_by_example import by_hand

POSITIVE, NEGATIVE = "#c0392b", "#2e6fb7"
MAX_LABELLED_UNITS = 4  # wider layers get their edges drawn without labels


def draw(x, t, W, V, heading="The seed's network"):
    """A matplotlib Figure of the pass of instance x (target t) through weights W, V, worked out by `by_hand`."""
    step = by_hand.backprop([x], [t], W, V)
    inputs, hidden, outputs = len(W), len(V), len(V[0])
    # Figure and the Agg canvas, not pyplot: no window, no global backend, and 0.1 s less to import
    fig = Figure(figsize=(10, 6), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    ax.set_axis_off()
    ax.set_xlim(-0.45, 2.45)
    ax.set_ylim(-0.16, 1.12)

    layers = [_column(0, inputs), _column(1, hidden), _column(2, outputs)]
    magnitudes = [abs(g) for row in [*step.grad_W, *step.grad_V] for g in row if g != 0]
    scale = (math.log10(min(magnitudes)), math.log10(max(magnitudes))) if magnitudes else (0.0, 1.0)
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

    fig.suptitle(f"{heading}:  x = {_short(x)}, t = {_short(t)}, loss {step.loss[0]:.6g}", fontsize=12)
    ax.text(
        1.0, -0.13,
        "edge: weight and dL/dweight for this instance.  red: dL/dw > 0, blue: < 0;  width: |dL/dw|, log scale",
        ha="center", fontsize=9, color="#555555",
    )  # fmt: skip
    fig.subplots_adjust(left=0.01, right=0.99, bottom=0.01, top=0.93)
    return fig


def render(fig):
    """The figure as an RGB array (height x width x 3)."""
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()


def save_png(image, path):
    imsave(path, image)


def _short(values):
    return "[" + ", ".join(f"{v:.4g}" for v in values) + "]"


def _column(x, n):
    return [(x, 0.5 if n == 1 else 0.95 - 0.9 * k / (n - 1)) for k in range(n)]


def _edge(ax, a, b, name, weight, grad, scale, labelled):
    low, high = scale
    size = 0.0 if grad == 0 or high == low else (math.log10(abs(grad)) - low) / (high - low)
    colour = POSITIVE if grad > 0 else NEGATIVE
    ax.plot([a[0], b[0]], [a[1], b[1]], color=colour, lw=0.8 + 5 * size, alpha=0.75, zorder=1)
    if labelled:
        # a third of the way along, so the labels of crossing edges sit near their own source node
        lx, ly = a[0] + (b[0] - a[0]) / 3, a[1] + (b[1] - a[1]) / 3
        ax.text(
            lx, ly, f"{name} = {weight:.4g}\n∂L/∂{name} = {grad:.3g}", fontsize=8, ha="center", va="center",
            bbox=dict(boxstyle="round,pad=0.2", fc="white", ec=colour, lw=0.8), zorder=3,
        )  # fmt: skip


def _node(ax, p, name, text):
    ax.scatter(*p, s=5200, c="#f4f1ea", edgecolors="#333333", linewidths=1.2, zorder=2)  # round on any aspect
    ax.text(p[0], p[1] + 0.045, name, ha="center", va="center", fontsize=11, weight="bold", zorder=4)
    ax.text(p[0], p[1] - 0.03, text, ha="center", va="center", fontsize=7.5, zorder=4)
