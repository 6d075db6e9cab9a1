"""`python data_tools/make_header_clips.py` (or `python -m data_tools.make_header_clips`): Header Net training
clips from annotated match videos, each frame a square crop centred on the ball.

    python -m data_tools.make_header_clips --labels headers.csv --videos /data/SoccerNet \
        --tracks ball_tracks.csv --output_dir data/header_clips
    python -m data_tools.split_dataset --input_csv data/header_clips/all_clips.csv --output_dir data/header_split

--labels: video_id,half,frame[,label][,video_path], one row per header (frame: the video's own, 0-based).
--videos: the video of (video_id, half) is ROOT/<video_id>/<half>_*.{mkv,mp4,avi} or ROOT/<video_id>_<half>.{…}.
--tracks: ball boxes video_id,half,frame,x,y,w,h[,score] in pixels of that video (any detector, or annotations);
without it every clip is the whole frame. Defaults: conf/header_clips.yaml. How clips are chosen and cropped:
src/header/footage/.
"""
import argparse
import logging
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from src.core.cli_args import (  # noqa: E402
    OneLineParser,
    above,
    at_least,
    number_at_least,
    output_folder,
    run_tool,
)
from src.core.errors import UserError  # noqa: E402
from src.header.footage.crop import CropSettings  # noqa: E402
from src.header.footage.defaults import clip_defaults  # noqa: E402
from src.header.footage.make_clips import FootageRequest, make_header_clips  # noqa: E402
from src.header.footage.video_clips import ClipSpec  # noqa: E402


def _parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="python -m data_tools.make_header_clips", description=__doc__,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--labels", nargs="+", type=Path, required=True, help="header labels CSV(s)")
    parser.add_argument("--videos", type=Path, default=None, help="folder of the match videos")
    parser.add_argument("--tracks", nargs="+", type=Path, default=[], help="ball-track CSV(s); none: whole frames")
    parser.add_argument("--output_dir", type=output_folder, required=True, help="clips/, all_clips.csv, … go here")
    parser.add_argument("--num_frames", type=at_least(1), help="frames per clip, centred on the labelled frame")
    parser.add_argument("--frame_step", type=at_least(1), help="spacing of a clip's frames")
    parser.add_argument("--negative_ratio", type=number_at_least(0.0), help="random negatives per header (per video)")
    parser.add_argument("--guard_frames", type=at_least(0), help="no negative within ±this of a header")
    parser.add_argument("--seed", type=at_least(0), help="the negatives' draw")
    parser.add_argument("--crop_scale", type=above(0.0), help="crop side = crop_scale x the ball box's longer side")
    parser.add_argument("--min_crop", type=at_least(1), help="smallest crop side, pixels")
    parser.add_argument("--size", type=at_least(1), help="output side: crops are resized to size x size")
    parser.add_argument("--max_track_gap", type=at_least(0), help="interpolate ball boxes across gaps this long")
    parser.add_argument("--min_track_score", type=float, help="ignore ball boxes scoring below this")
    parser.add_argument("--workers", type=at_least(1), help="processes (one video each at a time)")
    parser.add_argument("--resume", action="store_true", help="continue an interrupted run: keep the clips written")
    parser.add_argument("--no_progress", action="store_true", help="no progress bar")
    parser.set_defaults(**clip_defaults())  # conf/header_clips.yaml
    return parser


def request_from(args: argparse.Namespace) -> FootageRequest:
    if args.videos is not None and not args.videos.is_dir():
        raise UserError(f"--videos {args.videos}: no such folder; give the folder holding the match videos")
    crop = CropSettings(mode="ball" if args.tracks else "whole_frame", crop_scale=args.crop_scale,
                        min_crop=args.min_crop, size=args.size)
    spec = ClipSpec(num_frames=args.num_frames, frame_step=args.frame_step, crop=crop,
                    max_track_gap=args.max_track_gap, min_track_score=args.min_track_score)
    return FootageRequest(labels=args.labels, videos=args.videos, tracks=args.tracks, output_dir=args.output_dir,
                          spec=spec, negative_ratio=args.negative_ratio, guard_frames=args.guard_frames,
                          seed=args.seed, workers=args.workers, resume=args.resume, progress=not args.no_progress)


def _make(argv: list[str] | None) -> None:
    request = request_from(_parser().parse_args(argv))
    try:
        summary = make_header_clips(request)
    except KeyboardInterrupt:  # every clip file is whole: a resume keeps them
        print("interrupted: the clips written so far are complete; continue with --resume", file=sys.stderr)
        raise SystemExit(130) from None
    by_label = summary["clips_by_label"]
    reasons = ", ".join(f"{count} {reason}" for reason, count in summary["skipped_by_reason"].items())
    print(f"{summary['clips']} clips ({by_label.get('1', 0)} header, {by_label.get('0', 0)} non-header) -> "
          f"{request.output_dir / 'all_clips.csv'}")
    print(f"{summary['skipped']} skipped{f' ({reasons})' if reasons else ''} -> "
          f"{request.output_dir / 'skipped_samples.csv'}")


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    return run_tool(lambda: _make(argv))


if __name__ == "__main__":
    sys.exit(main())
