"""Frame-feature cache: video_coop epoch time without the cache, building it, and cached epochs; logit agreement.

    python -m benchmarks.cache                       # demo set; tiny CLIP and a random-init ViT-B/16 (no download)
    python -m benchmarks.cache --backbones clip_tiny_deep --epochs 2
    python -m benchmarks.cache --task header --backbones csn_tiny vmae_tiny   # task=header, finetune=frozen

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
    from src.clip.data.cached_features import CachedFeatureDataset
    from src.clip.data.dataset import collate_skip_bad
    from src.clip.feature_cache import build_caches
    from src.clip.task import build

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


class EpochTimer(pl.Callback):
    """Seconds from fit start to the first epoch (cache filling happens there) and of each training epoch
    (validation included: it runs inside the epoch)."""

    def __init__(self):
        self.fit_start, self.to_first_epoch, self.epochs, self._t = time.perf_counter(), None, [], None

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        self._t = time.perf_counter()
        if self.to_first_epoch is None:
            self.to_first_epoch = self._t - self.fit_start

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        self.epochs.append(time.perf_counter() - self._t)


def header_fit(overrides: list[str]):
    """One in-process task=header fit; returns (parts, timer)."""
    from src.header.task import build

    cfg = OmegaConf.create(compose_config(overrides))
    pl.seed_everything(cfg.seed)  # a random-init backbone is a function of the seed (as in src.train)
    parts, timer = build(cfg), EpochTimer()
    trainer = pl.Trainer(accelerator="auto", devices=1, logger=False, enable_progress_bar=False,
                         enable_model_summary=False, enable_checkpointing=False, num_sanity_val_steps=0,
                         max_epochs=cfg.trainer.max_epochs, callbacks=[*parts.callbacks, timer])
    timer.fit_start = time.perf_counter()
    trainer.fit(parts.module, datamodule=parts.datamodule)
    return parts, timer


def header_logit_difference(parts) -> float:
    """Max |logits of the val clips through the whole net - logits of their cached features through the head|."""
    from src.header.data.dataset import HeaderClipDataset

    dm, net = parts.datamodule, parts.module.net.eval()
    pixels = HeaderClipDataset(dm.val_table.rows, num_frames=dm.cfg["num_frames"], transform=dm.val_transform, seed=0)
    device = next(net.parameters()).device
    worst = 0.0
    with torch.no_grad():
        for i in range(len(pixels)):
            full = net(pixels[i]["video"][None].to(device))                             # (1, 2)
            cached = net.head_forward(dm.val_set[i]["features"][None].to(device))       # (1, 2)
            worst = max(worst, (full - cached).abs().max().item())
    return worst


def header_main(backbones: list[str], epochs: int, out: Path) -> dict:
    """task=header, finetune=frozen on the header demo set: epochs without the cache vs with it (auto)."""
    work = Path(tempfile.mkdtemp(prefix="bench-header-cache-"))
    rows, results = [], {}
    for backbone in backbones:
        common = ["experiment=header_demo", f"backbone={backbone}", "finetune=frozen", "finetune.lr_backbone=null",
                  f"paths.root_dir={work}", f"trainer.max_epochs={epochs}", "dataset.num_workers=2"]
        _, plain = header_fit([*common, "dataset.feature_cache=off", f"run_name={backbone}-off"])
        parts, cached = header_fit([*common, "dataset.feature_cache=auto", f"run_name={backbone}-auto"])
        uncached_epoch = median(plain.epochs)
        later = median(cached.epochs[1:] or cached.epochs)
        diff = header_logit_difference(parts)
        results[backbone] = {"uncached_epoch_s": uncached_epoch, "cache_build_s": cached.to_first_epoch,
                             "first_cached_epoch_s": cached.to_first_epoch + cached.epochs[0],
                             "later_cached_epoch_s": later, "speedup_later": uncached_epoch / later,
                             "max_abs_logit_diff": diff}
        rows.append([backbone, uncached_epoch, cached.to_first_epoch + cached.epochs[0], later,
                     uncached_epoch / later, diff])
    print_table("header (finetune=frozen) epoch time (s) on the header demo set", ["backbone", "uncached",
                "first cached (build + epoch)", "later cached", "speed-up", "max |Δlogit|"], rows)
    save_results("cache_header", results, out)
    return results


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", choices=["clip", "header"], default="clip")
    parser.add_argument("--backbones", nargs="+", default=None,
                        help="default: clip_tiny_deep clip_b16 (clip), csn_tiny vmae_tiny (header)")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULTS_DIR)
    args = parser.parse_args(argv)
    if args.task == "header":
        return header_main(args.backbones or ["csn_tiny", "vmae_tiny"], args.epochs, args.out)
    args.backbones = args.backbones or ["clip_tiny_deep", "clip_b16"]
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
