"""Random draws of a data item as a pure function of (run seed, epoch, item index).

A dataset that draws its augmentation from a process-wide stream (torch's global RNG in a DataLoader worker,
a generator kept on the dataset) gives a resumed run other draws than the uninterrupted one: the stream's
position is not in the checkpoint and workers restart. Keying every item's draws on (seed, epoch, index)
makes them independent of workers, prefetching and restarts, so a resume after kill -9 sees the same pixels.

The epoch lives in a shared-memory tensor: persistent DataLoader workers see `set_epoch` of the main process.
"""
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import torch


class ItemSeeds:
    def __init__(self, seed: int):
        self.seed = int(seed)
        self._epoch = torch.zeros((), dtype=torch.long).share_memory_()  # written by the main process

    def set_epoch(self, epoch: int) -> None:
        self._epoch.fill_(int(epoch))

    @property
    def epoch(self) -> int:
        return int(self._epoch)

    @contextmanager
    def draws(self, index: int) -> Iterator[np.random.Generator]:
        """Inside: torch's global (CPU) RNG is seeded for this item; yields a numpy generator for it too.
        Outside, torch's RNG is as it was (fork_rng), so items never disturb each other or the training loop."""
        sequence = np.random.SeedSequence([self.seed, self.epoch, int(index)])
        torch_seed = int(sequence.generate_state(1, np.uint64)[0] % (2**63 - 1))
        with torch.random.fork_rng(devices=[]):
            # The CPU generator only: torch.manual_seed would also seed CUDA, which fork_rng(devices=[]) does not
            # restore, and before CUDA starts each call queues a formatted stack trace (~0.4 ms, a third of a
            # small clip's loading time).
            torch.default_generator.manual_seed(torch_seed)
            yield np.random.default_rng(sequence)


def set_data_epoch(loader, epoch: int) -> None:
    """Tell a loader's dataset and sampler which epoch is starting (each that has `set_epoch`), including a
    sampler Lightning wrapped for DDP (DistributedSamplerWrapper keeps it at `.dataset._sampler`)."""
    sampler = getattr(loader, "sampler", None)
    inner = getattr(getattr(sampler, "dataset", None), "_sampler", None)
    for obj in (getattr(loader, "dataset", None), sampler, inner):
        if obj is not None and hasattr(obj, "set_epoch"):
            obj.set_epoch(epoch)
