"""Steps/s of ClipVideoModule under the Lightning Trainer vs a bare PyTorch loop on the same model and batches.

    python -m benchmarks.overhead                                   # experiment=demo's model and frames, CPU
    python -m benchmarks.overhead --backbone clip_tiny              # a shallower tiny CLIP: overhead shows more
    python -m benchmarks.overhead --backbone clip_b16 --random-init --device cuda

Both sides train the same module on the same in-memory batches through the same DataLoader (num_workers=0,
batch_size=None: the batches are already whole). The bare loop does what Lightning's automatic optimisation
does for this module: forward, the training loss, backward, gradient-norm clipping, optimizer step, zero_grad.
Lightning adds its hooks, the module's self.log calls and its torchmetrics updates: that is the overhead measured.
A third variant, the module with self.log switched off, shows how much of it is per-step logging.
Rates are 1 / median step time on CPU (see StepTimer); rounds rotate which variant runs first; the headline
ratio is the median of the per-round ratios.
Target (the issue): Lightning ≥ 0.95 × the bare loop. `--profile` adds one Lightning run under cProfile.
"""
import argparse
import cProfile
import logging
import pstats
import warnings
from pathlib import Path

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

from benchmarks.common import (
    RESULTS_DIR,
    StepTimer,
    backbone_overrides,
    class_names,
    clock_name,
    compose_config,
    environment,
    median,
    print_table,
    resolve_device,
    save_results,
)
from src.clip.module import ClipVideoModule

TARGET_RATIO = 0.95
VARIANTS = {"lightning": "lightning", "lightning_without_log": "no log", "bare": "bare"}   # key -> table label
# Lightning's notes that do not concern a benchmark (no val loader, frozen CLIP in eval mode, a torch deprecation).
QUIET = r".*(does not have many workers|no `val_dataloader`|module\(s\) in eval mode|isinstance\(treespec, LeafSpec\)).*"


class CycledBatches(Dataset):
    """`length` items cycling over a few fixed batches held in memory (load with batch_size=None: no collate)."""

    def __init__(self, batches: list[dict], length: int):
        self.batches, self.length = batches, length

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, i: int) -> dict:
        return self.batches[i % len(self.batches)]


def make_batches(cfg: dict, num_batches: int, num_classes: int, device: torch.device) -> list[dict]:
    """Random batches shaped like the video datamodule's: video (B, V, T, 3, S, S), label/index (B,), num_bad."""
    dataset, image_size = cfg["dataset"], cfg["backbone"]["image_size"]
    B, T = dataset["batch_size"], dataset["num_frames"]
    V = dataset["num_temporal_views"] * dataset["num_spatial_views"]
    gen = torch.Generator().manual_seed(cfg["seed"])
    batches = []
    for b in range(num_batches):
        batches.append({
            "video": torch.randn(B, V, T, 3, image_size, image_size, generator=gen).to(device),  # (B, V, T, 3, S, S)
            "label": torch.randint(num_classes, (B,), generator=gen).to(device),                # (B,)
            "index": torch.arange(b * B, (b + 1) * B, device=device),                           # (B,)
            "num_bad": torch.tensor(0, device=device),
        })
    return batches


class StepClock(pl.Callback):
    """Marks the end of the last warm-up step and of every timed step on a StepTimer."""

    def __init__(self, warmup: int, last: int, timer: StepTimer):
        self.warmup, self.last, self.timer = warmup, last, timer

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx: int) -> None:
        if batch_idx >= self.warmup - 1:
            self.timer.mark(last=batch_idx == self.last)


class ClipVideoModuleWithoutLog(ClipVideoModule):
    """The same module with self.log a no-op: how much of the overhead is per-step logging (diagnosis only)."""

    def log(self, *args, **kwargs) -> None:
        pass


def lightning_trainer(cfg: dict, device: torch.device, max_steps: int, callbacks: list) -> pl.Trainer:
    """The run's trainer settings that change the work per step (clipping, precision); nothing that writes files."""
    trainer = cfg["trainer"]
    return pl.Trainer(
        accelerator="gpu" if device.type == "cuda" else "cpu", devices=1, max_steps=max_steps, logger=False,
        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0,
        limit_val_batches=0, gradient_clip_val=trainer["gradient_clip_val"],
        gradient_clip_algorithm=trainer["gradient_clip_algorithm"], precision=trainer["precision"],
        callbacks=callbacks)


def lightning_rate(module: ClipVideoModule, loader: DataLoader, cfg: dict, device: torch.device,
                   warmup: int, steps: int) -> float:
    """Steps/s of trainer.fit over the loader (Trainer setup and teardown are outside the timed window)."""
    timer = StepTimer(device)
    lightning_trainer(cfg, device, warmup + steps, [StepClock(warmup, warmup + steps - 1, timer)]).fit(
        module, train_dataloaders=loader)
    assert len(timer.stamps) == steps + 1, "the Lightning run stopped before the last timed step"
    return timer.steps_per_s()


def bare_optimizer(module: ClipVideoModule, cfg: dict) -> torch.optim.Optimizer:
    """The optimizer of module.configure_optimizers() (it reads trainer.max_epochs, so attach one briefly)."""
    module.trainer = pl.Trainer(max_epochs=cfg["trainer"]["max_epochs"], logger=False, enable_progress_bar=False)
    optimizer = module.configure_optimizers()["optimizer"]
    module.trainer = None
    return optimizer


def bare_rate(module: ClipVideoModule, optimizer: torch.optim.Optimizer, loader: DataLoader, cfg: dict,
              device: torch.device, warmup: int) -> float:
    """Steps/s of a plain loop doing the work of Lightning's automatic optimisation for this module."""
    clip_val = cfg["trainer"]["gradient_clip_val"]
    params = [p for group in optimizer.param_groups for p in group["params"]]
    model = module.to(device).train().model
    timer = StepTimer(device)
    for i, batch in enumerate(loader):
        logits = model(batch["video"])                                   # (B, C)
        loss = F.cross_entropy(logits, batch["label"]) + model.extra_loss()
        loss.backward()
        if clip_val:
            torch.nn.utils.clip_grad_norm_(params, clip_val)
        optimizer.step()
        optimizer.zero_grad()
        if i >= warmup - 1:
            timer.mark(last=i == len(loader) - 1)
    return timer.steps_per_s()


def profile_lightning(module: ClipVideoModule, loader: DataLoader, cfg: dict, device: torch.device) -> None:
    """One more Lightning run under cProfile: the Lightning / torchmetrics / module calls by cumulative time."""
    profiler = cProfile.Profile()
    trainer = lightning_trainer(cfg, device, len(loader), [])
    profiler.runcall(trainer.fit, module, train_dataloaders=loader)
    stats = pstats.Stats(profiler).sort_stats("cumulative")
    stats.print_stats(r"pytorch_lightning|torchmetrics|lightning_utilities|clip_module", 30)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backbone", default=None, help="conf/backbone/<name>.yaml (default: experiment=demo's)")
    parser.add_argument("--random-init", action="store_true", help="backbone.pretrained=null (no download)")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--threads", type=int, default=1,
                        help="CPU threads for torch (1: steady timings on a shared machine; 0: torch's default)")
    parser.add_argument("--classes", type=int, default=10, help="number of classes (prompts)")
    parser.add_argument("--steps", type=int, default=30, help="timed steps per variant and round")
    parser.add_argument("--warmup", type=int, default=5, help="untimed steps before the timed ones")
    parser.add_argument("--rounds", type=int, default=7, help="rounds; each round rotates which variant runs first")
    parser.add_argument("--batches", type=int, default=4, help="distinct random batches cycled through")
    parser.add_argument("--override", action="append", default=[], help="extra Hydra override, e.g. dataset.batch_size=4")
    parser.add_argument("--profile", action="store_true", help="also print a cProfile summary of one Lightning run")
    parser.add_argument("--out-dir", type=Path, default=RESULTS_DIR)
    args = parser.parse_args(argv)
    if min(args.warmup, args.steps, args.rounds, args.classes, args.batches) < 1:
        parser.error("--warmup, --steps, --rounds, --classes and --batches must be at least 1")
    return args


def settings(cfg: dict, args: argparse.Namespace, device: torch.device) -> dict:
    dataset, backbone = cfg["dataset"], cfg["backbone"]
    return {
        "backbone": backbone["name"], "pretrained": backbone["pretrained"], "model_cfg": backbone["model_cfg"],
        "method": cfg["method"]["name"],
        "classes": args.classes, "batch_size": dataset["batch_size"],
        "views": dataset["num_temporal_views"] * dataset["num_spatial_views"], "frames": dataset["num_frames"],
        "image_size": backbone["image_size"], "precision": cfg["trainer"]["precision"],
        "gradient_clip_val": cfg["trainer"]["gradient_clip_val"], "steps": args.steps, "warmup": args.warmup,
        "rounds": args.rounds, "threads": torch.get_num_threads(), "clock": clock_name(device),
        "overrides": args.override,
    }


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    logging.getLogger("pytorch_lightning").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", message=QUIET)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    cfg = compose_config(["experiment=demo", *backbone_overrides(args.backbone, args.random_init), *args.override])
    assert cfg["trainer"]["accumulate_grad_batches"] == 1, "the bare loop steps every batch: keep accumulation at 1"
    assert not cfg["method"]["videomix"], "the bare loop does not mix videos: keep method.videomix=null"

    modules = {}
    for variant, module_class in (("lightning", ClipVideoModule), ("lightning_without_log", ClipVideoModuleWithoutLog)):
        torch.manual_seed(cfg["seed"])  # the same clip_tiny / --random-init weights and prompt context for both
        modules[variant] = module_class.from_config(cfg, class_names(args.classes))
    batches = make_batches(cfg, args.batches, args.classes, device)
    loader = DataLoader(CycledBatches(batches, args.warmup + args.steps), batch_size=None, num_workers=0)
    optimizer = bare_optimizer(modules["lightning"], cfg)

    variants = list(VARIANTS)
    rounds = []
    for r in range(args.rounds):
        order = variants[r % 3:] + variants[:r % 3]  # rotate: no variant always runs first (or last)
        rates = {}
        for variant in order:
            if variant == "bare":
                rates[variant] = bare_rate(modules["lightning"], optimizer, loader, cfg, device, args.warmup)
            else:
                rates[variant] = lightning_rate(modules[variant], loader, cfg, device, args.warmup, args.steps)
        rounds.append({"round": r, "first": VARIANTS[order[0]], **{f"{v}_steps_per_s": rates[v] for v in variants},
                       "ratio": rates["lightning"] / rates["bare"],
                       "ratio_without_log": rates["lightning_without_log"] / rates["bare"]})

    medians = {key: median([r[key] for r in rounds])
               for key in [f"{v}_steps_per_s" for v in variants] + ["ratio", "ratio_without_log"]}
    results = {"benchmark": "overhead", "settings": settings(cfg, args, device), "environment": environment(device),
               "rounds": rounds, **medians, "target_ratio": TARGET_RATIO,
               "meets_target": medians["ratio"] >= TARGET_RATIO}
    print_table(
        f"Lightning vs a bare loop: {cfg['backbone']['name']}, {args.classes} classes, {device.type} (steps/s)",
        ["round", "first", *VARIANTS.values(), "ratio", "ratio, no log"],
        [[r["round"], r["first"], *(r[f"{v}_steps_per_s"] for v in variants), r["ratio"], r["ratio_without_log"]]
         for r in rounds]
        + [["median", "", *(medians[f"{v}_steps_per_s"] for v in variants), medians["ratio"],
            medians["ratio_without_log"]]])
    verdict = "meets" if results["meets_target"] else "is BELOW"
    print(f"Lightning runs at {medians['ratio']:.3f}x the bare loop ({medians['ratio_without_log']:.3f}x with "
          f"self.log switched off): {verdict} the {TARGET_RATIO}x target")
    save_results("overhead", results, args.out_dir)
    if args.profile:
        profile_lightning(modules["lightning"], loader, cfg, device)
    return results


if __name__ == "__main__":
    main()
