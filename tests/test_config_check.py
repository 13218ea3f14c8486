"""A value that cannot work is refused before any training, with one line naming the key and what was expected."""

import re
import resource

import pytest

from backprop_by_example.run.checks import check
from backprop_by_example.run.errors import ConfigError
from backprop_by_example.run.training import build

CASES = {
    "W not a number": ("model.W=[[1,a],[3,4]]", "model.W: expected finite numbers, got 'a' at [0][1]"),
    "W ragged": ("model.W=[[1,2],[3]]", "model.W: expected rows of one and the same length, got [2, 1]"),
    "W empty": ("model.W=[]", "model.W: expected a non-empty list of rows, like [[1,2],[3,4]], got []"),
    "W does not fit the dims": (
        "model.W=[[1,2,3],[4,5,6]]",
        "model.W: expected a 2 x 2 matrix (model.input_dim x model.hidden_dim), got 2 x 3",
    ),
    "V does not fit the dims": (
        "model.V=[[1,2],[3,4],[5,6]]",
        "model.V: expected a 2 x 2 matrix (model.hidden_dim x model.output_dim), got 3 x 2",
    ),
    "given weights do not fit changed dims": (
        "model.hidden_dim=3",
        "model.W: expected a 2 x 3 matrix (model.input_dim x model.hidden_dim), got 2 x 2",
    ),
    "dims zero": ("model.hidden_dim=0", "model.hidden_dim: expected a number of units >= 1, got 0"),
    "X width does not fit the dims": (
        "data.X=[[1,2,3],[4,5,6]]",
        "data.X: expected 2 columns (model.input_dim), got 3",
    ),
    "T width does not fit the dims": ("data.T=[[1],[0]]", "data.T: expected 2 columns (model.output_dim), got 1"),
    "no data": ("data=csv", "data: expected data.X and data.T, or a CSV file in data.path (data=csv data.path=FILE)"),
    "batch size zero": ("data.batch_size=0", "data.batch_size: expected a number of rows >= 1, or null, got 0"),
    "T and X row counts differ": (
        "data.T=[[1,0]]",
        "data.T: expected 2 rows, one target per instance of data.X, got 1",
    ),
    "X has inf": ("data.X=[[3,inf],[-1,4]]", "data.X: expected finite numbers, got inf at [0][1]"),
    "lr zero": ("optimizer.lr=0", "optimizer.lr: expected a finite learning rate > 0, got 0.0"),
    "lr nan": ("optimizer.lr=nan", "optimizer.lr: expected a finite learning rate > 0, got nan"),
    "lr inf": ("optimizer.lr=inf", "optimizer.lr: expected a finite learning rate > 0, got inf"),
    "seed negative": ("seed=-1", "seed: expected an integer from 0 to 2**32 - 1, got -1"),
    "seed too large": ("seed=4294967296", "seed: expected an integer from 0 to 2**32 - 1, got 4294967296"),
    "picture every 0 epochs": (
        "log.picture_every_n_epochs=0",
        "log.picture_every_n_epochs: expected a number of epochs >= 1, got 0",
    ),
    "a key that is none": (
        "+model.hiden_dim=3",
        "model.hiden_dim: not a setting here; model has input_dim, hidden_dim, output_dim, W, V, compile, gradients",
    ),
    "a top-level key that is none": (
        "+sed=3",
        "sed: not a setting here; the top level has model, data, optimizer, trainer, log, checkpoint, logger, seed, "
        "ckpt_path",
    ),
    "max scalars negative": ("log.max_scalars=-1", "log.max_scalars: expected a number >= 0, got -1"),
    "a dim beyond int64": (
        "model.hidden_dim=99999999999999999999",
        "model.hidden_dim: expected an integer from -2**63 to 2**63 - 1 (int64), got 99999999999999999999",
    ),
    "a batch size beyond int64": (
        "data.batch_size=99999999999999999999999",
        "data.batch_size: expected an integer from -2**63 to 2**63 - 1 (int64), got 99999999999999999999999",
    ),
    "a Trainer argument beyond int64": (
        "trainer.max_epochs=-9223372036854775809",
        "trainer.max_epochs: expected an integer from -2**63 to 2**63 - 1 (int64), got -9223372036854775809",
    ),
}


HYDRA_CASES = {
    "lr not a number": ("optimizer.lr=abc", "Value 'abc' of type 'str' could not be converted to Float"),
    "epochs not a number": ("trainer.max_epochs=ten", "Value 'ten' of type 'str' could not be converted to Integer"),
    "matrix not a list": ("model.W=5", "Invalid value assigned: int is not a ListConfig, list or tuple"),
    "unknown key": ("model.hiden_dim=3", "Key 'hiden_dim' not in 'ModelConfig'"),
    "unknown option of a config group": ("model=bigger", "Could not find 'model/bigger'"),
}


@pytest.mark.parametrize("case", HYDRA_CASES)
def test_wrong_type_or_unknown_key_is_refused_by_hydra(config, case):
    override, message = HYDRA_CASES[case]
    with pytest.raises(Exception) as refused:  # noqa: B017  (Hydra's and OmegaConf's several error types)
        config(override)
    assert message in str(refused.value) + str(refused.value.__cause__)


@pytest.mark.parametrize("case", CASES)
def test_bad_value_is_refused_naming_the_key(config, case):
    override, message = CASES[case]
    with pytest.raises(ConfigError) as refused:
        check(config(override))
    assert str(refused.value) == message


def test_default_config_passes_the_check(config):
    check(config())


def test_unsupported_precision_is_refused_by_lightnings_check(config, tmp_path):
    with pytest.raises(ConfigError, match="^trainer.precision: Precision '8-true' is invalid"):
        build(config("trainer.precision=8-true"), tmp_path)


def test_picture_of_a_missing_instance_is_refused(config, tmp_path):
    with pytest.raises(ConfigError, match=r"^log.picture_instance: expected an instance from 1 to 2, got 3$"):
        build(config("log.picture_instance=3"), tmp_path)


def test_random_weights_that_cannot_fit_in_memory_are_refused_with_the_bytes_they_need(config):
    """A 2-10^12-2 net: 4 x 10^12 weights, 8 bytes each in float64, more than any machine has."""
    with pytest.raises(ConfigError) as refused:
        check(config("model=random", "model.hidden_dim=1000000000000"))
    assert re.fullmatch(
        r"model.hidden_dim: expected a net whose weights fit in memory \([0-9,]+ bytes here\), got 1000000000000: "
        r"its 4,000,000,000,000 weights take 32,000,000,000,000 bytes in float64",
        str(refused.value),
    )


def test_under_a_limit_on_the_memory_a_process_may_map_a_smaller_net_is_refused(config, monkeypatch):
    """`ulimit -v 1048576` (1 GiB): 2-10^8-2 random weights take 3.2 GB, refused; 2-1000-2 ones fit."""
    monkeypatch.setattr(resource, "getrlimit", lambda which: (2**30, resource.RLIM_INFINITY))
    with pytest.raises(ConfigError, match=r"\(1,073,741,824 bytes here\), got 100000000: its 400,000,000 weights"):
        check(config("model=random", "model.hidden_dim=100000000"))
    check(config("model=random", "model.hidden_dim=1000"))
