"""`dataset.feature_cache`: encode each video's frames once with the frozen image tower, then train on features.

off   — never.
auto  — read what is cached, compute and write what is missing (first epoch pays once, later runs and epochs
        read only).
write — recompute every entry and overwrite.
read  — use the cache as it is; a split with missing entries is an error (pre-build it with
        `python -m data_tools.cache_features …` or use auto).
Only for methods whose image tower is frozen and unprompted (video_coop); training is cached only when it is
deterministic (no augmentation, no VideoMix) and then uses the centred sampling of evaluation.
"""
import logging
from pathlib import Path

import pytorch_lightning as pl
import torch

from src.clip.data.cached_features import CachedFeatureDataset, fill_cache
from src.core.errors import UserError
from src.core.feature_cache import FrameFeatureCache, weights_hash

log = logging.getLogger(__name__)
MODES = ("off", "auto", "write", "read")


def cache_namespace(cfg: dict, model, split_kind: str) -> dict:
    """Everything but the video that changes the cached features."""
    dataset, backbone = cfg["dataset"], cfg["backbone"]
    return {
        "backbone": backbone["name"], "pretrained": str(backbone["pretrained"]),
        "weights": weights_hash(model.clip.visual),
        "image_size": backbone["image_size"], "mean": list(backbone["mean"]), "std": list(backbone["std"]),
        "num_frames": dataset["num_frames"], "num_temporal_views": dataset["num_temporal_views"],
        "frame_interval": dataset["frame_interval"], "sampling": split_kind,
        "num_spatial_views": 1 if split_kind == "train" else dataset["num_spatial_views"],
    }


def encode_videos(model):
    """(B, V, T, 3, H, W) -> (B, V, T, E) with the model's frozen image tower."""
    def encode(video: torch.Tensor) -> torch.Tensor:
        B, V = video.shape[:2]
        return model.encode_frames(video.flatten(0, 1)).view(B, V, *video.shape[2:3], -1)
    return encode


def caching_plan(cfg: dict, model) -> tuple[bool, bool]:
    """(cache evaluation, cache training) for this run; says once why a part is not cached."""
    mode = cfg["dataset"]["feature_cache"]
    mode = "off" if mode is False else mode  # YAML 1.1 reads a bare `off` as false
    if mode not in MODES:
        raise UserError(f"dataset.feature_cache={mode}: choose one of {', '.join(MODES)}")
    if mode == "off":
        return False, False
    if not model.frame_features_cacheable:
        log.warning("dataset.feature_cache=%s ignored: %s prompts the image tower, so its frame features change "
                    "while it trains", mode, cfg["method"]["name"])
        return False, False
    cache_train = not cfg["dataset"]["augment"] and not cfg["method"]["videomix"]
    if not cache_train:
        log.info("feature cache: evaluation only (training uses augmentation or VideoMix, so its frames differ "
                 "every epoch)")
    else:
        log.info("feature cache: training uses the centred (evaluation) frame sampling and a centre crop")
    return True, cache_train


def build_caches(cfg: dict, model, datamodule, cache_train: bool) -> dict:
    """split -> (pixel dataset, cache, entry shape (V, T, E))."""
    out = {}
    dataset = cfg["dataset"]
    for split, pixels in datamodule.cacheable_sets(cache_train).items():
        kind = "train" if split == "train" else "eval"
        views = dataset["num_temporal_views"] * (1 if kind == "train" else dataset["num_spatial_views"])
        shape = (views, dataset["num_frames"], model.embed_dim)
        out[split] = (pixels, FrameFeatureCache(Path(cfg["paths"]["cache_dir"]), cache_namespace(cfg, model, kind)), shape)
    return out


class FrameFeatureCaching(pl.Callback):
    def __init__(self, cfg: dict, cache_train: bool):
        self.cfg, self.cache_train = cfg, cache_train

    def setup(self, trainer: pl.Trainer, pl_module, stage: str) -> None:
        # Not on_fit_start: Lightning may build the train loader before it (to count the stepping batches), and a
        # later swap would silently keep training on pixels.
        if stage != "fit":
            return
        mode, dataset = str(self.cfg["dataset"]["feature_cache"]), self.cfg["dataset"]
        datamodule, model = trainer.datamodule, pl_module.model
        pl_module.to(trainer.strategy.root_device)  # encode where the run computes
        caches = build_caches(self.cfg, model, datamodule, self.cache_train)
        for split, (pixels, cache, shape) in caches.items():
            if mode == "read":
                missing = sum(cache.load(r.path, shape) is None for r in pixels.records)
                if missing:
                    raise UserError(f"dataset.feature_cache=read: {missing} of {len(pixels)} {split} videos are not "
                                    f"in {cache.dir}; build it with `python -m data_tools.cache_features` (same "
                                    "overrides) or use dataset.feature_cache=auto")
            else:
                fill_cache(pixels, cache, shape, encode_videos(model), batch_size=dataset["batch_size"],
                           num_workers=dataset["num_workers"], device=trainer.strategy.root_device, rank=trainer.global_rank,
                           world_size=trainer.world_size, overwrite=mode == "write", label=split)
        trainer.strategy.barrier("feature-cache")  # every rank's share is on disk before anyone reads
        for split, (pixels, cache, shape) in caches.items():
            datamodule.use_dataset(split, CachedFeatureDataset(pixels, cache, shape))
