"""task=header clip-feature cache: fill it from the pixel pipeline, and serve the cached features as a dataset.

One entry per clip file: the (D,) float32 output of `HeaderNet.frozen_features` under the evaluation transform,
stored by `FrameFeatureCache` (keyed by resolved path + size + mtime, written atomically).
"""
import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Subset

from src.core.feature_cache import FrameFeatureCache
from src.header.data.dataset import HeaderClipDataset

log = logging.getLogger(__name__)

# (B, 3, T, S, S) clips -> (B, D) frozen features
ClipEncoder = Callable[[torch.Tensor], torch.Tensor]


def missing_entries(files: list[str], cache: FrameFeatureCache, dim: int) -> list[int]:
    """Indices of `files` whose entry is absent, stale or unreadable."""
    return [i for i, f in enumerate(files) if cache.load(Path(f), (dim,)) is None]


def fill_clip_cache(pixels: HeaderClipDataset, cache: FrameFeatureCache, dim: int, encode: ClipEncoder, *,
                    batch_size: int, num_workers: int, device: torch.device, rank: int, world_size: int,
                    overwrite: bool, label: str) -> dict:
    """Encode and store the clips of `pixels` that lack an entry (all when `overwrite`), this rank's share only."""
    missing = list(range(len(pixels))) if overwrite else missing_entries(pixels.files, cache, dim)
    mine = missing[rank::world_size]  # DDP: each rank its share; entries are atomic, so an overlap is harmless
    written = 0
    if mine:
        loader = DataLoader(Subset(IndexedClips(pixels), mine), batch_size=batch_size, num_workers=num_workers, shuffle=False)
        with torch.no_grad():
            for batch in loader:
                features = encode(batch["video"].to(device))  # (B, D)
                assert features.shape == (len(batch["video"]), dim), \
                    f"frozen features have shape {tuple(features.shape)}, expected (B, {dim})"
                for row, index in enumerate(batch["index"].tolist()):
                    cache.save(Path(pixels.files[index]), features[row])
                    written += 1
    stats = {"clips": len(pixels), "missing": len(missing), "written": written}
    log.info("clip-feature cache %s (%s): %s", label, cache.dir, stats)
    return stats


class IndexedClips(Dataset):
    """A HeaderClipDataset whose items also carry their dataset index (to find the file of each output row)."""

    def __init__(self, clips: HeaderClipDataset):
        self.clips, self.files = clips, clips.files

    def __len__(self) -> int:
        return len(self.clips)

    def __getitem__(self, i: int) -> dict:
        return {**self.clips[i], "index": torch.tensor(i)}


class HeaderCachedFeatureDataset(Dataset):
    """Items: {"features": (D,) float32, "label": int64, "row_idx": int64}; all entries are read into memory once
    (N x D floats), so an epoch reads no files at all."""

    def __init__(self, pixels: HeaderClipDataset, cache: FrameFeatureCache, dim: int):
        self.labels, self.row_idx = pixels.labels, pixels.row_idx  # .labels: balanced sampling reads it
        arrays = [cache.load(Path(f), (dim,)) for f in pixels.files]
        absent = [f for f, a in zip(pixels.files, arrays) if a is None]
        assert not absent, f"{len(absent)} clips have no entry in {cache.dir} (first: {absent[0]}); fill it first"
        self.features = torch.from_numpy(np.stack(arrays)) if arrays else torch.zeros(0, dim)  # (N, D)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> dict:
        return {"features": self.features[i], "label": torch.tensor(self.labels[i]),
                "row_idx": torch.tensor(self.row_idx[i])}
