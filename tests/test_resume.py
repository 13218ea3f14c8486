"""Checkpoints: resuming gives the identical result, takes what may change from the config (the learning rate,
the batches), refuses in one line what cannot, and runs repeat exactly. (Signals: test_signals.py.)"""

import json
import warnings

import lightning as L
import numpy as np
import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import plugin_data_pb2

import seed_printed as seed
from backprop_by_example import by_hand
from backprop_by_example.run import resume
from backprop_by_example.run.errors import ConfigError
from backprop_by_example.run.training import build, train
from overrides import matrix

FAST = "log.details=false"


def test_201_epochs_in_one_go_equal_100_then_resumed_to_201_bitwise(config, tmp_path, device):
    whole = train(config(device, FAST), tmp_path / "whole")
    train(config(device, FAST, "trainer.max_epochs=100"), tmp_path / "first")
    last = tmp_path / "first" / "checkpoints" / "last.ckpt"  # a name that an override takes as typed
    resumed = train(config(device, FAST, f"ckpt_path={last}"), tmp_path / "resumed")
    assert resumed["epochs"] == whole["epochs"] == 201
    assert (resumed["W"], resumed["V"], resumed["outputs"]) == (whole["W"], whole["V"], whole["outputs"])


def test_last_checkpoint_loads_with_weights_only(config, tmp_path):
    summary = train(config(FAST, "trainer.max_epochs=3"), tmp_path)
    checkpoint = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)
    assert checkpoint["state_dict"]["net.W"].tolist() == summary["W"]
    assert checkpoint["state_dict"]["epochs_done"] == 3 and checkpoint["global_step"] == 3
    assert checkpoint["state_dict"]["steps_done"] == 3


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


def test_resuming_with_another_learning_rate_applies_it_from_the_resume_on(config, tmp_path):
    """100 epochs at lr 0.5, then 101 at 0.1: the numpy oracle doing the same, and the records say 0.1."""
    train(config(FAST, "trainer.max_epochs=100"), tmp_path / "first")
    last = tmp_path / "first" / "checkpoints" / "last.ckpt"
    resumed = train(config(FAST, f"ckpt_path={last}", "optimizer.lr=0.1"), tmp_path / "resumed")
    W, V = by_hand.train(seed.X, seed.T, seed.W, seed.V, 0.5, 100)
    W, V = by_hand.train(seed.X, seed.T, W, V, 0.1, 101)
    np.testing.assert_allclose(resumed["W"], W, rtol=0, atol=1e-12)
    np.testing.assert_allclose(resumed["V"], V, rtol=0, atol=1e-12)
    checkpoint = torch.load(tmp_path / "resumed" / "checkpoints" / "last.ckpt", weights_only=True)
    assert checkpoint["optimizer_states"][0]["param_groups"][0]["lr"] == 0.1
    assert checkpoint["hyper_parameters"]["lr"] == 0.1


def test_resuming_at_an_epoch_boundary_with_other_batches_trains_on_with_them(config, tmp_path):
    train(config(FAST, "trainer.max_epochs=10"), tmp_path / "first")
    last = tmp_path / "first" / "checkpoints" / "last.ckpt"
    resumed = train(config(FAST, f"ckpt_path={last}", "data.batch_size=1", "trainer.max_epochs=20"), tmp_path / "next")
    W, V = by_hand.train(seed.X, seed.T, seed.W, seed.V, seed.lr, 10)
    W, V = by_hand.train(seed.X, seed.T, W, V, seed.lr, 10, batch_size=1)
    np.testing.assert_allclose(resumed["W"], W, rtol=0, atol=1e-12)
    assert (resumed["epochs"], resumed["steps"]) == (20, 30)


def hparams_of(run_dir):
    events = EventAccumulator(str(run_dir / "tensorboard"))
    events.Reload()
    content = events.PluginTagToContent("hparams")["_hparams_/session_start_info"]
    start = plugin_data_pb2.HParamsPluginData.FromString(content).session_start_info
    return {k: v.number_value or v.string_value for k, v in start.hparams.items()}


def test_hparams_of_a_resumed_run_hold_its_own_initial_weights_and_epochs(config, tmp_path):
    given = [[1.0, 2.0], [3.0, 4.0]]
    train(config(matrix("model.W", given), "trainer.max_epochs=5"), tmp_path / "first")
    last = tmp_path / "first" / "checkpoints" / "last.ckpt"
    train(config(f"ckpt_path={last}", "trainer.max_epochs=8"), tmp_path / "resumed")  # config's W: the seed's
    hparams = hparams_of(tmp_path / "resumed")
    assert [hparams[f"init_w{ij}"] for ij in ("11", "12", "21", "22")] == [1, 2, 3, 4]
    assert hparams["epochs"] == hparams["steps"] == 8


@pytest.fixture(scope="module")
def checkpoints(config, tmp_path_factory):
    """Checkpoints of this project: the seed's 2-2-2 net after 20 epochs, a 2-3-2 net, one from mid-epoch."""
    root = tmp_path_factory.mktemp("checkpoints")
    train(config(FAST, "trainer.max_epochs=20"), root / "seed")
    train(config(FAST, "model=random", "model.hidden_dim=3", "trainer.max_epochs=2"), root / "wider")
    mini = [FAST, "data.batch_size=1", "+trainer.max_steps=3", "trainer.max_epochs=-1"]
    train(config(*mini, "checkpoint.every_n_epochs=1"), root / "mid")
    return {name: root / name / "checkpoints" / "last.ckpt" for name in ("seed", "wider", "mid")}


REFUSED_RESUMES = {
    "other dims": ("wider", ["model.hidden_dim=2"], "model.hidden_dim: expected 3, as in the checkpoint"),
    "other precision": ("seed", ["trainer.precision=32-true"], "trainer.precision: expected 64-true, as in the"),
    "precision by another name": ("seed", ["trainer.precision=32"], "trainer.precision: expected 64-true, as in"),
    "other number of instances": (
        "seed",
        ["data.X=[[3,1],[-1,4],[0,1]]", "data.T=[[1,0],[0,1],[1,1]]"],
        "data.X: expected 2 instances, as in the checkpoint",
    ),
    "fewer epochs than done": ("seed", ["trainer.max_epochs=10"], "trainer.max_epochs: expected at least 20, the"),
}


@pytest.mark.parametrize("case", REFUSED_RESUMES)
def test_a_resume_that_cannot_continue_the_run_is_refused_naming_the_key(config, tmp_path, checkpoints, case):
    name, overrides, message = REFUSED_RESUMES[case]
    with pytest.raises(ConfigError) as refused:
        build(config(f"ckpt_path={checkpoints[name]}", *overrides), tmp_path)
    assert str(refused.value).startswith(message)


def test_a_resume_in_the_middle_of_an_epoch_keeps_that_epochs_batches(config, tmp_path, checkpoints):
    """max_steps=3 with batches of 1 stopped after the first batch of epoch 2 (the checkpoint of a stop alike)."""
    with pytest.raises(ConfigError) as refused:
        build(config(f"ckpt_path={checkpoints['mid']}", "data.batch_size=2", "trainer.max_epochs=5"), tmp_path)
    assert str(refused.value).startswith("data.batch_size: expected 1 to finish epoch 2, which the checkpoint")


def test_a_run_that_max_steps_ended_in_the_middle_of_an_epoch_resumes_where_it_ended(config, tmp_path, checkpoints):
    """3 updates of one instance, then 2 more: the rest of epoch 2, and the first batch of epoch 3."""
    overrides = [FAST, "data.batch_size=1", "trainer.max_epochs=-1", "+trainer.max_steps=5"]
    resumed = train(config(*overrides, f"ckpt_path={checkpoints['mid']}"), tmp_path)
    W, V = by_hand.train(seed.X, seed.T, seed.W, seed.V, seed.lr, 2, batch_size=1)
    W, V = by_hand.train(seed.X[:1], seed.T[:1], W, V, seed.lr, 1)
    np.testing.assert_allclose(resumed["W"], W, rtol=0, atol=1e-12)
    assert (resumed["epochs"], resumed["steps"]) == (2, 5)


def test_resuming_a_run_that_ended_at_max_steps_with_nothing_left_to_do_reports_its_updates(
    config, tmp_path, checkpoints
):
    overrides = [FAST, "data.batch_size=1", "trainer.max_epochs=-1", "+trainer.max_steps=3"]
    resumed = train(config(*overrides, f"ckpt_path={checkpoints['mid']}"), tmp_path)
    assert (resumed["epochs"], resumed["steps"]) == (1, 3)


def test_an_epoch_cut_short_by_limit_train_batches_is_a_whole_epoch_to_a_resume(config, tmp_path):
    five = [FAST, "data.X=[[3,1],[-1,4],[0.5,-2],[2,2],[-3,0.5]]", "data.T=[[1,0],[0,1],[0.3,0.7],[1,1],[0,0]]"]
    limited = [*five, "data.batch_size=2", "+trainer.limit_train_batches=2"]
    train(config(*limited, "trainer.max_epochs=3"), tmp_path / "first")
    last = tmp_path / "first" / "checkpoints" / "last.ckpt"
    again = train(config(*limited, "trainer.max_epochs=3", f"ckpt_path={last}"), tmp_path / "again")
    assert (again["epochs"], again["steps"]) == (3, 6)
    other_batches = train(
        config(*five, "data.batch_size=1", "trainer.max_epochs=4", f"ckpt_path={last}"), tmp_path / "b"
    )
    assert (other_batches["epochs"], other_batches["steps"]) == (4, 11)


def test_a_file_that_is_not_a_checkpoint_of_this_project_is_refused(config, tmp_path, checkpoints):
    text = tmp_path / "notes.txt"
    text.write_text("not a checkpoint\n")
    truncated = tmp_path / "truncated.ckpt"
    truncated.write_bytes(checkpoints["seed"].read_bytes()[:1000])
    summary = tmp_path / "summary.json"
    summary.write_text(json.dumps({"W": seed.W}))
    other = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(2)}, other)
    no_optimizer, mismatched = tmp_path / "no_optimizer.ckpt", tmp_path / "mismatched.ckpt"
    checkpoint = torch.load(checkpoints["seed"], weights_only=True)
    torch.save({key: value for key, value in checkpoint.items() if key != "optimizer_states"}, no_optimizer)
    torch.save(checkpoint | {"hyper_parameters": checkpoint["hyper_parameters"] | {"W": [[1.0]]}}, mismatched)
    for path, why in [
        (text, "which torch cannot load"), (truncated, "which torch cannot load"),
        (summary, "which torch cannot load"), (other, "a torch file of another kind"),
        (no_optimizer, "a torch file of another kind"), (mismatched, "a torch file of another kind"),
    ]:  # fmt: skip
        with pytest.raises(ConfigError) as refused:
            build(config(f"ckpt_path={path}"), tmp_path / "run")
        assert str(refused.value) == f"ckpt_path: expected a last.ckpt written by scripts/train.py, got {path}, {why}"
    for path, message in [
        (tmp_path / "missing.ckpt", f"ckpt_path: expected an existing checkpoint file, got {tmp_path}/missing.ckpt"),
        (tmp_path, f"ckpt_path: expected a checkpoint file, got {tmp_path} (not a regular file)"),
    ]:
        with pytest.raises(ConfigError) as refused:
            build(config(f"ckpt_path={path}"), tmp_path / "run")
        assert str(refused.value) == message


@pytest.mark.parametrize("short", sorted(resume.SHORT_PRECISIONS))
def test_a_short_precision_name_runs_what_its_full_name_runs_in_lightning(short):
    """A checkpoint holds the full name; a resume may give the short one (`trainer.precision=64`)."""
    ran = {}
    for name in (short, resume.SHORT_PRECISIONS[short]):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # 16-mixed on the CPU: Lightning says it runs bf16-mixed
            trainer = L.Trainer(precision=name, accelerator="cpu", logger=False, enable_checkpointing=False)
        ran[name] = str(trainer.precision)
    assert ran[short] == ran[resume.SHORT_PRECISIONS[short]]
