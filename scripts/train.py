"""Train the seed's network: python scripts/train.py [overrides], e.g. trainer.accelerator=gpu."""

import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig

from backprop_by_example.config import ConfigError  # importing it registers the structured config
from backprop_by_example.training import report, train


@hydra.main(version_base="1.3", config_path="../conf", config_name="train")
def main(cfg):
    run_dir = Path(HydraConfig.get().runtime.output_dir)
    try:
        summary = train(cfg, run_dir)
    except ConfigError as error:  # a value to fix in the config, not a bug: one line, no traceback
        sys.exit(f"Error: {error}")
    print(report(summary, cfg.data.T, run_dir))


if __name__ == "__main__":
    main()
