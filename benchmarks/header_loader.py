"""Clips/s of the task=header loader beside the original's naive one, on the very same .npy clips.

    python -m benchmarks.header_loader                  # 24 clips of 32 x 224 x 224, 16 frames sampled
    python -m benchmarks.header_loader --frames 64 --rounds 5

Rows (all single-process and single-threaded, as in one DataLoader worker; training transforms: flip + colour
jitter + resize + normalise; same clips and order):
- naive (the original's way): `np.load` of the whole clip, then per sampled frame a PIL image, PIL colour
  jitter and flip, PIL resize, `to_tensor`, `normalize`, and a stack.
- ours, augment_on=loader: HeaderClipDataset — the clip memory-mapped, only the sampled frames copied, a resize of
  the whole (T, C, H, W) uint8 video, then one fused per-clip colour map that also normalises (src/header/data/augment.py).
- ours, augment_on=device (loader part): the same dataset handing over resized uint8 frames; flip, colour and
  normalisation run on the batch after transfer (on the accelerator, off the loader's cores).
- ours, augment_on=device (+ batch augment here): the row above plus that batch augmentation timed on this CPU
  (batches of --batch clips) — what a CPU-only run pays in the main process.
Clock: this process's CPU time (single-threaded, so other jobs on a shared machine barely disturb it); wall-clock
rates are in the JSON. The clips are read once before timing, so every row runs from the page cache (a cold disk
favours ours further: it reads only the sampled frames). Figures are medians over rounds; ratios are to naive.
Output: a table and benchmarks/results/header_loader.json.
"""
import argparse
import random
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from PIL import Image
from torchvision import transforms as v1
from torchvision.transforms import functional as TF

from benchmarks.common import RESULTS_DIR, compose_config, environment, median, print_table, save_results
from src.header.data.dataset import HeaderClipDataset, read_header_csv, sample_frame_indices
from src.header.data.transforms import BatchAugment, build_clip_transform


def write_clips(folder: Path, *, clips: int, frames: int, size: int) -> Path:
    rng = np.random.default_rng(0)
    rows = []
    for i in range(clips):
        np.save(folder / f"clip_{i:03d}.npy", rng.integers(0, 255, (frames, size, size, 3), dtype=np.uint8))
        rows.append({"path": f"clip_{i:03d}.npy", "label": i % 2})
    pd.DataFrame(rows).to_csv(folder / "clips.csv", index=False)
    return folder / "clips.csv"


class NaiveClipLoader:
    """The original pipeline's per-clip work, re-implemented for comparison: whole-file load, PIL per frame."""

    def __init__(self, files: list[str], *, num_frames: int, input_size: int, mean, std, jitter: dict):
        self.files, self.num_frames = files, num_frames
        self.resize = v1.Resize((input_size, input_size))
        self.jitter = v1.ColorJitter(**jitter)
        self.normalize = v1.Normalize(mean=mean, std=std)

    def __getitem__(self, i: int) -> torch.Tensor:
        clip = np.load(self.files[i])                                   # every frame read and copied
        indices = sample_frame_indices(clip.shape[0], self.num_frames)
        flip = random.random() < 0.5
        order, b, c, s, h = v1.ColorJitter.get_params(self.jitter.brightness, self.jitter.contrast,
                                                      self.jitter.saturation, self.jitter.hue)
        adjust = [lambda im: TF.adjust_brightness(im, b), lambda im: TF.adjust_contrast(im, c),
                  lambda im: TF.adjust_saturation(im, s), lambda im: TF.adjust_hue(im, h)]
        frames = []
        for index in indices:
            image = Image.fromarray(clip[index])
            for k in order:
                image = adjust[int(k)](image)
            if flip:
                image = TF.hflip(image)
            frames.append(self.normalize(TF.to_tensor(self.resize(image))))
        return torch.stack(frames, dim=1)                               # (3, T, S, S)


def timed(work, n: int) -> dict[str, float]:
    """Clips/s of `work()` doing `n` clips: on this process's CPU time and on the wall clock."""
    cpu, wall = time.process_time(), time.perf_counter()
    work()
    return {"cpu": n / (time.process_time() - cpu), "wall": n / (time.perf_counter() - wall)}


def load_all(dataset, n: int) -> list:
    return [dataset[i] for i in range(n)]


def load_and_augment(dataset, augment: BatchAugment, n: int, batch: int) -> None:
    """The device-side setting run entirely here: loader items, collated, then the batch augmentation."""
    for start in range(0, n, batch):
        videos = torch.stack([dataset[i]["video"] for i in range(start, min(n, start + batch))])
        augment(videos, training=True)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description="task=header loader: ours vs the original's naive loader")
    parser.add_argument("--clips", type=int, default=24)
    parser.add_argument("--frames", type=int, default=32, help="frames stored per clip")
    parser.add_argument("--size", type=int, default=224, help="stored frame size (square)")
    parser.add_argument("--num-frames", type=int, default=16, help="frames sampled per clip (dataset.num_frames)")
    parser.add_argument("--input-size", type=int, default=224, help="model input size (dataset.input_size)")
    parser.add_argument("--batch", type=int, default=8, help="batch size of the device-side batch augmentation")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out-dir", type=Path, default=RESULTS_DIR, help="where header_loader.json goes")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)  # as in a DataLoader worker: one clip per core

    cfg = compose_config(["task=header", "backbone=csn"])
    norm = {k: cfg["backbone"][k] for k in ("mean", "std")}
    data = cfg["dataset"]
    augment = dict(augment=True, flip_prob=data["flip_prob"], color_jitter=data["color_jitter"], **norm)
    folder = Path(tempfile.mkdtemp(prefix="header_bench_"))
    try:
        csv = write_clips(folder, clips=args.clips, frames=args.frames, size=args.size)
        rows = read_header_csv(csv, name="dataset.train_csv", check_clips=True, max_bad_fraction=0.0).rows
        n = len(rows)
        on_loader = HeaderClipDataset(rows, num_frames=args.num_frames, seed=0, transform=build_clip_transform(
            input_size=args.input_size, normalise=True, **augment))
        on_device = HeaderClipDataset(rows, num_frames=args.num_frames, seed=0, transform=build_clip_transform(
            input_size=args.input_size, normalise=False, **augment))
        batch_augment = BatchAugment(**augment)
        naive = NaiveClipLoader(rows["file"].tolist(), num_frames=args.num_frames, input_size=args.input_size,
                                jitter=data["color_jitter"], **norm)
        for i in range(n):  # warm the page cache for all, and check they agree on the output shape
            assert on_loader[i]["video"].shape == on_device[i]["video"].shape == naive[i].shape
        work = {
            "naive": lambda: load_all(naive, n),
            "loader": lambda: load_all(on_loader, n),
            "device_loader_part": lambda: load_all(on_device, n),
            "device_with_batch_augment_here": lambda: load_and_augment(on_device, batch_augment, n, args.batch),
        }
        rates = {name: [] for name in work}
        for _ in range(args.rounds):  # alternate, so a busy moment on the machine hits every row
            for name, job in work.items():
                rates[name].append(timed(job, n))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return report(args, rates)


def report(args, rates: dict[str, list[dict]]) -> dict:
    cpu = {name: median([r["cpu"] for r in runs]) for name, runs in rates.items()}
    wall = {name: median([r["wall"] for r in runs]) for name, runs in rates.items()}
    labels = {"naive": "naive (np.load + PIL per frame)", "loader": "ours, augment_on=loader",
              "device_loader_part": "ours, augment_on=device (loader part)",
              "device_with_batch_augment_here": "ours, augment_on=device (+ batch augment on this CPU)"}
    setting = f"{args.clips} clips of {args.frames} x {args.size}^2, {args.num_frames} frames -> {args.input_size}^2"
    print_table(f"task=header loader, clips/s on CPU time ({setting})", ["loader", "clips/s", "ratio", "wall ratio"],
                [[labels[k], cpu[k], cpu[k] / cpu["naive"], wall[k] / wall["naive"]] for k in cpu])
    for key in ("loader", "device_loader_part"):
        print(f"{labels[key]} / naive = {cpu[key] / cpu['naive']:.2f}x")
    results = {
        "setting": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "clock": "process_cpu_time", "clips_per_s": cpu, "clips_per_s_wall": wall,
        "ratio": {k: cpu[k] / cpu["naive"] for k in cpu}, "ratio_wall": {k: wall[k] / wall["naive"] for k in wall},
        "rounds": rates, "environment": environment(torch.device("cpu"))}
    save_results("header_loader", results, args.out_dir)
    return results


if __name__ == "__main__":
    main()
