"""Pre-build the frame-feature cache of a dataset, with a progress bar (same overrides as `src.train`).

    python -m data_tools.cache_features method=video_coop dataset=ucf101 backbone=clip_b16
    python -m data_tools.cache_features experiment=demo          # the synthetic set with the demo's tiny CLIP

Afterwards `python -m src.train … dataset.feature_cache=read` (or auto) trains on the cached features.
"""
import logging
import sys

import hydra
import pytorch_lightning as pl
import torch
from omegaconf import DictConfig, OmegaConf

from src.clip.data.cached_features import fill_cache
from src.clip.data.datamodule import VideoDataModule
from src.clip.feature_cache import build_caches, caching_plan, encode_videos
from src.clip.models.backbone import load_clip
from src.clip.models.registry import build_method
from src.core import run_naming  # noqa: F401  (registers the run_tag resolver)
from src.core.errors import UserError

log = logging.getLogger(__name__)


def cache_features(cfg: DictConfig) -> dict:
    config = OmegaConf.to_container(cfg, resolve=True)
    if str(config["dataset"]["feature_cache"]) in ("off", "False", "read"):
        config["dataset"]["feature_cache"] = "auto"  # this tool's whole point is to write the cache
    pl.seed_everything(cfg.seed, workers=True)
    datamodule = VideoDataModule(dataset=config["dataset"], backbone=config["backbone"], seed=cfg.seed)
    clip, tokenizer = load_clip(config["backbone"])
    model = build_method(config["method"], clip, tokenizer, datamodule.class_names, config["dataset"]["num_frames"])
    cache_eval, cache_train = caching_plan(config, model)
    if not cache_eval:
        raise UserError(f"method={config['method']['name']} cannot use cached frame features (it prompts the image "
                        "tower); nothing to build")
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model.to(device).eval()
    stats = {}
    for split, (pixels, cache, shape) in build_caches(config, model, datamodule, cache_train).items():
        stats[split] = fill_cache(pixels, cache, shape, encode_videos(model), batch_size=config["dataset"]["batch_size"],
                                  num_workers=config["dataset"]["num_workers"], device=device,
                                  overwrite=config["dataset"]["feature_cache"] == "write", label=split)
        print(f"{split}: {stats[split]} -> {cache.dir}")
    return stats


@hydra.main(version_base="1.3", config_path="../conf", config_name="train")
def main(cfg: DictConfig) -> None:
    try:
        cache_features(cfg)
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
