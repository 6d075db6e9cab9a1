"""`python data_tools/resize_videos.py` (or `python -m data_tools.resize_videos`): a video dataset re-encoded with a
smaller short side, once, before training (what mmaction2 / VideoMAE users do to Kinetics), the tree kept as it is.

    python -m data_tools.resize_videos --src /data/kinetics400 --dst /data/kinetics400_320 --short_side 320 --workers 16
    python -m src.train dataset=kinetics400 dataset.root=/data/kinetics400_320

Every video (.mp4 .m4v .mov .mkv .webm .avi) whose short side is above --short_side is re-encoded at that short side
(aspect ratio kept, audio dropped) under the same name; smaller videos and every other file (list files, annotation
CSVs, classInd.txt) are copied. Videos that do not decode are listed in <dst>/failures.csv and not written; the
counts, bytes and settings go to <dst>/resize_summary.json. Run it again after an interruption: finished files are
skipped. Defaults: conf/resize_videos.yaml. Containers and codecs: src/clip/data/resize/containers.py.
"""
import argparse
import logging
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from src.clip.data.resize.run import ResizeRequest, resize_tree  # noqa: E402
from src.clip.data.resize.settings import check_settings  # noqa: E402
from src.core.cli_args import OneLineParser, at_least, output_folder, run_tool  # noqa: E402
from src.core.disk_errors import disk_error_line  # noqa: E402
from src.core.errors import UserError  # noqa: E402
from src.core.tool_defaults import tool_defaults  # noqa: E402


def _fps(text: str) -> float | None:
    """A number, or null / none: keep each video's rate."""
    if text.lower() in ("null", "none"):
        return None
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number or null") from None


class _Help(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """The description as written, each option with its default (from conf/resize_videos.yaml)."""


def _parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="python -m data_tools.resize_videos", description=__doc__, formatter_class=_Help)
    parser.add_argument("--src", type=Path, required=True, help="the dataset root (what dataset.root points at)")
    parser.add_argument("--dst", type=output_folder, required=True,
                        help="new or empty folder (or this tool's earlier output, to continue it); not inside --src")
    # Ranges and choices are checked after parsing (settings.check_settings): the defaults from the config too.
    parser.add_argument("--short_side", type=int, help="pixels; even")
    parser.add_argument("--fps", type=_fps, help="null: keep each video's rate; a number: resample")
    parser.add_argument("--codec", help="h264 or mpeg4, for .mp4/.m4v/.mov/.mkv (.avi: mpeg4, .webm: vp9)")
    parser.add_argument("--crf", type=int, help="libx264 quality, 0 (lossless) .. 51")
    parser.add_argument("--preset", help="libx264 speed preset, ultrafast .. veryslow")
    parser.add_argument("--mpeg4_quantiser", type=int, help="MPEG-4 Part 2 quantiser, 2 (best) .. 31")
    parser.add_argument("--vp9_crf", type=int, help="VP9 (.webm) quality, 0 (best) .. 63")
    parser.add_argument("--vp9_speed", type=int, help="VP9 cpu-used, 0 (slowest) .. 8")
    parser.add_argument("--interpolation", help="swscale filter: BICUBIC, BILINEAR, AREA, LANCZOS, …")
    parser.add_argument("--workers", type=at_least(1), help="processes, one file at a time each")
    parser.add_argument("--no_progress", action="store_true", help="no progress bar")
    parser.set_defaults(**tool_defaults("resize_videos"))  # conf/resize_videos.yaml
    return parser


def _resize(argv: list[str] | None) -> None:
    args = _parser().parse_args(argv)
    settings = check_settings(vars(args))
    if isinstance(args.workers, bool) or not isinstance(args.workers, int) or args.workers < 1:  # from the config
        raise UserError(f"--workers {args.workers}: must be an integer >= 1")
    request = ResizeRequest(src=args.src, dst=args.dst, settings=settings, workers=args.workers,
                            progress=not args.no_progress)
    try:
        summary = resize_tree(request)
    except KeyboardInterrupt:  # every file in --dst is whole: the same command continues
        print("interrupted: the files written so far are complete; run the same command again to continue",
              file=sys.stderr)
        raise SystemExit(130) from None
    except OSError as err:  # --dst full or read-only: one line, the files written so far stay
        if (line := disk_error_line(err)) is None:
            raise
        raise UserError(line) from None
    ratio = f", size ratio {summary['size_ratio']}" if summary["size_ratio"] is not None else ""
    print(f"{summary['reencoded']} videos re-encoded, {summary['copied']} copied (already small), "
          f"{summary['copied_other']} other files copied, {summary['skipped_done']} already done, "
          f"{summary['failed']} failed -> {args.dst}{ratio}")
    if summary["failed"]:
        print(f"videos that did not decode (not written): {args.dst / 'failures.csv'}")


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    return run_tool(lambda: _resize(argv))


if __name__ == "__main__":
    sys.exit(main())
