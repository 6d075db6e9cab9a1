"""CachedFeatureDataset: a split's cached features served as a dataset, without touching a pixel.

Items: {"features": (*shape) float32, **{field: value[i]}}. With `preload` every entry is read into memory once
(N x shape floats), so an epoch reads no files at all; otherwise each item reads its entry. Either way an entry
that is missing (an item that was unreadable when the cache was filled: the fill runs first, so nothing else leaves
a gap) gives None, which the task's collate_fn drops and counts, as it does for an unreadable pixel item.
"""
import logging
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from src.core.feature_cache.source import CacheSplit
from src.core.feature_cache.store import FeatureStore

log = logging.getLogger(__name__)


class CachedFeatureDataset(Dataset):
    def __init__(self, store: FeatureStore, split: CacheSplit):
        self.store, self.files, self.shape, self.fields = store, list(split.files), split.shape, split.fields
        self.features: torch.Tensor | None = None  # (N, *shape) when preloaded
        self.present: list[bool] = []               # preloaded: whether item i has an entry
        if split.preload:
            arrays = [store.load(Path(f), self.shape) for f in self.files]
            self.present = [a is not None for a in arrays]
            if not all(self.present):
                log.warning("%d of %d items have no entry in %s (unreadable when the cache was filled): skipped "
                            "and counted", self.present.count(False), len(self.files), store.dir)
            zeros = np.zeros(self.shape, np.float32)
            self.features = torch.from_numpy(np.stack([zeros if a is None else a for a in arrays])) if arrays \
                else torch.zeros(0, *self.shape)

    @property
    def labels(self):
        """The items' labels (e.g. for a class-balanced sampler)."""
        return self.fields["label"]

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> dict | None:
        if self.features is not None:
            if not self.present[i]:
                return None
            features = self.features[i]
        else:
            array = self.store.load(Path(self.files[i]), self.shape)
            if array is None:
                log.warning("no cached features for %s (unreadable when the cache was filled): skipped",
                            self.files[i])
                return None
            features = torch.from_numpy(array)
        return {"features": features, **{name: values[i] for name, values in self.fields.items()}}
