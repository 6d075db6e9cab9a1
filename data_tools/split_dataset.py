"""`python data_tools/split_dataset.py` (or `python -m data_tools.split_dataset`): header CSV(s) -> train/val.

    python data_tools/split_dataset.py --input_csv all_clips.csv [detections/m3/clips.csv …] \
        --output_dir cache/header_16f --root_dir /data/header_clips --val_split 0.2 --seed 42

How rows are split and paths fixed: src/header/data/split.py.
"""
import argparse
import logging
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from src.core.cli_args import OneLineParser, at_least, output_folder, run_tool  # noqa: E402
from src.header.data.split import split_dataset  # noqa: E402


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = OneLineParser(description="Split header CSV(s) into train.csv and val.csv (stratified, group-aware).")
    parser.add_argument("--input_csv", required=True, type=Path, nargs="+",
                        help="CSV(s) with path,label (+ video_id,half,frame,group, mined); several are split together, "
                             "each row's path relative to its own CSV")
    parser.add_argument("--output_dir", required=True, type=output_folder,
                        help="where train.csv and val.csv are written")
    parser.add_argument("--root_dir", type=Path, default=None, help="folder holding the clips on this machine")
    parser.add_argument("--val_split", type=float, default=0.2, help="fraction of rows for validation, in (0, 1)")
    parser.add_argument("--seed", type=at_least(0), default=42)
    parser.add_argument("--group_col", default=None, help="rows sharing this column stay together (default: "
                                                          "group, else video_id)")
    parser.add_argument("--allow_missing", action="store_true", help="drop rows whose clip is missing")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    return run_tool(lambda: _split(parse_args(argv)))


def _split(args: argparse.Namespace) -> None:
    split_dataset(args.input_csv, args.output_dir, root_dir=args.root_dir, val_split=args.val_split, seed=args.seed,
                  group_col=args.group_col, allow_missing=args.allow_missing, relative_to=Path.cwd())


if __name__ == "__main__":
    sys.exit(main())
