"""What a person sees of a run: one progress bar across the epochs in a terminal, a short log in a file."""

import io
import logging
import warnings
from contextlib import redirect_stdout

import lightning as L
import pytest
import torch

import seed_printed as seed
from backprop_by_example import by_hand
from backprop_by_example.data import TrainingData
from backprop_by_example.module import BackpropModule
from backprop_by_example.run import console
from backprop_by_example.run.progress import EpochBar, Lines, Live
from backprop_by_example.run.training import build, train


class Terminal(io.StringIO):
    """stdout as a terminal: what a progress bar writes to it stays readable afterwards."""

    def isatty(self):
        return True


def test_in_a_terminal_one_bar_counts_the_epochs_with_the_loss_and_ends_its_line_after_the_last(config, tmp_path):
    with redirect_stdout(Terminal()) as terminal:
        train(config("trainer.enable_progress_bar=true", "trainer.max_epochs=20"), tmp_path)
    text = terminal.getvalue()
    assert text.count("\n") == 1 and text.endswith("\n")  # one bar, redrawn in place (\r), not one per epoch
    last = text.rstrip("\n").split("\r")[-1]
    assert last.startswith("Training: 100%") and "20/20" in last and "epoch/s" in last
    W, V = by_hand.train(seed.X, seed.T, seed.W, seed.V, lr=seed.lr, epochs=19)
    loss = by_hand.backprop(seed.X, seed.T, W, V).loss.sum()  # the 20th epoch's: before its update
    assert last.endswith(f"loss={loss:.8f}]") and "Epoch 0" not in text


def test_without_an_epoch_limit_the_bar_counts_to_what_max_steps_allows(config, tmp_path):
    """data.batch_size=1: two updates an epoch, so max_steps=7 ends in the 4th epoch."""
    with redirect_stdout(Terminal()) as terminal:
        train(config("trainer.enable_progress_bar=true", "trainer.max_epochs=-1", "+trainer.max_steps=7",
                     "data.batch_size=1"), tmp_path)  # fmt: skip
    assert "/4 [" in terminal.getvalue()


def test_enable_progress_bar_false_shows_no_bar(config, tmp_path):
    with redirect_stdout(Terminal()) as terminal:
        train(config("trainer.enable_progress_bar=false", "trainer.max_epochs=3"), tmp_path)
    assert "Training" not in terminal.getvalue()


def test_a_note_while_the_bar_is_open_takes_the_bars_line_and_the_bar_ends_with_the_last_loss():
    with redirect_stdout(Terminal()) as terminal:
        bar = Live(total=None, done=0)  # no epoch limit: max_time ends the run
        bar.update(torch.tensor(0.5))
        logging.getLogger("lightning.pytorch.utilities.rank_zero").info("Time limit reached.")
        cleared = terminal.getvalue().split("\r")
        assert cleared[-1] == "" and cleared[-2].strip() == ""  # the bar's line blanked, the cursor at its start
        bar.update(torch.tensor(0.25))
        bar.close(torch.tensor(0.125))
    last = terminal.getvalue().split("\r")[-1]
    assert last.startswith("Training: 2epoch [") and last.endswith(", loss=0.12500000]\n")


def test_in_a_file_a_line_every_tenth_of_the_epochs_and_none_for_a_short_run(caplog):
    caplog.set_level(logging.INFO, logger="backprop_by_example.run.progress")
    lines = Lines(total=1000, done=0, seconds=0)  # as if each epoch took long enough
    for _ in range(1000):
        lines.update(torch.tensor(0.25))
    assert [r.getMessage().split(" (")[0] for r in caplog.records] == [
        f"Epoch {n} of 1000: loss 0.25000000" for n in range(100, 1001, 100)
    ]
    caplog.clear()
    short = Lines(total=1000, done=0)  # a run of less than `seconds` (10)
    for _ in range(1000):
        short.update(torch.tensor(0.25))
    assert caplog.records == []


@pytest.mark.slow
def test_the_default_run_in_a_file_is_a_few_lines_without_warnings_or_tips_and_ends_with_the_report(default_run):
    done, _ = default_run  # progress bar and model summary on, as a user runs it
    assert done.returncode == 0, done.stderr
    lines = (done.stdout + done.stderr).splitlines()
    assert len(lines) <= 40
    assert not [line for line in lines if "warn" in line.lower() or "Tip" in line or "\r" in line]
    assert lines[-9:-3] == [
        "After 201 epochs (precision 64-true, on cpu):",
        "  instance 1: y = [0.94621368, 0.04892312]  target [1, 0]  loss 0.00528644",
        "  instance 2: y = [0.05590822, 0.95093023]  target [0, 1]  loss 0.00553357",
        "  total loss 0.01082001",
        "  W = [[6.00000866, -3.20250470], [-2.00002564, 4.93249844]]",
        "  V = [[2.89356441, -2.99473202], [-2.82651445, 2.96419993]]",
    ]


def test_a_line_printed_while_the_bar_is_open_stands_above_it():
    """LightningModule.print (the stop's "Stopped after ...") goes through the bar: its own line, the bar below."""
    epoch_bar = EpochBar(interactive=True)
    with redirect_stdout(Terminal()) as terminal:
        epoch_bar.bar = Live(total=10, done=0)
        epoch_bar.bar.update(torch.tensor(0.5))
        epoch_bar.print("Stopped after 1 epoch; saved last.ckpt")
        epoch_bar.bar.close()
    lines = terminal.getvalue().split("\n")
    assert lines[0].split("\r")[-1] == "Stopped after 1 epoch; saved last.ckpt"
    assert lines[1].split("\r")[-1].startswith("Training:  10%")


def test_a_run_resumed_in_the_middle_of_an_epoch_counts_on_with_the_bar(config, tmp_path):
    """data.batch_size=1: two batches an epoch; max_steps=3 ends in the middle of the second epoch."""
    bar = ["trainer.enable_progress_bar=true", "data.batch_size=1", "log.details=false"]
    train(config(*bar, "trainer.max_epochs=-1", "+trainer.max_steps=3"), tmp_path / "first")
    last = tmp_path / "first" / "checkpoints" / "last.ckpt"
    summary = train(config(*bar, "trainer.max_epochs=4", f"ckpt_path={last}"), tmp_path / "resumed")
    assert (summary["epochs"], summary["steps"]) == (4, 8)


def test_on_a_gpu_machine_a_cpu_run_keeps_the_gpu_note_not_lightnings_warning(config, tmp_path, monkeypatch, caplog):
    """As if there were a GPU: Lightning warns that it is not used (a plain Trainer shows it), this project's run
    does not; its note `GPU available: True (cuda), used: False` is still said."""
    from lightning.pytorch.accelerators import CUDAAccelerator

    monkeypatch.setattr(CUDAAccelerator, "is_available", staticmethod(lambda: True))
    with warnings.catch_warnings(record=True) as plain:
        warnings.simplefilter("always")
        L.Trainer(accelerator="cpu", logger=False, enable_checkpointing=False, enable_progress_bar=False)
    assert any("GPU available but not used" in str(w.message) for w in plain)
    with warnings.catch_warnings(record=True) as ours, caplog.at_level(logging.INFO):
        warnings.simplefilter("always")
        build(config(), tmp_path)
    assert not any("GPU available but not used" in str(w.message) for w in ours)
    assert "GPU available: True (cuda), used: False" in caplog.text


def test_on_a_gpu_with_tensor_cores_lightnings_advice_to_compute_float32_in_tf32_is_left_out(monkeypatch, caplog):
    """Lightning advises torch.set_float32_matmul_precision("high") on any GPU with Tensor Cores, when a run starts
    on it: TF32's 10-bit mantissa would lose the digits of the seed's float32 lesson. Its note, as Lightning says
    it (shown with the project's filters taken off), is not said in this project's runs; float32 stays full."""
    from lightning.fabric.accelerators import cuda
    from lightning_utilities.core import rank_zero

    monkeypatch.setattr(cuda.torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(cuda.torch.cuda, "get_device_name", lambda device=None: "NVIDIA H100 80GB HBM3")
    monkeypatch.setattr(cuda, "_is_ampere_or_later", lambda device=None: True)
    check = cuda._check_cuda_matmul_precision.__wrapped__  # Lightning's check, without its once-only cache
    with caplog.at_level(logging.INFO):
        with monkeypatch.context() as bare:
            bare.setattr(rank_zero.log, "filters", [])
            check(torch.device("cuda", 0))
        assert "that has Tensor Cores" in caplog.text and "set_float32_matmul_precision" in caplog.text
        caplog.clear()
        check(torch.device("cuda", 0))
    assert caplog.text == ""
    assert torch.get_float32_matmul_precision() == "highest"


def test_on_a_machine_of_many_cores_lightnings_warning_that_the_dataloader_has_no_workers_is_left_out(
    config, tmp_path, monkeypatch
):
    """Lightning warns at every fit where there are more than two cores (a plain run shows it); this project's
    batches are slices of tensors already on the device, and its runs leave the warning out."""
    from lightning.fabric.utilities import data

    monkeypatch.setattr(data, "_num_cpus_available", lambda: 16)
    cfg = config()
    for ours in (False, True):
        with warnings.catch_warnings(record=True) as shown:
            warnings.simplefilter("always")  # every warning as Lightning gives it
            if ours:  # the project's run, which leaves out what it does not heed
                train(config("trainer.max_epochs=1"), tmp_path)
            else:  # a plain Lightning fit of the same module and data
                module = BackpropModule(cfg.model.W, cfg.model.V, cfg.optimizer.lr)
                plain = L.Trainer(max_epochs=1, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                                  enable_model_summary=False)  # fmt: skip
                plain.fit(module, datamodule=TrainingData(cfg.data.X, cfg.data.T, dtype=torch.float32))
        workers = [w for w in shown if "does not have many workers" in str(w.message)]
        assert len(workers) == (0 if ours else 1)


def test_on_a_machine_with_cudas_toolkit_but_no_gpu_torchs_note_as_a_compiled_run_starts_is_left_out(
    monkeypatch, tmp_path
):
    """torch looks for CUDA's toolkit as model.compile=true starts, and where there is one but no GPU warns that it
    found no CUDA runtime. Its warning, as torch says it (with the project's filters taken off), is not said in this
    project's runs. _find_cuda_home is that look: private, called once as torch.utils.cpp_extension is imported."""
    from torch.utils import cpp_extension

    heard = []
    handler = logging.Handler()
    handler.emit = lambda record: heard.append(record.getMessage())
    logger = logging.getLogger("torch.utils.cpp_extension")
    monkeypatch.setattr(logger, "handlers", [handler])  # torch's own handler: on its "torch" logger, not this one
    monkeypatch.setenv("CUDA_HOME", str(tmp_path))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    console.leave_out_unsaid()
    with monkeypatch.context() as bare:
        bare.setattr(logger, "filters", [])
        assert cpp_extension._find_cuda_home() == str(tmp_path)
    assert heard == [f"No CUDA runtime is found, using CUDA_HOME='{tmp_path}'"]
    cpp_extension._find_cuda_home()
    assert len(heard) == 1
