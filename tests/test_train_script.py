"""`python scripts/train.py [overrides]` as a user runs it: the seed's result, summary.json, logs, checkpoint."""

import json

import numpy as np
import pytest

import seed_printed as seed
from backprop_by_example import by_hand
from overrides import matrix

pytestmark = pytest.mark.slow

SUMMARY_KEYS = {
    *("W", "V", "outputs", "targets", "losses", "loss", "epochs", "steps", "steps_skipped", "accelerator"),
    *("precision", "fit_seconds"),
}


def test_default_run_reproduces_seed_cells_29_and_30(default_run):
    done, run_dir = default_run
    assert done.returncode == 0, done.stderr
    summary = json.loads((run_dir / "summary.json").read_text())

    assert set(summary) == SUMMARY_KEYS
    np.testing.assert_allclose(summary["outputs"], seed.outputs_final, rtol=0, atol=1e-8)
    np.testing.assert_allclose(summary["W"], seed.W_final, rtol=0, atol=1e-8)
    np.testing.assert_allclose(summary["V"], seed.V_final, rtol=0, atol=1e-8)
    expected_losses = by_hand.backprop(seed.X, seed.T, summary["W"], summary["V"]).loss
    np.testing.assert_allclose(summary["losses"], expected_losses, rtol=1e-12)
    assert summary["loss"] == pytest.approx(sum(expected_losses), rel=1e-12)
    assert (summary["epochs"], summary["steps"], summary["steps_skipped"]) == (201, 201, 0)
    assert (summary["accelerator"], summary["precision"]) == ("cpu", "64-true")
    assert summary["fit_seconds"] > 0

    assert list(run_dir.glob("tensorboard/events.out.tfevents.*"))
    assert (run_dir / "checkpoints" / "last.ckpt").is_file()
    assert "0.94621368" in done.stdout and "tensorboard --logdir" in done.stdout

    log = (run_dir / "train.log").read_text()  # the run's log: Lightning's messages and the report, with times
    assert "`Trainer.fit` stopped: `max_epochs=201` reached." in log and "y = [0.94621368, 0.04892312]" in log


def test_command_line_overrides_take_effect_as_in_the_numpy_oracle(run_train, tmp_path):
    X, T = [[0.5, -1.0], [2.0, 0.25], [-1.5, 1.5]], [[0.9, 0.1], [0.2, 0.8], [0.5, 0.5]]
    W, V = [[0.1, -0.7], [1.3, 0.4]], [[-0.2, 0.9], [0.6, -1.1]]
    done, summary = run_train(
        tmp_path,
        "optimizer.lr=0.3", "trainer.max_epochs=23",
        matrix("model.W", W), matrix("model.V", V), matrix("data.X", X), matrix("data.T", T),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr

    W_end, V_end = by_hand.train(X, T, W, V, lr=0.3, epochs=23)
    np.testing.assert_allclose(summary["W"], W_end, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(summary["V"], V_end, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(summary["outputs"], by_hand.backprop(X, T, W_end, V_end).y_out, atol=1e-12)
    assert summary["epochs"] == 23
