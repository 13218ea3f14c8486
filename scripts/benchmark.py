"""Time one epoch four ways, and the whole default run: python scripts/benchmark.py [overrides], e.g. sizes=[2]."""

import json
import logging
from pathlib import Path

import hydra
import torch
from hydra import compose

from backprop_by_example.run.benchmark import (
    CROSSOVER_HEADER,
    HEADER,
    check_benchmark,
    crossover,
    end_to_end,
    epoch_table,
)
from backprop_by_example.run.errors import one_line_errors
from backprop_by_example.run.schema import register


@hydra.main(version_base="1.3", config_path="../conf", config_name="benchmark")
def main(cfg):
    with one_line_errors():
        check_benchmark(cfg)
    devices = [d.value for d in cfg.devices if d.value == "cpu" or torch.cuda.is_available()]
    print(
        f"One epoch in milliseconds, the median of {cfg.rounds} x {cfg.epochs}: (a) numpy by hand, (b) plain "
        "PyTorch, (c) this project's Lightning training with each gradient engine, (d) a bare LightningModule;\n"
        "(c) all: the mean epoch of (c), what a run pays per epoch with its pictures, event writes and checkpoints "
        "(every 100 epochs by default), all/(d): over (d)'s mean epoch"
    )
    print(HEADER)
    logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)  # Lightning's notes would break the table
    config = lambda *overrides: compose("train", [*overrides, *cfg.train_overrides])  # noqa: E731
    engines = [engine.value for engine in cfg.engines]
    rows = epoch_table(config, cfg.sizes, cfg.precisions, devices, cfg.epochs, cfg.rounds, engines=engines)
    crossing = []
    for device in devices if cfg.crossover_widths else []:
        for precision in cfg.precisions:
            print(
                f"\nThe fused step alone, N = {cfg.crossover_n}, {device}, {precision}: ms per step and seconds of "
                "compiling, unit by unit and as matrices"
            )
            print(CROSSOVER_HEADER)
            crossing += [
                {"device": device, "precision": precision, **row}
                for row in crossover(cfg.crossover_n, cfg.crossover_widths, device, precision)
            ]
    whole = None
    if cfg.end_to_end_repeats:
        whole = end_to_end(cfg.end_to_end_repeats, Path(__file__).resolve().parents[1])
        print(
            f"\nEnd to end, median of {cfg.end_to_end_repeats}: python scripts/train.py {whole['train_s']:.2f} s, "
            f"python -c 'import torch, lightning, hydra, tensorboard' {whole['bare_import_s']:.2f} s, "
            f"ratio {whole['train_over_bare_import']:.2f}\n"
            f"Logging the details (log.details=true, the default) against the loss alone: {whole['train_s']:.2f} s "
            f"against {whole['train_loss_only_s']:.2f} s, ratio {whole['details_over_loss_only']:.2f}"
        )
    result = {"epochs": rows, "crossover": crossing, "end_to_end": whole}
    Path(cfg.output).write_text(json.dumps(result, indent=2) + "\n")
    print(f"JSON: {cfg.output}")


if __name__ == "__main__":
    register()
    main()
