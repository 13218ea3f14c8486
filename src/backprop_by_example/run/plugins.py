"""Hydra's launchers and sweepers that a command asks for, and whether they are installed.

A launcher or sweeper that is not installed (`hydra/launcher=submitit_local`, or `hparams_search=lr`, whose config
asks for the Optuna sweeper) would get Hydra's "Could not find 'hydra/launcher/submitit_local'" and its search path, in
a dozen lines: `missing` gives one line naming the package and the extra that brings it, checked by scripts/train.py
before Hydra composes the config.
"""

from pathlib import Path

from hydra.core.config_store import ConfigStore
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.plugins import Plugins
from omegaconf import OmegaConf

EXTRA = 'pip install -e ".[cluster]"'
PACKAGES = {  # (group, option) -> the package that brings it
    ("hydra/launcher", "submitit_local"): "hydra-submitit-launcher",
    ("hydra/launcher", "submitit_slurm"): "hydra-submitit-launcher",
    ("hydra/sweeper", "optuna"): "hydra-optuna-sweeper",
}


def asked(arguments, conf_dir):
    """[(the override as given, group, option)]: the launchers and sweepers that `arguments` (a command line's) ask
    for, directly or through the defaults of a config of `conf_dir` that they choose (`override /hydra/sweeper: optuna`
    in conf/hparams_search/lr.yaml, `submitit_slurm` in conf/hydra/launcher/slurm.yaml)."""
    try:
        parsed = OverridesParser.create().parse_overrides([a for a in arguments if not a.startswith("-")])
    except Exception:  # noqa: BLE001  (Hydra says what is wrong with it, in its own words)
        return []
    found = []
    for override in parsed:
        if override.is_sweep_override() or override.is_delete():
            continue
        group, option = override.key_or_group.lstrip("+~/"), str(override.value())
        choices = [(group, option)]
        config = Path(conf_dir, group, f"{option}.yaml")
        for entry in OmegaConf.load(config).get("defaults", []) if config.is_file() else []:
            if isinstance(entry, str):  # an option of the config's own group
                choices.append((group, entry))
            else:
                choices += [(key.removeprefix("override").strip().lstrip("/"), str(v)) for key, v in entry.items()]
        found += [(override.input_line, g, o) for g, o in choices if g in ("hydra/launcher", "hydra/sweeper")]
    return found


def installed(group):
    """The options of a Hydra config group (hydra/launcher) that its installed plugins bring, as `<name>.yaml`."""
    Plugins.instance()  # finds the installed plugins, which put their configs into the ConfigStore
    return ConfigStore.instance().list(group)


def missing(arguments, conf_dir, installed=installed):
    """One line per launcher or sweeper that `arguments` ask for and that is not installed: what to install."""
    lines = []
    for given, group, option in asked(arguments, conf_dir):
        if (group, option) in PACKAGES and f"{option}.yaml" not in installed(group):
            kind = group.split("/")[1]
            lines.append(
                f"Error: {given}: Hydra's {option} {kind} is not installed: install the optional extra, {EXTRA} "
                f"({PACKAGES[group, option]})"
            )
    return lines
