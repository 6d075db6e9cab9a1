"""`python -m data_tools.make_synthetic` (or `python data_tools/make_synthetic.py`): the synthetic datasets.

    python -m data_tools.make_synthetic                     # both, with the defaults below
    python -m data_tools.make_synthetic action --root data/synthetic/ucf_synth --seed 0 --groups 7
    python -m data_tools.make_synthetic action --root data/synthetic/hmdb_like --layout hmdb51
    python -m data_tools.make_synthetic action --root data/synthetic/ssv2_like --layout ssv2   # or kinetics600
    python -m data_tools.make_synthetic header --root data/synthetic/header --seed 0 --num_clips 64
    python -m data_tools.make_synthetic match --out data/synthetic/match.mp4 --minutes 2 --fps 10
    python -m data_tools.make_synthetic match --wide --out data/synthetic/wide.mp4 --minutes 10 --fps 25

What the sets hold: src/synthetic/datasets.py. The match video: src/synthetic/match_video.py (square, whole header
clips as shots), or with --wide src/synthetic/wide_match.py (broadcast-like 16:9 footage: a panning camera, a small
player and ball, plus <stem>_tracks.csv, the ball's true box per frame, beside <stem>_events.csv).
"""
import argparse
import logging
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from src.core.cli_args import OneLineParser, above, at_least, output_file, output_folder, run_tool  # noqa: E402
from src.core.errors import UserError  # noqa: E402
from src.synthetic.archive_layouts import LAYOUTS  # noqa: E402
from src.synthetic.datasets import make_action_dataset, make_header_dataset  # noqa: E402
from src.synthetic.match_video import render_match_video  # noqa: E402
from src.synthetic.wide_match import render_wide_match  # noqa: E402


def _parser() -> argparse.ArgumentParser:
    # Counts and sizes of the action and header sets are checked by src/synthetic/datasets.py (with the reasons);
    # the folders and the match video's options here, while parsing, before anything is written.
    parser = OneLineParser(prog="python -m data_tools.make_synthetic", description=__doc__,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", metavar="{action,header,match}")
    with_defaults = argparse.ArgumentDefaultsHelpFormatter
    action = commands.add_parser("action", help="UCF-101-layout action videos", formatter_class=with_defaults)
    action.add_argument("--root", type=output_folder, default="data/synthetic/ucf_synth")
    action.add_argument("--groups", type=int, default=7)
    action.add_argument("--clips_per_group", "--clips-per-group", type=int, default=2)
    action.add_argument("--num_frames", "--num-frames", type=int, default=32)
    action.add_argument("--width", type=int, default=64)
    action.add_argument("--height", type=int, default=48)
    action.add_argument("--layout", default="flat", choices=LAYOUTS,
                        help="flat UCF-101 folders, or the tree the real archives give (ssv2: VP9 .webm)")
    header = commands.add_parser("header", help="soccer-header .npy clips + all_clips.csv",
                                 formatter_class=with_defaults)
    header.add_argument("--root", type=output_folder, default="data/synthetic/header")
    header.add_argument("--num_clips", "--num-clips", type=int, default=64)
    header.add_argument("--num_frames", "--num-frames", type=int, default=16)
    header.add_argument("--size", type=int, default=64)
    header.add_argument("--positive_fraction", "--positive-fraction", type=float, default=0.25)
    match = commands.add_parser("match", help="a long match video with headers at known frames (+ _events.csv)",
                                formatter_class=with_defaults)
    match.add_argument("--out", type=output_file, default="data/synthetic/match.mp4", help=".mp4 or .avi")
    match.add_argument("--minutes", type=above(0.0), default=2.0)
    match.add_argument("--fps", type=above(0.0), default=10.0)
    match.add_argument("--size", type=at_least(32), default=64,
                       help="side of the square video (not --wide); even (the video encoders need even sizes)")
    match.add_argument("--wide", action="store_true",
                       help="broadcast-like footage: 16:9, panning camera, small ball, + <stem>_tracks.csv")
    match.add_argument("--width", type=at_least(160), default=640, help="--wide video's width; even")
    match.add_argument("--height", type=at_least(120), default=360, help="--wide video's height; even")
    match.add_argument("--video_id", "--video-id", default=None,
                       help="--wide: the video_id column of the CSVs (None: the --out file's stem)")
    match.add_argument("--half", type=at_least(1), default=1, help="--wide: the half column of the CSVs")
    for sub in (action, header, match):
        sub.add_argument("--seed", type=at_least(0), default=0)
        sub.add_argument("--force", action="store_true", help="regenerate even if the dataset is complete")
    return parser


def _check_match(args: argparse.Namespace) -> None:
    if args.out.suffix not in (".mp4", ".avi"):
        raise UserError(f"--out {args.out}: name an .mp4 or .avi file")
    if args.wide and round(args.minutes * 60 * args.fps) < 1:
        raise UserError(f"--minutes {args.minutes} at --fps {args.fps}: less than one frame; give a longer video")
    sizes = {"--width": args.width, "--height": args.height} if args.wide else {"--size": args.size}
    for flag, value in sizes.items():
        if value % 2:
            raise UserError(f"{flag} {value}: must be even (the video encoders need even sizes), e.g. {value + 1}")


def _run(args: argparse.Namespace) -> str:
    if args.command == "match":
        _check_match(args)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        if args.wide:
            wide = render_wide_match(args.out, seed=args.seed, duration_s=args.minutes * 60, fps=args.fps,
                                     width=args.width, height=args.height, video_id=args.video_id, half=args.half)
            return (f"wide match video: {wide.path} ({len(wide.event_frames)} headers listed in {wide.events_csv}, "
                    f"the ball's boxes in {wide.tracks_csv})")
        video = render_match_video(args.out, seed=args.seed, duration_s=args.minutes * 60, fps=args.fps,
                                   size=args.size)
        return f"match video: {video.path} ({len(video.event_frames)} headers listed in {video.events_csv})"
    options = {key: value for key, value in vars(args).items() if key not in ("command", "root")}
    if args.command == "action":
        return f"action videos: {make_action_dataset(args.root, **options)}"
    return f"header clips: {make_header_dataset(args.root, **options)}"


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    return run_tool(lambda: _make(argv))


def _make(argv: list[str] | None) -> None:
    parser = _parser()
    args = parser.parse_args(argv)
    # No sub-command: make both sets with their defaults (what `make demo` needs).
    for run in [args] if args.command else [parser.parse_args([name]) for name in ("action", "header")]:
        print(_run(run))


if __name__ == "__main__":
    sys.exit(main())
