"""`python -m data_tools.resize_videos` on a Kinetics-size set: videos/s per worker and the output/input size ratio.

    python -m benchmarks.resize_videos                         # 12 videos (640x360 and 340x256), 10 s at 25 fps
    python -m benchmarks.resize_videos --short-sides 320 256 --presets veryfast medium --work-dir /tmp/k400_bench

The videos: a textured backdrop panning under three moving shapes with sensor noise, H.264 at crf 23 / medium (about
what YouTube-sourced Kinetics clips are). Half of them are 340x256, at or below both short sides: those are copied,
as a real Kinetics set's small clips are. Each setting runs in this process with one worker (the tool's unit of
parallelism: --workers N runs N of these side by side), timed by this process's CPU time (other jobs on a shared
machine do not add to it) and by the wall clock. Writes benchmarks/results/resize_videos.json.
"""
import argparse
import filecmp
import shutil
import tempfile
import time
from pathlib import Path

import av
import numpy as np
import torch

from benchmarks.common import RESULTS_DIR, environment, print_table, save_results
from src.synthetic.drawing import disc, square, textured_background

# result key -> table heading
COLUMNS = {"short_side": "short", "preset": "preset", "reencoded": "re-enc", "copied": "copied", "cpu_s": "cpu s",
           "wall_s": "wall s", "videos_per_s_per_worker": "videos/s", "reencoded_per_s_per_worker": "re-enc/s",
           "frames_per_s": "frames/s", "size_ratio_all": "ratio all", "size_ratio_reencoded": "ratio re-enc"}


def _args(argv):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.resize_videos", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--videos", type=int, default=12, help="half at each of --sizes")
    parser.add_argument("--sizes", nargs=2, default=["640x360", "340x256"])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--fps", type=int, default=25)
    parser.add_argument("--short-sides", type=int, nargs="+", default=[320, 256])
    parser.add_argument("--presets", nargs="+", default=["veryfast"], help="x264 presets, each at every short side")
    parser.add_argument("--work-dir", type=Path, default=None, help="where the videos go (default: a temp folder)")
    parser.add_argument("--out-dir", type=Path, default=RESULTS_DIR)
    return parser.parse_args(argv)


def write_source(path: Path, seed: int, width: int, height: int, num_frames: int, fps: int) -> None:
    """Moving shapes over a panning textured backdrop, with noise; H.264 crf 23 (written in chunks of one second)."""
    rng = np.random.default_rng(seed)
    backdrop = textured_background(rng, 1, height, width * 2, rng.uniform(60, 190, 3), 50.0)[0]   # (H, 2W, 3)
    starts, speeds = rng.uniform(0, 1, (3, 2)), rng.uniform(-0.3, 0.3, (3, 2))                   # per second
    colours = rng.uniform(0, 255, (3, 3))
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps, options={"crf": "23", "preset": "medium"})
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.thread_count = 1
        for first in range(0, num_frames, fps):
            t = np.arange(first, min(first + fps, num_frames)) / fps                                # (T,)
            shift = (t * width / 10).astype(int) % width                                           # one width / 10 s
            frames = np.stack([backdrop[:, s:s + width] for s in shift])                           # (T, H, W, 3)
            for (x0, y0), (vx, vy), colour, shape in zip(starts, speeds, colours, (disc, square, disc)):
                cx, cy = (x0 + vx * t) % 1 * width, (y0 + vy * t) % 1 * height
                alpha = shape(cx, cy, np.full_like(t, height / 8), height, width)[..., None]        # (T, H, W, 1)
                frames = frames * (1 - alpha) + colour * alpha
            frames = np.clip(frames + 3 * rng.standard_normal(frames.shape, np.float32), 0, 255).astype(np.uint8)
            for index, rgb in zip(range(first, first + len(t)), frames):
                frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")
                frame.pts = index
                container.mux(stream.encode(frame))
        container.mux(stream.encode(None))


def make_set(args, root: Path) -> Path:
    sizes = [tuple(int(v) for v in size.split("x")) for size in args.sizes]
    num_frames = round(args.seconds * args.fps)
    for index in range(args.videos):
        width, height = sizes[index % 2]
        path = root / "train" / f"class{index % 3}" / f"vid{index:03d}_{width}x{height}_000000_000010.mp4"
        if not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            write_source(path.with_suffix(".part.mp4"), index, width, height, num_frames, args.fps)
            path.with_suffix(".part.mp4").rename(path)
    return root


def measure(src: Path, dst: Path, short_side: int, preset: str) -> dict:
    from src.clip.data.resize.run import ResizeRequest, resize_tree
    from src.clip.data.resize.settings import check_settings
    from src.core.tool_defaults import tool_defaults

    shutil.rmtree(dst, ignore_errors=True)
    settings = check_settings({**tool_defaults("resize_videos"), "short_side": short_side, "preset": preset})
    wall, cpu = time.perf_counter(), time.process_time()
    summary = resize_tree(ResizeRequest(src, dst, settings, workers=1, progress=False))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    reencoded = [p for p in dst.rglob("*.mp4") if not filecmp.cmp(p, src / p.relative_to(dst), shallow=False)]
    reencoded_in = sum((src / p.relative_to(dst)).stat().st_size for p in reencoded)
    return {"short_side": short_side, "preset": preset, "reencoded": summary["reencoded"],
            "copied": summary["copied"], "cpu_s": cpu, "wall_s": wall,
            "videos_per_s_per_worker": (summary["reencoded"] + summary["copied"]) / cpu,
            "reencoded_per_s_per_worker": summary["reencoded"] / cpu, "frames_per_s": summary["frames_in"] / cpu,
            "size_ratio_all": summary["size_ratio"],
            "size_ratio_reencoded": sum(p.stat().st_size for p in reencoded) / reencoded_in if reencoded else None}


def main(argv=None) -> dict:
    args = _args(argv)
    torch.set_num_threads(1)
    work = args.work_dir or Path(tempfile.mkdtemp(prefix="resize-bench-"))
    began = time.perf_counter()
    src = make_set(args, work / "src")
    print(f"{args.videos} source videos in {src} ({time.perf_counter() - began:.0f} s to make or find)")
    rows = [measure(src, work / f"dst_{side}_{preset}", side, preset)
            for preset in args.presets for side in args.short_sides]
    print_table("resize_videos, one worker (rates by CPU time)", list(COLUMNS.values()),
                [[row[key] for key in COLUMNS] for row in rows])
    results = {"rows": rows, "videos": args.videos, "sizes": args.sizes, "seconds": args.seconds, "fps": args.fps,
               "source_bytes": sum(p.stat().st_size for p in src.rglob("*.mp4")), "environment":
               environment(torch.device("cpu"))}
    save_results("resize_videos", results, args.out_dir)
    return results


if __name__ == "__main__":
    main()
