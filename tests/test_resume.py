"""Checkpoints: resuming gives the identical result, Ctrl-C leaves a usable checkpoint, runs repeat exactly."""

import signal
import subprocess
import time

import lightning as L
import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from backprop_by_example.training import build, train

FAST = "log.details=false"


def test_201_epochs_in_one_go_equal_100_then_resumed_to_201_bitwise(config, tmp_path):
    whole = train(config(FAST), tmp_path / "whole")
    train(config(FAST, "trainer.max_epochs=100"), tmp_path / "first")
    last = tmp_path / "first" / "checkpoints" / "last.ckpt"  # a name that an override takes as typed
    resumed = train(config(FAST, f"ckpt_path={last}"), tmp_path / "resumed")
    assert resumed["epochs"] == whole["epochs"] == 201
    assert (resumed["W"], resumed["V"], resumed["outputs"]) == (whole["W"], whole["V"], whole["outputs"])


def test_last_checkpoint_loads_with_weights_only(config, tmp_path):
    summary = train(config(FAST, "trainer.max_epochs=3"), tmp_path)
    checkpoint = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)
    assert checkpoint["state_dict"]["net.W"].tolist() == summary["W"]
    assert checkpoint["state_dict"]["epochs_done"] == 3 and checkpoint["global_step"] == 3


def test_last_checkpoint_is_written_every_n_epochs_during_the_run(config, tmp_path):
    found = {}  # epoch index -> epochs_done in last.ckpt while that epoch ends

    class Look(L.Callback):  # a plain callback's on_train_epoch_end runs before the checkpoint callback's
        def on_train_epoch_end(self, trainer, module):
            if trainer.current_epoch >= 2:  # the first save is at the end of epoch 1
                checkpoint = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)
                found[trainer.current_epoch] = checkpoint["state_dict"]["epochs_done"].item()

    trainer, module, data = build(config(FAST, "trainer.max_epochs=5", "checkpoint.every_n_epochs=2"), tmp_path)
    trainer.callbacks.append(Look())
    trainer.fit(module, datamodule=data)
    assert found == {2: 2, 3: 2, 4: 4}


def test_two_runs_of_one_config_give_identical_summaries(config, tmp_path):
    first, second = (train(config(FAST, "trainer.max_epochs=20"), tmp_path / name) for name in ("a", "b"))
    assert {k: v for k, v in first.items() if k != "fit_seconds"} == {
        k: v for k, v in second.items() if k != "fit_seconds"
    }


@pytest.mark.slow
def test_ctrl_c_exits_promptly_leaving_a_loadable_checkpoint_and_readable_logs(start_train, tmp_path):
    run = start_train(
        tmp_path, f"hydra.run.dir={tmp_path}", "trainer.max_epochs=1000000",
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    last = tmp_path / "checkpoints" / "last.ckpt"
    deadline = time.monotonic() + 120
    while not last.exists():
        assert run.poll() is None and time.monotonic() < deadline, "training did not start"
        time.sleep(0.2)
    time.sleep(1)
    run.send_signal(signal.SIGINT)
    interrupted = time.monotonic()
    run.wait(timeout=60)
    assert time.monotonic() - interrupted < 15
    assert run.returncode != 0
    assert not (tmp_path / "summary.json").exists()

    checkpoint = torch.load(last, weights_only=True)
    assert checkpoint["state_dict"]["epochs_done"] >= 100  # saved at epoch 100, and again at the interrupt
    events = EventAccumulator(str(tmp_path / "tensorboard"))
    events.Reload()
    assert len(events.Scalars("loss")) >= checkpoint["state_dict"]["epochs_done"]
