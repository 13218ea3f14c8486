"""Structured configs: the types Hydra checks every `conf/` file and command-line override against.

The values live in `conf/`; this file only says what each key must be.
"""

from dataclasses import dataclass, field
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING


@dataclass
class ModelConfig:
    W: list[list[float]] = MISSING  # inputs x hidden
    V: list[list[float]] = MISSING  # hidden x outputs


@dataclass
class DataConfig:
    X: list[list[float]] = MISSING  # instances x inputs
    T: list[list[float]] = MISSING  # instances x outputs


@dataclass
class OptimizerConfig:
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
class TrainConfig:
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    seed: int = MISSING


ConfigStore.instance().store(name="train_schema", node=TrainConfig)
