"""FeatureCaching: the Lightning callback behind `dataset.feature_cache`, for every task.

In `setup("fit")` it fills the cache (each DDP rank its share), waits at a barrier until every rank's entries are
on disk, and then hands the datamodule a CachedFeatureDataset per split through `datamodule.use_cached(split,
dataset)`. Not in on_fit_start: Lightning builds the train loader before that (to count the stepping batches for
the LR schedule) and keeps it, so a later swap would silently train on pixels. Callback setup runs after the
datamodule's setup and after the process group exists, and before a checkpoint is restored (the frozen network
is the same either way: loaded weights or the seeded random init).
"""
from pathlib import Path

import pytorch_lightning as pl

from src.core.feature_cache.dataset import CachedFeatureDataset
from src.core.feature_cache.fill import prepare_caches
from src.core.feature_cache.source import FeatureSource

ACTIVE_MODES = ("auto", "write", "read")


class FeatureCaching(pl.Callback):
    def __init__(self, source: FeatureSource, mode: str, cache_dir: Path):
        if mode not in ACTIVE_MODES:
            raise ValueError(f"FeatureCaching needs one of {ACTIVE_MODES}, got {mode!r}")
        self.source, self.mode, self.cache_dir = source, mode, Path(cache_dir)

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        if stage != "fit":
            return  # validate/test/predict alone keep the pixel pipeline
        pl_module.to(trainer.strategy.root_device)  # encode where the run computes (the strategy moves it anyway)
        datamodule = trainer.datamodule
        prepared = prepare_caches(self.source, self.source.model(pl_module), datamodule, self.cache_dir, self.mode,
                                  device=trainer.strategy.root_device, rank=trainer.global_rank,
                                  world_size=trainer.world_size)
        trainer.strategy.barrier("feature-cache")  # every rank's share is on disk before anyone reads
        for name, (store, split, _) in prepared.items():
            datamodule.use_cached(name, CachedFeatureDataset(store, split))
