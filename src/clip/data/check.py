"""The task=clip dataset checker: what `python -m data_tools.check_dataset dataset=… dataset.root=…` finds.

Reads the index as training would (same readers, but every missing video listed instead of the first one
stopping it), then probes every video once (src/clip/data/probe.py) and reports: the layout found, videos per
split and per class, missing files, videos that cannot be opened or decoded, videos shorter than
dataset.num_frames, the spread of resolution / fps / duration / codec, and videos listed in two splits; with
dataset.frame_store on, how many videos have an entry in the decoded-frame store (under read, a readable video
without one is a problem: the run would stop).
Problems (exit 2) are what would make a run fail or silently train / evaluate on something else.
"""
from collections import Counter, defaultdict
from pathlib import Path

from src.clip.data.frame_source import frame_store_mode
from src.clip.data.frame_store.fill import BUILD_HINT
from src.clip.data.frame_store.store import FrameStore
from src.clip.data.index import COUNTS_MISSING, read_index
from src.clip.data.probe import probe_videos
from src.clip.data.records import DatasetIndex, VideoRecord
from src.core.dataset_report import DatasetReport, spread

TOP_VALUES = 10                  # most common resolutions / codecs / fps listed in the report


def check_clip_dataset(dataset: dict, check: dict, cache_dir: Path | None = None) -> DatasetReport:
    """`cache_dir`: where `dataset.index_cache` keeps the index (None: scan). The index lists the videos; every
    one of them is still opened by the probe pass, so a video removed since the index was kept is reported."""
    report = DatasetReport(task="clip", dataset=dataset["name"])
    index = read_index(dataset, strict=False, cache_dir=cache_dir)
    splits = _splits(index)
    report.facts.update({"root": str(dataset["root"]), "layout": index.layout,
                         "num_classes": len(index.class_names),
                         "videos_per_split": {name: len(records) for name, records in splits.items()}})
    limit = check["max_listed"]
    _per_class(report, splits, index.class_names, dataset["k_train"], check["min_videos_per_class"], limit)
    _missing(report, index, dataset, limit)
    _duplicates(report, splits, limit)
    paths = sorted({record.path for records in splits.values() for record in records})
    probes = list(probe_videos(paths, check["decode"], dataset["num_workers"]))
    _videos(report, probes, dataset["num_frames"], limit)
    _frame_store(report, dataset, probes, limit)
    return report


def _splits(index: DatasetIndex) -> dict[str, list[VideoRecord]]:
    splits = {"train": index.train}
    if index.val is not None:
        splits["val"] = index.val
    if index.test and index.test is not index.val:      # Kinetics without a test split: val doubles as test
        splits["test"] = index.test
    return splits


def _per_class(report: DatasetReport, splits: dict, class_names: list[str], k_train: int | None,
               min_videos: int, limit: int) -> None:
    counts = {name: Counter(r.label for r in records) for name, records in splits.items()}
    report.facts["videos_per_class"] = {
        name: spread([count[label] for label in range(len(class_names))]) for name, count in counts.items()}
    report.facts["class_counts"] = {class_name: {split: count[label] for split, count in counts.items()}
                                    for label, class_name in enumerate(class_names)}
    needed = max(k_train or 0, min_videos)
    few = [{"class": class_names[label], "train_videos": counts["train"][label]}
           for label in range(len(class_names)) if counts["train"][label] < needed]
    if few:
        why = f"dataset.k_train={k_train}" if k_train and k_train >= min_videos else \
            f"check.min_videos_per_class={min_videos}"
        report.problem("classes_with_few_videos", f"{len(few)} class(es) have fewer than {needed} train videos "
                       f"({why}); the few-shot draw / validation hold-out will be short for them", few[:limit])


def _missing(report: DatasetReport, index: DatasetIndex, dataset: dict, limit: int) -> None:
    if not index.missing:
        return
    items = [{"path": str(m.path), "where": m.where, "split": m.split} for m in index.missing[:limit]]
    if dataset["format"] not in COUNTS_MISSING:
        report.problem("missing_files", f"{len(index.missing)} listed video(s) are not on disk (training stops at "
                       "the first); fix the lists or re-extract the archive", items)
        return
    listed = {name: len(records) for name, records in _splits(index).items()}
    for split, absent in sorted(Counter(m.split for m in index.missing).items()):
        fraction, allowed = absent / (listed.get(split, 0) + absent), dataset["max_missing_fraction"]
        message = (f"{absent} of {listed.get(split, 0) + absent} {split} clips the annotations list are not on disk "
                   f"({fraction:.1%}; dataset.max_missing_fraction={allowed})")
        split_items = [item for item in items if item["split"] == split]
        if fraction > allowed:
            report.problem("missing_files", f"{message}: training stops; finish the download", split_items)
        else:
            report.warning("missing_files", f"{message}: training leaves them out", split_items)


def _duplicates(report: DatasetReport, splits: dict, limit: int) -> None:
    where: dict[Path, list[str]] = defaultdict(list)
    for name, records in splits.items():
        for record in records:
            where[record.path.resolve()].append(name)
    across = [{"path": str(path), "splits": names} for path, names in where.items() if len(set(names)) > 1]
    within = [{"path": str(path), "splits": names} for path, names in where.items()
              if len(names) > len(set(names))]
    if across:
        report.problem("duplicate_paths_across_splits", f"{len(across)} video(s) are listed in more than one split: "
                       "evaluation would score videos the model trained on", across[:limit])
    if within:
        report.warning("duplicate_paths_within_split", f"{len(within)} video(s) are listed twice in one split "
                       "(they count twice)", within[:limit])


def _videos(report: DatasetReport, probes: list[dict], num_frames: int, limit: int) -> None:
    good = [p for p in probes if p["ok"]]
    bad = [{"path": p["path"], "reason": p["reason"]} for p in probes if not p["ok"]]
    short = [{"path": p["path"], "frames": p["frames"]} for p in good if p["frames"] < num_frames]
    report.facts["video_properties"] = {
        "videos_probed": len(probes),
        "resolution": dict(Counter(f"{p['width']}x{p['height']}" for p in good).most_common(TOP_VALUES)),
        "codec": dict(Counter(p["codec"] for p in good).most_common(TOP_VALUES)),
        "fps": dict(Counter(str(p["fps"]) for p in good).most_common(TOP_VALUES)),
        "frames": spread([p["frames"] for p in good]),
        "duration_s": spread([p["duration_s"] for p in good if p["duration_s"] is not None]),
    }
    if bad:
        report.problem("undecodable_videos", f"{len(bad)} video(s) cannot be opened or decoded; training skips "
                       "them (and stops above dataset.max_bad_fraction): re-download or remove them", bad[:limit])
    if short:
        report.problem("short_videos", f"{len(short)} video(s) have fewer frames than dataset.num_frames="
                       f"{num_frames}: their clips repeat frames", short[:limit])


def _frame_store(report: DatasetReport, dataset: dict, probes: list[dict], limit: int) -> None:
    mode = frame_store_mode(dataset)
    if mode == "off":
        return
    store = FrameStore(Path(dataset["frame_store_dir"]), dataset["frame_store_short_side"],
                       dataset["frame_store_quality"], read_only=True)
    absent = [p["path"] for p in probes if not store.has(Path(p["path"]))]
    report.facts["frame_store"] = {"dir": str(store.dir), "mode": mode, "videos": len(probes),
                                   "stored": len(probes) - len(absent), "not_stored": len(absent)}
    readable = {p["path"] for p in probes if p["ok"]}        # unreadable videos never get an entry: skipped, not missing
    missing = [{"path": path} for path in absent if path in readable]
    if mode == "read" and missing:
        report.problem("not_in_frame_store", f"{len(missing)} readable video(s) have no entry in the frame store "
                       f"{store.dir}: a dataset.frame_store=read run stops; {BUILD_HINT}", missing[:limit])
