"""Clips/s of the task=header loader beside the original's naive one, on the very same .npy clips.

    python -m benchmarks.header_loader                  # 24 clips of 32 x 224 x 224, 16 frames sampled
    python -m benchmarks.header_loader --frames 64 --rounds 5

Rows (both single-process, training transforms: flip + colour jitter + resize + normalise, same clips and order):
- naive (the original's way): `np.load` of the whole clip, then per sampled frame a PIL image, PIL colour
  jitter and flip, PIL resize, `to_tensor`, `normalize`, and a stack.
- ours: HeaderClipDataset — the clip memory-mapped, only the sampled frames copied, one torchvision.transforms.v2
  pipeline over the whole (T, C, H, W) uint8 video.
The clips are read once before timing, so both run from the page cache (a cold disk favours ours further: it
reads only the sampled frames). Figures are medians over rounds; the ratio is ours / naive.
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
from src.header.data.transforms import build_clip_transform


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


def clips_per_second(get_item, n: int) -> float:
    start = time.perf_counter()
    for i in range(n):
        get_item(i)
    return n / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description="task=header loader: ours vs the original's naive loader")
    parser.add_argument("--clips", type=int, default=24)
    parser.add_argument("--frames", type=int, default=32, help="frames stored per clip")
    parser.add_argument("--size", type=int, default=224, help="stored frame size (square)")
    parser.add_argument("--num-frames", type=int, default=16, help="frames sampled per clip (dataset.num_frames)")
    parser.add_argument("--input-size", type=int, default=224, help="model input size (dataset.input_size)")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)  # as in a DataLoader worker: one clip per core

    dataset_cfg = compose_config(["task=header", "backbone=csn"])
    norm = {k: dataset_cfg["backbone"][k] for k in ("mean", "std")}
    jitter = dataset_cfg["dataset"]["color_jitter"]
    folder = Path(tempfile.mkdtemp(prefix="header_bench_"))
    try:
        csv = write_clips(folder, clips=args.clips, frames=args.frames, size=args.size)
        rows = read_header_csv(csv, check_clips=True, max_bad_fraction=0.0).rows
        transform = build_clip_transform(input_size=args.input_size, augment=True, flip_prob=0.5, color_jitter=jitter,
                                         **norm)
        ours = HeaderClipDataset(rows, num_frames=args.num_frames, transform=transform, seed=0)
        naive = NaiveClipLoader(rows["file"].tolist(), num_frames=args.num_frames, input_size=args.input_size,
                                jitter=jitter, **norm)
        for i in range(len(ours)):  # warm the page cache for both, and check they agree on the output shape
            assert ours[i]["video"].shape == naive[i].shape
        rates = {"naive": [], "ours": []}
        for _ in range(args.rounds):  # alternate, so a busy moment on the machine hits both
            rates["naive"].append(clips_per_second(naive.__getitem__, len(rows)))
            rates["ours"].append(clips_per_second(ours.__getitem__, len(rows)))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    naive_rate, ours_rate = median(rates["naive"]), median(rates["ours"])
    setting = f"{args.clips} clips of {args.frames} x {args.size}^2, {args.num_frames} frames -> {args.input_size}^2"
    print_table(f"task=header loader, clips/s ({setting})", ["loader", "clips/s", "ratio"],
                [["naive (np.load + PIL per frame)", naive_rate, 1.0], ["ours (mmap + transforms.v2)", ours_rate,
                                                                         ours_rate / naive_rate]])
    print(f"ours / naive = {ours_rate / naive_rate:.2f}x")
    save_results("header_loader", {"setting": vars(args), "clips_per_s": {"naive": naive_rate, "ours": ours_rate},
                                   "ratio": ours_rate / naive_rate, "rounds": rates,
                                   "environment": environment(torch.device("cpu"))}, RESULTS_DIR)


if __name__ == "__main__":
    main()
