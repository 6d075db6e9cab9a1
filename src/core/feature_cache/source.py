"""What a task hands the feature cache: its splits (pixel datasets and what keys their entries) and its encoder.

The cache core knows nothing of videos, CLIP or headers: a task describes each split it wants cached as a
CacheSplit, and says which network encodes pixels (FeatureSource). Everything else (stores, filling, sharding
over ranks, the barrier, the cached datasets) is the same for every task.
"""
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


@dataclass
class FeatureSource:
    """A task's side of the cache. `model` picks the network out of the LightningModule; `splits` and `encoder`
    receive that network (so a tool without a LightningModule can use them too)."""
    model: Callable[[Any], nn.Module]                        # LightningModule -> the network that encodes
    splits: Callable[[Any, nn.Module], dict[str, CacheSplit]]  # (datamodule, network) -> split name -> CacheSplit
    encoder: Callable[[nn.Module], Encoder]                  # network -> pixels batch -> features
    batch_size: int                                          # batches of pixels while filling
    num_workers: int                                         # DataLoader workers while filling
    collate_fn: Callable | None                              # how pixel items are batched (None: torch's default)
    unit: str                                                # what an item is called in messages ("videos", "clips")
    build_hint: str                                          # how to build a missing cache (read mode's error)
