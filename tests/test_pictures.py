"""The pictures can be read: the digits that show a saturated unit, and stage frames whose units, values and formulas
do not overlap at any width (where matplotlib's renderer draws them). (The files: test_explain.py, test_tensorboard.py.)
"""

import math

import numpy as np
import pytest
from matplotlib.text import Text

import seed_printed as seed
from backprop_by_example.pictures import picture, stages


def texts(fig):
    return [text.get_text() for text in fig.findobj(Text)]


@pytest.mark.parametrize("draw", ["network", "training frame"])
def test_a_saturated_hidden_unit_shows_how_close_to_1_it_is(draw):
    """h1_out = sigmoid(16) = 0.9999998874648379 (seed cell 2): the vanishing gradient of cell 27 is its slope
    h1_out (1 - h1_out), which '1' hides; 0.99999989 shows it, as the stage frames do."""
    if draw == "network":
        fig = picture.draw(seed.x1, seed.t1, seed.W, seed.V)
    else:
        fig = picture.draw_training(seed.x1, seed.t1, seed.W, seed.V, "After 0 updates", [0], [seed.loss_before])
    assert "in 16\nout 0.99999989" in texts(fig)


def shapes(fig):
    """The units' circles ((x, y), radius) and every text's box (its bbox patch, if it has one), in pixels, as
    matplotlib's renderer draws them."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    circles = []
    for ax in fig.axes:
        for markers in ax.collections:
            radius = math.sqrt(markers.get_sizes()[0]) / 2 * fig.dpi / 72  # a marker's size is its area in pt^2
            circles += [(tuple(p), radius) for p in ax.transData.transform(markers.get_offsets())]
    boxes = [
        (text.get_text(), (text.get_bbox_patch() or text).get_window_extent(renderer))
        for text in fig.findobj(Text)
        if text.get_visible() and text.get_text()
    ]
    return circles, boxes


def overlaps(fig, slack=1.0):
    """Whatever overlaps by more than `slack` pixels: two circles, two texts, a text and a circle it is not inside
    (a unit's name and values are in its own circle), or a text and the figure's edge."""
    circles, boxes = shapes(fig)
    found = []

    def inside(box, circle):
        (x, y), radius = circle
        return math.hypot((box.x0 + box.x1) / 2 - x, (box.y0 + box.y1) / 2 - y) < radius

    def on_circle(box, circle):
        (x, y), radius = circle
        return math.hypot(min(max(x, box.x0), box.x1) - x, min(max(y, box.y0), box.y1) - y) < radius - slack

    for (p, r), (q, s) in ((a, b) for k, a in enumerate(circles) for b in circles[k + 1 :]):
        if math.dist(p, q) < r + s - slack:
            found.append(f"circles {p} and {q}")
    for k, (text, box) in enumerate(boxes):
        if box.x0 < -slack or box.y0 < -slack or box.x1 > fig.bbox.width + slack or box.y1 > fig.bbox.height + slack:
            found.append(f"{text!r} beyond the figure's edge")
        own = [circle for circle in circles if inside(box, circle)]
        found += [f"{text!r} on the unit at {c[0]}" for c in circles if c not in own and on_circle(box, c)]
        for other, other_box in boxes[k + 1 :]:
            if own and own == [c for c in circles if inside(other_box, c)]:
                continue  # a unit's name and its values
            width = min(box.x1, other_box.x1) - max(box.x0, other_box.x0)
            height = min(box.y1, other_box.y1) - max(box.y0, other_box.y0)
            if width > slack and height > slack:
                found.append(f"{text!r} on {other!r}")
    return found


@pytest.mark.parametrize("width", [1, 4, 8, 16])
def test_no_unit_value_or_formula_of_a_stage_frame_overlaps_another_at_any_width(width):
    """The last stage, which shows every value and gradient of the pass; its worked sums run over `width` terms."""
    rng = np.random.default_rng(width)
    x, t = rng.normal(size=width).round(2).tolist(), rng.uniform(size=width).round(2).tolist()
    W, V = rng.normal(size=(width, width)).tolist(), rng.normal(size=(width, width)).tolist()
    last = stages.stages(x, t, W, V)[-1]
    scale = picture.gradient_scale([edge["grad"] for edge in last.edges.values()])
    fig = picture.draw_stage(last, x, t, "Instance 1", scale)
    assert overlaps(fig) == []
    values = {f"∂L/∂in = {stages.short(last.units[('h', j)]['grad_h_in'])}" for j in range(1, width + 1)}
    assert values <= set(texts(fig))  # every hidden unit's gradient is shown


def test_the_seeds_stage_frames_have_nothing_overlapping_and_keep_their_labels():
    """The stages whose edge labels are bold (the widest): the last layer's weights, and the first's."""
    passes = stages.stages(seed.x1, seed.t1, seed.W, seed.V)
    scale = picture.gradient_scale([edge["grad"] for edge in passes[-1].edges.values()])
    for stage in (passes[3], passes[6]):
        fig = picture.draw_stage(stage, seed.x1, seed.t1, "Instance 1", scale)
        assert overlaps(fig) == [], stage.name
        assert {"w11 = 6", "v22 = 2"} <= {text.split("\n")[0] for text in texts(fig)}, stage.name
