"""What Hydra checks before it starts any job (a callback, `hydra.callbacks` in conf/): bad input trains nothing.

- A single run's config passes the checks a run makes before it works (`check`): bad input gets its one line
  before Hydra writes anything into the run dir (.hydra/, the log), so that a refused run into the dir of an
  earlier one (hydra.run.dir=DIR) leaves that dir as it was.
- A true/false setting is given as true or false on the command line: OmegaConf would take 2 or yes as true.
- The run dir (a sweep's dir) can be created: else one line naming `hydra.run.dir` (`hydra.sweep.dir`).
- In a sweep (`-m`), every job's config passes the checks that a single run gets before it trains; if one does
  not (whatever it raises), no job runs, and each bad job gets one line with its overrides.
- A sweep does not go with a strategy that starts the script again for its further processes (`ddp`): each
  process would run the whole sweep. `ddp_spawn` starts them from the job itself.
"""

import itertools
import os
import sys
import traceback
from pathlib import Path

import torch
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.experimental.callback import Callback
from hydra.utils import get_method
from lightning.pytorch.strategies import StrategyRegistry
from omegaconf import OmegaConf

from backprop_by_example.run.errors import ConfigError, expect, one_line_errors
from backprop_by_example.run.paths import check_writable

# Hydra's default sweeper, named by its `_target_`: its module is internal, so it is neither imported nor asked for its
# jobs (jobs() works them out as it does; tests/test_hydra.py checks both against Hydra's own)
BASIC_SWEEPER = "hydra._internal.core_plugins.basic_sweeper.BasicSweeper"


class Preflight(Callback):
    """`check`: the dotted name of a function that raises ConfigError for a job's config that cannot run."""

    def __init__(self, check=None):
        self.check = get_method(check) if check else None

    def on_run_start(self, config, **kwargs):
        try:
            with one_line_errors():  # a ConfigError: its one line, and exit
                switches(config, config.hydra.overrides.task)
                if self.check is not None:
                    self.check(config)
        except ConfigError:  # HYDRA_FULL_ERROR=1: Hydra only warns of an error a callback raises, and runs the job
            traceback.print_exc()
            sys.exit(1)
        creatable(config.hydra.run.dir, "hydra.run.dir")

    def on_multirun_start(self, config, **kwargs):
        if self.check is not None and searches(config.hydra):
            self.check_search_space(config)
        elif self.check is not None:
            self.check_jobs(config)
        creatable(config.hydra.sweep.dir, "hydra.sweep.dir")

    def check_search_space(self, config):
        """Each swept key's search space (hydra.sweeper.params, and sweeps among the overrides): an interval's start
        below its end, above 0 on a log scale; each end of an interval or range, and each value of a choice, passes
        the check as a job with it would, the other overrides as given. Else one line each, and no trial runs."""
        loader = GlobalHydra.instance().config_loader()
        try:
            overrides = sweep_overrides(config, loader)
        except Exception as error:  # noqa: BLE001
            sys.exit(f"Error: the search space could not be read: {one_line(error)}")
        fixed = [o.input_line for o in overrides if not o.is_sweep_override() and o.input_line]
        errors = []
        for override in (o for o in overrides if o.is_sweep_override()):
            key, space = override.get_key_element(), override.value()
            given = f"Error: search space {override.input_line}"
            if override.is_interval_sweep():
                if not space.start < space.end:
                    errors.append(f"{given}: expected an interval whose start is below its end")
                    continue
                if "log" in space.tags and space.start <= 0:
                    errors.append(f"{given}: expected a start above 0 on a log scale, got {space.start}")
                    continue
                values = [space.start, space.end]
            else:
                values = list(override.sweep_string_iterator())
                values = values if override.is_choice_sweep() else values[:1] + values[-1:]
            for value in values:
                if error := self.job_error(config, loader, [*fixed, f"{key}={value}"]):
                    errors.append(f"{given}: at {key}={value}: {error}")
        if errors:
            sys.exit("\n".join([*errors, "No trial was started: fix the search space."]))

    def check_jobs(self, config):
        # Whatever goes wrong ends the sweep here: of an exception a callback raises, Hydra only warns, and goes on
        loader = GlobalHydra.instance().config_loader()
        try:
            swept, all_jobs = jobs(config, loader)
        except Exception as error:  # noqa: BLE001
            sys.exit(f"Error: the sweep's jobs could not be worked out: {one_line(error)}")
        errors = []
        for number, overrides in enumerate(all_jobs):
            if error := self.job_error(config, loader, overrides):
                label = " ".join(o for o in overrides if o.split("=")[0] in swept) or " ".join(overrides)
                errors.append(f"Error: job {number} ({label}): {error}")
        if errors:
            sys.exit("\n".join([*errors, f"No job was started: {len(errors)} of the sweep's jobs cannot run."]))

    def job_error(self, config, loader, overrides):
        """Why the sweep's job with these overrides cannot run, in one line; None if it can."""
        try:
            job = loader.load_sweep_config(config, overrides)
            switches(job, overrides)
            self.check(job)
            if several_processes(job.trainer) and relaunches_script(job.trainer):
                raise ConfigError(
                    f"trainer.strategy: expected ddp_spawn in a sweep (-m), got {job.trainer.strategy}: "
                    "it starts the script again for each further process, and each would run the whole sweep"
                )
        except Exception as error:  # noqa: BLE001  (a job that cannot run, whatever the reason)
            if not isinstance(error, ConfigError) and os.environ.get("HYDRA_FULL_ERROR") == "1":
                traceback.print_exc()
            return one_line(error)
        return None


def searches(hydra):
    """Whether the sweeper (of `hydra`, the config's hydra node) chooses its jobs as it goes (Optuna's), rather than
    running a list of jobs known before the first (Hydra's basic sweeper)."""
    return hydra.sweeper._target_ != BASIC_SWEEPER


def sweep_overrides(config, loader=None):
    """The sweep's overrides, parsed: hydra.sweeper.params, then the command line's."""
    params = [f"{key}={value}" for key, value in (config.hydra.sweeper.get("params") or {}).items()]
    return OverridesParser.create(config_loader=loader).parse_overrides(
        params + OmegaConf.to_container(config.hydra.overrides.task)
    )


def creatable(path, key):
    """Create the directory `path` and see that a file can be written in it, or exit with one line naming `key`."""
    try:
        Path(path).mkdir(parents=True, exist_ok=True)
    except OSError as error:
        sys.exit(f"Error: {key}: expected a directory that can be created, got {path} ({error.strerror})")
    try:
        check_writable(path, key, "a directory that can be written", path)
    except ConfigError as error:
        sys.exit(f"Error: {error}")


def switches(config, overrides):
    """Raise ConfigError for an override of a true/false setting whose value is not true or false (OmegaConf turns
    2 into true and 0 into false, and the strings yes, on, off...)."""
    for override in OverridesParser.create().parse_overrides(list(overrides)):
        key = override.key_or_group
        parent, _, name = key.rpartition(".")
        node = OmegaConf.select(config, parent) if parent else config
        if override.is_delete() or not OmegaConf.is_dict(node) or name not in node:
            continue
        if OmegaConf.is_missing(node, name) or OmegaConf.is_interpolation(node, name):  # ???, ${...}
            continue
        value = override.value()
        expect(not isinstance(node[name], bool) or isinstance(value, bool), key, "true or false", repr(value))


def one_line(error):
    """An exception as one line: a ConfigError's message; another's type, message and cause (Hydra's has the why)."""
    if isinstance(error, ConfigError):
        return str(error)
    parts = [error, *([error.__cause__] if error.__cause__ else [])]
    return f"{type(error).__name__}: " + ": ".join(" ".join(str(part).split()) for part in parts)


def jobs(config, loader=None):
    """The keys that a basic sweep varies, and each job's overrides, in the order Hydra's basic sweeper runs them:
    every combination of the keys' values, the last key's values varying fastest (a key given twice keeps its first
    place and takes its last values). `loader` (Hydra's ConfigLoader) lists a config group for `glob(...)`."""
    overrides = sweep_overrides(config, loader)
    values = {}
    for override in overrides:
        key = override.get_key_element()
        if override.is_sweep_override():
            given = override.sweep_string_iterator()
        else:
            given = [override.get_value_element_as_str()]
        values[key] = [f"{key}={value}" for value in given]
    swept = {override.get_key_element() for override in overrides if override.is_sweep_override()}
    return swept, [list(job) for job in itertools.product(*values.values())]


def several_processes(trainer):
    """Whether these Trainer arguments train in more than one process."""
    devices = trainer.devices
    if devices in ("auto", -1, "-1"):
        count = 1 if trainer.accelerator == "cpu" else max(torch.cuda.device_count(), 1)
    elif isinstance(devices, str):
        parts = [d for d in devices.split(",") if d.strip()]
        count = len(parts) if "," in devices or not devices.strip().isdigit() else int(devices)
    elif isinstance(devices, int):
        count = devices
    else:
        count = len(devices)
    return count > 1 or trainer.get("num_nodes", 1) > 1


def relaunches_script(trainer):
    """Whether the strategy starts its further processes by running the script again (Lightning's `popen`)."""
    strategy = "ddp" if trainer.strategy == "auto" else str(trainer.strategy)
    known = StrategyRegistry[strategy]["init_params"] if strategy in StrategyRegistry else {}
    return known.get("start_method", "popen") not in ("spawn", "fork")
