"""The backward pass stage by stage, in the seed's order: what each frame of the walkthrough shows.

The seed draws its network again and again as the gradients flow back (its figures netinstance1,
last-layer-intermediate, last-layer-weight, to-hidden, last-layer-done): the forward values; the error at the
outputs; back through the output sigmoid; the last layer's weights; the hidden outputs; back through the hidden
sigmoid; the first layer's weights (and the inputs). A `Stage` is one such picture as data: every value known so far,
at its unit or on its edge, which of them the stage added, and its formula with one case worked out in numbers.
`picture.draw_stage` draws it; the numbers come from the hand-derived oracle, `by_hand.backprop`.

Units are named as in the seed and counted from 1: ("x", 1), ("h", 2), ("y", 1); edges ("w", i, j) from input i to
hidden unit j, ("v", j, k) from hidden unit j to output k.
"""

import math
from typing import NamedTuple

from backprop_by_example import by_hand


class Worked(NamedTuple):
    """One value in numbers: value = the sum over `terms` of the product of each term's factors."""

    name: str  # grad_v21
    formula: str  # h2_out grad_y1_in
    terms: tuple  # ((0.01798..., -0.10518...),)
    value: float


class Stage(NamedTuple):
    number: int  # 1 to 7
    name: str  # a file name: forward, error, ...
    title: str
    formula: str  # the stage's vector form, as explain's tables write it
    worked: tuple  # Worked, one or two
    units: dict  # (layer, unit) -> {quantity: value}, everything known so far
    edges: dict  # (letter, i, j) -> {"weight": value, "grad": value once known}
    added: frozenset  # ("unit", (layer, unit), quantity) and ("edge", (letter, i, j), "grad") of this stage
    focus: tuple | None  # the edge whose gradient the stage works out in numbers (the seed highlights v21)


def stages(x, t, W, V):
    """The seven stages of the backward pass for instance x with target t, through weights W and V."""
    p = by_hand.backprop([x], [t], W, V)
    inputs, hidden, outputs = len(W), len(V), len(V[0])
    X, H, Y = range(1, inputs + 1), range(1, hidden + 1), range(1, outputs + 1)
    units = {("x", i): {"x": x[i - 1]} for i in X}
    units |= {("h", j): {"h_in": p.h_in[0][j - 1], "h_out": p.h_out[0][j - 1]} for j in H}
    units |= {("y", k): {"y_in": p.y_in[0][k - 1], "y_out": p.y_out[0][k - 1], "t": t[k - 1]} for k in Y}
    edges = {("w", i, j): {"weight": W[i - 1][j - 1]} for i in X for j in H}
    edges |= {("v", j, k): {"weight": V[j - 1][k - 1]} for j in H for k in Y}
    h_out, y_out, grad_y_in = p.h_out[0], p.y_out[0], p.grad_y_in[0]
    j_seed = min(2, hidden)  # the seed works out v21: hidden unit 2 (or 1 in a net of one) into output 1

    def at(layer, **quantities):
        """{(layer, unit): {quantity: its value at that unit}} from each quantity's values, unit by unit."""
        count = len(next(iter(quantities.values())))
        return {(layer, n + 1): {q: values[n] for q, values in quantities.items()} for n in range(count)}

    steps = [
        (
            "forward", "Forward: each unit sums its weighted inputs and squashes them",
            "h_in = x @ W, h_out = sigmoid(h_in), y_in = h_out @ V, y_out = sigmoid(y_in)",
            (_sum("h1_in", [(f"w{i}1", f"x{i}") for i in X], [(W[i - 1][0], x[i - 1]) for i in X]),),
            {}, {},
        ),
        (
            "error", "The error at the outputs, and the loss's gradient there", "e = y_out - t, grad_y_out = 2 e",
            (Worked("e1", "y1_out - t1", ((y_out[0],), (-t[0],)), p.e[0][0]),
             Worked("grad_y1_out", "2 e1", ((2.0, p.e[0][0]),), p.grad_y_out[0][0])),
            at("y", e=p.e[0], grad_y_out=p.grad_y_out[0]), {},
        ),
        (
            "output_sigmoid", "Back through the output sigmoid: its slope is y_out (1 - y_out)",
            "grad_y_in = y_out (1 - y_out) grad_y_out",
            (Worked("grad_y1_in", "y1_out (1 - y1_out) grad_y1_out",
                    ((y_out[0], 1 - y_out[0], p.grad_y_out[0][0]),), grad_y_in[0]),),
            at("y", grad_y_in=grad_y_in), {},
        ),
        (
            "grad_V", "The last layer's weights: each gets its input times the gradient it feeds",
            "grad_V = outer(h_out, grad_y_in)",
            (Worked(f"grad_v{j_seed}1", f"h{j_seed}_out grad_y1_in", ((h_out[j_seed - 1], grad_y_in[0]),),
                    p.grad_V[j_seed - 1][0]),),
            {}, {("v", j, k): p.grad_V[j - 1][k - 1] for j in H for k in Y},
        ),
        (
            "grad_h_out", "Back to the hidden outputs: the sum over the edges leaving each unit",
            "grad_h_out = grad_y_in @ V.T",
            (_sum("grad_h1_out", [(f"v1{k}", f"grad_y{k}_in") for k in Y],
                  [(V[0][k - 1], grad_y_in[k - 1]) for k in Y]),),
            at("h", grad_h_out=p.grad_h_out[0]), {},
        ),
        (
            "hidden_sigmoid", "Back through the hidden sigmoid: its slope is h_out (1 - h_out)",
            "grad_h_in = h_out (1 - h_out) grad_h_out",
            (Worked("grad_h1_in", "h1_out (1 - h1_out) grad_h1_out",
                    ((h_out[0], 1 - h_out[0], p.grad_h_out[0][0]),), p.grad_h_in[0][0]),),
            at("h", grad_h_in=p.grad_h_in[0]), {},
        ),
        (
            "grad_W", "The first layer's weights, and the inputs (nothing to learn there)",
            "grad_W = outer(x, grad_h_in), grad_x = grad_h_in @ W.T",
            (Worked("grad_w11", "x1 grad_h1_in", ((x[0], p.grad_h_in[0][0]),), p.grad_W[0][0]),
             _sum("grad_x1", [(f"w1{j}", f"grad_h{j}_in") for j in H],
                  [(W[0][j - 1], p.grad_h_in[0][j - 1]) for j in H])),
            at("x", grad_x=p.grad_x[0]), {("w", i, j): p.grad_W[i - 1][j - 1] for i in X for j in H},
        ),
    ]  # fmt: skip
    result = []
    for number, (name, title, formula, worked, new_units, new_grads) in enumerate(steps, start=1):
        units = {unit: values | new_units.get(unit, {}) for unit, values in units.items()}
        edges = {
            edge: values | ({"grad": new_grads[edge]} if edge in new_grads else {}) for edge, values in edges.items()
        }
        added = {("unit", unit, q) for unit, values in new_units.items() for q in values}
        added |= {("edge", edge, "grad") for edge in new_grads}
        if name == "forward":  # the first picture adds every forward value
            added = {("unit", unit, q) for unit, values in units.items() for q in values}
        focus = {"grad_V": ("v", j_seed, 1), "grad_W": ("w", 1, 1)}.get(name)
        result.append(Stage(number, name, title, formula, worked, units, edges, frozenset(added), focus))
    return result


def _sum(name, symbols, terms):
    """`name` = a1 b1 + a2 b2 + ..., with its symbols and numbers."""
    return Worked(name, " + ".join(f"{a} {b}" for a, b in symbols), tuple(terms), math.fsum(a * b for a, b in terms))


def numbers(worked, most=None):
    """The worked case in numbers: 'grad_v21 = h2_out grad_y1_in = 0.01799 x (-0.1052) = -0.001892'. A sum of more
    than `most` terms shows its first and its last, and '...' for those between."""
    formula, products = worked.formula, [" x ".join(_factor(f) for f in factors) for factors in worked.terms]
    symbols = formula.split(" + ")
    if most is not None and len(products) > most and len(symbols) == len(products):
        formula, products = f"{symbols[0]} + ... + {symbols[-1]}", [products[0], "...", products[-1]]
    return f"{worked.name} = {formula} = {' + '.join(products)} = {short(worked.value)}"


def short(value):
    """Four digits, or as many as show how close to 1 a saturated sigmoid is (0.99999989)."""
    close_to_one = value != 0 and 0 < 1 - abs(value) < 1e-3
    return f"{value:.8g}" if close_to_one else f"{value:.4g}"


def _factor(value):
    return short(value) if value >= 0 else f"({short(value)})"
