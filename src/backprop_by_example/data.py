"""The training data: instances X (one row each) with targets T, served as whole batches of rows.

By default the seed's two instances, as one full batch per epoch (cell 29). `data.batch_size` cuts each epoch
into batches of that many rows, in data order or, with `data.shuffle=true`, in a seeded order.
"""

import warnings
from pathlib import Path

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from backprop_by_example.run.errors import ConfigError
from backprop_by_example.run.paths import user_path


class TrainingData(L.LightningDataModule):
    """X is instances x inputs, T is instances x outputs, both held in `dtype` (the run's precision).

    Held row by row, as the matrix products X @ W and X.T @ grad_H_in read them best; with `columns`, column by
    column (input i of every instance, X[:, i], one run of memory), as the fused engine (torch_by_hand.Fused) reads
    them, unit by unit. On this project's CPU, from 10^5 instances on, autograd's epoch on columns was 7-10% slower,
    the fused step's on rows up to a third slower (float32).
    """

    def __init__(self, X, T, batch_size=None, shuffle=False, seed=0, dtype=torch.float64, columns=False):
        super().__init__()
        # torch.as_tensor reads the float64 numbers straight into dtype: exact in float64, rounded once in float32
        X, T = (torch.as_tensor(np.asarray(A, dtype=np.float64), dtype=dtype) for A in (X, T))
        self.X, self.T = (by_columns(X), by_columns(T)) if columns else (X, T)
        self.batch_size, self.shuffle, self.seed = batch_size, shuffle, seed

    def batches_per_epoch(self):
        """How many batches make a whole epoch (before any `trainer.limit_train_batches`)."""
        return len(Batches(len(self.X), self.batch_size, self.shuffle, self.seed))

    def train_dataloader(self):
        device = self.trainer.strategy.root_device  # once per fit, not once per batch
        rank, world = self.trainer.global_rank, self.trainer.world_size
        batches = Batches(len(self.X), self.batch_size, self.shuffle, self.seed, rank, world)
        return BatchLoader(Instances(self.X.to(device), self.T.to(device)), batches)


def by_columns(A):
    """The same matrix, stored column by column (A.T is contiguous)."""
    return A.T.contiguous().T


class BatchLoader(DataLoader):
    """Serves `batches`, each a whole batch at once; resumable in the middle of an epoch (Lightning's `_Stateful`).

    Lightning saves `state_dict()` into checkpoints and, resuming from one written in the middle of an epoch, hands
    it to `load_state_dict()`: that epoch goes on from the batch after the last one done, not from its first.
    """

    def __init__(self, instances, batches):
        # batch_size=None: the sampler's index goes to the dataset as it is, a whole batch at once, no collation
        super().__init__(instances, sampler=batches, batch_size=None)

    def state_dict(self):
        return self.sampler.state_dict()

    def load_state_dict(self, state):
        self.sampler.load_state_dict(state)


class Instances(Dataset):
    """instances[index] = (X[index], T[index]), where `index` picks a whole batch of rows at once."""

    def __init__(self, X, T):
        self.X, self.T = X, T

    def __len__(self):
        return len(self.X)

    def __getitem__(self, index):
        return self.X[index], self.T[index]


class Batches(Sampler):
    """The rows of each batch of an epoch: a slice (data order, no copy) or an index tensor (shuffled).

    With several processes (DDP) every batch is shared out: each process takes its own contiguous part, so that
    every instance counts once per epoch, and every process runs the same number of steps.
    """

    def __init__(self, n, batch_size, shuffle, seed, rank=0, world=1):
        self.n, self.size = n, batch_size or n
        self.shuffle, self.seed, self.rank, self.world = shuffle, seed, rank, world
        self.epoch = 0
        self.done = 0  # batches of this epoch handed out (Lightning fetches no batch ahead when it knows the length)
        self.resume_at = None  # (epoch, batches done) of a checkpoint written in the middle of an epoch

    def set_epoch(self, epoch):  # Lightning calls this at the start of every epoch
        self.epoch = epoch

    def __len__(self):
        return -(-self.n // self.size)

    def __iter__(self):
        if self.shuffle:  # a new order every epoch, the same for the same seed and epoch (also after a resume)
            order = torch.from_numpy(np.random.default_rng([self.seed, self.epoch]).permutation(self.n))
        skip = self.resume_at[1] if self.resume_at and self.resume_at[0] == self.epoch else 0
        self.resume_at, self.done = None, skip
        for start in range(skip * self.size, self.n, self.size):
            begin, end = self._share(start, min(start + self.size, self.n))
            self.done += 1
            yield order[begin:end] if self.shuffle else slice(begin, end)

    def state_dict(self):
        """Where the epoch stands, and what makes its batches: enough to go on with the same ones."""
        plan = {"instances": self.n, "batch_size": self.size, "shuffle": self.shuffle, "seed": self.seed}
        return {"epoch": self.epoch, "done": self.done, "batches": len(self), **plan}

    def load_state_dict(self, state):
        self.resume_at = state["epoch"], state["done"]

    def _share(self, start, stop):
        """This process's part of rows start..stop: the first (stop - start) % world parts get one row more."""
        part, extra = divmod(stop - start, self.world)
        begin = start + self.rank * part + min(self.rank, extra)
        return begin, begin + part + (self.rank < extra)


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


def load(data, model):
    """(X, T) as float64 arrays, from `data.X` and `data.T` or from the CSV file `data.path`."""
    if data.path is not None:
        return read_csv(data.path, model.input_dim, model.output_dim)
    return np.asarray(data.X, dtype=np.float64), np.asarray(data.T, dtype=np.float64)
