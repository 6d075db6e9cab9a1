"""Frame-feature cache: video_coop epoch time without the cache, building it, and cached epochs; logit agreement.

    python -m benchmarks.cache                       # demo set; tiny CLIP and a random-init ViT-B/16 (no download)
    python -m benchmarks.cache --backbones clip_tiny_deep --epochs 2
    python -m benchmarks.cache --epochs 2 --uncached-epochs 1 --diff-clips 4 \
        --override dataset.k_train=4 --override dataset.num_frames=4            # what `make bench` runs
    python -m benchmarks.cache --task header --backbones csn_tiny vmae_tiny   # task=header, finetune=frozen
    python -m benchmarks.cache --task header --real-size   # VideoMAE-Base + CSN-50, random init, 16 clips 16x224²

task=clip, each backbone: (1) a run with dataset.feature_cache=off, (2) building the cache
(src/clip/feature_cache_tool.py, what data_tools/cache_features.py runs), (3) a run with
dataset.feature_cache=read; epoch seconds come from the runs' training_log.json. The logits of the validation
videos from pixels and from the cache are compared (max |difference|).
task=header (finetune=frozen), each backbone: a fit with the cache off and one with it on (auto: the first epoch
builds it); epochs timed by a callback; the logits of the validation clips through the whole net and through the
head on their cached features are compared. `--real-size` uses the sizes where a cache matters (a frozen
VideoMAE-Base and CSN-50 on 16-frame 224² clips); the default is the tiny backbones, where fixed overhead dominates.
"""
import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import pytorch_lightning as pl
import torch
from omegaconf import OmegaConf

from benchmarks.common import RESULTS_DIR, compose_config, median, print_table, save_results
from src.clip.feature_cache_tool import cache_features
from src.train import train

# task=header backbones by name: a conf/backbone group, or one of these random-init real-size architectures.
HEADER_BACKBONES = {
    "vmae_base": ["backbone=vmae", "backbone.ckpt=null", "backbone.variant=base"],  # ViT-B/16, tubelet 2
    "csn50": ["backbone=csn", "backbone.model_depth=50"],                           # ir-CSN-50, 64-wide stem
}
REAL_SIZE = {"backbones": ["vmae_base", "csn50"], "clips": 16, "frames": 16, "size": 224, "batch_size": 4,
             "epochs": 3, "uncached_epochs": 1, "diff_clips": 4}


def run(overrides: list[str]) -> list[dict]:
    cfg = OmegaConf.create(compose_config(overrides))
    train(cfg)
    return json.loads((Path(cfg.run_dir) / "training_log.json").read_text())


def logit_difference(overrides: list[str], max_videos: int | None = None) -> float:
    """Max |logits from pixels - logits from cached features| over the validation videos (the first
    `max_videos`)."""
    from src.clip.data.dataset import collate_skip_bad
    from src.clip.feature_cache import FrameFeatureSource
    from src.clip.task import build
    from src.core.feature_cache.dataset import CachedFeatureDataset
    from src.core.feature_cache.store import FeatureStore

    cfg = OmegaConf.create(compose_config(overrides))
    pl.seed_everything(cfg.seed)  # a random-init backbone is a function of the seed (as in src.train)
    parts = build(cfg)
    model, dm = parts.module.model.eval(), parts.datamodule
    split = FrameFeatureSource(OmegaConf.to_container(cfg), cache_train=False).splits(dm, model)["val"]
    pixels, cached = split.pixels, CachedFeatureDataset(FeatureStore(Path(cfg.paths.cache_dir), split.namespace), split)
    worst = 0.0
    with torch.no_grad():
        for i in range(min(len(pixels), max_videos or len(pixels))):
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


def header_logit_difference(parts, max_clips: int | None = None) -> float:
    """Max |logits of the val clips (the first `max_clips`) through the whole net - logits of their cached
    features through the head|."""
    dm, net = parts.datamodule, parts.module.net.eval()
    pixels = dm.cacheable_sets()["val"]  # the evaluation transform, as the cache was filled
    device = next(net.parameters()).device
    worst = 0.0
    with torch.no_grad():
        for i in range(min(len(pixels), max_clips or len(pixels))):
            full = net(pixels[i]["video"][None].to(device))                             # (1, 2)
            cached = net.head_forward(dm.val_set[i]["features"][None].to(device))       # (1, 2)
            worst = max(worst, (full - cached).abs().max().item())
    return worst


def header_size_overrides(size: dict) -> list[str]:
    """Overrides making the synthetic header set `size["clips"]` clips of frames x size² and reading them whole."""
    given = {k: v for k, v in size.items() if v is not None}
    given.pop("diff_clips", None)  # not a config key: how many val clips the logit check runs through the net
    keys = {"clips": ["dataset.synthetic.num_clips"], "frames": ["dataset.synthetic.num_frames", "dataset.num_frames"],
            "size": ["dataset.synthetic.size", "dataset.input_size"], "batch_size": ["dataset.batch_size"]}
    return [f"{key}={value}" for name, value in given.items() for key in keys[name]]


def header_main(backbones: list[str], epochs: int, uncached_epochs: int, size: dict, out: Path,
                name: str = "cache_header") -> dict:
    """task=header, finetune=frozen on the (synthetic) header demo set: epochs without the cache vs with it (auto)."""
    work = Path(tempfile.mkdtemp(prefix="bench-header-cache-"))
    rows, results = [], {"settings": {**size, "epochs": epochs, "uncached_epochs": uncached_epochs,
                                      "torch_threads": torch.get_num_threads(), "load_before": os.getloadavg()}}
    for backbone in backbones:
        common = ["experiment=header_demo", *HEADER_BACKBONES.get(backbone, [f"backbone={backbone}"]),
                  *header_size_overrides(size), "finetune=frozen", "finetune.lr_backbone=null",
                  f"paths.root_dir={work}", "dataset.num_workers=2"]
        _, plain = header_fit([*common, f"trainer.max_epochs={uncached_epochs}", "dataset.feature_cache=off",
                               f"run_name={backbone}-off"])
        parts, cached = header_fit([*common, f"trainer.max_epochs={epochs}", "dataset.feature_cache=auto",
                                    f"run_name={backbone}-auto"])
        uncached_epoch = median(plain.epochs)
        later = median(cached.epochs[1:] or cached.epochs)
        diff = header_logit_difference(parts, size.get("diff_clips"))
        results[backbone] = {"uncached_epoch_s": uncached_epoch, "cache_build_s": cached.to_first_epoch,
                             "first_cached_epoch_s": cached.to_first_epoch + cached.epochs[0],
                             "later_cached_epoch_s": later, "speedup_later": uncached_epoch / later,
                             "max_abs_logit_diff": diff, "train_clips": parts.datamodule.describe()["train_clips"],
                             "val_clips": parts.datamodule.describe()["val_clips"]}
        rows.append([backbone, uncached_epoch, cached.to_first_epoch + cached.epochs[0], later,
                     uncached_epoch / later, diff])
        results["settings"]["load_after"] = os.getloadavg()
        save_results(name, results, out)  # after each backbone: a long run stopped early keeps what it measured
    print_table(f"header (finetune=frozen) epoch time (s), synthetic clips {size}", ["backbone", "uncached",
                "first cached (build + epoch)", "later cached", "speed-up", "max |Δlogit|"], rows)
    return results


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", choices=["clip", "header"], default="clip")
    parser.add_argument("--backbones", nargs="+", default=None,
                        help="default: clip_tiny_deep clip_b16 (clip), csn_tiny vmae_tiny (header)")
    parser.add_argument("--epochs", type=int, default=None, help="epochs per run (default 3)")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR)
    parser.add_argument("--uncached-epochs", type=int, default=None, help="epochs of the run without the cache "
                        "(default: --epochs; each costs a full forward of every video)")
    parser.add_argument("--diff-clips", type=int, default=None, help="validation videos the logit check runs "
                        "through the whole net (default: all)")
    parser.add_argument("--override", action="append", default=[], metavar="KEY=VALUE",
                        help="task=clip: a Hydra override for every run (e.g. dataset.num_frames=4); repeatable")
    header = parser.add_argument_group("task=header")
    header.add_argument("--real-size", action="store_true",
                        help=f"defaults for a real-size measurement: {REAL_SIZE}")
    header.add_argument("--clips", type=int, default=None, help="synthetic clips, split 3:1 into train/val")
    header.add_argument("--frames", type=int, default=None, help="frames per clip")
    header.add_argument("--size", type=int, default=None, help="clip side in pixels")
    header.add_argument("--batch-size", type=int, default=None)
    args = parser.parse_args(argv)
    preset = REAL_SIZE if args.real_size else {"backbones": None, "epochs": 3, "uncached_epochs": None}
    args.epochs = args.epochs or preset["epochs"]
    if args.task == "header" and args.override:
        parser.error("--override: task=clip only (task=header takes --clips, --frames, --size, --batch-size)")
    if args.task == "header":
        size = {k: getattr(args, k) or preset.get(k) for k in ("clips", "frames", "size", "batch_size", "diff_clips")}
        uncached = args.uncached_epochs or preset["uncached_epochs"] or args.epochs
        return header_main(args.backbones or preset["backbones"] or ["csn_tiny", "vmae_tiny"], args.epochs,
                           uncached, size, args.out, "cache_header_real_size" if args.real_size else "cache_header")
    args.backbones = args.backbones or ["clip_tiny_deep", "clip_b16"]
    work = Path(tempfile.mkdtemp(prefix="bench-cache-"))
    rows, results = [], {}
    for backbone in args.backbones:
        common = ["experiment=demo", f"backbone={backbone}", "backbone.pretrained=null", f"paths.root_dir={work}",
                  "~callbacks.early_stopping", "~callbacks.progress_bar",
                  "task.test_after_fit=false", "dataset.num_workers=2",
                  # torch's default threads (every core): the frozen backbone is the work, the two workers barely
                  # decode; `auto` would leave them a core each and halve ViT-B/16's speed on a 2-core machine.
                  "trainer.cpu_threads=null", *args.override]
        plain = run([*common, f"trainer.max_epochs={args.uncached_epochs or args.epochs}",
                     "dataset.feature_cache=off", f"run_id={backbone}-off"])
        start = time.perf_counter()
        cache_features(OmegaConf.create(compose_config([*common, "dataset.feature_cache=write"])))
        build_s = time.perf_counter() - start
        cached = run([*common, f"trainer.max_epochs={args.epochs}", "dataset.feature_cache=read",
                      f"run_id={backbone}-read"])
        uncached_epoch = median([r["seconds"] for r in plain])
        first_cached = build_s + cached[0]["seconds"]
        later_cached = median([r["seconds"] for r in cached[1:]] or [cached[0]["seconds"]])
        diff = logit_difference([*common, "dataset.feature_cache=read", f"run_id={backbone}-diff"], args.diff_clips)
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
