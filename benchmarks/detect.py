"""Detection throughput and memory: windows/s and peak RSS of `src.detect`'s scoring pass (decode -> ring buffer ->
windows -> Header Net) on a short and a long synthetic match video, each in a fresh process, side by side.

    python -m benchmarks.detect                                   # 1- and 10-minute videos, csn_tiny, CPU
    python -m benchmarks.detect --minutes 1 10 --backbone csn --input-size 224 --device cuda

Streaming holds one window span of frames whatever the length, so the two peak RSS figures should agree within
10 % (`rss_ratio` = long / short). The model is random-init (throughput does not depend on the weights).
Writes benchmarks/results/detect.json.
"""
import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from benchmarks.common import (
    RESULTS_DIR,
    compose_config,
    environment,
    print_table,
    resolve_device,
    save_results,
)


def _args(argv):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.detect", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, nargs="+", default=[1.0, 10.0])
    parser.add_argument("--fps", type=float, default=10.0)
    parser.add_argument("--size", type=int, default=64, help="video frame size (square)")
    parser.add_argument("--backbone", default="csn_tiny")
    parser.add_argument("--input-size", type=int, default=64)
    parser.add_argument("--num-frames", type=int, default=8)
    parser.add_argument("--stride", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--work-dir", type=Path, default=None, help="where the videos go (default: a temp folder)")
    parser.add_argument("--out-dir", type=Path, default=RESULTS_DIR)
    parser.add_argument("--child", type=Path, default=None, help=argparse.SUPPRESS)  # internal: score one video
    return parser.parse_args(argv)


def score_one(args) -> dict:
    """In the child process: score every window of args.child; the figures as a dict."""
    from src.core.inference_engine import TorchEngine
    from src.header.data.transforms import build_clip_transform
    from src.header.detection.scoring import frame_preprocessor, score_video
    from src.header.detection.video_stream import VideoStream
    from src.header.detection.window_log import GAP_COLUMNS, WINDOW_COLUMNS, AppendLog
    from src.header.detection.windowing import WindowSpec
    from src.header.models.net import build_header_net

    torch.set_num_threads(1)
    cfg = compose_config(["task=header", f"backbone={args.backbone}", f"dataset.input_size={args.input_size}",
                          f"dataset.num_frames={args.num_frames}"])
    device = resolve_device(args.device)
    net = build_header_net({**cfg["backbone"], "ckpt": None}, num_frames=args.num_frames,
                           input_size=args.input_size).to(device).eval()
    transform = build_clip_transform(input_size=args.input_size, augment=False, flip_prob=0.0, color_jitter={},
                                     normalise=True, mean=cfg["backbone"]["mean"], std=cfg["backbone"]["std"])
    with tempfile.TemporaryDirectory() as tmp, VideoStream(args.child) as video:
        logs = AppendLog(Path(tmp) / "w.csv", WINDOW_COLUMNS, True), AppendLog(Path(tmp) / "g.csv", GAP_COLUMNS, True)
        stats = score_video(video, TorchEngine(net, "fp32", device), frame_preprocessor(transform),
                            WindowSpec(args.num_frames, 1, args.stride), start_frame=0, end_frame=None,
                            batch_size=args.batch_size,
                            windows_log=logs[0], gaps_log=logs[1], show_progress=False)
    return {"frames": stats.frames, "windows": stats.windows, "seconds": stats.seconds,
            "windows_per_s": stats.windows / stats.seconds,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main(argv=None) -> dict:
    args = _args(argv)
    if args.child is not None:
        print(json.dumps(score_one(args)))
        return {}
    from src.synthetic.match_video import render_match_video

    work = args.work_dir or Path(tempfile.mkdtemp(prefix="detect-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    rows, measured = [], []
    for minutes in args.minutes:
        path = work / f"match_{minutes:g}min_{args.fps:g}fps_{args.size}px.mp4"
        if not path.is_file():
            began = time.perf_counter()
            render_match_video(path, seed=0, duration_s=minutes * 60, fps=args.fps, size=args.size)
            print(f"rendered {path} in {time.perf_counter() - began:.0f} s")
        child = [sys.executable, "-m", "benchmarks.detect", "--child", str(path), *_passthrough(args)]
        result = json.loads(subprocess.run(child, check=True, capture_output=True, text=True).stdout.splitlines()[-1])
        measured.append({"minutes": minutes, **result})
        rows.append([f"{minutes:g} min", result["frames"], result["windows"], result["windows_per_s"],
                     result["peak_rss_mb"]])
    print_table("src.detect scoring pass", ["video", "frames", "windows", "windows/s", "peak RSS MB"], rows)
    ratio = measured[-1]["peak_rss_mb"] / measured[0]["peak_rss_mb"]
    print(f"peak RSS {measured[-1]['minutes']:g} min / {measured[0]['minutes']:g} min = {ratio:.3f}")
    results = {"settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items() if k != "child"},
               "environment": environment(resolve_device(args.device)), "videos": measured, "rss_ratio": ratio}
    save_results("detect", results, args.out_dir)
    return results


def _passthrough(args) -> list[str]:
    return ["--backbone", args.backbone, "--input-size", str(args.input_size), "--num-frames", str(args.num_frames),
            "--stride", str(args.stride), "--batch-size", str(args.batch_size), "--device", args.device]


if __name__ == "__main__":
    main()
