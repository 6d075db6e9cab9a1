"""Loader pieces that make a run resumable exactly and its evaluation exact under DDP.

- `train_loader`: torchdata's StatefulDataLoader (Lightning stores its position in the checkpoint, so a mid-epoch
  resume continues after the last batch trained) over a sampler whose order depends only on (seed, epoch):
  torch's DistributedSampler (also for one process) or, for class-balanced draws, a WeightedRandomSampler reseeded
  per epoch.
- `eval_sampler`: Lightning's UnrepeatedDistributedSampler under DDP: each video on exactly one rank (the default
  DistributedSampler pads with repeats, so 7 videos on 2 ranks would count 8).
"""
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


def train_sampler(dataset, *, seed: int, trainer, weights: torch.Tensor | None = None):
    """Shuffled indices (or class-balanced draws when `weights` is given) determined by (seed, epoch, rank)."""
    world, rank = _world(trainer)
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
