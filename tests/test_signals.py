"""Ctrl-C and SIGTERM stop a run between two updates, with a checkpoint, and exit 128 + the signal's number;
resuming gives the uninterrupted run's weights and epoch count, whatever the moment of the signal."""

import json
import os
import signal
import time

import lightning as L
import numpy as np
import pytest
import torch
from PIL import Image, ImageSequence
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

import seed_printed as seed
from backprop_by_example import by_hand
from backprop_by_example.run import training
from backprop_by_example.run.stopping import Stopped, StopRequest
from conftest import LANE, QUIET, session_items
from overrides import matrix

X5 = [[3, 1], [-1, 4], [0.5, -2], [2, 2], [-3, 0.5]]  # batches of 2: three batches, three updates per epoch
T5 = [[1, 0], [0, 1], [0.3, 0.7], [1, 1], [0, 0]]
MINI_BATCHES = ["log.details=false", matrix("data.X", X5), matrix("data.T", T5), "data.batch_size=2"]
SHUFFLED = [*MINI_BATCHES, "data.shuffle=true", "trainer.max_epochs=4"]
FULL_BATCH = ["log.details=false", "trainer.max_epochs=6"]


class SignalAt(L.Callback):
    """Sends `signum` to this very process as update number `step` (counted from 0) begins."""

    def __init__(self, step, signum):
        self.step, self.signum = step, signum

    def on_train_batch_start(self, trainer, module, batch, batch_idx):
        if trainer.global_step == self.step:
            os.kill(os.getpid(), self.signum)


def train_signalled(monkeypatch, cfg, run_dir, step, signum=signal.SIGINT):
    """Train, with the signal sent as update `step` begins -> Stopped."""
    build = training.build

    def build_with_signal(*args):
        trainer, module, data = build(*args)
        trainer.callbacks.insert(0, SignalAt(step, signum))
        return trainer, module, data

    monkeypatch.setattr(training, "build", build_with_signal)
    with pytest.raises(Stopped) as stopped:
        training.train(cfg, run_dir)
    monkeypatch.setattr(training, "build", build)
    return stopped.value


@pytest.fixture
def signalled(monkeypatch):
    """signalled(cfg, run_dir, step, signum): train_signalled."""
    return lambda cfg, run_dir, step, signum=signal.SIGINT: train_signalled(monkeypatch, cfg, run_dir, step, signum)


def summary_without_time(summary):
    return {key: value for key, value in summary.items() if key != "fit_seconds"}


@pytest.fixture(scope="module")
def uninterrupted(config, tmp_path_factory):
    return {
        name: summary_without_time(training.train(config(*overrides), tmp_path_factory.mktemp(name)))
        for name, overrides in (("shuffled", SHUFFLED), ("full_batch", FULL_BATCH))
    }


@pytest.mark.parametrize("step", range(12))  # every update of 4 epochs of 3 shuffled batches
def test_a_signal_at_any_update_then_resume_gives_the_uninterrupted_run(
    config, tmp_path, signalled, uninterrupted, step
):
    stopped = signalled(config(*SHUFFLED), tmp_path / "stopped", step)
    assert stopped.code == 130  # 128 + SIGINT
    assert not (tmp_path / "stopped" / "summary.json").exists()
    last = tmp_path / "stopped" / "checkpoints" / "last.ckpt"
    checkpoint = torch.load(last, weights_only=True)
    assert checkpoint["global_step"] == step + 1  # the update under way was finished
    counted = checkpoint["state_dict"]["epochs_done"], checkpoint["state_dict"]["steps_done"]
    assert counted == ((step + 1) // 3, step + 1)  # three updates an epoch

    resumed = training.train(config(*SHUFFLED, f"ckpt_path={last}"), tmp_path / "resumed")
    assert summary_without_time(resumed) == uninterrupted["shuffled"]  # weights bit for bit, epochs, updates


@pytest.mark.parametrize("step", [0, 2, 5])
def test_sigterm_in_a_full_batch_run_stops_with_143_and_resumes_to_the_seeds_arithmetic(
    config, tmp_path, signalled, uninterrupted, step
):
    stopped = signalled(config(*FULL_BATCH), tmp_path / "stopped", step, signal.SIGTERM)
    assert stopped.code == 143  # 128 + SIGTERM
    last = tmp_path / "stopped" / "checkpoints" / "last.ckpt"
    resumed = training.train(config(*FULL_BATCH, f"ckpt_path={last}"), tmp_path / "resumed")
    assert summary_without_time(resumed) == uninterrupted["full_batch"]
    W, V = by_hand.train(seed.X, seed.T, seed.W, seed.V, seed.lr, 6)
    np.testing.assert_allclose(resumed["W"], W, rtol=0, atol=1e-12)
    np.testing.assert_allclose(resumed["V"], V, rtol=0, atol=1e-12)


def test_stopped_in_the_middle_of_an_epoch_of_batches_in_data_order_resumes_as_the_numpy_oracle(
    config, tmp_path, signalled
):
    overrides = [*MINI_BATCHES, "trainer.max_epochs=3"]
    signalled(config(*overrides), tmp_path / "stopped", 4)  # the second batch of epoch 2
    last = tmp_path / "stopped" / "checkpoints" / "last.ckpt"
    resumed = training.train(config(*overrides, f"ckpt_path={last}"), tmp_path / "resumed")
    W, V = by_hand.train(X5, T5, seed.W, seed.V, seed.lr, 3, batch_size=2)
    np.testing.assert_allclose(resumed["W"], W, rtol=0, atol=1e-12)
    np.testing.assert_allclose(resumed["V"], V, rtol=0, atol=1e-12)
    assert (resumed["epochs"], resumed["steps"]) == (3, 9)


# The seed's instances one at a time, 2 updates an epoch, 12 in all: pictures at epochs 0, 2, 4 (updates 0, 4, 8)
ANIMATED = ["log.details=false", "data.batch_size=1", "trainer.max_epochs=6", "log.animation=true",
            "log.picture_every_n_epochs=2"]  # fmt: skip


@pytest.fixture(scope="module")
def animated(config, tmp_path_factory):
    """A run with the animation stopped by Ctrl-C in the middle of epoch 2 (after 5 updates), resumed; and the same
    run uninterrupted."""
    root = tmp_path_factory.mktemp("animated")
    with pytest.MonkeyPatch.context() as monkeypatch:
        stopped = train_signalled(monkeypatch, config(*ANIMATED), root / "stopped", 4)
    stopped_gif = frames(root / "stopped" / "training.gif")  # before the resume: it could not change it anyway
    last = root / "stopped" / "checkpoints" / "last.ckpt"
    training.train(config(*ANIMATED, f"ckpt_path={last}"), root / "resumed")
    training.train(config(*ANIMATED), root / "whole")
    return stopped, stopped_gif, root


def frames(gif_path):
    """The GIF's frames as RGB arrays, and how long each is shown (ms)."""
    images, durations = [], []
    with Image.open(gif_path) as gif:
        for frame in ImageSequence.Iterator(gif):
            images.append(np.asarray(frame.convert("RGB")))
            durations.append(frame.info["duration"])
    return images, durations


def test_a_run_stopped_by_ctrl_c_writes_its_animation_so_far(animated):
    """Frames at updates 0 and 4 (the pictures so far) and at the stop, after 5 updates, shown the last's 3 s."""
    stopped, (images, durations), root = animated
    assert stopped.code == 130
    assert durations == [500, 500, 3000]
    assert not list((root / "stopped").glob("*.part"))  # written whole, under its name


def test_the_animation_of_a_resumed_run_is_the_whole_runs_frame_by_frame(animated):
    """As many frames as the pictures of the whole run (6 epochs / 2 + 1, the last after the last update: epoch 2,
    resumed in its middle, has one), each the uninterrupted run's: the frames of the stopped run drawn again, the
    loss curve from step 0."""
    _, _, root = animated
    resumed, whole = frames(root / "resumed" / "training.gif"), frames(root / "whole" / "training.gif")
    assert resumed[1] == whole[1] == [500, 500, 500, 3000]
    for k, (a, b) in enumerate(zip(resumed[0], whole[0], strict=True)):
        assert np.array_equal(a, b), f"frame {k}"


def test_the_loss_curve_a_resumed_run_keeps_starts_at_step_0_with_the_seeds_loss(animated):
    _, _, root = animated
    checkpoint = torch.load(root / "resumed" / "checkpoints" / "last.ckpt", weights_only=True)
    curve = checkpoint["animation"]["curve"]["items"]
    assert [step for step, _ in curve] == list(range(12))  # each update's loss, of the one instance it trains on
    assert curve[0][1] == pytest.approx(seed.losses_before[0], abs=seed.DECIMALS_8)  # instance 1's, cell 25


def test_a_second_ctrl_c_ends_the_process_at_once_with_130():
    """The first Ctrl-C is noted, the second one ends the process there and then, before the next line."""
    pid = os.fork()
    if pid == 0:  # a process of its own: the test's own must not end
        StopRequest().install(announce=False)
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.1)
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.1)
        os._exit(0)  # not reached
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 130


def wait_for_checkpoint(run, last):
    deadline = time.monotonic() + 120
    while not last.exists():
        assert run.poll() is None and time.monotonic() < deadline, f"no checkpoint: {run.stderr}"
        time.sleep(0.1)


@pytest.mark.slow
@pytest.mark.parametrize("signum, status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_real_run_stops_on_the_signal_with_its_status_a_checkpoint_readable_logs_and_no_summary(
    start_train, tmp_path, signum, status
):
    run = start_train(tmp_path, f"hydra.run.dir={tmp_path}", "trainer.max_epochs=1000000")
    last = tmp_path / "checkpoints" / "last.ckpt"
    wait_for_checkpoint(run, last)
    run.send_signal_to_group(signum)  # as a terminal's Ctrl-C, or a scheduler's SIGTERM to the job
    signalled = time.monotonic()
    assert run.wait(timeout=60) == status
    assert time.monotonic() - signalled < 10
    assert "stopping after this update, with a checkpoint" in run.stderr
    assert not (tmp_path / "summary.json").exists()

    checkpoint = torch.load(last, weights_only=True)
    epochs = checkpoint["state_dict"]["epochs_done"].item()
    assert epochs >= 100 and f"Stopped after {epochs} epochs" in run.stdout
    assert f"trainer.max_epochs=1000000 {' '.join(QUIET)} ckpt_path=checkpoints/last.ckpt\n" in run.stdout  # printed
    events = EventAccumulator(str(tmp_path / "tensorboard"))
    events.Reload()
    assert len(events.Scalars("loss")) == epochs  # every update logged, up to the stop


def start_early(session, start_script, tmp_path_factory):
    """The runs under ddp_spawn of the cases of the test below that the session has, started with it
    (conftest.started_early: seconds each, mostly their workers' imports), one after the other in the lane
    (conftest.LANE), each sent its Ctrl-C as soon as its first checkpoint is there: `to` -> Future of (run dir, Run)
    ended."""

    def stopped(to, run_dir):
        run = start_script(
            "train", run_dir, f"hydra.run.dir={run_dir}", *QUIET, "trainer.max_epochs=1000000",
            "checkpoint.every_n_epochs=10", "trainer.devices=2", "trainer.strategy=ddp_spawn",
        )  # fmt: skip
        wait_for_checkpoint(run, run_dir / "checkpoints" / "last.ckpt")
        if to.startswith("every"):
            run.send_signal_to_group(signal.SIGINT)
        else:
            run.send_signal(signal.SIGINT)
        run.wait(timeout=120)
        return run_dir, run

    items = session_items(session, "test_ctrl_c_under_ddp_spawn_stops_it_and_keeps_the_trained_checkpoint")
    cases = {item.callspec.params["to"]: tmp_path_factory.mktemp("ddp_spawn") for item in items}
    return {to: LANE.submit(stopped, to, run_dir) for to, run_dir in cases.items()}


@pytest.mark.slow
@pytest.mark.parametrize("to", ["every process, as a terminal's Ctrl-C", "the main process alone, as kill -INT"])
def test_ctrl_c_under_ddp_spawn_stops_it_and_keeps_the_trained_checkpoint(early, to):
    """The main process of ddp_spawn trains nothing itself: it must not write its untrained weights. The first
    checkpoint after 10 epochs: the signal comes as soon as it is there."""
    run_dir, run = early[to].result(timeout=600)
    assert run.returncode == 130, run.stderr
    last = run_dir / "checkpoints" / "last.ckpt"
    checkpoint = torch.load(last, weights_only=True)
    epochs = checkpoint["state_dict"]["epochs_done"].item()
    assert epochs >= 10 and checkpoint["global_step"] == epochs
    W, V = by_hand.train(seed.X, seed.T, seed.W, seed.V, seed.lr, epochs)  # the workers' weights, to 1e-12
    np.testing.assert_allclose(checkpoint["state_dict"]["net.W"], W, rtol=0, atol=1e-12)
    np.testing.assert_allclose(checkpoint["state_dict"]["net.V"], V, rtol=0, atol=1e-12)
    assert not (run_dir / "summary.json").exists()
    events = EventAccumulator(str(run_dir / "tensorboard"))
    events.Reload()
    assert len(events.Scalars("loss")) == checkpoint["global_step"]  # every update logged, up to the stop


@pytest.mark.slow
def test_a_real_run_stopped_in_the_middle_of_an_epoch_resumes_to_the_uninterrupted_result(start_train, tmp_path):
    mini = [matrix("data.X", X5), matrix("data.T", T5), "data.batch_size=2", "data.shuffle=true"]
    run = start_train(tmp_path, "hydra.run.dir=stopped", *mini, "trainer.max_epochs=1000000")
    wait_for_checkpoint(run, tmp_path / "stopped" / "checkpoints" / "last.ckpt")
    time.sleep(0.3)
    run.send_signal_to_group(signal.SIGINT)
    assert run.wait(timeout=60) == 130
    checkpoint = torch.load(tmp_path / "stopped" / "checkpoints" / "last.ckpt", weights_only=True)
    epochs = checkpoint["state_dict"]["epochs_done"].item() + 2  # on, past the stop

    last = f"ckpt_path={tmp_path}/stopped/checkpoints/last.ckpt"
    both = [start_train(tmp_path, f"hydra.run.dir={name}", *mini, f"trainer.max_epochs={epochs}", *more)
            for name, more in (("resumed", [last]), ("whole", []))]  # fmt: skip
    assert [run.wait() for run in both] == [0, 0]
    resumed, whole = (json.loads((tmp_path / name / "summary.json").read_text()) for name in ("resumed", "whole"))
    assert summary_without_time(resumed) == summary_without_time(whole)
