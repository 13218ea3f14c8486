"""Structured configs: the types Hydra checks every `conf/` file and override against (the values live in `conf/`).

`register` puts them into Hydra's ConfigStore: the scripts call it before Hydra composes their config.
"""

import os
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, OmegaConf

from backprop_by_example.run import launched

# A matrix is a list of rows. The rows are typed Any because OmegaConf 2.3 rejects ints merged into a
# list[list[float]] (omry/omegaconf#1054), and `model.W=[[1,2],[3,4]]` must work; `check` does the rest.
Matrix = list[list[Any]]


class Gradients(Enum):
    autograd = "autograd"  # PyTorch works out the backward pass
    by_hand = "by_hand"  # the seed's derivation, torch_by_hand.SquaredError


@dataclass
class ModelConfig:
    input_dim: int = MISSING
    hidden_dim: int = MISSING
    output_dim: int = MISSING
    W: Matrix | None = MISSING  # input_dim x hidden_dim; None: 0.1 * uniform[0, 1) from `seed`
    V: Matrix | None = MISSING  # hidden_dim x output_dim; likewise
    compile: bool = MISSING  # torch.compile the loss and its gradient: faster from about 10^6 instances on
    gradients: Gradients = MISSING


@dataclass
class DataConfig:
    X: Matrix | None = None  # instances x inputs, or
    T: Matrix | None = None  # instances x outputs, or
    path: str | None = None  # a CSV file with columns x1, x2, ..., t1, t2, ...
    batch_size: int | None = MISSING  # None: all instances in one batch
    shuffle: bool = MISSING


@dataclass
class OptimizerConfig:
    """A torch.optim.Optimizer class named by `_target_`, built by Hydra's `instantiate` as a partial (params ->
    optimizer). Its other arguments are free (open: `conf/optimizer/*.yaml` carry them, `optimizer.momentum=0.9`
    sets one); `run/checks.py` checks them against the class's own."""

    _target_: str = MISSING
    _partial_: bool = True
    lr: float = MISSING


@dataclass
class TrainerConfig:
    """Keyword arguments of `lightning.Trainer`; add any other one with `+trainer.NAME=VALUE`."""

    accelerator: str = MISSING
    devices: Any = MISSING
    strategy: str = MISSING
    precision: str = MISSING
    max_epochs: int = MISSING
    log_every_n_steps: int = MISSING
    deterministic: bool = MISSING
    enable_progress_bar: bool = MISSING
    enable_model_summary: bool = MISSING


@dataclass
class LogConfig:
    """What TensorBoard gets besides the loss; see backprop_by_example/log/."""

    details: bool = MISSING
    max_scalars: int = MISSING
    max_instances: int = MISSING
    picture_every_n_epochs: int = MISSING
    picture_instance: int = MISSING
    animation: bool = MISSING
    page: bool = MISSING


@dataclass
class CheckpointConfig:
    every_n_epochs: int = MISSING


@dataclass
class TrainConfig:
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    log: LogConfig = field(default_factory=LogConfig)
    checkpoint: CheckpointConfig = field(default_factory=CheckpointConfig)
    # {name: a Lightning Logger's keyword arguments, its class in `_target_`}: conf/logger/*.yaml, one or several
    logger: dict[str, Any] = field(default_factory=dict)
    seed: int = MISSING
    ckpt_path: str | None = None  # a checkpoint to continue from, e.g. <run dir>/checkpoints/last.ckpt


class Format(Enum):
    table = "table"
    json = "json"


@dataclass
class ExplainOptions:
    instance: int = MISSING  # 1 = the first row of data.X
    format: Format = MISSING
    picture: str = MISSING  # where the PNG goes
    stages: str = MISSING  # the directory for the backward pass stage by stage: stage1-forward.png ..., backward.gif
    seconds_per_frame: float = MISSING  # of backward.gif
    page: bool = MISSING  # backprop.html beside the stage pictures


@dataclass
class ExplainConfig:
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)  # the page's learning rate
    explain: ExplainOptions = field(default_factory=ExplainOptions)
    seed: int = MISSING


class Device(Enum):
    cpu = "cpu"
    cuda = "cuda"


class Engine(Enum):  # benchmark.ENGINES
    autograd = "autograd"
    by_hand = "by_hand"
    fused = "fused"


@dataclass
class BenchmarkConfig:
    train_overrides: list[str] = MISSING
    sizes: list[int] = MISSING
    precisions: list[str] = MISSING
    devices: list[Device] = MISSING
    engines: list[Engine] = MISSING
    crossover_n: int = MISSING
    crossover_widths: list[int] = MISSING
    epochs: int = MISSING
    rounds: int = MISSING
    end_to_end_repeats: int = MISSING
    output: str = MISSING


def register():
    """The schemas into Hydra's ConfigStore (conf/*.yaml name them in their defaults), and the resolvers ${pid:} and
    those of run/launched.py: what a script does before Hydra composes its config."""
    train = OmegaConf.structured(TrainConfig)
    OmegaConf.set_struct(train.optimizer, False)  # any argument of the optimizer named by optimizer._target_
    ConfigStore.instance().store(name="train_schema", node=train)
    ConfigStore.instance().store(name="explain_schema", node=ExplainConfig)
    ConfigStore.instance().store(name="benchmark_schema", node=BenchmarkConfig)
    # ${pid:} in a run dir's name: two runs started in the same second still get dirs of their own. Cached, like
    # Hydra's ${now:}: every job of a sweep gets the sweep's value, even where a launcher runs them in other processes.
    OmegaConf.register_new_resolver("pid", os.getpid, replace=True, use_cache=True)
    # One run dir for all the processes that torchrun or srun start for a run, written by the first (run/launched.py)
    OmegaConf.register_new_resolver("run_name", launched.run_name, replace=True, use_cache=True)
    OmegaConf.register_new_resolver("first_process_only", launched.first_process_only, replace=True)
    OmegaConf.register_new_resolver("log_name", launched.log_name, replace=True)
