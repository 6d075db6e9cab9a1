"""The Header Net loop from match footage, end to end, with and without ball-centred crops: synthetic broadcast
footage -> make_header_clips -> split_dataset -> train csn_tiny -> src.detect on an unseen match -> event F1 at
±0.5 s. The same model, trained and run on whole frames (no tracks), beside it.

    python -m benchmarks.header_footage                          # both, about 10 minutes on 2 CPU cores
    python -m benchmarks.header_footage --modes crops --work-dir /tmp/loop

Two training matches (two halves each, SoccerNet's layout) and a test match are rendered by
src/synthetic/wide_match.py (640x360, 25 fps, the ball a few pixels wide). tests/header/footage/test_footage_loop.py
runs the crops loop and asserts F1 >= 0.8. Writes benchmarks/results/header_footage.json.
"""
import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from benchmarks.common import RESULTS_DIR, print_table, save_results

REPO = Path(__file__).resolve().parent.parent
TRAIN_MATCHES = {"match_a": 0, "match_b": 1}  # video_id -> seed (each has halves 1 and 2)
TEST_MATCH = ("match_c", 7)


def _args(argv):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.header_footage", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--modes", nargs="+", default=["crops", "whole_frame"], choices=["crops", "whole_frame"])
    parser.add_argument("--half-seconds", type=float, default=90.0, help="length of each training half")
    parser.add_argument("--test-seconds", type=float, default=120.0, help="length of the test match")
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--work-dir", type=Path, default=None)
    parser.add_argument("--out-dir", type=Path, default=RESULTS_DIR)
    return parser.parse_args(argv)


def render_footage(work: Path, half_seconds: float, test_seconds: float) -> dict:
    """Training halves under work/videos/<id>/<half>_360p.mp4 + their labels and tracks; the test match."""
    from src.synthetic.wide_match import render_wide_match

    def render(path: Path, **options):  # rendered once per work folder (the events and tracks CSVs come last)
        csvs = [path.with_name(f"{path.stem}_{kind}.csv") for kind in ("events", "tracks")]
        if not all(p.is_file() for p in csvs):
            path.parent.mkdir(parents=True, exist_ok=True)
            render_wide_match(path, fps=25, **options)
        events = pd.read_csv(csvs[0])
        return SimpleNamespace(path=path, events_csv=csvs[0], tracks_csv=csvs[1], event_frames=list(events.frame))

    labels, tracks = [], []
    for video_id, seed in TRAIN_MATCHES.items():
        for half in (1, 2):
            match = render(work / "videos" / video_id / f"{half}_360p.mp4", seed=10 * seed + half,
                           duration_s=half_seconds, video_id=video_id, half=half)
            labels.append(pd.read_csv(match.events_csv))
            tracks.append(pd.read_csv(match.tracks_csv))
    pd.concat(labels).to_csv(work / "labels.csv", index=False)
    pd.concat(tracks).to_csv(work / "tracks.csv", index=False)
    test_id, test_seed = TEST_MATCH
    test = render(work / "test" / f"{test_id}_1.mp4", seed=test_seed, duration_s=test_seconds, video_id=test_id,
                  half=1)
    return {"video": test.path, "events": test.events_csv, "tracks": test.tracks_csv,
            "headers": len(test.event_frames)}


def run_loop(work: Path, footage: dict, mode: str, epochs: int) -> dict:
    """clips -> split -> train -> detect for one mode; the detection's metrics.json plus timings."""
    from data_tools.make_header_clips import main as make_clips
    from src.header.data.split import split_dataset
    from src.tasks import get_task
    from src.train import train

    began = time.perf_counter()
    shutil.rmtree(work / mode, ignore_errors=True)  # a fresh loop each time (the footage is kept)
    clips = work / mode / "clips"
    tracks = ["--tracks", str(work / "tracks.csv")] if mode == "crops" else []
    assert make_clips(["--labels", str(work / "labels.csv"), "--videos", str(work / "videos"), *tracks,
                       "--output_dir", str(clips), "--num_frames", "8", "--size", "64", "--no_progress"]) == 0
    split = work / mode / "split"
    split_dataset([clips / "all_clips.csv"], split, root_dir=None, val_split=0.25, seed=0, group_col=None,
                  allow_missing=False, relative_to=split)
    overrides = ["experiment=header_footage", f"dataset.train_csv={split}/train.csv", f"dataset.val_csv={split}/val.csv",
                 f"trainer.max_epochs={epochs}", "~callbacks.progress_bar", "logger=csv", f"run_name={mode}",
                 f"paths.root_dir={work / mode}", f"paths.output_dir={work / mode}/o"]
    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base="1.3"):
        train(compose("train", overrides=overrides))
        detect = compose("detect", overrides=[
            f"run={mode}", f"video={footage['video']}", f"events_csv={footage['events']}", "progress=false",
            "detect.threshold=0.5", "detect.tolerance_s=0.5", f"paths.root_dir={work / mode}",
            f"paths.output_dir={work / mode}/o",
            *([f"detect.tracks={footage['tracks']}"] if mode == "crops" else [])])
    get_task("header").detect(OmegaConf.to_container(detect, resolve=True))
    out = work / mode / "detections" / Path(footage["video"]).stem
    metrics = json.loads((out / "metrics.json").read_text())
    summary = json.loads((out / "summary.json").read_text())
    return {"mode": mode, **{k: metrics[k] for k in ("f1", "precision", "recall")},
            "clips": len(pd.read_csv(clips / "all_clips.csv")), "windows_no_ball": summary["windows_no_ball"],
            "seconds": round(time.perf_counter() - began, 1)}


def main(argv=None) -> dict:
    args = _args(argv)
    work = args.work_dir or Path(tempfile.mkdtemp(prefix="footage-loop-"))
    work.mkdir(parents=True, exist_ok=True)
    footage = render_footage(work, args.half_seconds, args.test_seconds)
    measured = [run_loop(work, footage, mode, args.epochs) for mode in args.modes]
    print_table(f"Header Net from footage: event F1 at ±0.5 s on an unseen {args.test_seconds:g} s match "
                f"({footage['headers']} headers)", ["clips", "F1", "precision", "recall", "clips made", "seconds"],
                [[m["mode"], m["f1"], m["precision"], m["recall"], m["clips"], m["seconds"]] for m in measured])
    results = {"settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
               "test_headers": footage["headers"], "modes": measured}
    save_results("header_footage", results, args.out_dir)
    return results


if __name__ == "__main__":
    main()
