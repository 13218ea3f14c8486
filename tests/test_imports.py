"""Importing the package does no work: every module of it can be imported into a notebook without changing how
warnings and logs are shown, or what Hydra and OmegaConf know."""

import json

from conftest import ROOT


def start_early(session, start_script, tmp_path_factory):
    """tests/import_effects.py, started with the session (conftest.started_early) in an interpreter that has
    imported the libraries and not the package (fresh=True: forked from one that has, not a new interpreter that
    would spend seconds importing them)."""
    return start_script(ROOT / "tests" / "import_effects.py", tmp_path_factory.mktemp("imports"), fresh=True)


def test_importing_every_module_adds_no_warning_filter_log_handler_or_registration(early):
    assert early.wait() == 0, early.stderr
    states = json.loads(early.stdout)
    assert states["after"] == states["before"]
    assert states["before"]["pid resolver"] is False  # the scripts register it (run.schema.register)
