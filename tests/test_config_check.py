"""A value that cannot work is refused before any training, with one line naming the key and what was expected."""

import pytest
import torch

from backprop_by_example.config import ConfigError, check
from backprop_by_example.training import build

CASES = {
    "W not a number": ("model.W=[[1,a],[3,4]]", "model.W: expected finite numbers, got 'a' at [0][1]"),
    "W ragged": ("model.W=[[1,2],[3]]", "model.W: expected rows of one and the same length, got [2, 1]"),
    "W empty": ("model.W=[]", "model.W: expected a non-empty list of rows, like [[1,2],[3,4]], got []"),
    "V rows do not fit W": (
        "model.V=[[1,2],[3,4],[5,6]]",
        "model.V: expected 2 rows, one per hidden unit (the columns of model.W), got 3",
    ),
    "X width does not fit W": (
        "data.X=[[1,2,3],[4,5,6]]",
        "data.X: expected 2 columns, one per input (the rows of model.W), got 3",
    ),
    "T width does not fit V": (
        "data.T=[[1],[0]]",
        "data.T: expected 2 columns, one per output (the columns of model.V), got 1",
    ),
    "T and X row counts differ": (
        "data.T=[[1,0]]",
        "data.T: expected 2 rows, one target per instance of data.X, got 1",
    ),
    "X has inf": ("data.X=[[3,inf],[-1,4]]", "data.X: expected finite numbers, got inf at [0][1]"),
    "lr zero": ("optimizer.lr=0", "optimizer.lr: expected a learning rate > 0, got 0.0"),
    "lr nan": ("optimizer.lr=nan", "optimizer.lr: expected a learning rate > 0, got nan"),
    "picture of a missing instance": (
        "log.picture_instance=3",
        "log.picture_instance: expected an instance from 1 to 2, got 3",
    ),
    "picture every 0 epochs": (
        "log.picture_every_n_epochs=0",
        "log.picture_every_n_epochs: expected a number of epochs >= 1, got 0",
    ),
    "checkpoint missing": (
        "ckpt_path=no/such/last.ckpt",
        "ckpt_path: expected an existing checkpoint file, got no/such/last.ckpt",
    ),
    "epochs negative": ("trainer.max_epochs=-1", "trainer.max_epochs: expected a number of epochs >= 0, got -1"),
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


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA GPU")
def test_gpu_without_cuda_is_refused(config):
    with pytest.raises(ConfigError, match="^trainer.accelerator: expected cpu or auto: this machine has no CUDA GPU"):
        check(config("trainer.accelerator=gpu"))


def test_unsupported_precision_is_refused_by_lightnings_check(config, tmp_path):
    with pytest.raises(ConfigError, match="^trainer: Precision '8-true' is invalid"):
        build(config("trainer.precision=8-true"), tmp_path)
