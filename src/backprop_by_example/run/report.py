"""What a run leaves for a person: `summary.json` (the final weights, outputs and losses) and the report it prints."""

import os
import shlex
from pathlib import Path

from backprop_by_example.log.instances import outputs_as_trained
from backprop_by_example.run.checkpoint import progress

MAX_INSTANCES_IN_SUMMARY = 10_000  # beyond, summary.json holds null for the per-instance outputs and losses


def summarize(trainer, module, data, fit_seconds):
    """summary.json's values: the final weights, and Y and each instance's loss through them, worked out as the
    training step does (the log's point after the last update); the epochs and updates done; what it ran on."""
    net = module.net
    X, T = (a.to(net.W) for a in (data.X, data.T))
    with trainer.precision_plugin.forward_context():
        Y, losses = outputs_as_trained(module, X, T)
    per_instance = len(X) <= MAX_INSTANCES_IN_SUMMARY
    return {
        "W": net.W.tolist(),
        "V": net.V.tolist(),
        "outputs": Y.tolist() if per_instance else None,
        "targets": T.tolist() if per_instance else None,
        "losses": losses.tolist() if per_instance else None,
        "loss": losses.sum().item(),
        "epochs": module.epochs_done.item(),  # complete epochs
        "steps": module.steps_done.item(),  # updates
        "steps_skipped": module.steps_skipped.item(),  # of them, by 16-mixed's loss scaler (run/skipped.py)
        "accelerator": trainer.strategy.root_device.type,
        "precision": trainer.precision,
        "fit_seconds": fit_seconds,
    }


def write_atomically(path, text):
    """The file whole or not at all: a run stopped while it is written never leaves half a summary."""
    part = path.with_name(path.name + ".part")
    part.write_text(text)
    try:
        os.replace(part, path)
    except OSError as error:  # a directory of that name, say: name the file the run meant to write
        part.unlink()
        raise OSError(error.errno, error.strerror, str(path)) from None


def report(summary, run_dir, shown=10, start_dir=None):
    """A few readable lines: outputs against targets (the first `shown` instances), the final weights, where to look."""
    done = progress(summary["epochs"], summary["steps"])
    lines = [f"After {done} (precision {summary['precision']}, on {summary['accelerator']}):"]
    if summary["steps_skipped"]:
        lines.append(
            f"  {summary['steps_skipped']} of the {summary['steps']} updates skipped: their gradients overflowed "
            "float16, and the loss scaler skips such an update and halves its scale"
        )
    rows = list(zip(summary["outputs"] or [], summary["targets"] or [], summary["losses"] or [], strict=True))
    for i, (y, t, loss) in enumerate(rows[:shown], start=1):
        lines.append(f"  instance {i}: y = {_row(y)}  target {_row(t, '.8g')}  loss {loss:.8f}")
    if len(rows) > shown:
        lines.append(f"  ... and {len(rows) - shown} more instances")
    lines.append(f"  total loss {summary['loss']:.8f}")
    for name in ("W", "V"):
        lines.append(f"  {name} = [{', '.join(_row(r) for r in summary[name])}]")
    lines.append(f"Run dir:     {shown_path(run_dir, start_dir)}")
    if (Path(run_dir) / "checkpoints" / "last.ckpt").is_file():
        lines.append(f"Checkpoint:  {shown_path(Path(run_dir) / 'checkpoints' / 'last.ckpt', start_dir)}")
    if (Path(run_dir) / "tensorboard").is_dir():
        lines.append(f"TensorBoard: tensorboard --logdir {shown_path(run_dir, start_dir)}")
    return "\n".join(lines)


def shown_path(path, start_dir=None):
    """`path` relative to the directory the command ran in (`start_dir`, default the current one), if inside it."""
    path, start_dir = Path(path).resolve(), Path(start_dir or Path.cwd()).resolve()
    return path.relative_to(start_dir) if path.is_relative_to(start_dir) else path


def continue_command(script, overrides, checkpoint, launcher=("python",)):
    """The command line that continues a stopped run: its overrides again, ckpt_path instead of its run dir;
    `launcher`, the words before the script (torchrun's or srun's, run/launched.py)."""
    kept = [o for o in overrides if o.split("=")[0].lstrip("+~") not in ("ckpt_path", "hydra.run.dir")]
    return shlex.join([*launcher, script, *kept, f"ckpt_path={checkpoint}"])


def _row(values, spec=".8f"):
    return "[" + ", ".join(format(v, spec) for v in values) + "]"
