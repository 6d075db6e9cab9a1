"""task=clip's side of `dataset.feature_cache` (the core is src/core/feature_cache/): the per-frame embeddings of
CLIP's frozen image tower, one (V, T, E) entry per video, computed once and reused by every epoch and run.

Only for methods whose image tower is frozen and unprompted (video_coop); training is cached only when it is
deterministic (no augmentation, no VideoMix) and then uses the centred sampling of evaluation. Pre-build a cache
with `python data_tools/cache_features.py <same overrides>`.

Entries are encoded in fp32 whatever `trainer.precision`, so one cache serves every precision. In fp32 cached and
uncached logits agree to 1e-5; under bf16-mixed an uncached run encodes the frames in bf16, and the two agree only
within bf16 rounding (1-3 bf16 steps of the largest logit, as far as bf16 is from fp32 itself; tested).
"""
import logging
from pathlib import Path

import torch

from src.clip.data.dataset import collate_skip_bad
from src.clip.data.frame_source import pixel_source_key
from src.clip.models.registry import METHODS
from src.core.errors import UserError
from src.core.feature_cache.callback import FeatureCaching
from src.core.feature_cache.keys import weights_hash
from src.core.feature_cache.modes import parse_mode
from src.core.feature_cache.source import CacheSplit, FeatureSource

log = logging.getLogger(__name__)


def cache_namespace(cfg: dict, weights: str, split_kind: str) -> dict:
    """Everything but the video that changes the cached features (`weights`: the image tower's weights_hash)."""
    dataset, backbone = cfg["dataset"], cfg["backbone"]
    return {
        "backbone": backbone["name"], "pretrained": str(backbone["pretrained"]), "weights": weights,
        "image_size": backbone["image_size"], "mean": list(backbone["mean"]), "std": list(backbone["std"]),
        "num_frames": dataset["num_frames"], "num_temporal_views": dataset["num_temporal_views"],
        "frame_interval": dataset["frame_interval"], "sampling": split_kind,
        "num_spatial_views": 1 if split_kind == "train" else dataset["num_spatial_views"],
        **pixel_source_key(dataset),
    }


def encode_videos(model):
    """(B, V, T, 3, H, W) -> (B, V, T, E) with the model's frozen image tower."""
    def encode(video: torch.Tensor) -> torch.Tensor:
        B, V = video.shape[:2]
        return model.encode_frames(video.flatten(0, 1)).view(B, V, *video.shape[2:3], -1)
    return encode


def refuse_cache_for_finetuning(method_name: str, feature_cache) -> None:
    """A method that fine-tunes CLIP's image tower (vifi_clip) with any cache mode but off: one UserError, raised
    by the entry points' checks before anything is written (a prompted method is only warned: caching_plan)."""
    method = METHODS.get(method_name)
    if method is not None and method.trains_clip and parse_mode(feature_cache) != "off":
        raise UserError(f"dataset.feature_cache={parse_mode(feature_cache)}: method={method_name} fine-tunes CLIP's "
                        "image tower, so its frame features change every step and cannot be cached; set "
                        "dataset.feature_cache=off (its default)")


def caching_plan(cfg: dict, model) -> tuple[str, bool, bool]:
    """(mode, cache evaluation, cache training) for this run; says once why a part is not cached."""
    mode = parse_mode(cfg["dataset"]["feature_cache"])
    if mode == "off":
        return mode, False, False
    if not model.frame_features_cacheable:
        log.warning("dataset.feature_cache=%s ignored: %s prompts the image tower, so its frame features change "
                    "while it trains", mode, cfg["method"]["name"])
        return mode, False, False
    cache_train = not cfg["dataset"]["augment"] and not cfg["method"]["videomix"]
    if not cache_train:
        log.info("feature cache: evaluation only (training uses augmentation or VideoMix, so its frames differ "
                 "every epoch)")
    else:
        log.info("feature cache: training uses the centred (evaluation) frame sampling and a centre crop")
    return mode, True, cache_train


class FrameFeatureSource(FeatureSource):
    """The datamodule's cacheable splits, encoded by the classifier's frozen image tower."""

    unit = "videos"
    build_hint = ("build it with `python data_tools/cache_features.py` (same overrides) or use "
                  "dataset.feature_cache=auto")

    def __init__(self, cfg: dict, cache_train: bool):
        dataset = cfg["dataset"]
        super().__init__(batch_size=dataset["batch_size"], num_workers=dataset["num_workers"],
                         collate_fn=collate_skip_bad)
        self.cfg, self.cache_train = cfg, cache_train

    def model(self, pl_module):
        return pl_module.model

    def encoder(self, model):
        return encode_videos(model)

    def splits(self, datamodule, model) -> dict[str, CacheSplit]:
        dataset, weights = self.cfg["dataset"], weights_hash(model.clip.visual)
        out = {}
        for split, pixels in datamodule.cacheable_sets(self.cache_train).items():
            kind = "train" if split == "train" else "eval"
            views = dataset["num_temporal_views"] * (1 if kind == "train" else dataset["num_spatial_views"])
            records = pixels.records
            out[split] = CacheSplit(
                pixels, files=[r.path for r in records],
                fields={"label": [r.label for r in records], "index": range(len(records))},
                namespace=cache_namespace(self.cfg, weights, kind),
                shape=(views, dataset["num_frames"], model.embed_dim))
        return out


def frame_feature_caching(cfg: dict, mode: str, cache_train: bool) -> FeatureCaching:
    return FeatureCaching(FrameFeatureSource(cfg, cache_train), mode, Path(cfg["paths"]["cache_dir"]))
