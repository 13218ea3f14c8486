"""The optimizer from the config (conf/optimizer, any torch.optim.Optimizer by `_target_`): momentum SGD and Adam
train as the numpy oracle of torch's documented update rules, a resume keeps their state, bad input gets one line."""

import numpy as np
import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import plugin_data_pb2

import optimizer_oracle as oracle
import seed_printed as seed
from backprop_by_example.run.checks import check
from backprop_by_example.run.errors import ConfigError
from backprop_by_example.run.training import train
from overrides import matrix

FAST = ["log.details=false", "trainer.max_epochs=50"]
SHORT = ["log.details=false", "trainer.max_epochs=10"]


def random_3_4_2():
    """A 3-4-2 net and 5 instances, drawn here: (overrides, X, T, W, V)."""
    rng = np.random.default_rng(21)
    W, V, X, T = rng.normal(size=(3, 4)), rng.normal(size=(4, 2)), rng.normal(size=(5, 3)), rng.uniform(size=(5, 2))
    dims = ["model.input_dim=3", "model.hidden_dim=4", "model.output_dim=2"]
    given = [matrix("model.W", W), matrix("model.V", V), matrix("data.X", X), matrix("data.T", T)]
    return [*dims, *given], X, T, W, V


CASES = {
    "seed": ([], seed.X, seed.T, seed.W, seed.V),
    "random 3-4-2": random_3_4_2(),
}
OPTIMIZERS = {  # overrides, oracle(X, T, W, V, epochs)
    "momentum SGD": (
        ["optimizer=sgd_momentum"],
        lambda *net, epochs: oracle.sgd_momentum(*net, lr=0.5, momentum=0.9, epochs=epochs),
    ),
    "Adam": (["optimizer=adam"], lambda *net, epochs: oracle.adam(*net, lr=0.1, epochs=epochs)),
}


def assert_weights(summary, W, V):
    np.testing.assert_allclose(summary["W"], W, rtol=0, atol=1e-12)
    np.testing.assert_allclose(summary["V"], V, rtol=0, atol=1e-12)


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_50_full_batch_epochs_equal_the_numpy_oracle_of_torchs_update_rules(config, tmp_path, name, case):
    overrides, X, T, W, V = CASES[case]
    chosen, train_oracle = OPTIMIZERS[name]
    summary = train(config(*FAST, *overrides, *chosen), tmp_path)
    assert_weights(summary, *train_oracle(X, T, W, V, epochs=50))


@pytest.mark.parametrize("name", ["sgd", "sgd_momentum", "adam"])
def test_gradients_by_hand_train_with_every_optimizer_as_autograd(config, tmp_path, name):
    autograd = train(config(*SHORT, f"optimizer={name}"), tmp_path / "autograd")
    by_hand = train(config(*SHORT, f"optimizer={name}", "model.gradients=by_hand"), tmp_path / "by_hand")
    assert_weights(by_hand, autograd["W"], autograd["V"])


@pytest.mark.parametrize("name", ["sgd_momentum", "adam"])
def test_a_resume_keeps_the_optimizers_state_bitwise(config, tmp_path, name):
    """Momentum buffers, Adam's moments and step count come back from the checkpoint: 4 + 6 epochs = 10."""
    whole = train(config(*SHORT, f"optimizer={name}"), tmp_path / "whole")
    train(config(*SHORT, f"optimizer={name}", "trainer.max_epochs=4"), tmp_path / "first")
    last = tmp_path / "first" / "checkpoints" / "last.ckpt"
    resumed = train(config(*SHORT, f"optimizer={name}", f"ckpt_path={last}"), tmp_path / "resumed")
    assert (resumed["W"], resumed["V"]) == (whole["W"], whole["V"])


def test_a_new_lr_on_resume_applies_to_adam_from_the_resume_on(config, tmp_path):
    """4 epochs at lr 0.1, then 6 at 0.02, with Adam's moments and step count going on: the oracle's lr per step."""
    train(config(*SHORT, "optimizer=adam", "trainer.max_epochs=4"), tmp_path / "first")
    last = tmp_path / "first" / "checkpoints" / "last.ckpt"
    resumed = train(config(*SHORT, "optimizer=adam", "optimizer.lr=0.02", f"ckpt_path={last}"), tmp_path / "resumed")
    assert_weights(resumed, *oracle.adam(seed.X, seed.T, seed.W, seed.V, lr=[0.1] * 4 + [0.02] * 6, epochs=10))


def test_a_resume_with_another_optimizer_class_is_refused(config, tmp_path):
    train(config(*FAST, "trainer.max_epochs=2"), tmp_path / "first")
    last = tmp_path / "first" / "checkpoints" / "last.ckpt"
    with pytest.raises(ConfigError) as refused:
        train(config(*FAST, "optimizer=adam", f"ckpt_path={last}"), tmp_path / "resumed")
    assert str(refused.value) == (
        f"optimizer._target_: expected torch.optim.sgd.SGD, as in the checkpoint (ckpt_path={last}), "
        "got torch.optim.adam.Adam"
    )
    assert not (tmp_path / "resumed").exists()


BAD = {
    "an optimizer that is none": (
        ["optimizer._target_=torch.optim.Adamm"],
        "optimizer._target_: expected a class to import, like torch.optim.Adam, got torch.optim.Adamm",
    ),
    "a class that is not an optimizer": (
        ["optimizer._target_=torch.nn.Linear"],
        "optimizer._target_: expected a subclass of torch.optim.Optimizer, got torch.nn.Linear",
    ),
    "a function, not a class": (
        ["optimizer._target_=torch.optim.adam.adam"],
        "optimizer._target_: expected a subclass of torch.optim.Optimizer, got torch.optim.adam.adam",
    ),
    "a negative lr of Adam": (
        ["optimizer=adam", "optimizer.lr=-1"],
        "optimizer.lr: expected a finite learning rate > 0, got -1.0",
    ),
    "a value the optimizer refuses": (
        ["optimizer=sgd_momentum", "optimizer.momentum=-1"],
        "optimizer.momentum: torch.optim.SGD refuses it: Invalid momentum value: -1",
    ),
    "values the optimizer refuses, its message naming none of them": (
        ["optimizer=adam", "+optimizer.betas=[1.5,0.999]"],
        "optimizer: torch.optim.Adam refuses it: Invalid beta parameter at index 0: 1.5",
    ),
    "not a partial": (
        ["optimizer._partial_=false"],
        "optimizer._partial_: expected true (the module gives the optimizer its parameters), got False",
    ),
}


@pytest.mark.parametrize("case", BAD)
def test_a_bad_optimizer_is_refused_in_one_line_naming_the_key(config, case):
    overrides, message = BAD[case]
    with pytest.raises(ConfigError) as refused:
        check(config(*overrides))
    assert str(refused.value) == message


@pytest.mark.parametrize("name", ["sgd", "adam"])
def test_an_argument_the_optimizer_does_not_take_is_refused_naming_it(config, name):
    with pytest.raises(ConfigError, match=r"^optimizer.lrr: not an argument of torch.optim.\w+, which takes lr, "):
        check(config(f"optimizer={name}", "optimizer.lrr=0.1"))


def test_any_argument_of_the_optimizer_can_be_set(config, tmp_path):
    """Nesterov momentum, a weight decay: torch.optim.SGD's own numbers, stepped here by hand from the seed."""
    overrides = ["optimizer=sgd_momentum", "+optimizer.nesterov=true", "+optimizer.weight_decay=0.01"]
    summary = train(config("log.details=false", "trainer.max_epochs=3", *overrides), tmp_path)
    W, V = (torch.tensor(A, dtype=torch.float64, requires_grad=True) for A in (seed.W, seed.V))
    step = torch.optim.SGD([W, V], lr=0.5, momentum=0.9, nesterov=True, weight_decay=0.01)
    for _ in range(3):
        step.zero_grad()
        for A, g in zip((W, V), oracle.gradients(seed.X, seed.T, W.detach().numpy(), V.detach().numpy()), strict=True):
            A.grad = torch.from_numpy(g)
        step.step()
    assert_weights(summary, W.detach().numpy(), V.detach().numpy())


@pytest.mark.parametrize(
    "name, update",
    [
        ("sgd_momentum", "weights(s + 1) = SGD's step from grads(s) and its state"),
        ("adam", "weights(s + 1) = Adam's step from grads(s) and its state"),
    ],
)
def test_hparams_name_the_optimizer_and_say_that_its_update_is_not_plain_sgds(config, tmp_path, name, update):
    train(config("log.details=false", "trainer.max_epochs=2", f"optimizer={name}"), tmp_path)
    events = EventAccumulator(str(tmp_path / "tensorboard"))
    events.Reload()
    content = events.PluginTagToContent("hparams")["_hparams_/session_start_info"]
    start = plugin_data_pb2.HParamsPluginData.FromString(content).session_start_info
    hparams = {k: v.number_value or v.string_value for k, v in start.hparams.items()}
    assert hparams["update"] == update
    assert hparams["optimizer"] == {"sgd_momentum": "torch.optim.SGD", "adam": "torch.optim.Adam"}[name]
    assert hparams.get("optimizer.momentum") == {"sgd_momentum": 0.9, "adam": None}[name]
