"""A value that cannot work is refused before any training, with one line naming the key and what was expected."""

import pytest

from backprop_by_example.run.config import ConfigError, check
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
        "sed: not a setting here; the top level has model, data, optimizer, trainer, log, checkpoint, seed, ckpt_path",
    ),
    "max scalars negative": ("log.max_scalars=-1", "log.max_scalars: expected a number >= 0, got -1"),
}


HYDRA_CASES = {
    "lr not a number": ("optimizer.lr=abc", "Value 'abc' of type 'str' could not be converted to Float"),
    "epochs not a number": ("trainer.max_epochs=ten", "Value 'ten' of type 'str' could not be converted to Integer"),
    "matrix not a list": ("model.W=5", "Invalid value assigned: int is not a ListConfig, list or tuple"),
    "unknown key": ("optimizer.momentum=0.9", "Key 'momentum' not in 'OptimizerConfig'"),
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
