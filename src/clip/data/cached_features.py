"""Filling the frame-feature cache from the pixel pipeline, and reading it back as a dataset.

`fill_cache` decodes and encodes only the videos whose entry is missing or unreadable (this rank's share of them);
`CachedFeatureDataset` then serves {"features": (V, T, E), "label", "index"} items without decoding anything.
"""
import logging
from collections.abc import Callable

import torch
from rich.progress import track
from torch.utils.data import DataLoader, Dataset, Subset

from src.clip.data.dataset import VideoClipDataset, collate_skip_bad
from src.core.feature_cache import FrameFeatureCache

log = logging.getLogger(__name__)

# (B, V, T, 3, H, W) pixels -> (B, V, T, E) frame features of the frozen image tower
FrameEncoder = Callable[[torch.Tensor], torch.Tensor]


def fill_cache(pixels: VideoClipDataset, cache: FrameFeatureCache, shape: tuple[int, int, int], encode: FrameEncoder,
               *, batch_size: int, num_workers: int, device: torch.device, rank: int = 0, world_size: int = 1,
               overwrite: bool = False, label: str = "") -> dict:
    """Compute and store the entries `pixels` lacks; returns counts (videos, missing, written, bad)."""
    records = pixels.records
    missing = list(range(len(records))) if overwrite else [
        i for i, r in enumerate(records) if cache.load(r.path, shape) is None]
    mine = missing[rank::world_size]  # DDP: each rank encodes its share; entries are atomic, so overlap is harmless
    written = bad = 0
    if mine:
        loader = DataLoader(Subset(pixels, mine), batch_size=batch_size, num_workers=num_workers,
                            collate_fn=collate_skip_bad)
        steps = track(loader, description=f"caching {label} frame features", disable=rank != 0)
        with torch.no_grad():
            for batch in steps:
                bad += int(batch["num_bad"])
                if batch["label"].numel() == 0:
                    continue
                features = encode(batch["video"].to(device))       # (B, V, T, E)
                for row, index in enumerate(batch["index"].tolist()):
                    cache.save(records[index].path, features[row])
                    written += 1
    stats = {"videos": len(records), "missing": len(missing), "written": written, "bad": bad}
    log.info("feature cache %s (%s): %s", label, cache.dir, stats)
    return stats


class CachedFeatureDataset(Dataset):
    """The cached features of `records`; an entry that cannot be read (an undecodable video) gives None."""

    def __init__(self, pixels: VideoClipDataset, cache: FrameFeatureCache, shape: tuple[int, int, int]):
        self.records, self.cache, self.shape = pixels.records, cache, shape

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, i: int) -> dict | None:
        record = self.records[i]
        features = self.cache.load(record.path, self.shape)
        if features is None:
            log.warning("no cached features for %s (undecodable when the cache was filled): skipped", record.path)
            return None
        return {"features": torch.from_numpy(features), "label": record.label, "index": i}
