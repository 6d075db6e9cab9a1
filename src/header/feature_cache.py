"""`dataset.feature_cache` for task=header with finetune=frozen: each clip's frozen-backbone feature, cached.

off   — never.
auto  — read what is cached, compute and write what is missing (the first run pays once).
write — recompute every entry and overwrite.
read  — use the cache as it is; missing entries are an error (use auto to build them).
With it on, training AND validation read the features of the evaluation transform (training loses its
augmentation), and every epoch costs only the trainable part: the pool's LayerNorm (VideoMAE) and the head.
"""
import logging
from pathlib import Path

import pytorch_lightning as pl

from src.core.errors import UserError
from src.core.feature_cache import FrameFeatureCache, weights_hash
from src.header.data.cached_features import HeaderCachedFeatureDataset, fill_clip_cache, missing_entries
from src.header.data.dataset import HeaderClipDataset

log = logging.getLogger(__name__)
MODES = ("off", "auto", "write", "read")


def clip_cache_mode(config: dict) -> str:
    """The effective mode of `dataset.feature_cache` for this run ("off" unless finetune=frozen); logs once why."""
    mode = config["dataset"]["feature_cache"]
    mode = "off" if mode is False else mode  # YAML 1.1 reads a bare `off` as false
    if mode not in MODES:
        raise UserError(f"dataset.feature_cache={mode}: choose one of {', '.join(MODES)}")
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


class ClipFeatureCaching(pl.Callback):
    """Fills the cache in the `setup("fit")` hook (sharded over DDP ranks), then swaps the datamodule's train/val
    sets for HeaderCachedFeatureDataset. Not on_fit_start: Lightning builds the train loader before that (to count
    the stepping batches for the LR schedule) and keeps it, so a later swap would train on pixels. Callback setup
    runs after datamodule.setup and after the process group exists, before checkpoint restore (the frozen
    backbone is the same either way: loaded weights or the seeded random init)."""

    def __init__(self, config: dict, mode: str):
        assert mode in ("auto", "write", "read"), f"ClipFeatureCaching needs an active mode, got {mode}"
        self.config, self.mode = config, mode

    def setup(self, trainer: pl.Trainer, pl_module, stage: str) -> None:
        if stage != "fit":
            return  # validate/test/predict keep the pixel pipeline
        pl_module.to(trainer.strategy.root_device)  # encode on the accelerator (the strategy moves it there anyway)
        net, datamodule, dataset = pl_module.net, trainer.datamodule, self.config["dataset"]
        assert net.backbone_frozen and not any(p.requires_grad for p in net.backbone.parameters()), \
            "the clip-feature cache needs a frozen backbone (finetune=frozen)"
        cache = FrameFeatureCache(Path(self.config["paths"]["cache_dir"]), clip_cache_namespace(self.config, net))
        # Both splits under the evaluation transform: one namespace, one entry per clip file.
        splits = {split: HeaderClipDataset(table.rows, num_frames=dataset["num_frames"],
                                           transform=datamodule.val_transform, seed=self.config["seed"])
                  for split, table in (("train", datamodule.train_table), ("val", datamodule.val_table))}
        for split, pixels in splits.items():
            if self.mode == "read":
                missing = len(missing_entries(pixels.files, cache, net.feature_dim))
                if missing:
                    raise UserError(f"dataset.feature_cache=read: {missing} of {len(pixels)} {split} clips are not "
                                    f"in {cache.dir}; use dataset.feature_cache=auto (same overrides) to build them")
                continue
            backbone_mode = net.backbone.training
            net.backbone.eval()  # already so when frozen; made sure, since BatchNorm/dropout would change features
            fill_clip_cache(pixels, cache, net.feature_dim, net.frozen_features, batch_size=dataset["val_batch_size"],
                            num_workers=dataset["num_workers"], device=pl_module.device, rank=trainer.global_rank,
                            world_size=trainer.world_size, overwrite=self.mode == "write", label=split)
            net.backbone.train(backbone_mode)
        trainer.strategy.barrier("clip-feature-cache")  # every rank's share is on disk before anyone reads
        datamodule.train_set = HeaderCachedFeatureDataset(splits["train"], cache, net.feature_dim)
        datamodule.val_set = HeaderCachedFeatureDataset(splits["val"], cache, net.feature_dim)

