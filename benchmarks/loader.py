"""Clips/s of the task=clip TRAINING loader next to raw PyAV decoding of the very same frames.

    python -m benchmarks.loader                  # the synthetic set (generated into data/ when missing)
    python -m benchmarks.loader --rounds 5

Configuration: dataset=synthetic backbone=clip_tiny (the demo's frames, views and image size). Rows:
- raw PyAV: open, decode from the first frame, `frame.to_ndarray(format="rgb24")` for the wanted frames, stop
  after the last one; nothing else (no seek, no tensor, no transform). Once with PyAV's default conversion,
  once with one swscale thread (what our reader uses).
- VideoReader: our reader (keyframe seeks, one conversion thread) on the same indices.
- DataLoader, num_workers 0 and 2: dataset + transform + collate, as training runs it (shuffled, batches);
  num_workers 0 once more with one intra-op torch thread (workers run with one: on a busy machine torch's
  thread pool makes the small per-clip tensor ops of the main process several times slower).
- whole-clip decode, num_workers 0 and 2: the baseline, pytorchvideo's way of loading a clip (read the file into
  memory, decode every frame of the clip's time span, convert them all, then subsample), re-implemented in
  benchmarks/whole_clip_baseline.py (pytorchvideo itself is no dependency); same frames, size, batches, workers.
The raw rows and VideoReader replay the indices the num_workers=0 loader drew; the 2-worker loader draws its
own (same distribution). Every figure is a median over rounds (the machine is shared); ratios are to the raw
default row. Output: a table and benchmarks/results/loader.json.
"""
import argparse
import logging
import time

import av
import numpy as np
import torch

from benchmarks.common import (
    REPO,
    RESULTS_DIR,
    compose_config,
    environment,
    median,
    print_table,
    save_results,
)
from benchmarks.whole_clip_baseline import whole_clip_loader
from src.clip.data.datamodule import VideoDataModule
from src.clip.data.reader import read_frames
from src.clip.data.sampler import FrameSampler


class RecordingSampler(FrameSampler):
    """A FrameSampler that also keeps every index array it hands out (num_workers=0: in this process)."""

    def __init__(self, sampler: FrameSampler):
        super().__init__(sampler.num_frames, sampler.num_temporal_views, sampler.frame_interval)
        self.drawn: list[np.ndarray] = []

    def indices(self, total_frames, train, rng):
        out = super().indices(total_frames, train, rng)
        self.drawn.append(out)
        return out


def raw_decode(path, indices: np.ndarray, threads: int | None) -> int:
    """Decode from the start; rgb24 arrays of the wanted frames. Returns how many arrays were made."""
    wanted = set(indices.ravel().tolist())
    last, made = max(wanted), 0
    options = {} if threads is None else {"threads": threads}
    with av.open(str(path)) as container:
        for i, frame in enumerate(container.decode(video=0)):
            if i in wanted:
                frame.to_ndarray(format="rgb24", **options)                      # (H, W, 3)
                made += 1
            if i >= last:
                break
    return made


def video_seconds(path) -> float:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return float(stream.frames / stream.average_rate) - 1e-3


def clips_per_second(run, clips: int) -> float:
    start = time.perf_counter()
    run()
    return clips / (time.perf_counter() - start)


def single_threaded(run):
    """Run with one intra-op torch thread (what DataLoader workers use), then restore the count."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return run()
    finally:
        torch.set_num_threads(threads)


def epoch(loader) -> int:
    return sum(len(batch["label"]) for batch in loader)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.loader", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3, help="measurements per row (median reported)")
    parser.add_argument("--epochs", type=int, default=2, help="passes over the training split per measurement")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    cfg = compose_config(["dataset=synthetic", "backbone=clip_tiny", f"paths.root_dir={REPO}"])
    data, backbone, seed = cfg["dataset"], cfg["backbone"], cfg["seed"]
    serial_dm = VideoDataModule({**data, "num_workers": 0}, backbone, seed)
    parallel_dm = VideoDataModule({**data, "num_workers": 2, "persistent_workers": True}, backbone, seed)
    for dm in (serial_dm, parallel_dm):
        dm.prepare_data()                                                        # generates the set if missing
        dm.setup("fit")

    # One epoch at num_workers=0 with a recording sampler: the exact (video, indices) pairs training decoded.
    recorder = RecordingSampler(serial_dm.train_set.sampler)
    serial_dm.train_set.sampler = recorder
    serial = serial_dm.train_dataloader()
    order = [i for batch in serial for i in batch["index"].tolist()]
    assert len(order) == len(recorder.drawn) == serial_dm.num_train, "every training video decoded once"
    pairs = [(serial_dm.train_records[i].path, indices) for i, indices in zip(order, recorder.drawn)]
    clips = len(pairs) * args.epochs
    parallel = parallel_dm.train_dataloader()
    epoch(parallel)                                                              # start the workers once
    seconds = video_seconds(serial_dm.train_records[0].path)
    whole = {w: whole_clip_loader(serial_dm.train_records, frames=data["num_frames"] * data["num_temporal_views"],
                                  backbone=backbone, batch_size=data["batch_size"], workers=w, seconds=seconds)
             for w in (0, 2)}

    runs = {
        "raw PyAV (to_ndarray default)": lambda: [raw_decode(p, i, None) for _ in range(args.epochs) for p, i in pairs],
        "raw PyAV (to_ndarray threads=1)": lambda: [raw_decode(p, i, 1) for _ in range(args.epochs) for p, i in pairs],
        "VideoReader (seek, same indices)": lambda: [read_frames(p, i) for _ in range(args.epochs) for p, i in pairs],
        "DataLoader num_workers=0": lambda: [epoch(serial) for _ in range(args.epochs)],
        "DataLoader num_workers=0, 1 torch thread": lambda: single_threaded(
            lambda: [epoch(serial) for _ in range(args.epochs)]),
        "DataLoader num_workers=2": lambda: [epoch(parallel) for _ in range(args.epochs)],
        "whole-clip decode (pytorchvideo's way) num_workers=0": lambda: [epoch(whole[0]) for _ in range(args.epochs)],
        "whole-clip decode (pytorchvideo's way) num_workers=2": lambda: [epoch(whole[2]) for _ in range(args.epochs)],
    }
    measured = {name: [] for name in runs}
    for _ in range(args.rounds):
        for name, run in runs.items():
            measured[name].append(clips_per_second(run, clips))
    rates = {name: median(values) for name, values in measured.items()}
    raw = rates["raw PyAV (to_ndarray default)"]

    views, frames = data["num_temporal_views"], data["num_frames"]
    title = (f"training loader, {serial_dm.num_train} synthetic clips x {args.epochs} epochs; {views} view(s) x "
             f"{frames} frames at {backbone['image_size']} px (median of {args.rounds})")
    print_table(title, ["pipeline", "clips/s", "x raw"], [[n, r, r / raw] for n, r in rates.items()])
    ours_vs_whole = rates["DataLoader num_workers=2"] / rates["whole-clip decode (pytorchvideo's way) num_workers=2"]
    ours_vs_raw = rates["DataLoader num_workers=2"] / rates["raw PyAV (to_ndarray threads=1)"]
    print(f"ours / whole-clip decode, pytorchvideo's way (2 workers): {ours_vs_whole:.2f}x;  "
          f"ours (2 workers) / raw decode bound: {ours_vs_raw:.2f}")
    save_results("loader", {
        "environment": environment(torch.device("cpu")),
        "dataset": {"root": str(data["root"]), "train_clips": serial_dm.num_train, "frames_per_view": frames,
                    "temporal_views": views, "image_size": backbone["image_size"],
                    "augment": data["augment"], "batch_size": data["batch_size"]},
        "rounds": args.rounds, "epochs_per_round": args.epochs,
        "clips_per_s": rates, "ratio_to_raw": {n: r / raw for n, r in rates.items()},
        "ours_vs_whole_clip_decode": ours_vs_whole, "ours_vs_raw_decode_bound": ours_vs_raw,
        "all_measurements": measured,
    }, RESULTS_DIR)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
