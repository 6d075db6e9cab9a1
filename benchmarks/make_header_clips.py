"""Building Header Net clips from match footage: clips/s and peak RSS of `make_header_clips` (each needed frame
decoded and cropped once per video, runs of frames read front to back, seeks only over long gaps) beside a naive
per-clip seek-and-decode (seek to each clip, decode and crop its frames: shared frames decoded again, every seek
restarting at the keyframe before), on the same clips, each in a fresh process, side by side.

    python -m benchmarks.make_header_clips                     # 5- and 10-minute 25 fps 640x360 matches
    python -m benchmarks.make_header_clips --minutes 10 --size 224 --work-dir /tmp/footage

The synthetic matches (src/synthetic/wide_match.py) have a keyframe every 250 frames, x264's default and what
broadcast recordings have; labels are their headers (one every 4-8 s), 3 random negatives per header. Goal:
ratio >= 3 on the longest video; peak RSS of make_header_clips flat in video length (`rss_ratio` = long / short).
Writes benchmarks/results/make_header_clips.json.
"""
import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from benchmarks.common import RESULTS_DIR, environment, print_table, save_results


def _args(argv):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.make_header_clips", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, nargs="+", default=[5.0, 10.0])
    parser.add_argument("--fps", type=float, default=25.0)
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=360)
    parser.add_argument("--size", type=int, default=224, help="clip side")
    parser.add_argument("--num-frames", type=int, default=16)
    parser.add_argument("--negative-ratio", type=float, default=3.0)
    parser.add_argument("--work-dir", type=Path, default=None, help="where the videos go (default: a temp folder)")
    parser.add_argument("--out-dir", type=Path, default=RESULTS_DIR)
    parser.add_argument("--child", nargs=3, default=None, help=argparse.SUPPRESS)  # internal: way, video, out
    return parser.parse_args(argv)


def _spec(args):
    from src.header.footage.crop import CropSettings
    from src.header.footage.defaults import clip_defaults
    from src.header.footage.video_clips import ClipSpec

    defaults = clip_defaults()
    crop = CropSettings("ball", defaults["crop_scale"], defaults["min_crop"], args.size)
    return ClipSpec(args.num_frames, 1, crop, defaults["max_track_gap"], defaults["min_track_score"]), defaults


def build_ours(args, video: Path, out: Path) -> dict:
    from src.header.footage.make_clips import FootageRequest, make_header_clips

    spec, defaults = _spec(args)
    began = time.perf_counter()
    summary = make_header_clips(FootageRequest(
        labels=[video.with_name(f"{video.stem}_events.csv")], videos=video.parent, tracks=[_tracks(video)],
        output_dir=out,
        spec=spec, negative_ratio=args.negative_ratio, guard_frames=defaults["guard_frames"], seed=0, workers=1,
        resume=False, progress=False))
    return {"clips": summary["clips"], "seconds": time.perf_counter() - began}


def build_naive(args, video: Path, out: Path) -> dict:
    """The same clips as `ours` wrote (its all_clips.csv), one seek and decode per clip."""
    from src.core.atomic import save_numpy
    from src.header.detection.video_stream import VideoStream
    from src.header.footage.crop import crop_frame
    from src.header.footage.sampling import clip_offsets
    from src.header.footage.tracks import read_tracks

    spec, _ = _spec(args)
    clips = pd.read_csv(out.parent / "ours" / "all_clips.csv")
    track = next(iter(read_tracks([_tracks(video)], min_score=spec.min_track_score).values()))
    offsets = clip_offsets(spec.num_frames, spec.frame_step)
    began = time.perf_counter()
    with VideoStream(video) as stream:
        for row in clips.itertuples():
            frames = row.frame + offsets
            boxes = track.boxes_at(frames, spec.max_track_gap)
            crops = [crop_frame(f.to_ndarray(format="rgb24"), boxes[i - frames[0]], spec.crop)
                     for i, f in stream.frames(int(frames[0]), int(frames[-1]) + 1)]
            save_numpy(out / f"{Path(row.path).name}", np.stack(crops))
    return {"clips": len(clips), "seconds": time.perf_counter() - began}


def _tracks(video: Path) -> Path:
    return video.with_name(f"{video.stem}_tracks.csv")


def main(argv=None) -> dict:
    args = _args(argv)
    if args.child is not None:  # in the child: one way, one video; its figures on the last line
        torch.set_num_threads(1)
        way, video, out = args.child
        result = (build_ours if way == "ours" else build_naive)(args, Path(video), Path(out))
        result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(result))
        return result
    from src.synthetic.wide_match import render_wide_match

    work = args.work_dir or Path(tempfile.mkdtemp(prefix="footage-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    rows, measured = [], []
    for minutes in args.minutes:
        name = f"match_{minutes:g}min_{args.fps:g}fps_{args.width}x{args.height}"
        video = work / f"{name}_1.mp4"  # <video_id>_<half>.mp4: what make_header_clips' --videos lookup finds
        if not video.is_file():
            began = time.perf_counter()
            render_wide_match(video, seed=0, duration_s=minutes * 60, fps=args.fps, width=args.width,
                              height=args.height, video_id=name, half=1)
            print(f"rendered {video} in {time.perf_counter() - began:.0f} s")
        runs = work / f"runs_{minutes:g}min"
        result = {"minutes": minutes}
        for way in ("ours", "naive"):  # naive reads ours' all_clips.csv: the same clips
            out = runs / way
            if out.exists():
                import shutil
                shutil.rmtree(out)
            out.mkdir(parents=True)
            child = [sys.executable, "-m", "benchmarks.make_header_clips", *_passthrough(args), "--child", way,
                     str(video), str(out)]
            figures = json.loads(subprocess.run(child, check=True, capture_output=True, text=True).stdout.splitlines()[-1])
            result[way] = {**figures, "clips_per_s": figures["clips"] / figures["seconds"]}
        result["ratio"] = result["ours"]["clips_per_s"] / result["naive"]["clips_per_s"]
        measured.append(result)
        rows.append([f"{minutes:g} min", result["ours"]["clips"], result["ours"]["clips_per_s"],
                     result["naive"]["clips_per_s"], result["ratio"], result["ours"]["peak_rss_mb"],
                     result["naive"]["peak_rss_mb"]])
    print_table("make_header_clips vs per-clip seek-and-decode",
                ["video", "clips", "ours clips/s", "naive clips/s", "ratio", "ours peak RSS MB", "naive peak RSS MB"],
                rows)
    rss_ratio = measured[-1]["ours"]["peak_rss_mb"] / measured[0]["ours"]["peak_rss_mb"]
    print(f"ratio {measured[-1]['ratio']:.2f} (goal >= 3); ours' peak RSS {measured[-1]['minutes']:g} min / "
          f"{measured[0]['minutes']:g} min = {rss_ratio:.3f}")
    results = {"settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items() if k != "child"},
               "environment": environment(torch.device("cpu")), "videos": measured, "ratio": measured[-1]["ratio"],
               "rss_ratio": rss_ratio, "meets_target": measured[-1]["ratio"] >= 3.0}
    save_results("make_header_clips", results, args.out_dir)
    return results


def _passthrough(args) -> list[str]:
    return ["--size", str(args.size), "--num-frames", str(args.num_frames), "--negative-ratio",
            str(args.negative_ratio)]


if __name__ == "__main__":
    main()
