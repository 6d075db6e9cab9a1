"""Training-step time of video_coop against the number of classes C and of frames T.

    python -m benchmarks.scaling                                    # clip_tiny, CPU
    python -m benchmarks.scaling --backbone clip_b16 --random-init --device cuda

One step = forward + cross-entropy + backward + gradient-norm clipping + AdamW step + zero_grad on a fixed
random batch, with conf/method/video_coop.yaml's defaults (attention pooling, 8 context tokens). Classes sweep at
T = --fixed-frames, frames sweep at C = --fixed-classes. Beside the whole step, the two towers are timed alone:
the text path (learned prompts of all C classes through CLIP's text transformer, forward + backward: video_coop
runs it every step, so it grows with C) and the frame path (the frozen image tower on B·V·T frames, no grad:
it grows with T). Every setting runs once per round, rounds alternate the order, figures are medians.
"""
import argparse
import logging
import warnings
from pathlib import Path

import hydra
import torch
import torch.nn.functional as F

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
from src.clip.models.backbone import load_clip
from src.clip.models.classifier import ClipVideoClassifier
from src.clip.models.registry import build_method


class Setting:
    """One (C, T) point: its model, optimizer and fixed random batch."""

    def __init__(self, cfg: dict, clip, tokenizer, num_classes: int, num_frames: int, device: torch.device):
        self.num_classes, self.num_frames = num_classes, num_frames
        method, dataset, size = cfg["method"], cfg["dataset"], cfg["backbone"]["image_size"]
        self.model: ClipVideoClassifier = build_method(method, clip, tokenizer, class_names(num_classes), num_frames)
        self.model.to(device).train()
        self.params = [p for p in self.model.parameters() if p.requires_grad]
        self.optimizer = hydra.utils.instantiate(cfg["optimizer"])(params=self.params)   # the run's optimizer
        self.clip_val = cfg["trainer"]["gradient_clip_val"]
        B, V = dataset["batch_size"], dataset["num_temporal_views"] * dataset["num_spatial_views"]
        gen = torch.Generator().manual_seed(cfg["seed"])
        self.video = torch.randn(B, V, num_frames, 3, size, size, generator=gen).to(device)   # (B, V, T, 3, S, S)
        self.labels = torch.randint(num_classes, (B,), generator=gen).to(device)             # (B,)

    def train_step(self) -> None:
        logits = self.model(self.video)                                                       # (B, C)
        loss = F.cross_entropy(logits, self.labels) + self.model.extra_loss()
        loss.backward()
        if self.clip_val:
            torch.nn.utils.clip_grad_norm_(self.params, self.clip_val)
        self.optimizer.step()
        self.optimizer.zero_grad()

    def text_pass(self) -> None:
        """The learned prompts of all C classes through the text tower, forward + backward."""
        features = self.model.class_text_features()                                          # (C, E)
        if features.requires_grad:                                 # not with learn_just_pooling: forward only
            features.sum().backward()
        self.model.zero_grad()

    def frame_pass(self) -> None:
        """The frozen image tower on every frame of the batch (no grad, as in video_coop's step)."""
        self.model.encode_frames(self.video.flatten(0, 1))                                   # (B·V, T, E)


def steps_per_s(fn, warmup: int, steps: int, device: torch.device) -> float:
    timer = StepTimer(device)
    for i in range(warmup + steps):
        fn()
        if i >= warmup - 1:
            timer.mark(last=i == warmup + steps - 1)
    return timer.steps_per_s()


def measure(settings: list[Setting], args: argparse.Namespace, device: torch.device) -> dict[tuple, dict]:
    """(C, T) -> median ms of the step, the text pass and the frame pass over the rounds."""
    times = {(s.num_classes, s.num_frames): {"step": [], "text": [], "frames": []} for s in settings}
    for r in range(args.rounds):
        for s in settings if r % 2 == 0 else settings[::-1]:   # alternate: no setting always first
            for part, fn in (("step", s.train_step), ("text", s.text_pass), ("frames", s.frame_pass)):
                times[(s.num_classes, s.num_frames)][part].append(1000.0 / steps_per_s(fn, args.warmup, args.steps, device))
    return {key: {part: median(values) for part, values in parts.items()} | {"rounds_ms": parts["step"]}
            for key, parts in times.items()}


def sweep_rows(measured: dict[tuple, dict], keys: list[tuple]) -> list[dict]:
    """Rows of one sweep; `relative` is the step time over the sweep's first (smallest) setting's."""
    base = measured[keys[0]]["step"]
    rows = []
    for C, T in keys:
        m = measured[(C, T)]
        shares = {"text": m["text"] / m["step"], "frames": m["frames"] / m["step"]}
        shares["other"] = max(0.0, 1.0 - shares["text"] - shares["frames"])
        rows.append({"num_classes": C, "num_frames": T, "ms_per_step": m["step"], "relative": m["step"] / base,
                     "text_ms": m["text"], "frames_ms": m["frames"], "text_share": shares["text"],
                     "frames_share": shares["frames"], "dominant": max(shares, key=shares.get),
                     "rounds_ms": m["rounds_ms"]})
    return rows


def print_sweep(title: str, swept: str, rows: list[dict]) -> None:
    print_table(title, [swept, "ms/step", "× smallest", "text ms", "frames ms", "dominant"],
                [[r[f"num_{swept}"], r["ms_per_step"], r["relative"], r["text_ms"], r["frames_ms"], r["dominant"]]
                 for r in rows])


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backbone", default="clip_tiny", help="conf/backbone/<name>.yaml")
    parser.add_argument("--random-init", action="store_true", help="backbone.pretrained=null (no download)")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--threads", type=int, default=1,
                        help="CPU threads for torch (1: steady timings on a shared machine; 0: torch's default)")
    parser.add_argument("--classes", type=int, nargs="+", default=[10, 50, 101, 200, 400], help="C of the class sweep")
    parser.add_argument("--frames", type=int, nargs="+", default=[4, 8, 16, 32], help="T of the frame sweep")
    parser.add_argument("--fixed-frames", type=int, default=8, help="T during the class sweep")
    parser.add_argument("--fixed-classes", type=int, default=101, help="C during the frame sweep")
    parser.add_argument("--steps", type=int, default=4, help="timed steps per setting and round")
    parser.add_argument("--warmup", type=int, default=1, help="untimed steps before them")
    parser.add_argument("--rounds", type=int, default=3, help="rounds over all settings, alternating the order")
    parser.add_argument("--override", action="append", default=[], help="extra Hydra override, e.g. dataset.batch_size=4")
    parser.add_argument("--out-dir", type=Path, default=RESULTS_DIR)
    args = parser.parse_args(argv)
    if min(args.warmup, args.steps, args.rounds, *args.classes, *args.frames) < 1:
        parser.error("--warmup, --steps, --rounds, --classes and --frames must be at least 1")
    return args


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    logging.getLogger("src").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", message=".*isinstance\\(treespec, LeafSpec\\).*")
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    # ctx_len 8: the setting README's scaling figures were measured with (video_coop's seed default is now 16)
    cfg = compose_config(["method=video_coop", "dataset=synthetic", "method.ctx_len=8",
                          *backbone_overrides(args.backbone, args.random_init), *args.override])
    torch.manual_seed(cfg["seed"])
    clip, tokenizer = load_clip(cfg["backbone"])   # frozen: shared by every setting's model
    class_keys = [(C, args.fixed_frames) for C in sorted(set(args.classes))]
    frame_keys = [(args.fixed_classes, T) for T in sorted(set(args.frames))]
    unique = list(dict.fromkeys(class_keys + frame_keys))   # (C=101, T=8) is in both sweeps: measure it once
    settings = [Setting(cfg, clip, tokenizer, C, T, device) for C, T in unique]
    measured = measure(settings, args, device)

    dataset = cfg["dataset"]
    results = {
        "benchmark": "scaling",
        "settings": {
            "backbone": cfg["backbone"]["name"], "pretrained": cfg["backbone"]["pretrained"],
            "method": cfg["method"]["name"], "pooling": cfg["method"]["pooling"], "ctx_len": cfg["method"]["ctx_len"],
            "batch_size": dataset["batch_size"], "views": dataset["num_temporal_views"] * dataset["num_spatial_views"],
            "image_size": cfg["backbone"]["image_size"], "steps": args.steps, "warmup": args.warmup,
            "rounds": args.rounds, "threads": torch.get_num_threads(), "clock": clock_name(device),
            "overrides": args.override,
        },
        "environment": environment(device),
        "classes": sweep_rows(measured, class_keys),
        "frames": sweep_rows(measured, frame_keys),
    }
    print_sweep(f"video_coop step vs classes (T={args.fixed_frames}, {cfg['backbone']['name']}, {device.type})",
                "classes", results["classes"])
    print_sweep(f"video_coop step vs frames (C={args.fixed_classes}, {cfg['backbone']['name']}, {device.type})",
                "frames", results["frames"])
    largest = results["classes"][-1]
    print(f"At C={largest['num_classes']} the text path (all C prompts through the text transformer, every step) "
          f"takes {largest['text_share']:.0%} of the step; the frame path {largest['frames_share']:.0%}.")
    save_results("scaling", results, args.out_dir)
    return results


if __name__ == "__main__":
    main()
