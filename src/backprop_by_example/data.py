"""The training data: instances X (one row each) with targets T, served as whole batches of rows.

By default the seed's two instances, as one full batch per epoch (cell 29). `data.batch_size` cuts each epoch
into batches of that many rows, in data order or, with `data.shuffle=true`, in a seeded order.
"""

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler


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
