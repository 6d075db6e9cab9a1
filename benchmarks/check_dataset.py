"""Videos/s of the dataset checker's probe (src/clip/data/probe.py) per check.decode mode and worker count, and
what that means for UCF-101's 13,320 videos.

    python -m benchmarks.check_dataset                       # 42 videos of 320x240, 100 frames (UCF-101's size)
    python -m benchmarks.check_dataset --groups 2 --frames 8 --width 64 --height 48 --workers 0 1   # quick

The set is the synthetic action set at UCF-101's frame size (generated under --root when missing). Every mode
and worker count probes the same videos in the same round, rounds repeat (the machine is shared) and the figure
is the median. Rows: wall-clock videos/s (and the UCF-101 minutes it implies), and for workers=0 the CPU
milliseconds per video (independent of other jobs on the machine: UCF-101 takes about 13,320 x that / cores).
Output: a table and benchmarks/results/check_dataset.json.
"""
import argparse
import statistics
import time
from pathlib import Path

from benchmarks.common import REPO, RESULTS_DIR, print_table, save_results
from src.clip.data.probe import DECODE_MODES, probe_videos
from src.synthetic.datasets import make_action_dataset

UCF101_VIDEOS = 13_320


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, default=REPO / "data" / "synthetic" / "check_bench")
    parser.add_argument("--groups", type=int, default=6)
    parser.add_argument("--frames", type=int, default=100)
    parser.add_argument("--width", type=int, default=320)
    parser.add_argument("--height", type=int, default=240)
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 2])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out-dir", type=Path, default=RESULTS_DIR)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    root = make_action_dataset(args.root, seed=0, groups=args.groups, clips_per_group=1, num_frames=args.frames,
                               width=args.width, height=args.height)
    paths = sorted(p for p in root.rglob("v_*") if p.suffix in (".avi", ".mp4"))
    timings: dict[tuple[str, int], list[tuple[float, float]]] = {}
    for _ in range(args.rounds):
        for decode in DECODE_MODES:
            for workers in args.workers:
                wall, cpu = time.perf_counter(), time.process_time()
                probes = list(probe_videos(paths, decode, workers))
                assert all(p["ok"] for p in probes), [p for p in probes if not p["ok"]][:3]
                timings.setdefault((decode, workers), []).append(
                    (len(paths) / (time.perf_counter() - wall), (time.process_time() - cpu) / len(paths)))
    rows = []
    for (decode, workers), measured in timings.items():
        rate = statistics.median(r for r, _ in measured)
        # CPU time per video is only this process's: meaningful without workers, where all the work is here. It
        # does not depend on what else runs on the machine, unlike the wall-clock rate.
        cpu_ms = 1000 * statistics.median(c for _, c in measured) if workers == 0 else None
        rows.append({"decode": decode, "workers": workers, "videos_per_s": rate,
                     "ucf101_minutes": UCF101_VIDEOS / rate / 60, "cpu_ms_per_video": cpu_ms})
    results = {"settings": {"videos": len(paths), "frames": args.frames, "size": f"{args.width}x{args.height}",
                            "rounds": args.rounds}, "rows": rows}
    columns = list(rows[0])
    print_table(f"dataset checker probe: {len(paths)} videos of {args.width}x{args.height}, {args.frames} frames",
                columns, [[row[c] for c in columns] for row in rows])
    save_results("check_dataset", results, args.out_dir)
    return results


if __name__ == "__main__":
    main()
