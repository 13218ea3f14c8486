"""The values that define a run: TensorBoard's HPARAMS tab, with its final loss as the metric; the other loggers'
hyperparameters (run/training.train)."""

import torch

from backprop_by_example.network import weight_names
from backprop_by_example.run.checks import optimizer_from

PLAIN_SGD = "weights(s + 1) = weights(s) - lr * grads(s)"


def hparams(cfg, trainer, module, summary):
    """The settings a run ran with, the optimizer with its arguments and what its update is, the initial weights (of
    the run it continues, for a resumed one), and the epochs and updates it ended after."""
    model = cfg.model
    params = {
        "optimizer": cfg.optimizer._target_,
        # built again from the config: ddp_spawn's first process has none of its own
        "update": update_rule(optimizer_from(cfg.optimizer)([torch.zeros(1, requires_grad=True)])),
        "lr": cfg.optimizer.lr,
        "epochs": summary["epochs"],
        "steps": summary["steps"],
        "precision": str(trainer.precision),
        "accelerator": trainer.strategy.root_device.type,
        "seed": cfg.seed,
        "dims": f"{model.input_dim}-{model.hidden_dim}-{model.output_dim}",
        "batch_size": cfg.data.batch_size or "all",
        "shuffle": cfg.data.shuffle,
    }
    for key, value in cfg.optimizer.items():
        if key not in ("_target_", "_partial_", "lr") and isinstance(value, (int, float, str, bool)):
            params[f"optimizer.{key}"] = value
    for name in ("W", "V"):
        A = module.hparams[name]  # the initial weights, given or drawn
        if len(A) * len(A[0]) <= cfg.log.max_scalars:
            params |= _entries(f"init_{name.lower()}", A)
    return params


def update_rule(optimizer):
    """What holds between TensorBoard's steps: PLAIN_SGD for torch.optim.SGD without momentum, weight decay or
    maximize; else that the optimizer steps from grads(s) and its own state."""
    group = optimizer.param_groups[0]
    plain = type(optimizer) is torch.optim.SGD and not (group["momentum"] or group["weight_decay"] or group["maximize"])
    return PLAIN_SGD if plain else f"weights(s + 1) = {type(optimizer).__name__}'s step from grads(s) and its state"


def _entries(prefix, A):
    """{prefix11: A[0][0], prefix12: A[0][1], ...}, named as in `network.weight_names`."""
    values = [a for row in A for a in row]
    return dict(zip(weight_names(prefix, len(A), len(A[0])), values, strict=True))
