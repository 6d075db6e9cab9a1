"""The dataset index cache (`dataset.index_cache`): a fresh Kinetics-400 scan against reading the kept index.

    python -m benchmarks.index                        # 240,000 annotation rows (220,000 train + 20,000 val)
    python -m benchmarks.index --rows 24000 --rounds 5

A synthetic Kinetics-400 download is made once in --work-dir (default: a folder in the system temp folder, reused
by later runs): the official annotation CSVs with --rows rows over 400 classes, an empty placeholder file per clip
in <split>/<label>/ (the readers never open a video), every 33rd clip missing (an incomplete download). Each
measurement runs in a fresh process, scan and load alternating, so both see the same warm file-system cache:

    scan   read_index with dataset.index_cache=off (what every run and every DDP rank did before)
    build  read_index with auto and no index file yet (the scan plus writing the index: the first run)
    load   read_index with auto and the index file in place (every later run and rank)

Also timed in the load process: building every train record (what a run without k_train touches as it reads the
videos), and the datamodule's splits with the k_train=16, k_val=4 draw of conf/dataset/kinetics400.yaml. Peak RSS is
each process's ru_maxrss, and the index's share of it is the growth after the imports. Writes
benchmarks/results/index.json. Goal: load <= 2 s and >= 20x faster than the scan.
"""
import argparse
import csv
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import RESULTS_DIR, median, print_table, save_results

CLASSES, MISSING_EVERY, VAL_FRACTION = 400, 33, 1 / 12
GOAL_SECONDS, GOAL_SPEEDUP = 2.0, 20.0


def _args(argv):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.index", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=240_000, help="annotation rows (train + val)")
    parser.add_argument("--rounds", type=int, default=3, help="scan / load pairs, alternating")
    parser.add_argument("--work-dir", type=Path, default=None, help="where the synthetic download is made (kept)")
    parser.add_argument("--out-dir", type=Path, default=RESULTS_DIR)
    parser.add_argument("--child", choices=("scan", "build", "load"), default=None, help=argparse.SUPPRESS)
    parser.add_argument("--cache", type=Path, default=None, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def make_download(root: Path, rows: int) -> Path:
    """The synthetic Kinetics-400 tree (once: a finished tree has a marker file)."""
    marker = root / ".complete"
    if marker.is_file():
        return root
    began = time.perf_counter()
    counts = {"val": round(rows * VAL_FRACTION)}
    counts["train"] = rows - counts["val"]
    for split, count in counts.items():
        (root / "annotations").mkdir(parents=True, exist_ok=True)
        with open(root / "annotations" / f"{split}.csv", "w", newline="") as out:
            table = csv.writer(out)
            table.writerow(["label", "youtube_id", "time_start", "time_end", "split"])
            for i in range(count):
                label, youtube_id = f"class {i % CLASSES:03d}", f"{split[0]}{i:010d}"
                table.writerow([label, youtube_id, 10, 20, split])
                folder = root / split / label.replace(" ", "_")
                if i < CLASSES:
                    folder.mkdir(parents=True, exist_ok=True)
                if i % MISSING_EVERY:
                    open(folder / f"{youtube_id}_000010_000020.mp4", "wb").close()
    marker.write_text(f"{rows}\n")
    print(f"made {root} ({rows} rows) in {time.perf_counter() - began:.0f} s")
    return root


def measure(args) -> dict:
    """In a child process: one read_index (and, after a load, the record and datamodule timings)."""
    from benchmarks.common import compose_config
    from src.clip.data.datamodule import VideoDataModule
    from src.clip.data.index import read_index

    config = compose_config(["dataset=kinetics400", f"dataset.root={args.work_dir}",
                             f"dataset.index_cache={'off' if args.child == 'scan' else 'auto'}"])
    dataset = config["dataset"]
    after_imports = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    began, cpu = time.perf_counter(), time.process_time()
    index = read_index(dataset, cache_dir=args.cache)
    result = {"seconds": time.perf_counter() - began, "cpu_seconds": time.process_time() - cpu,
              "train": len(index.train), "val": len(index.val), "missing": len(index.missing)}
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result.update(peak_rss_mb=peak, index_rss_mb=peak - after_imports)
    if args.child == "load":
        began = time.perf_counter()
        records = list(index.train)
        result["build_all_train_records_seconds"] = time.perf_counter() - began
        del records
        began = time.perf_counter()
        splits = VideoDataModule(dataset, config["backbone"], seed=0, cache_dir=args.cache).splits
        result["datamodule_splits_seconds"] = time.perf_counter() - began
        result["datamodule_videos"] = {"train": len(splits.train), "val": len(splits.val), "test": len(splits.test)}
    return result


def run_child(kind: str, args, cache: Path) -> dict:
    command = [sys.executable, "-m", "benchmarks.index", "--child", kind, "--work-dir", str(args.work_dir),
               "--cache", str(cache)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, check=True, capture_output=True, text=True, env=env)
    return json.loads(done.stdout.splitlines()[-1])


def main(argv=None) -> dict:
    args = _args(argv)
    if args.child is not None:
        print(json.dumps(measure(args)))
        return {}
    args.work_dir = args.work_dir or Path(tempfile.gettempdir()) / f"videoprompt-index-bench-{args.rows}"
    make_download(args.work_dir, args.rows)
    with tempfile.TemporaryDirectory(prefix="index-cache-") as cache:
        built = run_child("build", args, Path(cache))
        index_mb = next((Path(cache) / "index").glob("*.json")).stat().st_size / 1e6
        rounds = [{"scan": run_child("scan", args, Path(cache)), "load": run_child("load", args, Path(cache))}
                  for _ in range(args.rounds)]
    scan = median([r["scan"]["seconds"] for r in rounds])
    load = median([r["load"]["seconds"] for r in rounds])
    speedup = median([r["scan"]["seconds"] / r["load"]["seconds"] for r in rounds])
    last = rounds[-1]["load"]
    rows = [["scan (index_cache=off)", scan, median([r["scan"]["cpu_seconds"] for r in rounds]),
             rounds[-1]["scan"]["peak_rss_mb"], rounds[-1]["scan"]["index_rss_mb"]],
            ["build (first run: scan + write)", built["seconds"], built["cpu_seconds"], built["peak_rss_mb"],
             built["index_rss_mb"]],
            ["load (index file)", load, median([r["load"]["cpu_seconds"] for r in rounds]), last["peak_rss_mb"],
             last["index_rss_mb"]]]
    print_table(f"Kinetics-400 index, {args.rows} rows ({last['train']} train + {last['val']} val on disk, "
                f"{last['missing']} missing)", ["read_index", "wall s", "CPU s", "peak RSS MB", "index RSS MB"], rows)
    print(f"load {speedup:.1f}x faster than a scan; index file {index_mb:.1f} MB; after the "
          f"load: every train record built {last['build_all_train_records_seconds']:.2f} s, datamodule splits "
          f"(k_train=16, k_val=4) {last['datamodule_splits_seconds']:.2f} s")
    results = {"settings": {"rows": args.rows, "rounds": args.rounds, "classes": CLASSES,
                            "missing_every": MISSING_EVERY, "work_dir": str(args.work_dir)},
               "environment": {"python": sys.version.split()[0], "cpu_count": os.cpu_count()},
               "scan_seconds": scan, "build_seconds": built["seconds"], "load_seconds": load, "speedup": speedup,
               "index_file_mb": index_mb, "build": built, "rounds": rounds,
               "meets_goal": load <= GOAL_SECONDS and speedup >= GOAL_SPEEDUP}
    save_results("index", results, args.out_dir)
    return results


if __name__ == "__main__":
    main()
