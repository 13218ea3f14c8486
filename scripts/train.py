"""Train the seed's network: python scripts/train.py [overrides], e.g. trainer.accelerator=gpu."""

from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig

from backprop_by_example.config import one_line_errors  # importing it registers the structured configs
from backprop_by_example.training import report, train


@hydra.main(version_base="1.3", config_path="../conf", config_name="train")
def main(cfg):
    run_dir = Path(HydraConfig.get().runtime.output_dir)
    with one_line_errors():  # a value to fix in the config is not a bug: no traceback
        summary = train(cfg, run_dir)
    if summary is not None:  # None: a DDP process other than the first
        print(report(summary, run_dir))


if __name__ == "__main__":
    main()
