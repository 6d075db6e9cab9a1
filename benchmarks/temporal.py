"""Which CLIP methods model time: every method on the synthetic set's motion-only classes, one fixed budget.

    python -m benchmarks.temporal --jobs 2                          # all 10 rows x 3 seeds, 2 runs at a time
    python -m benchmarks.temporal --methods stt_attention vilt_attention vita_attention   # the pooling=attention rows
    python -m benchmarks.temporal --methods video_coop_mean vita --seeds 0 --override trainer.max_epochs=2

Data: the synthetic action set (data_tools/make_synthetic.py; generated under data/ when missing) restricted to
its MOTION_PAIRS: moving left / moving right and growing / shrinking. The two members of a pair draw their frames
from the same distribution and differ only in frame order, so an order-blind model (per-frame features + mean
pooling) sits at chance (50%) inside each pair; only what a method learns about time can beat it. The two pairs
look different (colour, motion kind); the rows also report how many videos were put in the wrong pair (an
appearance error, which can push an order-blind row below 50%).
Protocol (conf/experiment/temporal_bench.yaml, the same for every row): clip_tiny_deep (random init, 12 layers
per tower, so every method's default layer schedule applies), 8 frames, batch 8, the same epochs, lr and seeds,
no VideoMix, no early stopping; train on 60% of each class's groups, evaluate the FINAL weights once on the other
40% (held out by group; no best-epoch pick). Each row runs the real code path, `src.train.train(cfg)`.
Rows: video_coop with mean pooling (the order-blind baseline) and with attention pooling (frames' mean + a learned
query's temporal contrast, see src/clip/models/layers/pooling.py), dual_coop, stt, vidop, vilt, vita with their
own pooling and layer schedules, and stt, vilt and vita with pooling=attention (dual_coop and vidop pool by
attention already). --jobs N trains N runs side by side, each in its own process.
Seeds (--seeds, default 0 1 2): each row is trained once per seed (`seed=` moves the initialisation, the batch
order and which groups are held out; the synthetic videos stay the same). One accuracy on ~100 held-out videos
has a standard error of ~5 points, so a single seed cannot rank close rows: the table reports mean ± std.
Output: a table (per row, mean ± std over the seeds of the held-out accuracy on left/right, on
growing/shrinking, and their mean — the goal is judged on that mean; the fraction put in the wrong pair; seconds
per run) and benchmarks/results/temporal.json (+ every (row, seed) run with per-class accuracy and train loss
per epoch, and whether each row beats the baseline by more than 2 standard errors).
"""
import argparse
import json
import logging
import multiprocessing
import tempfile
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import torch
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig, OmegaConf

from benchmarks.common import REPO, RESULTS_DIR, environment, print_table, save_results
from benchmarks.temporal_scores import (
    PAIR_NAMES,
    beats_baseline,
    cross_pair_errors,
    mean_std,
    pair_accuracy,
    summarise,
)
from src.core import run_naming  # noqa: F401  (registers the run_tag resolver used by conf/task/clip.yaml)
from src.core.atomic import write_text
from src.synthetic import ucf_layout
from src.synthetic.datasets import MOTION_PAIRS, make_action_dataset
from src.train import train

EXPERIMENT = "temporal_bench"
# Row name -> the Hydra overrides that pick the method (everything else is the experiment's fixed budget).
VARIANTS = {
    "video_coop_mean": ["method=video_coop", "method.pooling=mean"],
    "video_coop_attention": ["method=video_coop", "method.pooling=attention"],
    "dual_coop": ["method=dual_coop"],
    "stt": ["method=stt"],
    "vidop": ["method=vidop"],
    "vilt": ["method=vilt"],
    "vita": ["method=vita"],
    "stt_attention": ["method=stt", "method.pooling=attention"],
    "vilt_attention": ["method=vilt", "method.pooling=attention"],
    "vita_attention": ["method=vita", "method.pooling=attention"],
}
DEFAULT_ROWS = list(VARIANTS)
DEFAULT_SEEDS = [0, 1, 2]
# Lightning's notes that do not concern this benchmark (few loader workers, frozen CLIP in eval mode, …).
QUIET = (r".*(does not have many workers|module\(s\) in eval mode|isinstance\(treespec, LeafSpec\)|log_every_n_steps"
         r"|exists and is not empty).*")


def compose_run(overrides: list[str], runs_dir: Path) -> DictConfig:
    """experiment=temporal_bench + `overrides`; run folders under runs_dir (no Hydra run: output_dir is set)."""
    overrides = [f"experiment={EXPERIMENT}", *overrides, f"paths.models_dir={runs_dir / 'models'}",
                 f"paths.output_dir={runs_dir / 'outputs'}"]
    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base="1.3"):
        return compose("train", overrides=overrides)


def prepare_data(dataset: dict) -> int:
    """Generate the synthetic set (when missing) and write the motion-only list file + class names.

    Labels are the position in MOTION_PAIRS order (left, right, growing, shrinking). Returns the video count.
    """
    synthetic = dataset["synthetic"]
    root = make_action_dataset(Path(dataset["root"]), **synthetic)
    classes = [name for pair in MOTION_PAIRS for name in pair]
    lines = [f"{ucf_layout.video_path(name, group, clip)} {label}"
             for label, name in enumerate(classes)
             for group in range(1, synthetic["groups"] + 1)
             for clip in range(1, synthetic["clips_per_group"] + 1)]
    missing = [line.split()[0] for line in lines if not (root / line.split()[0]).is_file()]
    assert not missing, f"{root}: the synthetic set lacks {missing[:3]} …; delete the folder to regenerate it"
    write_text(Path(dataset["train_list"]), "".join(line + "\n" for line in lines))
    write_text(Path(dataset["class_names_file"]), "".join(name + "\n" for name in classes))
    return len(lines)


def run_variant(name: str, overrides: list[str], runs_dir: Path, seed: int) -> dict:
    """Train one row with one seed through src.train.train and read its held-out figures back from the run folder."""
    cfg = compose_run([*VARIANTS[name], *overrides, f"seed={seed}", f"run_id={name}_seed{seed}"], runs_dir)
    start = time.perf_counter()
    summary = train(cfg)
    seconds = time.perf_counter() - start
    run_dir = Path(summary["run_dir"])
    results = json.loads((run_dir / "validation_results.json").read_text())
    log = json.loads((run_dir / "training_log.json").read_text())
    assert results["best_epoch"] == log[-1]["epoch"], f"{name}: the held-out figures are not of the final epoch"
    row = {"method": name, "seed": seed, "method_name": cfg.method.name, "pooling": cfg.method.pooling,
           **{PAIR_NAMES[pair]: pair_accuracy(results, pair) for pair in MOTION_PAIRS},
           "overall": results["top1"], "cross_pair_errors": cross_pair_errors(results),
           "per_class_accuracy": results["per_class_accuracy"],
           "held_out_videos": results["num_videos"], "epochs": len(log),
           "final_train_loss": log[-1]["train_loss"], "final_train_acc": log[-1]["train_acc"],
           "train_loss_per_epoch": [r["train_loss"] for r in log], "train_seconds": seconds}
    return row


def _pool_run(run: tuple) -> dict:
    """run_variant(*run) in a pool process, as quiet as the parent."""
    logging.getLogger("pytorch_lightning").setLevel(logging.WARNING)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=QUIET)
        return run_variant(*run)


def run_all(args: argparse.Namespace) -> dict:
    """Prepare the data once, train every requested row, collect the figures."""
    with tempfile.TemporaryDirectory(prefix="temporal_bench_") as tmp, warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=QUIET)
        runs_dir = Path(args.runs_dir or tmp).resolve()
        budget = compose_run(args.override, runs_dir)
        start = time.perf_counter()
        num_videos = prepare_data(OmegaConf.to_container(budget.dataset, resolve=True))
        data_seconds = time.perf_counter() - start
        # trainer.cpu_threads first: an --override of it wins. Every run is seeded, so its figures do not depend
        # on which process runs it or beside what.
        overrides = [f"trainer.cpu_threads={args.threads or 'null'}", *args.override]
        todo = [(name, overrides, runs_dir, seed) for name in args.methods for seed in args.seeds]
        if args.jobs == 1:
            runs = [run_variant(*run) for run in todo]
        else:  # spawned: each pool process a fresh interpreter (no inherited torch threads or Hydra state)
            with ProcessPoolExecutor(args.jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
                runs = list(pool.map(_pool_run, todo))
    rows = summarise(runs)
    return {"settings": {**_settings(budget, num_videos, args.override), "seeds": list(args.seeds),
                         "threads": args.threads, "jobs": args.jobs},
            "data_seconds": data_seconds, "total_seconds": time.perf_counter() - start, "rows": rows, "runs": runs,
            "beats_baseline": beats_baseline(rows), "environment": environment(torch.device("cpu"))}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.temporal", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--methods", nargs="+", choices=list(VARIANTS), default=DEFAULT_ROWS,
                        help=f"rows to run (default: {' '.join(DEFAULT_ROWS)})")
    parser.add_argument("--seeds", nargs="+", type=int, default=DEFAULT_SEEDS,
                        help="train every row once per seed (these win over an --override seed=…); the table "
                             "shows mean ± std (default: 0 1 2)")
    parser.add_argument("--override", action="append", default=[], metavar="KEY=VALUE",
                        help="a Hydra override applied to every row (e.g. trainer.max_epochs=2); repeatable")
    # One thread: on a shared 2-core machine torch's default pool oversubscribes the cores, and every small
    # matmul of the tiny CLIP then waits on the others' jobs (measured: a (1088, 96) linear 1.3 ms -> 33 ms).
    parser.add_argument("--threads", type=_count, default=1, help="torch intra-op threads per run "
                        "(trainer.cpu_threads; 0 = torch's default)")
    # A run at one thread keeps one core busy: on a 2-core machine two runs side by side take ~half the time.
    parser.add_argument("--jobs", type=_count, default=1, help="runs at a time, each in its own process")
    parser.add_argument("--runs-dir", type=Path, default=None,
                        help="keep the run folders here (default: a temporary folder, deleted at the end)")
    parser.add_argument("--out-dir", type=Path, default=RESULTS_DIR, help="where temporal.json goes")
    return parser


def main(argv: list[str] | None = None) -> dict:
    args = _parser().parse_args(argv)
    if args.jobs < 1:
        _parser().error("--jobs: at least 1")
    threads = torch.get_num_threads()
    try:
        results = run_all(args)
    finally:  # with --jobs 1 the runs set this process's threads (trainer.cpu_threads): give the caller its own back
        torch.set_num_threads(threads)
    rows, pairs = results["rows"], [PAIR_NAMES[pair] for pair in MOTION_PAIRS]
    seeds = " ".join(map(str, results["settings"]["seeds"]))
    print_table(f"held-out accuracy, mean±std over seeds {seeds} (chance inside a pair: 0.5)",
                ["method", "left/right", "grow/shrink", "pair mean", "x-pair", "s/run"],
                [[r["method"], *(mean_std(r, key) for key in [*pairs, "pair_mean", "cross_pair_errors"]),
                  r["train_seconds"]] for r in rows])
    save_results("temporal", results, args.out_dir)
    return results


def _count(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text}: a count, 0 or more")
    return value


def _settings(cfg: DictConfig, num_videos: int, overrides: list[str]) -> dict:
    return {"experiment": EXPERIMENT, "overrides": list(overrides), "backbone": cfg.backbone.name,
            "epochs": cfg.trainer.max_epochs, "lr": cfg.optimizer.lr, "batch_size": cfg.dataset.batch_size,
            "frames": cfg.dataset.num_frames, "val_fraction": cfg.dataset.val_fraction,
            "videos": num_videos, "synthetic": OmegaConf.to_container(cfg.dataset.synthetic, resolve=True)}


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("pytorch_lightning").setLevel(logging.WARNING)   # "Seed set", "GPU available", … per row
    main()
