"""Frame-feature cache: video_coop epoch time without the cache, building it, and cached epochs; logit agreement.

    python -m benchmarks.cache                       # demo set; tiny CLIP and a random-init ViT-B/16 (no download)
    python -m benchmarks.cache --backbones clip_tiny_deep --epochs 2

Each backbone: (1) a run with dataset.feature_cache=off, (2) building the cache (data_tools.cache_features),
(3) a run with dataset.feature_cache=read; epoch seconds come from the runs' training_log.json. The logits of
the validation videos from pixels and from the cache are compared (max |difference|).
"""
import argparse
import json
import tempfile
import time
from pathlib import Path

import pytorch_lightning as pl
import torch
from omegaconf import OmegaConf

from benchmarks.common import RESULTS_DIR, compose_config, median, print_table, save_results
from data_tools.cache_features import cache_features
from src.train import train


def run(overrides: list[str]) -> list[dict]:
    cfg = OmegaConf.create(compose_config(overrides))
    train(cfg)
    return json.loads((Path(cfg.run_dir) / "training_log.json").read_text())


def logit_difference(overrides: list[str]) -> float:
    """Max |logits from pixels - logits from cached features| over the validation videos."""
    from src.data.cached_features import CachedFeatureDataset
    from src.data.video_dataset import collate_skip_bad
    from src.tasks.clip_task import build
    from src.tasks.frame_feature_caching import build_caches

    cfg = OmegaConf.create(compose_config(overrides))
    pl.seed_everything(cfg.seed)  # a random-init backbone is a function of the seed (as in src.train)
    parts = build(cfg)
    model, dm = parts.module.model.eval(), parts.datamodule
    pixels, cache, shape = build_caches(OmegaConf.to_container(cfg), model, dm, cache_train=False)["val"]
    cached = CachedFeatureDataset(pixels, cache, shape)
    worst = 0.0
    with torch.no_grad():
        for i in range(len(pixels)):
            a, b = collate_skip_bad([pixels[i]]), collate_skip_bad([cached[i]])
            worst = max(worst, (model(a["video"]) - model.forward_features(b["features"])).abs().max().item())
    return worst


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backbones", nargs="+", default=["clip_tiny_deep", "clip_b16"])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULTS_DIR)
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="bench-cache-"))
    rows, results = [], {}
    for backbone in args.backbones:
        common = ["experiment=demo", f"backbone={backbone}", "backbone.pretrained=null", f"paths.root_dir={work}",
                  f"trainer.max_epochs={args.epochs}", "~callbacks.early_stopping", "~callbacks.progress_bar",
                  "task.test_after_fit=false", "dataset.num_workers=2"]
        plain = run([*common, "dataset.feature_cache=off", f"run_id={backbone}-off"])
        start = time.perf_counter()
        cache_features(OmegaConf.create(compose_config([*common, "dataset.feature_cache=write"])))
        build_s = time.perf_counter() - start
        cached = run([*common, "dataset.feature_cache=read", f"run_id={backbone}-read"])
        uncached_epoch = median([r["seconds"] for r in plain])
        first_cached = build_s + cached[0]["seconds"]
        later_cached = median([r["seconds"] for r in cached[1:]] or [cached[0]["seconds"]])
        diff = logit_difference([*common, "dataset.feature_cache=read", f"run_id={backbone}-diff"])
        results[backbone] = {"uncached_epoch_s": uncached_epoch, "cache_build_s": build_s,
                             "first_cached_epoch_s": first_cached, "later_cached_epoch_s": later_cached,
                             "speedup_later": uncached_epoch / later_cached, "max_abs_logit_diff": diff}
        rows.append([backbone, uncached_epoch, first_cached, later_cached, uncached_epoch / later_cached, diff])
    print_table("video_coop epoch time (s) on the demo set", ["backbone", "uncached", "first cached (build + epoch)",
                "later cached", "speed-up", "max |Δlogit|"], rows)
    save_results("cache", results, args.out)
    return results


if __name__ == "__main__":
    main()
