"""Train the seed's network: python scripts/train.py [overrides], e.g. trainer.accelerator=gpu."""

from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig

import backprop_by_example.config  # noqa: F401  (registers the structured config `train_schema`)
from backprop_by_example.training import report, train


@hydra.main(version_base="1.3", config_path="../conf", config_name="train")
def main(cfg):
    run_dir = Path(HydraConfig.get().runtime.output_dir)
    summary = train(cfg, run_dir)
    print(report(summary, cfg.data.T, run_dir))


if __name__ == "__main__":
    main()
