"""The training data from a CSV file (`data=csv data.path=FILE`), every row checked against the header."""

import warnings
from pathlib import Path

import numpy as np

from backprop_by_example.run.errors import ConfigError
from backprop_by_example.run.paths import user_path


def read_csv(path, input_dim, output_dim):
    """X and T from a CSV file with a header row naming the columns x1, x2, ... and t1, t2, ... (in any order), then
    one row per instance with a number for each name of the header, no more, no fewer.

    UTF-8 text, with or without the byte order mark that Excel's "CSV UTF-8" puts first. Blank lines (of spaces too)
    and comments, from a # to the end of the line, are skipped, before the header too.
    """
    lines = _text_lines(path)
    rows = [line for line in lines if _is_row(line)]  # the header first
    if not rows:
        raise ConfigError(f"data.path: {path} is empty; expected a header row like x1,x2,t1,t2 and rows of numbers")
    names = [name.strip() for name in _values(rows[0])]
    inputs = [f"x{i}" for i in range(1, input_dim + 1)]
    targets = [f"t{k}" for k in range(1, output_dim + 1)]
    if sorted(names) != sorted(inputs + targets):
        raise ConfigError(
            f"data.path: {path} has the columns {','.join(names)}; expected {','.join(inputs + targets)} "
            f"(model.input_dim = {input_dim}, model.output_dim = {output_dim})"
        )
    if len(rows) == 1:
        raise ConfigError(f"data.path: {path} has a header but no rows of numbers")
    numbers = _numbers(rows[1:], len(names))
    if numbers is None:
        raise ConfigError(_first_bad_line(path, lines, names))
    column = {name: j for j, name in enumerate(names)}
    return numbers[:, [column[c] for c in inputs]], numbers[:, [column[c] for c in targets]]


def _text_lines(path):
    """The file's lines, or a ConfigError saying why it cannot be a CSV file."""
    file = Path(user_path(path))
    if file.is_dir():
        raise ConfigError(f"data.path: expected a CSV file, got {path} (a directory)")
    if file.exists() and not file.is_file():  # a pipe would wait for a writer, a device go on for ever
        raise ConfigError(f"data.path: expected a CSV file, got {path} (not a regular file)")
    try:
        # lines end at \n (or \r\n) only: str.splitlines would also split at \f and other control characters
        return [line.removesuffix("\r") for line in file.read_text(encoding="utf-8-sig").split("\n")]
    except FileNotFoundError:
        raise ConfigError(f"data.path: expected a CSV file, got {path} (no such file)") from None
    except UnicodeDecodeError as error:
        byte = error.object[error.start : error.start + 1].hex()
        raise ConfigError(
            f"data.path: expected UTF-8 text, got {path} with byte 0x{byte} at offset {error.start} "
            "(save it as CSV UTF-8)"
        ) from None
    except OSError as error:
        raise ConfigError(f"data.path: expected a readable CSV file, got {path} ({error.strerror})") from None


def _is_row(line):
    """Whether numpy is to read the line: not blank, not only a comment."""
    return line.lstrip()[:1] not in ("", "#")


def _values(line):
    """The line's values, as the commas part them (a comment left out)."""
    return line.split("#")[0].split(",")


def _read(rows):
    """The rows (lines of text) as numpy reads them, a 2-d float64 array, or None where it cannot."""
    try:
        with warnings.catch_warnings():  # numpy warns of an empty value (read as no row): refused by the caller
            warnings.simplefilter("ignore", UserWarning)
            return np.loadtxt(rows, delimiter=",", ndmin=2, dtype=np.float64)
    except ValueError:
        return None


def _numbers(rows, width):
    """The rows as a len(rows) x width array of finite numbers, or None if they are not that."""
    numbers = _read(rows)
    if numbers is None or numbers.shape != (len(rows), width) or not np.isfinite(numbers).all():
        return None
    return numbers


def _numbered_rows(lines):
    """(line number, line) of the header and of each row, the first line being line 1."""
    return [(number, line) for number, line in enumerate(lines, start=1) if _is_row(line)]


def _first_bad_line(path, lines, names):
    """The message for the first row that is not one finite number per name (only called when there is one).

    Looked for a thousand rows at a time: numpy reads a thousand rows in about the time of a hundred one by one.
    """
    rows = _numbered_rows(lines)[1:]
    for start in range(0, len(rows), 1000):
        chunk = rows[start : start + 1000]
        if _numbers([line for _, line in chunk], len(names)) is None:
            for number, line in chunk:
                if _numbers([line], len(names)) is None:
                    return f"data.path: {path}, line {number}: {_what_is_wrong(line, names)}"
    return f"data.path: {path}: expected rows of numbers"


def _what_is_wrong(line, names):
    """What a row that is no row of finite numbers is not: as many values as names, each a number, each finite."""
    values = [value.strip() for value in _values(line)]
    if len(values) != len(names):
        return f"expected {len(names)} values, got {len(values)}"
    for name, value in zip(names, values, strict=True):
        if value == "":
            return f"expected a number in column {name}, got an empty value"
        number = _read([value])  # numpy's reading (Python's float also takes 1_0)
        if number is None or number.shape != (1, 1):
            return f"expected a number in column {name}, got {value!r}"
        if not np.isfinite(number).all():
            return f"expected finite numbers, got {line.strip()}"
    return f"expected {len(names)} numbers parted by commas, got {line.strip()!r}"
