"""The training data: instances X (one row each) with targets T, served as one full batch per epoch."""

import lightning as L
import torch
from torch.utils.data import DataLoader


class TrainingData(L.LightningDataModule):
    """X is instances x inputs, T is instances x outputs; by default the seed's two instances."""

    def __init__(self, X, T):
        super().__init__()
        # float64 keeps the config's numbers exact; the module casts to the run's precision.
        self.X = torch.tensor(X, dtype=torch.float64)
        self.T = torch.tensor(T, dtype=torch.float64)

    def train_dataloader(self):
        """One item, this process's share of (X, T); batch_size=None hands it over whole, without per-row work.

        With DDP each process takes its own contiguous share, so that every instance counts once (a
        DistributedSampler would pad the shares by repeating instances).
        """
        rank, world = self.trainer.global_rank, self.trainer.world_size
        X, T = torch.tensor_split(self.X, world)[rank], torch.tensor_split(self.T, world)[rank]
        return DataLoader([(X, T)], batch_size=None)
