"""Pre-build task=clip's frame-feature cache outside a training run (library code of data_tools/cache_features.py).

The same config as `src.train`; the same filling code as the training-time callback (src/core/feature_cache/),
on one process, with a progress bar. Afterwards `python -m src.train … dataset.feature_cache=read` (or auto)
trains on the cached features.
"""
import logging
from pathlib import Path

import pytorch_lightning as pl
import torch
from omegaconf import DictConfig, OmegaConf

from src.clip.data.datamodule import VideoDataModule
from src.clip.feature_cache import FrameFeatureSource, caching_plan, refuse_cache_for_finetuning
from src.clip.models.backbone import load_clip
from src.clip.models.registry import METHODS, build_method
from src.core.errors import UserError
from src.core.feature_cache.fill import prepare_caches

log = logging.getLogger(__name__)


def cache_features(cfg: DictConfig) -> dict:
    """Fill the cache for every cacheable split of the configured run; returns split -> fill counts."""
    config = OmegaConf.to_container(cfg, resolve=True)
    if str(config["dataset"]["feature_cache"]) in ("off", "False", "read"):
        config["dataset"]["feature_cache"] = "auto"  # this tool's whole point is to write the cache
    refuse_cache_for_finetuning(config["method"]["name"], "auto")
    method = METHODS.get(config["method"]["name"])
    if method is not None and not method.caches_frame_features():  # before anything is read or written
        raise UserError(f"method={config['method']['name']} cannot use cached frame features (it prompts the image "
                        "tower); nothing to build")
    pl.seed_everything(cfg.seed, workers=True)  # a random-init backbone is a function of the seed (as in src.train)
    datamodule = VideoDataModule(dataset=config["dataset"], backbone=config["backbone"], seed=cfg.seed,
                                 cache_dir=Path(config["paths"]["cache_dir"]))
    datamodule.prepare_data()
    clip, tokenizer = load_clip(config["backbone"])
    model = build_method(config["method"], clip, tokenizer, datamodule.class_names, config["dataset"]["num_frames"])
    mode, _, cache_train = caching_plan(config, model)   # cacheable (checked above): evaluation is cached
    datamodule.keep_index()  # past the checks: a scanned dataset index goes to the index cache
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model.to(device)
    prepared = prepare_caches(FrameFeatureSource(config, cache_train), model, datamodule,
                              Path(config["paths"]["cache_dir"]), mode, device=device)
    stats = {}
    for split, (store, _, split_stats) in prepared.items():
        stats[split] = split_stats
        print(f"{split}: {split_stats} -> {store.dir}")
    return stats
