"""Where the time goes: one epoch of the same math four ways, and the whole default run against bare imports.

(a) the hand-derived numpy loop (`by_hand`, float64, CPU), (b) a plain PyTorch loop, (c) the project's Lightning
training, once per gradient engine (ENGINES), (d) a bare LightningModule (no logger, no callbacks): Lightning's own
floor for autograd. Each is timed for several epochs after a warm-up (which holds any compiling), (b), (c) and (d)
taking turns for a few rounds, so that a slow moment of the machine hits all of them; the figure is the median epoch.
For (c) also what a run pays per epoch all told: the mean epoch of a round (its median over the rounds), where the
work done every so many epochs counts too (the TensorBoard log's pictures and event writes, the checkpoint).

`crossover` times the fused step alone (loss and gradients, compiled), written unit by unit against as matrices, for
nets of more and more hidden units: where the first stops paying (torch_by_hand.SMALL).
"""

import itertools
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader

from backprop_by_example import by_hand, torch_by_hand
from backprop_by_example.data import Batches, Instances, TrainingData
from backprop_by_example.network import Network, squared_error
from backprop_by_example.run.errors import expect
from backprop_by_example.run.training import build


def problem(n, seed=0):
    """n instances of the seed's shape: X n x 2, T n x 2, and the seed's weights."""
    rng = np.random.default_rng(seed)
    X, T = rng.normal(size=(n, 2)), rng.uniform(size=(n, 2))
    W, V = [[6.0, -3.0], [-2.0, 5.0]], [[1.0, -2.0], [0.25, 2.0]]
    return X, T, W, V


def numpy_epoch_times(X, T, W, V, lr, epochs):
    W, V = np.array(W), np.array(V)
    times = []
    for _ in range(epochs + 1):
        start = time.perf_counter()
        step = by_hand.backprop(X, T, W, V)
        W -= lr * step.grad_W
        V -= lr * step.grad_V
        times.append(time.perf_counter() - start)
    return times[1:]


def torch_epoch_times(X, T, W, V, lr, epochs, device, dtype):
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
    return times[1:]


class EpochClock(L.Callback):
    """Times from one epoch's end to the next: everything Lightning does per epoch, hooks and logging included."""

    def __init__(self, device):
        self.device, self.ends = device, []

    def on_train_epoch_end(self, trainer, module):
        _sync(self.device)
        self.ends.append(time.perf_counter())

    def times(self):
        return list(np.diff(self.ends)[1:])  # the first epoch (a picture, or compiling) left out


# The precisions the benchmark times, and the dtype of each one's plain PyTorch loop
DTYPES = {"64-true": torch.float64, "32-true": torch.float32}

# The gradient engines of (c): the overrides of each
ENGINES = {
    "autograd": [],
    "by_hand": ["model.gradients=by_hand"],
    "fused": ["model.gradients=by_hand", "model.compile=true"],  # forward, loss and gradient compiled together
}


def lightning_epoch_times(config, X, T, epochs, device, precision, engine="autograd"):
    """The project's training as `scripts/train.py` builds it, on X and T."""
    overrides = [f"trainer.accelerator={_accelerator(device)}", f"trainer.precision={precision}", *ENGINES[engine]]
    cfg = config(*overrides, f"trainer.max_epochs={epochs + 2}", *QUIET)
    with tempfile.TemporaryDirectory() as run_dir:
        trainer, module, _ = build(cfg, run_dir)
        clock = EpochClock(device)
        trainer.callbacks.append(clock)
        trainer.fit(
            module,
            datamodule=TrainingData(
                X,
                T,
                dtype=module.net.W.dtype,
                columns=torch_by_hand.fused(module.hparams.gradients, module.hparams.compile),
            ),
        )
    return clock.times()


class BareModule(L.LightningModule):
    """The least a LightningModule needs for the same math: the network, the summed loss, SGD, the data."""

    def __init__(self, X, T, W, V, lr, dtype):
        super().__init__()
        self.net = Network(W, V, dtype=dtype)
        self.X, self.T = (torch.as_tensor(A, dtype=dtype) for A in (X, T))
        self.lr = lr

    def training_step(self, batch, batch_idx):
        X, T = batch
        return squared_error(self.net(X), T).sum()

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=self.lr)

    def train_dataloader(self):
        X, T = (A.to(self.device) for A in (self.X, self.T))
        return DataLoader(Instances(X, T), sampler=Batches(len(X), None, False, 0), batch_size=None)


def bare_lightning_epoch_times(X, T, W, V, lr, epochs, device, precision):
    """BareModule's epochs: no logger, no checkpoints, no progress bar, no callback but the clock."""
    clock = EpochClock(device)
    trainer = L.Trainer(
        accelerator=_accelerator(device),
        devices=1,
        precision=precision,
        max_epochs=epochs + 2,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[clock],
    )
    trainer.fit(BareModule(X, T, W, V, lr, DTYPES[precision]))
    return clock.times()


def epoch_table(config, sizes, precisions, devices, epochs, rounds=1, lr=0.5, engines=("autograd",)):
    """One row per device, precision, N and engine: the median epoch of (a) to (d), in seconds, (c)/(b), (d)/(b)
    and (c)/(d) (what the project costs on top of Lightning's own floor); and (c) all told, over (d)'s."""
    rows = []
    for device in devices:
        for precision in precisions:
            for n in sizes:
                X, T, W, V = problem(n)
                runs = {"torch_s": [], "bare_lightning_s": []} | {engine: [] for engine in engines}  # epochs a round
                for _ in range(rounds):
                    runs["torch_s"].append(torch_epoch_times(X, T, W, V, lr, epochs, device, DTYPES[precision]))
                    for engine in engines:
                        runs[engine].append(lightning_epoch_times(config, X, T, epochs, device, precision, engine))
                    bare = bare_lightning_epoch_times(X, T, W, V, lr, epochs, device, precision)
                    runs["bare_lightning_s"].append(bare)
                median = {key: statistics.median(itertools.chain(*per_round)) for key, per_round in runs.items()}
                all_told = {key: statistics.median(map(statistics.mean, per_round)) for key, per_round in runs.items()}
                numpy_s = (
                    statistics.median(numpy_epoch_times(X, T, W, V, lr, epochs)) if precision == "64-true" else None
                )
                for engine in engines:
                    row = {"device": device, "precision": precision, "n": n, "engine": engine, "numpy_s": numpy_s}
                    row |= {key: median[key] for key in ("torch_s", "bare_lightning_s")}
                    row["lightning_s"] = median[engine]
                    row["lightning_over_torch"] = row["lightning_s"] / row["torch_s"]
                    row["bare_lightning_over_torch"] = row["bare_lightning_s"] / row["torch_s"]
                    row["lightning_over_bare_lightning"] = row["lightning_s"] / row["bare_lightning_s"]
                    row["lightning_all_s"], row["bare_lightning_all_s"] = all_told[engine], all_told["bare_lightning_s"]
                    row["all_over_bare_lightning"] = row["lightning_all_s"] / row["bare_lightning_all_s"]
                    rows.append(row)
                    print(_format_row(row), flush=True)
    return rows


def crossover(n, widths, device, precision, steps=20):
    """Milliseconds per compiled fused step (torch_by_hand.loss_and_gradients: loss and both gradients) on n
    instances of 2 inputs and 2 outputs, for each number of hidden units: written unit by unit, and as matrices."""
    dtype = DTYPES[precision]
    rng = np.random.default_rng(0)
    X, T = (torch.as_tensor(rng.normal(size=(n, 2)), dtype=dtype, device=device) for _ in range(2))
    rows, small = [], torch_by_hand.SMALL
    try:
        for width in widths:
            W = torch.as_tensor(0.5 * rng.normal(size=(2, width)), dtype=dtype, device=device)
            V = torch.as_tensor(0.5 * rng.normal(size=(width, 2)), dtype=dtype, device=device)
            row = {"n": n, "hidden": width}
            for form, threshold in (("units_ms", 10**9), ("matrices_ms", 0)):
                torch_by_hand.SMALL = threshold  # read while the step is traced
                torch.compiler.reset()
                step = torch.compile(torch_by_hand.loss_and_gradients, dynamic=False)
                times = _step_times(step, X, T, W, V, steps, device)
                row[form], row[form.replace("_ms", "_compile_s")] = 1e3 * statistics.median(times[2:]), times[0]
            rows.append(row)
            faster = "units" if row["units_ms"] < row["matrices_ms"] else "matrices"
            print(
                f"{width:>8}{row['units_ms']:>10.3f}{row['matrices_ms']:>10.3f}"
                f"{row['units_compile_s']:>10.1f}{row['matrices_compile_s']:>10.1f}   {faster}",
                flush=True,
            )
    finally:
        torch_by_hand.SMALL = small
        torch.compiler.reset()
    return rows


def _step_times(step, X, T, W, V, steps, device):
    """The seconds of each call: the first compiles, the second may still warm up."""
    times = []
    for _ in range(steps + 2):
        _sync(device)
        start = time.perf_counter()
        step(X, T, W, V)
        _sync(device)
        times.append(time.perf_counter() - start)
    return times


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
    f"{'device':<7}{'precision':<10}{'N':>9} {'engine':<9}{'(a) numpy':>10}{'(b) torch':>10}{'(c) project':>12}"
    f"{'(c)/(b)':>8}{'(d) bare':>10}{'(d)/(b)':>8}{'(c)/(d)':>8}{'(c) all':>9}{'all/(d)':>8}"
)
CROSSOVER_HEADER = f"{'hidden':>8}{'units':>10}{'matrices':>10}{'compiling':>10}{'(s)':>10}   faster per step"
QUIET = ("trainer.enable_progress_bar=false", "trainer.enable_model_summary=false")


def _format_row(row):
    numpy_ms = "-" if row["numpy_s"] is None else f"{row['numpy_s'] * 1e3:.3f}"
    return (
        f"{row['device']:<7}{row['precision']:<10}{row['n']:>9} {row['engine']:<9}{numpy_ms:>10}"
        f"{row['torch_s'] * 1e3:>10.3f}"
        f"{row['lightning_s'] * 1e3:>12.3f}{row['lightning_over_torch']:>8.2f}"
        f"{row['bare_lightning_s'] * 1e3:>10.3f}{row['bare_lightning_over_torch']:>8.2f}"
        f"{row['lightning_over_bare_lightning']:>8.2f}"
        f"{row['lightning_all_s'] * 1e3:>9.3f}{row['all_over_bare_lightning']:>8.2f}"
    )


def _accelerator(device):
    return "gpu" if device == "cuda" else "cpu"


def _sync(device):
    if device == "cuda":
        torch.cuda.synchronize()


def check_benchmark(cfg):
    """Raise ConfigError for benchmark settings that cannot be timed."""
    for n in cfg.sizes:
        expect(n >= 1, "sizes", "numbers of instances >= 1", n)
    for precision in cfg.precisions:
        expect(precision in DTYPES, "precisions", " or ".join(DTYPES), precision)
    expect(cfg.epochs >= 1, "epochs", "a number of timed epochs >= 1", cfg.epochs)
    expect(cfg.rounds >= 1, "rounds", "a number of rounds >= 1", cfg.rounds)
    expect(cfg.crossover_n >= 1, "crossover_n", "a number of instances >= 1", cfg.crossover_n)
    for width in cfg.crossover_widths:
        expect(width >= 1, "crossover_widths", "numbers of hidden units >= 1", width)
    repeats = cfg.end_to_end_repeats
    expect(repeats >= 0, "end_to_end_repeats", "a number of runs >= 0 (0 leaves the end-to-end timing out)", repeats)
