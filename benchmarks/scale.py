"""Clips/s of a pixel method's training loader on videos of Kinetics' size: the decoded-frame store against the
video path (with and without decoder-side resize) and the raw PyAV decode of the same frames.

    python -m benchmarks.scale                      # 60 videos (generated once into --work-dir), 3 rounds
    python -m benchmarks.scale --videos 12 --rounds 1           # quick

The set: --videos synthetic 10 s clips at 25 fps, half 340x256 (Kinetics' usual size), half 640x360, moving shapes
over a textured gradient, H.264 with x264's defaults (one keyframe per 250 frames, B-frames: what re-encoded
Kinetics clips look like), as a list-file dataset. The loader: dataset=list backbone=clip_b16 (224 px), 8 frames
in 1 view, no augmentation (the methods' default), batches of 4, 2 workers with one torch thread each (the
DataLoader's default in workers), persistent. Rows, each over the same videos in every round:
- raw PyAV: one process, decode from the first frame, rgb24 arrays of the wanted frames (to_ndarray, one swscale
  thread), nothing else; the indices the video path's loader drew (benchmarks/loader.py's decode bound);
- video path (dataset.frame_store=off): today's reader (seek, decode the sampled frames, full-frame RGB; the
  transform resizes), with dataset.decode_resize=false and =true (RGB at 224 short side straight from swscale);
- frame store (dataset.frame_store=read, 256 px short side, JPEG quality 90), built once before the rounds (timed).
Every figure is a median over rounds (the machine is shared). Also measured: the store's disk cost per hour of
video, and how far the store's and decode_resize's pixels are from the video path's (224 px, before cropping).
Output: a table and benchmarks/results/scale.json.
"""
import argparse
import logging
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import torch
from torchvision.transforms.v2 import functional as F

from benchmarks.common import (
    REPO,
    RESULTS_DIR,
    compose_config,
    environment,
    median,
    print_table,
    save_results,
)
from benchmarks.loader import RecordingSampler, epoch, raw_decode
from src.clip.data.datamodule import VideoDataModule
from src.clip.data.frame_store.fill import fill_store
from src.clip.data.reader import VideoReader
from src.core.atomic import write_text

SIZES = ((340, 256), (640, 360))
FPS = 25


def moving_shapes(width: int, height: int, num_frames: int, seed: int):
    """(H, W, 3) uint8 frames: a blotchy colour gradient, five solid shapes moving across it, light noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    base = np.stack([x / width * 180 + 40, y / height * 160 + 50, (x + y) / (width + height) * 120 + 60], -1)
    base += rng.normal(0, 12, (height // 8 + 1, width // 8 + 1, 3)).repeat(8, 0).repeat(8, 1)[:height, :width]
    base = np.clip(base, 0, 247).astype(np.uint8)
    shapes = [(rng.uniform(0, width), rng.uniform(0, height), rng.uniform(-5, 5), rng.uniform(-3, 3),
               int(rng.uniform(height / 10, height / 4)), rng.integers(0, 256, 3, dtype=np.uint8)) for _ in range(5)]
    noise = rng.integers(0, 8, (4, height, width, 3), dtype=np.uint8)
    for i in range(num_frames):
        frame = base.copy()
        for cx, cy, vx, vy, r, colour in shapes:
            px, py = int(cx + vx * i) % width, int(cy + vy * i) % height
            frame[max(py - r, 0):py + r, max(px - r, 0):px + r] = colour
        yield frame + noise[i % 4]


def make_dataset(root: Path, count: int, seconds: int) -> Path:
    """A list-file dataset of `count` videos (two classes by size) under root; kept when it is already complete."""
    stamp = root / "complete.txt"
    spec = f"{count} videos, {seconds} s, {FPS} fps, sizes {SIZES}, format 1\n"
    if stamp.is_file() and stamp.read_text() == spec:
        return root
    lines = []
    for i in range(count):
        width, height = SIZES[i % 2]
        rel = f"videos/{width}x{height}/clip{i:03d}.mp4"
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        with av.open(str(root / rel), "w") as container:
            stream = container.add_stream("libx264", rate=Fraction(FPS))       # x264's defaults: keyint 250
            stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
            stream.codec_context.options = {"threads": "1"}
            for frame in moving_shapes(width, height, seconds * FPS, seed=i):
                container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
            container.mux(stream.encode(None))
        lines.append(f"{rel} {i % 2}\n")
    write_text(root / "train.txt", "".join(lines))
    write_text(root / "val.txt", "".join(lines[:2]))
    write_text(root / "classes.txt", "".join(f"size {w}x{h}\n" for w, h in SIZES))
    write_text(stamp, spec)
    return root


def pixel_gaps(pairs: list, store_open, short_side: int) -> dict:
    """Max and mean |diff| (0-255) of frames at 224 px short side: the store's and decode_resize's vs the video's."""
    gaps = {"frame store": [], "decode_resize": []}
    for path, indices in pairs[:6]:
        with VideoReader(path) as video:
            reference = F.resize(video.read(indices).frames, [short_side], antialias=True).int()
        with VideoReader(path, short_side=short_side) as video:
            gaps["decode_resize"].append((video.read(indices).frames.int() - reference).abs())
        with store_open(path) as stored:
            frames = F.resize(stored.read(indices).frames, [short_side], antialias=True)
            gaps["frame store"].append((frames.int() - reference).abs())
    return {name: {"max_abs_diff": int(max(d.max() for d in diffs)),
                   "mean_abs_diff": float(torch.cat([d.flatten() for d in diffs]).float().mean())}
            for name, diffs in gaps.items()}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.scale", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work-dir", type=Path, default=REPO / "data" / "benchmarks" / "scale",
                        help="where the videos (generated once) and the frame store go")
    parser.add_argument("--videos", type=int, default=60, help="videos in the set (half of each size)")
    parser.add_argument("--rounds", type=int, default=3, help="measurements per row (median reported)")
    parser.add_argument("--seconds", type=int, default=10, help="length of each video (Kinetics: 10)")
    parser.add_argument("--workers", type=int, default=2, help="DataLoader workers of the loader rows")
    parser.add_argument("--out-dir", type=Path, default=RESULTS_DIR, help="where scale.json goes")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    torch.set_num_threads(1)
    started = time.perf_counter()
    root = make_dataset(args.work_dir / "videos", args.videos, args.seconds)
    generated_s = time.perf_counter() - started
    cfg = compose_config(["method=vita", "dataset=list", f"dataset.root={root}", "backbone=clip_b16",
                          "dataset.num_frames=8", "dataset.num_temporal_views=1", "dataset.batch_size=4",
                          f"dataset.num_workers={args.workers}", "dataset.persistent_workers=true",
                          f"dataset.frame_store_dir={args.work_dir / 'frames'}", f"paths.root_dir={REPO}"])
    data, backbone, seed = cfg["dataset"], cfg["backbone"], cfg["seed"]
    variants = {"video path (today: full-frame RGB, transform resizes)": {"frame_store": "off"},
                "video path, decoder-side resize (decode_resize=true)": {"frame_store": "off", "decode_resize": True},
                "frame store (frame_store=read, 256 px, q90)": {"frame_store": "read"}}
    serial = VideoDataModule({**data, "num_workers": 0, "frame_store": "off"}, backbone, seed)
    serial.setup("fit")
    store = VideoDataModule({**data, "frame_store": "auto"}, backbone, seed).frames.store
    videos = [r.path for r in serial.train_records]
    build_started = time.perf_counter()
    built = fill_store(store, videos, num_workers=args.workers, overwrite=True)  # timed afresh every run
    build_s = time.perf_counter() - build_started
    store_bytes = sum(store.entry(v).stat().st_size for v in videos)
    video_bytes = sum(v.stat().st_size for v in videos)
    hours = len(videos) * args.seconds / 3600

    recorder = RecordingSampler(serial.train_set.sampler)          # the (video, indices) pairs an epoch draws
    serial.train_set.sampler = recorder
    order = [i for batch in serial.train_dataloader() for i in batch["index"].tolist()]
    pairs = [(serial.train_records[i].path, indices) for i, indices in zip(order, recorder.drawn)]
    loaders = {}
    for name, change in variants.items():
        module = VideoDataModule({**data, **change}, backbone, seed)
        module.setup("fit")
        loaders[name] = module.train_dataloader()
        epoch(loaders[name])                                           # start the workers once
    runs = {"raw PyAV decode of the same frames (1 process)": lambda: [raw_decode(p, i, 1) for p, i in pairs],
            **{name: (lambda loader=loader: epoch(loader)) for name, loader in loaders.items()}}
    measured = {name: [] for name in runs}
    for _ in range(args.rounds):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            measured[name].append(len(pairs) / (time.perf_counter() - start))
    rates = {name: median(values) for name, values in measured.items()}
    raw, today = rates[next(iter(runs))], rates[next(iter(variants))]

    print_table(f"pixel-method training loader, {len(pairs)} videos of {args.seconds} s ({SIZES[0][0]}x{SIZES[0][1]} and "
                f"{SIZES[1][0]}x{SIZES[1][1]}), 8 frames at 224 px, {args.workers} workers (median of {args.rounds})",
                ["pipeline", "clips/s", "x raw decode", "x today's video path"],
                [[name, rate, rate / raw, rate / today] for name, rate in rates.items()])
    mb_per_hour = store_bytes / 1e6 / hours
    print(f"frame store: built in {build_s:.1f} s ({len(videos) / build_s:.2f} videos/s, {args.workers} workers); "
          f"{store_bytes / 1e6:.1f} MB for {hours * 60:.0f} min of video = {mb_per_hour:.0f} MB per hour "
          f"(the videos: {video_bytes / 1e6 / hours:.0f} MB per hour); set generated in {generated_s:.0f} s")
    gaps = pixel_gaps(pairs, store.open, backbone["image_size"])
    print(f"pixels vs the video path at 224 px: {gaps}")
    results = {
        "environment": environment(torch.device("cpu")),
        "dataset": {"videos": len(videos), "seconds": args.seconds, "fps": FPS, "sizes": [f"{w}x{h}" for w, h in SIZES],
                    "frames_per_clip": data["num_frames"], "image_size": backbone["image_size"],
                    "batch_size": data["batch_size"], "workers": args.workers},
        "rounds": args.rounds, "clips_per_s": rates, "ratio_to_raw_decode": {n: r / raw for n, r in rates.items()},
        "ratio_to_video_path": {n: r / today for n, r in rates.items()},
        "frame_store": {"short_side": data["frame_store_short_side"], "jpeg_quality": data["frame_store_quality"],
                        "build_seconds": build_s, "build_stats": built, "bytes": store_bytes,
                        "mb_per_hour_of_video": mb_per_hour, "video_mb_per_hour": video_bytes / 1e6 / hours},
        "pixel_gaps_at_224": gaps, "all_measurements": measured,
    }
    save_results("scale", results, args.out_dir)
    return results


if __name__ == "__main__":
    main()
