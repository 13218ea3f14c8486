"""The seed's walkthrough (cells 2-14) for any weights and any one instance: every value, and five engines' gradients.

The engines differ in how they get dL/dW and dL/dV: worked out by hand (numpy), the tape, worked out by hand in
torch (what `model.gradients=by_hand` trains with), and torch autograd in float64 and in float32. Their differences
to the hand-derived values are the seed's float32 lesson (cell 12).
"""

import math
from pathlib import Path

import numpy as np
import torch

from backprop_by_example import by_hand, tape, torch_by_hand
from backprop_by_example.network import Network, squared_error, weight_names
from backprop_by_example.pictures import picture, stages
from backprop_by_example.run.checks import check_instance, check_keys, check_network, check_seed
from backprop_by_example.run.errors import ConfigError, expect
from backprop_by_example.run.inputs import load, start_weights
from backprop_by_example.run.paths import check_writable, user_path
from backprop_by_example.run.schema import ExplainConfig

FORWARD = [
    ("h_in", "x @ W"),
    ("h_out", "sigmoid(h_in)"),
    ("y_in", "h_out @ V"),
    ("y_out", "sigmoid(y_in)"),
]
ERROR = [("e", "y_out - t")]
BACKWARD = [
    ("grad_y_out", "2 e"),
    ("grad_y_in", "y_out (1 - y_out) grad_y_out"),
    ("grad_h_out", "grad_y_in @ V.T"),
    ("grad_h_in", "h_out (1 - h_out) grad_h_out"),
    ("grad_x", "grad_h_in @ W.T"),
]
WEIGHT_GRADS = [("grad_V", "outer(h_out, grad_y_in)"), ("grad_W", "outer(x, grad_h_in)")]
ENGINES = ["by_hand", "tape", "torch_by_hand", "torch_float64", "torch_float32"]
# A GIF holds each frame's delay in hundredths of a second, in 16 bits: from 0.01 s to 655.35 s
GIF_SECONDS = (0.01, 655.35)


def instance(cfg):
    """(x, t, W, V) for `cfg.explain.instance`, from the same model and data keys as training uses.

    Checks `explain.picture` too, so that nothing is printed for a run that cannot finish.
    """
    check_keys(cfg, ExplainConfig)
    check_network(cfg)
    check_seed(cfg.seed)
    lr = cfg.optimizer.lr  # the page's
    expect(math.isfinite(lr) and lr > 0, "optimizer.lr", "a finite learning rate > 0", lr)
    seconds = cfg.explain.seconds_per_frame
    expect(GIF_SECONDS[0] <= seconds <= GIF_SECONDS[1], "explain.seconds_per_frame",
           f"a number of seconds from {GIF_SECONDS[0]} to {GIF_SECONDS[1]} (a GIF frame's delay)", seconds)  # fmt: skip
    check_picture(cfg.explain.picture)
    stages_dir = Path(user_path(cfg.explain.stages))
    if not stages_dir.exists() and stages_dir.parent.is_dir():
        try:
            stages_dir.mkdir()
        except OSError as error:  # a parent that takes no directories: /proc, a read-only disk
            raise ConfigError(
                f"explain.stages: expected a directory for the stage pictures, got {cfg.explain.stages} "
                f"({error.strerror})"
            ) from None
    expect(stages_dir.is_dir(), "explain.stages", "a directory for the stage pictures", cfg.explain.stages)
    check_picture(stages_dir / "stage1-forward.png", "explain.stages")
    X, T = load(cfg.data, cfg.model)
    check_instance("explain.instance", cfg.explain.instance, len(X))
    W, V = start_weights(cfg)
    i = cfg.explain.instance - 1
    return X[i].tolist(), T[i].tolist(), W, V


def check_picture(path, key="explain.picture"):
    """A PNG file that can be written: a .png name in an existing directory that takes files."""
    file = Path(user_path(path))
    expect(file.suffix.lower() == ".png", key, "a file name ending in .png", path)
    expect(not file.is_dir(), key, "a file name, not a directory", path)
    expect(file.parent.is_dir(), key, "a file in an existing directory", path)
    check_writable(file.parent, key, "a file in a directory that can be written", path)


def stage_pictures(x, t, W, V, heading):
    """The backward pass stage by stage (stages.stages), each drawn: [(file name, RGB image)] in order."""
    passes = stages.stages(x, t, W, V)
    scale = picture.gradient_scale([edge["grad"] for edge in passes[-1].edges.values()])
    return [
        (f"stage{stage.number}-{stage.name}.png", picture.render(picture.draw_stage(stage, x, t, heading, scale)))
        for stage in passes
    ]


def walkthrough(x, t, W, V):
    """Every intermediate of the pass for instance x with target t, under the seed's names, plus `engines`."""
    step = by_hand.backprop([x], [t], W, V)
    result = {name: getattr(step, name)[0].tolist() for name, _ in FORWARD + ERROR + BACKWARD}
    result |= {"loss": float(step.loss[0]), "grad_W": step.grad_W.tolist(), "grad_V": step.grad_V.tolist()}

    taped = tape.backprop(x, t, W, V)
    grads = {
        "by_hand": (step.grad_W, step.grad_V),
        "tape": (taped["grad_W"], taped["grad_V"]),
        "torch_by_hand": _torch_by_hand_grads(x, t, W, V),
        "torch_float64": _torch_grads(x, t, W, V, torch.float64),
        "torch_float32": _torch_grads(x, t, W, V, torch.float32),
    }
    reference = np.concatenate([step.grad_W.ravel(), step.grad_V.ravel()])
    result["engines"] = {}
    for engine, (grad_W, grad_V) in grads.items():
        got = np.concatenate([np.ravel(grad_W), np.ravel(grad_V)]).astype(np.float64)
        diff = np.abs(got - reference)
        relative = np.divide(diff, np.abs(reference), out=np.zeros_like(diff), where=reference != 0)
        result["engines"][engine] = {
            "grad_W": np.asarray(grad_W, dtype=np.float64).tolist(),
            "grad_V": np.asarray(grad_V, dtype=np.float64).tolist(),
            "max_abs_diff": float(diff.max()),
            "max_rel_diff": float(relative.max()),
        }
    return result


def _torch_grads(x, t, W, V, dtype):
    net = Network(W, V, dtype=dtype)
    squared_error(net(torch.tensor([x], dtype=dtype)), torch.tensor([t], dtype=dtype)).sum().backward()
    return net.W.grad.double().numpy(), net.V.grad.double().numpy()


def _torch_by_hand_grads(x, t, W, V):
    """The training engine of model.gradients=by_hand, float64: the seed's derivation in torch."""
    X, T, W, V = (torch.tensor(A, dtype=torch.float64) for A in ([x], [t], W, V))
    W.requires_grad_(), V.requires_grad_()
    torch_by_hand.squared_error(X, T, W, V).backward()
    return W.grad.numpy(), V.grad.numpy()


def tables(result, x, t, instance):
    """The walkthrough as plain-text tables, one value per unit in columns."""
    out = [f"Instance {instance}: x = {_fmt_list(x)}, t = {_fmt_list(t)}", ""]

    def section(title, rows):
        width = max(len(result[name]) for name, _ in rows)
        out.append(f"{title:<45}" + "".join(f"{'unit ' + str(k + 1):<25}" for k in range(width)))
        for name, formula in rows:
            out.append(f"  {name:<11}= {formula:<30}" + "".join(f"{v!r:<25}" for v in result[name]))
        out.append("")

    section("Forward", FORWARD)
    section("Error", ERROR)
    out += [f"  {'L':<11}= {'sum(e**2)':<30}{result['loss']!r}", ""]
    section("Backward", BACKWARD)

    (W_rows, W_cols), (V_rows, V_cols) = np.shape(result["grad_W"]), np.shape(result["grad_V"])
    names = weight_names("w", W_rows, W_cols) + weight_names("v", V_rows, V_cols)
    engines = result["engines"]
    out.append(
        "Weight gradients dL/dw from five engines (grad_W = outer(x, grad_h_in), grad_V = outer(h_out, grad_y_in))"
    )
    out.append(f"  {'weight':<8}" + "".join(f"{engine:<25}" for engine in ENGINES))
    columns = {
        e: [float(g) for A in (engines[e]["grad_W"], engines[e]["grad_V"]) for row in A for g in row] for e in ENGINES
    }
    for i, name in enumerate(names):
        out.append(f"  {name:<8}" + "".join(f"{columns[e][i]!r:<25}" for e in ENGINES))
    out.append(
        f"  {'max |diff| to by_hand':<33}" + "".join(f"{engines[e]['max_abs_diff']:<25.3g}" for e in ENGINES[1:])
    )
    out.append(f"  {'max relative diff':<33}" + "".join(f"{engines[e]['max_rel_diff']:<25.3g}" for e in ENGINES[1:]))
    return "\n".join(line.rstrip() for line in out)


def _fmt_list(values):
    return "[" + ", ".join(f"{v:g}" for v in values) + "]"
