"""Lightning's own knobs (`+trainer.NAME=VALUE`) keep the seed's summed-loss SGD exact, or are refused in one line."""

import lightning as L
import numpy as np
import pytest
import torch

import seed_printed as seed
from backprop_by_example import by_hand
from backprop_by_example.run.errors import ConfigError
from backprop_by_example.run.training import build, train
from overrides import matrix

FAST = "log.details=false"
X5 = [[3, 1], [-1, 4], [0.5, -2], [2, 2], [-3, 0.5]]  # five instances: batches of 1 accumulate as 2, 2 and 1
T5 = [[1, 0], [0, 1], [0.3, 0.7], [1, 1], [0, 0]]
FIVE = [matrix("data.X", X5), matrix("data.T", T5)]


def assert_weights(summary, W, V):
    np.testing.assert_allclose(summary["W"], W, rtol=0, atol=1e-12)
    np.testing.assert_allclose(summary["V"], V, rtol=0, atol=1e-12)


def test_accumulating_two_batches_of_one_is_the_seeds_full_batch_update(config, tmp_path):
    """Lightning divides each batch's loss by the count; the loss here is a sum, so lr 0.5 must stay 0.5."""
    summary = train(config(FAST, "data.batch_size=1", "+trainer.accumulate_grad_batches=2"), tmp_path)
    np.testing.assert_allclose(summary["W"], seed.W_final, rtol=0, atol=seed.DECIMALS_8)
    np.testing.assert_allclose(summary["V"], seed.V_final, rtol=0, atol=seed.DECIMALS_8)
    assert (summary["epochs"], summary["steps"]) == (201, 201)


def test_accumulated_batches_update_once_with_their_summed_gradient_as_in_the_numpy_oracle(config, tmp_path):
    """Batches of 1, 2 at a time: updates on instances {1, 2}, {3, 4} and the epoch's last, {5}."""
    overrides = [FAST, *FIVE, "data.batch_size=1", "+trainer.accumulate_grad_batches=2", "trainer.max_epochs=20"]
    summary = train(config(*overrides), tmp_path)
    assert_weights(summary, *by_hand.train(X5, T5, seed.W, seed.V, seed.lr, 20, batch_size=2))
    assert summary["steps"] == 60


def test_max_steps_with_no_epoch_limit_stops_after_that_many_updates_and_says_so(config, tmp_path):
    """3 updates of one instance each: one epoch of the seed's two instances, then instance 1 once more."""
    overrides = [FAST, "data.batch_size=1", "trainer.max_epochs=-1", "+trainer.max_steps=3"]
    summary = train(config(*overrides), tmp_path)
    W, V = by_hand.train(seed.X, seed.T, seed.W, seed.V, seed.lr, 1, batch_size=1)
    W, V = by_hand.train(seed.X[:1], seed.T[:1], W, V, seed.lr, 1)
    assert_weights(summary, W, V)
    assert (summary["epochs"], summary["steps"]) == (1, 3)  # complete epochs, and updates


def test_max_time_with_no_epoch_limit_reports_the_epochs_that_ran(config, tmp_path):
    """How many epochs a second holds depends on the machine; the weights prove the count is the one that ran."""
    summary = train(config(FAST, "trainer.max_epochs=-1", "+trainer.max_time=00:00:00:01"), tmp_path)
    assert summary["epochs"] == summary["steps"] >= 1
    assert_weights(summary, *by_hand.train(seed.X, seed.T, seed.W, seed.V, seed.lr, summary["epochs"]))


def test_limit_train_batches_trains_on_that_many_batches_of_each_epoch(config, tmp_path):
    overrides = [FAST, *FIVE, "data.batch_size=2", "+trainer.limit_train_batches=1", "trainer.max_epochs=10"]
    summary = train(config(*overrides), tmp_path)
    assert_weights(summary, *by_hand.train(X5[:2], T5[:2], seed.W, seed.V, seed.lr, 10))
    assert (summary["epochs"], summary["steps"]) == (10, 10)


def test_fast_dev_run_makes_one_update_and_writes_no_checkpoint_or_logs(config, tmp_path):
    summary = train(config("+trainer.fast_dev_run=true"), tmp_path)
    assert_weights(summary, *by_hand.train(seed.X, seed.T, seed.W, seed.V, seed.lr, 1))
    assert not (tmp_path / "checkpoints").exists() and not (tmp_path / "tensorboard").exists()


def test_logger_false_trains_the_same_without_tensorboard(config, tmp_path):
    summary = train(config("+trainer.logger=false", "trainer.max_epochs=30"), tmp_path)
    assert_weights(summary, *by_hand.train(seed.X, seed.T, seed.W, seed.V, seed.lr, 30))
    assert not (tmp_path / "tensorboard").exists() and (tmp_path / "checkpoints" / "last.ckpt").is_file()


REFUSED = {
    "overfit_batches=1": "trainer.overfit_batches: not settable here: trainer.limit_train_batches=K trains on K "
    "batches per epoch (the same ones with data.shuffle=false)",
    "val_check_interval=5": "trainer.val_check_interval: not settable here: this project has no validation data",
    "num_sanity_val_steps=2": "trainer.num_sanity_val_steps: not settable here: this project has no validation data",
    "check_val_every_n_epoch=2": "trainer.check_val_every_n_epoch: not settable here: this project has no validation",
    "callbacks=[]": "trainer.callbacks: not settable here: the project sets the callbacks itself",
    "default_root_dir=elsewhere": "trainer.default_root_dir: not settable here: the run dir is Hydra's: "
    "hydra.run.dir=DIR",
    "use_distributed_sampler=true": "trainer.use_distributed_sampler: not settable here: the project shares the "
    "instances out",
    "enable_checkpointing=false": "trainer.enable_checkpointing: not settable here: last.ckpt is the project's own",
    "barebones=true": "trainer.barebones: not settable here: it would turn off the logging and checkpoints",
}


@pytest.mark.parametrize("knob", REFUSED)
def test_a_knob_that_cannot_work_here_is_refused_naming_it_and_why(config, tmp_path, knob):
    with pytest.raises(ConfigError) as refused:
        build(config(f"+trainer.{knob}"), tmp_path)
    assert str(refused.value).startswith(REFUSED[knob])


BAD_VALUES = {
    "trainer.max_epochs=-2": "trainer.max_epochs: expected a number of epochs >= 0, or -1 for no limit "
    "(trainer.max_steps, trainer.max_time or Ctrl-C ends it), got -2",
    "+trainer.foo=1": "trainer.foo: expected an argument of lightning.Trainer, got foo=1",
    "+trainer.logger=csv": "trainer.logger: expected true or false (the loggers of conf/logger, or none), got 'csv'",
    "+trainer.logger=null": "trainer.logger: expected true or false (the loggers of conf/logger, or none), got None",
    "+trainer.plugins=abc": "trainer.plugins: expected an empty list or null, got 'abc'",  # a plugin is an object
    "+trainer.plugins=[abc]": "trainer.plugins: expected an empty list or null, got ['abc']",
    "+trainer.accumulate_grad_batches=abc": "trainer.accumulate_grad_batches: expected an integer, got 'abc'",
    "+trainer.accumulate_grad_batches=0": "trainer.accumulate_grad_batches: expected a number of batches >= 1, got 0",
    "+trainer.accumulate_grad_batches=-1": "trainer.accumulate_grad_batches: expected a number of batches >= 1",
    "trainer.log_every_n_steps=0": "trainer.log_every_n_steps: expected a number of updates >= 1, got 0",
    "+trainer.gradient_clip_val=nan": "trainer.gradient_clip_val: expected a finite number >= 0, or null, got nan",
    "+trainer.limit_train_batches=1.5": "trainer.limit_train_batches: expected a number of batches >= 0, a fraction",
    "+trainer.limit_train_batches=abc": "trainer.limit_train_batches: expected a number or null, got 'abc'",
    "+trainer.limit_train_batches=0.0001": "trainer.limit_train_batches: expected a fraction that leaves at least "
    "one of the 1 batches of an epoch, got 0.0001",
    "+trainer.fast_dev_run=-1": "trainer.fast_dev_run: expected true, false or a number of batches >= 0, got -1",
    "+trainer.detect_anomaly=maybe": "trainer.detect_anomaly: expected true or false, got 'maybe'",
    "+trainer.max_steps=2.5": "trainer.max_steps: expected an integer, got 2.5",
    "+trainer.model_registry=1": "trainer.model_registry: expected a string or null, got 1",
}
if not torch.cuda.is_available():
    BAD_VALUES["trainer.accelerator=gpu"] = "trainer.accelerator: expected cpu or auto: this machine has no CUDA GPU"


@pytest.mark.parametrize("override", BAD_VALUES)
def test_a_trainer_argument_of_the_wrong_type_or_out_of_range_is_refused_before_lightning_sees_it(
    config, tmp_path, override
):
    with pytest.raises(ConfigError) as refused:
        build(config(override), tmp_path)
    assert str(refused.value).startswith(BAD_VALUES[override])


LIGHTNING_REFUSES = {
    "trainer.devices=abc": "trainer.devices: `devices` selected with `CPUAccelerator` should be an int > 0.",
    "trainer.devices=[5]": "trainer.devices: `devices` selected with `CPUAccelerator` should be an int > 0.",
    "trainer.accelerator=tpu": "trainer.accelerator: Requirement 'torch_xla",
    "trainer.strategy=deepspeed": "trainer.strategy: To use the `DeepSpeedStrategy`, you must have DeepSpeed installed",
    "+trainer.max_time=abc": "trainer.max_time: `Timer(duration='abc')` is not a valid duration.",
    "trainer.precision=8-true": "trainer.precision: Precision '8-true' is invalid.",
}


@pytest.mark.parametrize("override", LIGHTNING_REFUSES)
def test_trainer_arguments_lightning_refuses_become_one_line_errors_naming_the_argument(config, tmp_path, override):
    with pytest.raises(ConfigError) as refused:
        build(config(override), tmp_path)
    assert str(refused.value).startswith(LIGHTNING_REFUSES[override])


def test_a_float16_update_whose_scaled_gradients_overflow_is_skipped_and_reported(config, tmp_path, monkeypatch):
    """16-mixed on CUDA: float16 with the loss scaled by 2**16 (Lightning's GradScaler). The seed's first dL/dy_out,
    2 * e, scaled, is past float16's largest number: that update is skipped (the weights stay the seed's), the scale
    halved; scaled by 2**15 the next fit. Lightning counts the skipped one as a step; the summary and report say so.
    Here on the CPU with the same plugin that Lightning puts in place on CUDA."""
    from lightning.pytorch.plugins import MixedPrecision

    from backprop_by_example.run.report import report

    grad_y_out = by_hand.backprop(seed.X, seed.T, seed.W, seed.V).grad_y_out
    assert np.abs(grad_y_out).max() * 2**16 > np.finfo(np.float16).max > np.abs(grad_y_out).max() * 2**15

    assert "skipped" not in report(train(config(FAST, "trainer.max_epochs=3"), tmp_path / "f64"), tmp_path)

    class Float16Scaled(L.Trainer):  # the precision plugin in place of the config's precision
        def __init__(self, precision, **arguments):
            super().__init__(plugins=[MixedPrecision("16-mixed", "cpu", torch.amp.GradScaler("cpu"))], **arguments)

    monkeypatch.setattr(L, "Trainer", Float16Scaled)
    first = train(config(FAST, "trainer.max_epochs=1"), tmp_path / "first")
    assert (first["W"], first["V"], first["steps"], first["steps_skipped"]) == (seed.W, seed.V, 1, 1)
    three = train(config(FAST, "trainer.max_epochs=3"), tmp_path / "three")
    assert (three["steps"], three["steps_skipped"]) == (3, 1)
    assert three["W"] != seed.W
    assert "1 of the 3 updates skipped: their gradients overflowed float16" in report(three, tmp_path)
