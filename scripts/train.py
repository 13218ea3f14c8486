"""Train the seed's network: python scripts/train.py [overrides], e.g. trainer.accelerator=gpu."""

import logging
import math
import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from hydra.utils import get_original_cwd

from backprop_by_example.run.errors import one_line_errors
from backprop_by_example.run.launched import launched
from backprop_by_example.run.plugins import missing
from backprop_by_example.run.preflight import searches
from backprop_by_example.run.report import continue_command, report, shown_path
from backprop_by_example.run.schema import register
from backprop_by_example.run.stopping import Stopped
from backprop_by_example.run.training import train

log = logging.getLogger(__name__)


@hydra.main(version_base="1.3", config_path="../conf", config_name="train")
def main(cfg):
    run_dir = Path(HydraConfig.get().runtime.output_dir)
    try:
        with one_line_errors(writing_to=run_dir):  # a value to fix in the config, a full disk: not bugs, no traceback
            summary = train(cfg, run_dir)
    except Stopped as stopped:  # Ctrl-C or SIGTERM: last.ckpt saved
        if stopped.signum is not None:  # None: a DDP process other than the first
            checkpoint = shown_path(run_dir / "checkpoints" / "last.ckpt", get_original_cwd())
            overrides = HydraConfig.get().overrides.task
            command = continue_command(sys.argv[0], overrides, checkpoint, launcher=launched().command)
            log.info(f"Continue with: {command}")
        raise
    if summary is None:  # a DDP process other than the first
        return None
    log.info(report(summary, run_dir, start_dir=get_original_cwd()))
    # The final loss, for a sweeper that searches (hparams_search=lr). One that is nan or inf (the run diverged) is
    # an exception for such a sweeper, which then reports the trial as failed and goes on: Optuna takes inf as a value,
    # and the Optuna sweeper crashes on a nan (hydra-optuna-sweeper 1.2 to 1.3 with optuna 2.10). Hydra's basic
    # sweeper would end the sweep on an exception, and a single run is reported as it is.
    hydra_config = HydraConfig.get()
    if hydra_config.mode == RunMode.MULTIRUN and searches(hydra_config) and not math.isfinite(summary["loss"]):
        raise FloatingPointError(f"the final loss is {summary['loss']}: the run diverged")
    return summary["loss"]


if __name__ == "__main__":
    register()
    if not_installed := missing(sys.argv[1:], Path(__file__).resolve().parents[1] / "conf"):  # a launcher, a sweeper
        sys.exit("\n".join(not_installed))
    main()
