"""task=header's side of `dataset.feature_cache` (the core is src/core/feature_cache/), for finetune=frozen: each
clip's frozen-backbone feature ((D,) float32, the output of `HeaderNet.frozen_features`), computed once.

With it on, training AND validation read the features of the evaluation transform (training loses its
augmentation), and every epoch costs only the trainable part: the pool's LayerNorm (VideoMAE) and the head.
Features are encoded in fp32 whatever `trainer.precision` (one cache for every precision): under bf16-mixed the
cached and uncached logits agree within bf16 rounding, not to 1e-5 as in fp32 (see src/clip/feature_cache.py).
"""
import logging
from pathlib import Path

import torch

from src.core.feature_cache.callback import FeatureCaching
from src.core.feature_cache.keys import weights_hash
from src.core.feature_cache.modes import parse_mode
from src.core.feature_cache.source import CacheSplit, FeatureSource
from src.header.data.dataset import collate_skip_bad

log = logging.getLogger(__name__)


def clip_cache_mode(config: dict) -> str:
    """The effective mode of `dataset.feature_cache` for this run ("off" unless finetune=frozen); logs once why."""
    mode = parse_mode(config["dataset"]["feature_cache"])
    if mode == "off":
        return mode
    if config["finetune"]["name"] != "frozen":
        log.warning("dataset.feature_cache=%s ignored: finetune=%s trains the backbone, so its features change; "
                    "the cache is for finetune=frozen", mode, config["finetune"]["name"])
        return "off"
    log.info("dataset.feature_cache=%s: training and validation use cached features of the evaluation transform "
             "(no training augmentation)", mode)
    return mode


def clip_cache_namespace(config: dict, net) -> dict:
    """Everything but the clip file that changes a cached feature."""
    dataset, backbone = config["dataset"], config["backbone"]
    return {
        "kind": "header_clip_features", "backbone": backbone["name"], "weights": weights_hash(net.backbone),
        "num_frames": dataset["num_frames"], "input_size": dataset["input_size"],
        "mean": list(backbone["mean"]), "std": list(backbone["std"]), "transform": "eval",
    }


class ClipFeatureSource(FeatureSource):
    """Train and val clips under the evaluation transform (one namespace), encoded by the frozen backbone."""

    unit = "clips"
    build_hint = "use dataset.feature_cache=auto (same overrides) to build them"

    def __init__(self, config: dict):
        dataset = config["dataset"]
        # collate_skip_bad: an unreadable clip (dataset.check_clips=false) is dropped and counted, gets no entry
        super().__init__(batch_size=dataset["val_batch_size"], num_workers=dataset["num_workers"],
                         collate_fn=collate_skip_bad)
        self.config = config

    def model(self, pl_module):
        return pl_module.net

    def encoder(self, net):
        return net.frozen_features  # (B, 3, T, S, S) -> (B, D)

    def splits(self, datamodule, net) -> dict[str, CacheSplit]:
        if not net.backbone_frozen or any(p.requires_grad for p in net.backbone.parameters()):
            raise RuntimeError("the clip-feature cache needs a frozen backbone (finetune=frozen)")
        namespace = clip_cache_namespace(self.config, net)
        return {name: CacheSplit(pixels, files=[Path(f) for f in pixels.files],
                                 fields={"label": torch.as_tensor(pixels.labels),
                                         "row_idx": torch.as_tensor(pixels.row_idx)},
                                 namespace=namespace, shape=(net.feature_dim,), preload=True)
                for name, pixels in datamodule.cacheable_sets().items()}


def clip_feature_caching(config: dict, mode: str) -> FeatureCaching:
    return FeatureCaching(ClipFeatureSource(config), mode, Path(config["paths"]["cache_dir"]))
