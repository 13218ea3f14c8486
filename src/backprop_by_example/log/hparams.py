"""TensorBoard's HPARAMS tab: the values that define a run, with its final loss as the metric."""

from backprop_by_example.network import weight_names


def hparams(cfg, trainer, module, summary):
    """The settings a run ran with, the initial weights (of the run it continues, for a resumed one), and the epochs
    and updates it ended after."""
    model = cfg.model
    params = {
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
    for name in ("W", "V"):
        A = module.hparams[name]  # the initial weights, given or drawn
        if len(A) * len(A[0]) <= cfg.log.max_scalars:
            params |= _entries(f"init_{name.lower()}", A)
    return params


def _entries(prefix, A):
    """{prefix11: A[0][0], prefix12: A[0][1], ...}, named as in `network.weight_names`."""
    values = [a for row in A for a in row]
    return dict(zip(weight_names(prefix, len(A), len(A[0])), values, strict=True))
