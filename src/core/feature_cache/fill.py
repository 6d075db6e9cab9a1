"""Filling the feature cache: encode the items whose entry is missing (this rank's share), or, in read mode,
check that every entry is there.

Sharding is decided before looking at the cache: rank r takes items r, r + world, … and then skips those already
cached. (Filtering first would let a fast rank's fresh entries change a slower rank's list of missing items,
and the shares would no longer cover every item.)
"""
import logging
from contextlib import contextmanager
from pathlib import Path

import torch
from rich.progress import track
from torch import nn
from torch.utils.data import DataLoader, Dataset, Subset

from src.core.errors import UserError
from src.core.feature_cache.source import CacheSplit, Encoder, FeatureSource
from src.core.feature_cache.store import FeatureStore

log = logging.getLogger(__name__)


def missing_entries(store: FeatureStore, split: CacheSplit, indices=None) -> list[int]:
    """Those of `indices` (default: all items) whose entry is absent, stale or unreadable."""
    indices = range(len(split.files)) if indices is None else indices
    return [i for i in indices if store.load(Path(split.files[i]), split.shape) is None]


def fill_split(store: FeatureStore, split: CacheSplit, encode: Encoder, *, batch_size: int, num_workers: int,
               collate_fn, device: torch.device, rank: int = 0, world_size: int = 1, overwrite: bool = False,
               label: str = "") -> dict:
    """Compute and store this rank's share of the missing entries (all of its share when `overwrite`)."""
    share = range(rank, len(split.files), world_size)
    todo = list(share) if overwrite else missing_entries(store, split, share)
    written = bad = 0
    if todo:
        loader = DataLoader(Subset(_Indexed(split.pixels), todo), batch_size=batch_size, num_workers=num_workers,
                            collate_fn=collate_fn, shuffle=False)
        with torch.no_grad():
            for batch in track(loader, description=f"caching {label} features", disable=rank != 0):
                bad += int(batch.get("num_bad", 0))
                indices = batch["index"].tolist() if "index" in batch else []  # a task's all-bad batch may lack it
                if not indices:
                    continue  # every item of the batch was unreadable
                features = encode(batch["video"].to(device))  # (B, *shape)
                if tuple(features.shape) != (len(indices), *split.shape):
                    raise RuntimeError(f"the encoder gave features of shape {tuple(features.shape)}, the cache "
                                       f"expects (B, {', '.join(map(str, split.shape))})")
                for row, index in enumerate(indices):
                    store.save(Path(split.files[index]), features[row])
                    written += 1
    stats = {"items": len(split.files), "missing": len(todo), "written": written, "bad": bad}
    log.info("feature cache %s (%s, rank %d of %d): %s", label, store.dir, rank, world_size, stats)
    return stats


def prepare_caches(source: FeatureSource, model: nn.Module, datamodule, cache_dir: Path, mode: str, *,
                   device: torch.device, rank: int = 0, world_size: int = 1) -> dict[str, tuple]:
    """split -> (store, CacheSplit, fill stats or None); fills this rank's share, or checks all in read mode."""
    prepared = {}
    for name, split in source.splits(datamodule, model).items():
        store = FeatureStore(Path(cache_dir), split.namespace)
        stats = None
        if mode == "read":
            absent = missing_entries(store, split)
            # An unreadable item never gets an entry: it is skipped and counted like in a pixel run, not missing.
            # any() stops at the first readable one, so a cache that was never built costs one item, not a pass.
            if any(split.pixels[i] is not None for i in absent):
                raise UserError(f"dataset.feature_cache=read: {len(absent)} of {len(split.files)} {name} "
                                f"{source.unit} are not in {store.dir}; {source.build_hint}")
            if absent:
                log.warning("feature cache %s: %d unreadable %s have no entry: skipped and counted", name,
                            len(absent), source.unit)
        else:
            with eval_mode(model):  # BatchNorm statistics and dropout would change the features
                stats = fill_split(store, split, source.encoder(model), batch_size=source.batch_size,
                                   num_workers=source.num_workers, collate_fn=source.collate_fn, device=device,
                                   rank=rank, world_size=world_size, overwrite=mode == "write", label=name)
        prepared[name] = (store, split, stats)
    return prepared


@contextmanager
def eval_mode(module: nn.Module):
    """`module` in eval mode inside, and afterwards every submodule back in the mode it had (frozen parts of a
    training module stay in eval mode)."""
    modes = [(m, m.training) for m in module.modules()]
    module.eval()
    try:
        yield module
    finally:
        for m, training in modes:
            m.training = training


class _Indexed(Dataset):
    """Items of `pixels` with their index (to find the file of each encoded row); None stays None."""

    def __init__(self, pixels: Dataset):
        self.pixels = pixels

    def __len__(self) -> int:
        return len(self.pixels)

    def __getitem__(self, i: int) -> dict | None:
        item = self.pixels[i]
        return None if item is None else {**item, "index": i}
