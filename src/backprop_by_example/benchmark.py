"""Where the time goes: one epoch of the same math three ways, and the whole default run against bare imports.

(a) the hand-derived numpy loop (`by_hand`, float64, CPU), (b) a plain PyTorch loop, (c) the project's Lightning
training. Each is timed for several epochs after a warm-up; the figure is the median epoch.
"""

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import lightning as L
import numpy as np
import torch

from backprop_by_example import by_hand
from backprop_by_example.data import TrainingData
from backprop_by_example.network import Network, squared_error
from backprop_by_example.training import build

DTYPES = {"64-true": torch.float64, "32-true": torch.float32}


def problem(n, seed=0):
    """n instances of the seed's shape: X n x 2, T n x 2, and the seed's weights."""
    rng = np.random.default_rng(seed)
    X, T = rng.normal(size=(n, 2)), rng.uniform(size=(n, 2))
    W, V = [[6.0, -3.0], [-2.0, 5.0]], [[1.0, -2.0], [0.25, 2.0]]
    return X, T, W, V


def numpy_epoch_seconds(X, T, W, V, lr, epochs):
    W, V = np.array(W), np.array(V)
    times = []
    for _ in range(epochs + 1):
        start = time.perf_counter()
        step = by_hand.backprop(X, T, W, V)
        W -= lr * step.grad_W
        V -= lr * step.grad_V
        times.append(time.perf_counter() - start)
    return statistics.median(times[1:])


def torch_epoch_seconds(X, T, W, V, lr, epochs, device, dtype):
    """The plain PyTorch loop: the same network, loss and SGD, data already on the device."""
    X, T = (torch.as_tensor(A, dtype=dtype, device=device) for A in (X, T))
    net = Network(W, V, dtype=dtype).to(device)
    optimizer = torch.optim.SGD(net.parameters(), lr=lr)
    times = []
    for _ in range(epochs + 1):
        _sync(device)
        start = time.perf_counter()
        optimizer.zero_grad()
        squared_error(net(X), T).sum().backward()
        optimizer.step()
        _sync(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times[1:])


class EpochClock(L.Callback):
    """Times from one epoch's end to the next: everything Lightning does per epoch, hooks and logging included."""

    def __init__(self, device):
        self.device, self.ends = device, []

    def on_train_epoch_end(self, trainer, module):
        _sync(self.device)
        self.ends.append(time.perf_counter())


def lightning_epoch_seconds(config, X, T, epochs, device, precision):
    """The project's training as `scripts/train.py` builds it, on X and T."""
    accelerator = "gpu" if device == "cuda" else "cpu"
    overrides = [
        f"trainer.accelerator={accelerator}",
        f"trainer.precision={precision}",
        f"trainer.max_epochs={epochs + 2}",
    ]
    cfg = config(*overrides, "trainer.enable_progress_bar=false", "trainer.enable_model_summary=false")
    with tempfile.TemporaryDirectory() as run_dir:
        trainer, module, _ = build(cfg, run_dir)
        clock = EpochClock(device)
        trainer.callbacks.append(clock)
        trainer.fit(module, datamodule=TrainingData(X, T, dtype=module.net.W.dtype))
    return statistics.median(np.diff(clock.ends)[1:])  # the first epoch (a picture, or compiling) left out


def epoch_table(config, sizes, precisions, devices, epochs, lr=0.5):
    rows = []
    for device in devices:
        for precision in precisions:
            for n in sizes:
                X, T, W, V = problem(n)
                row = {"device": device, "precision": precision, "n": n}
                row["numpy_s"] = numpy_epoch_seconds(X, T, W, V, lr, epochs) if precision == "64-true" else None
                row["torch_s"] = torch_epoch_seconds(X, T, W, V, lr, epochs, device, DTYPES[precision])
                row["lightning_s"] = lightning_epoch_seconds(config, X, T, epochs, device, precision)
                row["lightning_over_torch"] = row["lightning_s"] / row["torch_s"]
                rows.append(row)
                print(_format_row(row), flush=True)
    return rows


def end_to_end(repeats, root):
    """Median wall seconds of the default `python scripts/train.py`, of the same logging the loss alone, and of
    importing its four libraries."""
    bare = [sys.executable, "-c", "import torch, lightning, hydra, tensorboard"]
    with tempfile.TemporaryDirectory() as run_dir:
        train = [sys.executable, str(Path(root) / "scripts" / "train.py"), f"hydra.run.dir={run_dir}"]
        commands = {"bare_import_s": bare, "train_s": train, "train_loss_only_s": [*train, "log.details=false"]}
        times = {key: [] for key in commands}
        for _ in range(repeats):  # alternating, so that a busy moment hits all
            for key, command in commands.items():
                start = time.perf_counter()
                subprocess.run(command, check=True, capture_output=True)
                times[key].append(time.perf_counter() - start)
    result = {key: statistics.median(values) for key, values in times.items()}
    result["train_over_bare_import"] = result["train_s"] / result["bare_import_s"]
    result["details_over_loss_only"] = result["train_s"] / result["train_loss_only_s"]
    return result


HEADER = (
    f"{'device':<7}{'precision':<10}{'N':>9}  {'(a) numpy':>11}{'(b) torch':>11}{'(c) Lightning':>14}{'(c)/(b)':>9}"
)


def _format_row(row):
    numpy_ms = "-" if row["numpy_s"] is None else f"{row['numpy_s'] * 1e3:.3f}"
    return (
        f"{row['device']:<7}{row['precision']:<10}{row['n']:>9}  {numpy_ms:>11}"
        f"{row['torch_s'] * 1e3:>11.3f}{row['lightning_s'] * 1e3:>14.3f}{row['lightning_over_torch']:>9.2f}"
    )


def _sync(device):
    if device == "cuda":
        torch.cuda.synchronize()
