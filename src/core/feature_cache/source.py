"""What a task hands the feature cache: its splits (pixel datasets and what keys their entries) and its encoder.

The cache core knows nothing of videos, CLIP or headers: a task describes each split it wants cached as a
CacheSplit, and says which network encodes pixels (FeatureSource). Everything else (stores, filling, sharding
over ranks, the barrier, the cached datasets) is the same for every task.
"""
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import Dataset

# A batch of pixels (as the split's collate_fn stacks it) -> (B, *CacheSplit.shape) features
Encoder = Callable[[torch.Tensor], torch.Tensor]


@dataclass
class CacheSplit:
    """One split whose frozen features are cached."""
    pixels: Dataset              # items: dicts with "video" (None for an unreadable item, if collate_fn drops it)
    files: Sequence[Path]        # the file behind item i: what its entry is keyed by
    fields: dict[str, Sequence]  # what a cached item carries besides "features": item i gets value[i] of each
    namespace: dict              # everything but the file that changes the features (see keys.py)
    shape: tuple[int, ...]       # one entry's shape
    preload: bool = False        # read every entry into memory once (small entries), else one read per item


class FeatureSource(ABC):
    """A task's side of the cache. A class rather than a bundle of closures: the callback holding it is pickled
    when strategy=ddp_spawn starts its processes. `model` picks the network out of the LightningModule; `splits`
    and `encoder` receive that network (so a tool without a LightningModule can use them too)."""

    unit = "items"                                  # what an item is called in messages ("videos", "clips")
    build_hint = "use dataset.feature_cache=auto"   # how to build a missing cache (read mode's error)

    def __init__(self, *, batch_size: int, num_workers: int, collate_fn: Callable | None):
        self.batch_size = batch_size    # batches of pixels while filling
        self.num_workers = num_workers  # DataLoader workers while filling
        self.collate_fn = collate_fn    # how pixel items are batched (None: torch's default); module-level function

    @abstractmethod
    def model(self, pl_module) -> nn.Module:
        """The network of the LightningModule that `encoder` uses."""

    @abstractmethod
    def splits(self, datamodule, model: nn.Module) -> dict[str, CacheSplit]:
        """Split name -> what to cache of it."""

    @abstractmethod
    def encoder(self, model: nn.Module) -> Encoder:
        """A batch of pixels -> (B, *CacheSplit.shape) features."""
