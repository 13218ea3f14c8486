"""What a run writes for TensorBoard: every weight and gradient per epoch, per-instance values, pictures, hparams."""

import json
import signal
import socket
import time
import urllib.request

import numpy as np
import pytest
import torch
from PIL import Image
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import plugin_data_pb2

import seed_printed as seed
from backprop_by_example import by_hand
from backprop_by_example.run.training import train
from conftest import ROOT, on, session_items, summary_of, train_each
from overrides import matrix

EPOCHS, EVERY = 5, 2
NAMES = ["w11", "w12", "w21", "w22", "v11", "v12", "v21", "v22"]


@pytest.fixture(scope="module")
def run(config, tmp_path_factory):
    """A short default run: the seed's net for 5 epochs, with a picture every 2."""
    run_dir = tmp_path_factory.mktemp("run")
    summary = train(
        config(f"trainer.max_epochs={EPOCHS}", f"log.picture_every_n_epochs={EVERY}", "log.animation=true"), run_dir
    )
    events = EventAccumulator(str(run_dir / "tensorboard"), size_guidance={"scalars": 0, "images": 0, "tensors": 0})
    events.Reload()
    return run_dir, summary, events


def values(events, tag):
    return [e.value for e in events.Scalars(tag)]


def test_loss_and_weights_have_a_point_per_update_and_after_the_last_and_gradients_one_per_update(run):
    _, _, events = run
    for tag in ["loss"] + [f"weights/{n}" for n in NAMES]:
        assert [e.step for e in events.Scalars(tag)] == list(range(EPOCHS + 1)), tag
    for tag in [f"grads/{n}" for n in NAMES]:
        assert [e.step for e in events.Scalars(tag)] == list(range(EPOCHS)), tag


def test_every_value_at_step_s_belongs_to_the_weights_after_s_updates_as_in_the_numpy_oracle(run):
    """Weights, loss, outputs and the gradient at step s: all at the weights after s updates."""
    _, _, events = run
    assert_every_value_is_the_numpy_oracles(events, EPOCHS)


PER_INSTANCE = [
    [],
    ["data.shuffle=true"],
    ["model.gradients=by_hand"],
    ["data.batch_size=1", "+trainer.accumulate_grad_batches=2"],
]


@pytest.mark.parametrize("overrides", PER_INSTANCE, ids=" ".join)
def test_per_instance_values_are_each_instances_also_when_the_batch_is_shuffled_or_the_engine_gives_no_outputs(
    config, tmp_path, overrides, device
):
    """The per-instance values come from the training step's own forward pass where an update is one batch, the data
    in order; otherwise (a shuffled batch, the by_hand engine, batches accumulated) from a pass of their own: the same
    numbers, in instance order."""
    train(config(device, *overrides, "trainer.max_epochs=3"), tmp_path)
    events = EventAccumulator(str(tmp_path / "tensorboard"), size_guidance={"scalars": 0})
    events.Reload()
    assert_every_value_is_the_numpy_oracles(events, 3)


def test_where_an_update_sees_only_some_instances_there_are_no_per_instance_values(config, tmp_path):
    """limit_train_batches=1 of two batches of one: every update trains on instance 1 alone, so each loss is its
    loss, and no point after the last update stands for all instances."""
    train(config("data.batch_size=1", "+trainer.limit_train_batches=1", "trainer.max_epochs=3"), tmp_path)
    events = EventAccumulator(str(tmp_path / "tensorboard"), size_guidance={"scalars": 0})
    events.Reload()
    assert not [tag for tag in events.Tags()["scalars"] if tag.startswith(("losses/", "outputs/"))]
    W, V, losses = np.array(seed.W), np.array(seed.V), []
    for _ in range(3):
        step = by_hand.backprop(seed.X[:1], seed.T[:1], W, V)
        losses.append(step.loss.sum())
        W, V = W - seed.lr * step.grad_W, V - seed.lr * step.grad_V
    assert [e.step for e in events.Scalars("loss")] == [0, 1, 2]
    np.testing.assert_allclose(values(events, "loss"), losses, rtol=1e-6)


def assert_every_value_is_the_numpy_oracles(events, epochs):
    W, V = np.array(seed.W), np.array(seed.V)
    for s in range(epochs + 1):
        step = by_hand.backprop(seed.X, seed.T, W, V)
        np.testing.assert_allclose(
            [values(events, f"weights/{n}")[s] for n in NAMES], [*W.ravel(), *V.ravel()], rtol=1e-7
        )
        assert values(events, "loss")[s] == pytest.approx(step.loss.sum(), rel=1e-6)
        np.testing.assert_allclose([values(events, f"losses/instance{i}")[s] for i in (1, 2)], step.loss, rtol=1e-6)
        np.testing.assert_allclose(values(events, "outputs/instance2_y1")[s], step.y_out[1, 0], rtol=1e-6)
        if s < epochs:
            grads = [*step.grad_W.ravel(), *step.grad_V.ravel()]
            np.testing.assert_allclose([values(events, f"grads/{n}")[s] for n in NAMES], grads, rtol=1e-6)
        W, V = W - seed.lr * step.grad_W, V - seed.lr * step.grad_V


def assert_each_update_is_the_weights_minus_lr_times_the_logged_gradient(events, lr):
    """weights(s + 1) = weights(s) - lr * grads(s) for every logged update s (scalars are stored as float32)."""
    weights = np.array([values(events, f"weights/{n}") for n in NAMES])
    grads = np.array([values(events, f"grads/{n}") for n in NAMES])
    assert grads.shape[1] == weights.shape[1] - 1
    np.testing.assert_allclose(weights[:, 1:], weights[:, :-1] - lr * grads, rtol=0, atol=2e-6)


def test_each_update_is_the_weights_minus_lr_times_the_logged_gradient(run):
    _, _, events = run
    assert_each_update_is_the_weights_minus_lr_times_the_logged_gradient(events, seed.lr)


def test_with_gradient_clipping_the_logged_gradient_is_the_clipped_one_the_update_applied(config, tmp_path):
    train(config("+trainer.gradient_clip_val=0.01", "trainer.max_epochs=5"), tmp_path)
    events = EventAccumulator(str(tmp_path / "tensorboard"), size_guidance={"scalars": 0})
    events.Reload()
    grads = np.array([values(events, f"grads/{n}") for n in NAMES])
    np.testing.assert_allclose(np.linalg.norm(grads, axis=0), 0.01, rtol=1e-5)  # clipped to norm 0.01 (Lightning)
    assert_each_update_is_the_weights_minus_lr_times_the_logged_gradient(events, seed.lr)


def test_first_update_matches_seed_cells_23_to_28(run):
    _, _, events = run
    assert values(events, "loss")[0] == pytest.approx(seed.loss_before, abs=seed.DECIMALS_8)
    assert values(events, "loss")[1] == pytest.approx(seed.loss_after_step, rel=1e-7)  # a float32 of 8 decimals
    after_step = [w for A in (seed.W_after_step, seed.V_after_step) for row in A for w in row]
    np.testing.assert_allclose([values(events, f"weights/{n}")[1] for n in NAMES], after_step, atol=1e-6)


ENGINES = {
    "autograd": [],
    "by_hand": ["model.gradients=by_hand"],
    "autograd_compiled": ["model.compile=true"],
    "fused": ["model.gradients=by_hand", "model.compile=true"],
}
# One unit in the last place at 1 (2**-23 in float32, 2**-7 in bf16), of the arithmetic an engine's outputs come
# from: the precision's, but float32 for the fused engine whatever the precision (as the README says)
ULP = {"32-true": 2**-23, "bf16-mixed": 2**-7}
CONSISTENCY = [
    ("autograd", "32-true"), ("autograd", "bf16-mixed"), ("by_hand", "32-true"), ("by_hand", "bf16-mixed"),
    pytest.param("autograd_compiled", "bf16-mixed", marks=pytest.mark.slow),
    pytest.param("fused", "bf16-mixed", marks=pytest.mark.slow),
]  # fmt: skip


def start_early(session, start_script, tmp_path_factory):
    """The runs of the session's cases of the test below (two of them compile), trained beside the tests
    (conftest.train_each): (engine, precision, device override) -> (run dir, Future)."""
    test = "test_the_instances_losses_add_up_to_the_logged_loss_at_every_step_and_the_last_point_is_summary_jsons"
    runs = {}
    for item in session_items(session, test):
        engine, precision, device = (item.callspec.params[key] for key in ("engine", "precision", "device"))
        runs[engine, precision, on(device)] = [
            on(device),
            *ENGINES[engine],
            f"trainer.precision={precision}",
            f"trainer.max_epochs={EPOCHS}",
        ]
    return train_each(start_script, tmp_path_factory, runs)


@pytest.mark.parametrize("engine, precision", CONSISTENCY)
def test_the_instances_losses_add_up_to_the_logged_loss_at_every_step_and_the_last_point_is_summary_jsons(
    early, engine, precision, device
):
    """Per-instance values and loss from the same arithmetic: summed, the losses are the loss within the rounding of
    the outputs and the sums, and of the event file's float32. The point after the last update is summary.json's
    loss, as the event file stores it."""
    run_dir, ended = early[engine, precision, device]
    summary = summary_of(run_dir, ended)
    events = EventAccumulator(str(run_dir / "tensorboard"), size_guidance={"scalars": 0})
    events.Reload()
    loss = np.array(values(events, "loss"), dtype=np.float64)
    losses = np.array([values(events, f"losses/instance{i}") for i in (1, 2)], dtype=np.float64)
    Y = np.array([[values(events, f"outputs/instance{i}_y{k}") for k in (1, 2)] for i in (1, 2)], dtype=np.float64)
    E = Y - np.array(seed.T)[:, :, None]  # instance, output, step
    ulp = ULP["32-true" if engine == "fused" else precision]
    # Two passes of the same formulas (compiled and eager) round each of the forward pass's few operations their own
    # way: an output y a few (4) units in the last place off moves (y - t)**2 by 4 * 2 |y - t| |y| ulp. The sums of
    # the 4 terms round 4 times at most; the event file holds the loss and the 2 instances' losses as float32.
    rounding = 4 * ulp * (2 * np.abs(E * Y).sum(axis=(0, 1)) + loss) + 2**-24 * 3 * loss
    assert len(loss) == EPOCHS + 1
    np.testing.assert_array_less(np.abs(losses.sum(axis=0) - loss), rounding)
    assert loss[-1] == np.float32(summary["loss"])


def test_network_picture_is_logged_at_the_first_every_kth_and_after_the_last_epoch(run):
    _, _, events = run
    assert [image.step for image in events.Images("network")] == [0, 2, 4, 5]


def test_hparams_hold_the_run_settings_with_final_loss_as_metric(run):
    _, summary, events = run
    content = events.PluginTagToContent("hparams")
    start = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/session_start_info"]).session_start_info
    hparams = {k: v.number_value or v.string_value for k, v in start.hparams.items()}
    assert hparams["lr"] == 0.5 and hparams["epochs"] == hparams["steps"] == EPOCHS
    assert (hparams["optimizer"], hparams["update"]) == (
        "torch.optim.SGD",
        "weights(s + 1) = weights(s) - lr * grads(s)",
    )
    assert (hparams["precision"], hparams["accelerator"]) == ("64-true", "cpu")
    assert [hparams[f"init_{n}"] for n in NAMES] == [6, -3, -2, 5, 1, -2, 0.25, 2]
    experiment = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/experiment"]).experiment
    assert [m.name.tag for m in experiment.metric_infos] == ["final_loss"]
    assert [(e.step, e.value) for e in events.Scalars("final_loss")] == [(EPOCHS, pytest.approx(summary["loss"]))]


def test_the_training_animation_has_a_frame_at_every_picture_and_after_the_last_update(run):
    run_dir, _, _ = run
    with Image.open(run_dir / "training.gif") as gif:
        assert gif.format == "GIF" and gif.n_frames == 4  # updates 0, 2, 4 and 5, as the pictures
        durations = []
        for frame in range(gif.n_frames):
            gif.seek(frame)
            durations.append(gif.info["duration"])
    assert durations == [500, 500, 500, 3000]


def test_the_animation_of_a_run_resumed_from_its_end_has_its_pictures_and_one_loss_point_per_update(
    run, config, tmp_path
):
    """5 epochs, then a sixth: frames at updates 0, 2, 4 and after the last (the first run's last frame, after 5
    updates, is not one of them); the loss after update 5, the first run's last point, is also the resumed run's
    first."""
    run_dir, _, _ = run
    last = run_dir / "checkpoints" / "last.ckpt"
    train(config("trainer.max_epochs=6", f"log.picture_every_n_epochs={EVERY}", "log.animation=true",
                 f"ckpt_path={last}"), tmp_path)  # fmt: skip
    with Image.open(tmp_path / "training.gif") as gif:
        assert gif.n_frames == 4
    checkpoint = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)
    assert [step for step, _ in checkpoint["animation"]["curve"]["items"]] == list(range(7))


def test_network_png_is_saved_in_the_run_dir(run, png_size):
    run_dir, _, _ = run
    assert png_size(run_dir / "network.png") == (1000, 600)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get_json(url, deadline, server):
    """The first non-empty answer: the server answers {} until it has read the event files. Asked directly, not
    through a proxy that the environment may name (http_proxy), which need not know this machine's 127.0.0.1.
    A server that has ended fails the test at once; either way the failure shows what the server wrote."""
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    while True:
        ended = server.poll() is not None
        if ended or time.monotonic() > deadline:
            why = f"tensorboard ended with status {server.returncode}" if ended else f"no answer from {url}"
            pytest.fail(f"{why}; it wrote:\n{server.stderr}")
        try:
            with direct.open(url, timeout=5) as response:
                answer = json.load(response)
            if answer:
                return answer
        except OSError:
            pass
        time.sleep(0.5)


@pytest.mark.slow
def test_a_tensorboard_server_lists_the_weights_gradients_and_picture(run, start_script):
    run_dir, _, _ = run
    port = free_port()
    arguments = ["--logdir", str(run_dir), "--host", "127.0.0.1", "--port", str(port)]
    arguments += ["--load_fast", "false"]  # the Python reader: no separate data server to start and wait for
    server = start_script(ROOT / "tests" / "tensorboard_main.py", run_dir, *arguments)  # `tensorboard ARGUMENTS`
    try:
        deadline = time.monotonic() + 90
        scalars = get_json(f"http://127.0.0.1:{port}/data/plugin/scalars/tags", deadline, server)
        images = get_json(f"http://127.0.0.1:{port}/data/plugin/images/tags", deadline, server)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    tags = scalars["tensorboard"]
    assert {f"weights/{n}" for n in NAMES} | {f"grads/{n}" for n in NAMES} | {"loss"} <= set(tags)
    assert "network" in images["tensorboard"]


def test_wider_nets_keep_the_naming_and_large_matrices_become_histograms(config, tmp_path):
    """W is 1 x 10: w1_1 ... w1_10 (a separator past 9 units); V is 10 x 7 = 70 entries > 64: one histogram."""
    W = [[0.1 * (j + 1) for j in range(10)]]
    V = [[0.01 * (j - k) for k in range(7)] for j in range(10)]
    X, T = [[1.0], [-2.0]], [[0.5] * 7, [0.2] * 7]
    dims = ["model.input_dim=1", "model.hidden_dim=10", "model.output_dim=7"]
    matrices = [matrix("model.W", W), matrix("model.V", V), matrix("data.X", X), matrix("data.T", T)]
    train(config(*dims, *matrices, "trainer.max_epochs=2"), tmp_path)
    events = EventAccumulator(str(tmp_path / "tensorboard"), size_guidance={"scalars": 0, "histograms": 0})
    events.Reload()
    scalars = set(events.Tags()["scalars"])
    assert {f"weights/w1_{j}" for j in range(1, 11)} | {f"grads/w1_{j}" for j in range(1, 11)} <= scalars
    assert not any(tag.startswith(("weights/v", "grads/v")) for tag in scalars)
    assert {"weights/V", "grads/V"} <= set(events.Tags()["histograms"])
    assert [h.step for h in events.Histograms("weights/V")] == [0, 1, 2]
    assert [h.step for h in events.Histograms("grads/V")] == [0, 1]
