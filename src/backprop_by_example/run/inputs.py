"""What a run takes from its config, all of it checked: the data X and T, and the initial weights W and V."""

import numpy as np

from backprop_by_example.data import Batches
from backprop_by_example.network import initial_weights
from backprop_by_example.run import resume, trainer_args
from backprop_by_example.run.checks import check, check_instance, plain
from backprop_by_example.run.csv_file import read_csv


def load(data, model):
    """(X, T) as float64 arrays, from `data.X` and `data.T` or from the CSV file `data.path`."""
    if data.path is not None:
        return read_csv(data.path, model.input_dim, model.output_dim)
    return np.asarray(data.X, dtype=np.float64), np.asarray(data.T, dtype=np.float64)


def start_weights(cfg):
    """W and V to start from: model.W and model.V as given, or where null drawn from `seed`."""
    model = cfg.model
    dims = model.input_dim, model.hidden_dim, model.output_dim
    return initial_weights(plain(model.W), plain(model.V), *dims, cfg.seed)


def checked(cfg):
    """What a run takes from its config, all of it checked: the data X and T, and the initial weights W and V.

    The data and the checkpoint to resume from are read here too, so that bad input gets its one line before
    Lightning prints anything (and before any job of a sweep starts: preflight.Preflight).
    """
    check(cfg)
    trainer_args.check(cfg.trainer)
    X, T = load(cfg.data, cfg.model)
    check_instance("log.picture_instance", cfg.log.picture_instance, len(X))
    trainer_args.check_batches(cfg.trainer, len(Batches(len(X), cfg.data.batch_size, False, 0)))
    saved = resume.read(cfg.ckpt_path) if cfg.ckpt_path is not None else None
    if saved:
        resume.check(cfg, saved, len(X))
    W, V = (saved.W, saved.V) if saved else start_weights(cfg)  # a resumed run keeps its initial weights
    return X, T, W, V
