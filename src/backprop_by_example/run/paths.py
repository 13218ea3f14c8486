"""Paths as the user typed them, and directories that must take files."""

import tempfile

from hydra.utils import to_absolute_path

from backprop_by_example.run.errors import ConfigError


def user_path(path):
    """A path as the user typed it, relative to where they started the command (whatever hydra.job.chdir says)."""
    return to_absolute_path(str(path))


def check_writable(directory, key, expected, got):
    """A file can be made in `directory` (which exists); else ConfigError('<key>: expected <expected>, got <got>
    (why not)')."""
    try:
        with tempfile.TemporaryFile(dir=directory):
            pass
    except OSError as error:
        raise ConfigError(f"{key}: expected {expected}, got {got} ({error.strerror})") from None
