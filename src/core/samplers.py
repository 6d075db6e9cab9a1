"""Loader pieces that make a run resumable exactly and its evaluation exact under DDP.

- `train_loader`: torchdata's StatefulDataLoader (Lightning stores its position in the checkpoint, so a mid-epoch
  resume continues after the last batch trained) over a sampler whose order depends only on (seed, epoch):
  torch's DistributedSampler (also for one process), for class-balanced draws a WeightedRandomSampler reseeded
  per epoch, or, to subsample a plentiful class, a KeepAllSubsampleSampler (all of one class + k others per item
  of it, a fresh draw per epoch).
- `eval_sampler`: Lightning's UnrepeatedDistributedSampler under DDP: each video on exactly one rank (the default
  DistributedSampler pads with repeats, so 7 videos on 2 ranks would count 8).
"""
from typing import NamedTuple

import numpy as np
import torch
from pytorch_lightning.overrides.distributed import UnrepeatedDistributedSampler
from torch.utils.data import DistributedSampler, WeightedRandomSampler
from torchdata.stateful_dataloader import StatefulDataLoader

from src.core.item_seeding import set_data_epoch


def _world(trainer) -> tuple[int, int]:
    """(world size, global rank); (1, 0) outside a Trainer."""
    if trainer is None:
        return 1, 0
    return trainer.world_size, trainer.global_rank


def training_epoch(trainer) -> int:
    """The epoch the next training batch belongs to. Not `current_epoch`: resuming from an epoch-end checkpoint,
    Lightning builds the train iterator before it counts the finished epoch as completed."""
    if trainer is None:
        return 0
    return trainer.fit_loop.epoch_progress.current.processed


class EpochWeightedRandomSampler(WeightedRandomSampler):
    """WeightedRandomSampler whose draws restart from (seed, epoch) at each `set_epoch` (Lightning calls it)."""

    def __init__(self, weights: torch.Tensor, num_samples: int, seed: int):
        super().__init__(weights, num_samples=num_samples, replacement=True, generator=torch.Generator())
        self.seed = int(seed)
        self.set_epoch(0)

    def set_epoch(self, epoch: int) -> None:
        self.generator.manual_seed(self.seed * 1_000_003 + int(epoch))


def subsample_size(num_kept: int, num_others: int, others_per_kept: float) -> int:
    """How many of the other items an epoch draws: round(others_per_kept * num_kept), at most all of them."""
    return min(round(others_per_kept * num_kept), num_others)


class KeepAllSubsampleSampler(DistributedSampler):
    """Each epoch: every item labelled `keep_label` plus `others_per_kept` others per kept item (see
    `subsample_size`), the others drawn without replacement, all shuffled together; the draw and the order depend
    only on (seed, epoch). Every rank computes the same epoch, then takes its shard exactly as DistributedSampler
    does (padded to a multiple of num_replicas, rank::num_replicas): it is one, so Lightning neither wraps it nor
    skips its `set_epoch`, and its positions come from DistributedSampler's own padding and sharding."""

    def __init__(self, labels, *, keep_label: int, others_per_kept: float, seed: int, num_replicas: int = 1,
                 rank: int = 0):
        labels = np.asarray(labels)
        self.kept = np.flatnonzero(labels == keep_label)
        self.others = np.flatnonzero(labels != keep_label)
        self.num_drawn = subsample_size(len(self.kept), len(self.others), others_per_kept)
        # The parent shards positions 0..epoch_size-1 of the epoch's draw (shuffle off: the draw is shuffled).
        super().__init__(range(len(self.kept) + self.num_drawn), num_replicas=num_replicas, rank=rank,
                         shuffle=False, seed=seed, drop_last=False)

    @property
    def epoch_size(self) -> int:
        """Items per epoch over all ranks, before padding."""
        return len(self.kept) + self.num_drawn

    def epoch_draw(self) -> np.ndarray:
        """This epoch's items before sharding: all kept ones and the drawn others, shuffled (the same on every rank)."""
        rng = np.random.default_rng([int(self.seed), int(self.epoch)])
        drawn = rng.choice(self.others, size=self.num_drawn, replace=False)
        return rng.permutation(np.concatenate([self.kept, drawn]))

    def __iter__(self):
        draw = self.epoch_draw()
        return iter([int(draw[position]) for position in super().__iter__()])


class Subsample(NamedTuple):
    """For `train_sampler`: keep every item of `keep_label`, draw `others_per_kept` others per kept item."""
    labels: np.ndarray
    keep_label: int
    others_per_kept: float


def train_sampler(dataset, *, seed: int, trainer, weights: torch.Tensor | None = None,
                  subsample: Subsample | None = None):
    """Shuffled indices (class-balanced draws when `weights` is given, a per-epoch subsample of one class when
    `subsample` is) determined by (seed, epoch, rank)."""
    world, rank = _world(trainer)
    if subsample is not None:
        return KeepAllSubsampleSampler(subsample.labels, keep_label=subsample.keep_label,
                                       others_per_kept=subsample.others_per_kept, seed=seed, num_replicas=world,
                                       rank=rank)
    if weights is not None:  # under DDP Lightning wraps it in a DistributedSamplerWrapper (set_epoch reaches it)
        return EpochWeightedRandomSampler(weights, num_samples=len(dataset), seed=seed)
    return DistributedSampler(dataset, num_replicas=world, rank=rank, shuffle=True, seed=seed, drop_last=False)


def train_loader(dataset, *, sampler, seed: int, trainer, **loader_kwargs) -> StatefulDataLoader:
    """A StatefulDataLoader whose dataset and sampler already know the epoch it will start in (after a resume the
    first iterator is created before Lightning's per-epoch `set_epoch`). Its own generator gives the workers'
    base seed, so building an iterator never draws from the global RNG the model's dropout uses."""
    loader = StatefulDataLoader(dataset, sampler=sampler, shuffle=None, generator=torch.Generator().manual_seed(seed),
                                **loader_kwargs)
    set_data_epoch(loader, training_epoch(trainer))
    return loader


def eval_sampler(dataset, trainer) -> UnrepeatedDistributedSampler | None:
    world, rank = _world(trainer)
    if world == 1:
        return None
    return UnrepeatedDistributedSampler(dataset, num_replicas=world, rank=rank, shuffle=False)
