"""Bad input and a full disk as one line on stderr and exit status 1: `ConfigError`, `expect`, `one_line_errors`."""

import errno
import os
import sys
from contextlib import contextmanager

# What a full or read-only disk, or a file too large for its limit, raises while the run writes its files
WRITE_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EIO}


# ... or a run dir that holds what it should not (a file named checkpoints, a directory named summary.json)
WRITE_ERRORS |= {errno.EEXIST, errno.EISDIR, errno.ENOTDIR, errno.EACCES, errno.EPERM}


class ConfigError(ValueError):
    """A config value that cannot work; the message names the key and says what was expected."""


@contextmanager
def one_line_errors(writing_to=None):
    """A ConfigError, or a file that could not be written in `writing_to` (a full disk), becomes one line on stderr
    and exit status 1; HYDRA_FULL_ERROR=1 keeps the traceback."""
    try:
        yield
    except (ConfigError, OSError) as error:
        if os.environ.get("HYDRA_FULL_ERROR") == "1" or not _one_line(error):
            raise
        if isinstance(error, ConfigError):
            sys.exit(f"Error: {error}")
        where = error.filename or (f"into {writing_to}" if writing_to else "a file")
        sys.exit(f"Error: could not write {where}: {error.strerror or error}")


def _one_line(error):
    return isinstance(error, ConfigError) or error.errno in WRITE_ERRORS


def expect(ok, key, expected, got):
    """Raise ConfigError('<key>: expected <expected>, got <got>') unless ok."""
    if not ok:
        raise ConfigError(f"{key}: expected {expected}, got {got}")
