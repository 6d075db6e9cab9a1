"""`python -m data_tools.make_header_clips`: annotated match videos (+ ball tracks) -> training clips.

    labels (+ tracks) checked  ->  one job per video (found, or its rows skipped)  ->  output folder claimed
    ->  jobs run (in --workers processes)  ->  all_clips.csv, skipped_samples.csv, summary.json

Output in --output_dir: clips/<video_id>_<half>_<frame>_<label>.npy, all_clips.csv (path,label,video_id,half,frame,
group: the split tool's input; group = video_id_half, so a half never straddles train and val), skipped_samples.csv
(video_id,half,frame,label,reason,detail), summary.json (counts by label and reason, seconds, settings, and
`clip_settings`: what the clips are, read by training and by src.detect), settings.json (what --resume must match).
"""
import logging
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import torch
from rich.progress import Progress

from src.core.atomic import write_csv, write_json
from src.header.footage.labels import read_labels
from src.header.footage.output_folder import claim_output
from src.header.footage.tracks import read_tracks, track_for
from src.header.footage.video_clips import ClipSpec, VideoJob, VideoResult, make_video_clips
from src.header.footage.videos import find_video

log = logging.getLogger(__name__)

CLIP_COLUMNS = ("path", "label", "video_id", "half", "frame", "group")
SKIP_COLUMNS = ("video_id", "half", "frame", "label", "reason", "detail")


@dataclass
class FootageRequest:
    labels: list[Path]
    videos: Path | None
    tracks: list[Path]          # empty: whole frames
    output_dir: Path
    spec: ClipSpec
    negative_ratio: float
    guard_frames: int
    seed: int
    workers: int
    resume: bool
    progress: bool

    def settings(self) -> dict:
        """What decides the clips' content (a --resume must give the same)."""
        return {"clip_settings": self.spec.as_dict(), "negative_ratio": self.negative_ratio,
                "guard_frames": self.guard_frames, "seed": self.seed, "tracks": [str(p) for p in self.tracks]}


def make_header_clips(request: FootageRequest) -> dict:
    began = time.perf_counter()
    labels = read_labels(request.labels)
    tracks = read_tracks(request.tracks, min_score=request.spec.min_track_score) if request.tracks else None
    jobs, skipped = _jobs(request, labels, tracks)
    claim_output(request.output_dir, request.settings(), request.resume)  # nothing is written before this
    results = _run(jobs, request)
    rows = [row for r in results for row in r.rows]
    skipped += [row for r in results for row in r.skipped]
    all_clips = pd.DataFrame(rows, columns=[*CLIP_COLUMNS, "origin"]).sort_values(["video_id", "half", "frame"])
    skipped_table = pd.DataFrame(skipped, columns=SKIP_COLUMNS).sort_values(["video_id", "half", "frame"])
    write_csv(request.output_dir / "skipped_samples.csv", skipped_table)
    write_csv(request.output_dir / "all_clips.csv", all_clips[list(CLIP_COLUMNS)])
    summary = {
        "clips": len(all_clips), "clips_by_label": _counts(all_clips["label"]),
        "random_negatives": int((all_clips["origin"] == "random").sum()),
        "negatives_short": sum(r.negatives_short for r in results),
        "skipped": len(skipped_table), "skipped_by_reason": _counts(skipped_table["reason"]),
        "skipped_by_label": _counts(skipped_table["label"]), "videos": len(jobs),
        "seconds": round(time.perf_counter() - began, 2), "settings": request.settings(),
        "clip_settings": request.spec.as_dict(),
    }
    write_json(request.output_dir / "summary.json", summary)
    return summary


def _jobs(request: FootageRequest, labels: pd.DataFrame, tracks) -> tuple[list[VideoJob], list[dict]]:
    """One job per (video_id, half) with usable rows; rows the labels CSV itself rules out, skipped."""
    bad = labels[labels["problem"] != ""]
    skipped = [{"video_id": r.video_id, "half": r.half, "frame": r.frame, "label": r.label,
                "reason": r.problem.partition(": ")[0], "detail": r.problem.partition(": ")[2]}
               for r in bad.itertuples(index=False)]
    usable = labels[labels["problem"] == ""]
    groups = list(usable.groupby(["video_id", "half"], sort=False))
    jobs = []
    for (video_id, half), rows in groups:
        first = rows.iloc[0]
        path, missing = find_video(request.videos, str(video_id), int(half), first["video_path"], first["source"])
        jobs.append(VideoJob(
            video_id=str(video_id), half=int(half), path=path, missing=missing,
            labelled=list(zip(rows["frame"].astype(int), rows["label"].astype(int))),
            track=track_for(tracks, str(video_id), int(half), len(groups)) if tracks is not None else None,
            tracked=tracks is not None, spec=request.spec, negative_ratio=request.negative_ratio,
            guard_frames=request.guard_frames, seed=request.seed, clip_dir=request.output_dir / "clips",
            resume=request.resume))
    return jobs, skipped


def _run(jobs: list[VideoJob], request: FootageRequest) -> list[VideoResult]:
    expected = sum(round(len(j.labelled) * (1 + request.negative_ratio)) for j in jobs)
    with Progress(disable=not request.progress, transient=True) as progress:
        bar = progress.add_task("clips", total=expected or None)
        if request.workers <= 1 or len(jobs) <= 1:
            return [make_video_clips(job, tick=lambda n: progress.advance(bar, n)) for job in jobs]
        # spawn, not fork: the parent may hold torch's thread pools; one torch thread per worker process
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(min(request.workers, len(jobs)), mp_context=context,
                                 initializer=torch.set_num_threads, initargs=(1,)) as pool:
            futures = [pool.submit(make_video_clips, job) for job in jobs]
            results = []
            for future in as_completed(futures):
                result = future.result()
                progress.advance(bar, len(result.rows) + len(result.skipped))
                results.append(result)
            return results


def _counts(column: pd.Series) -> dict:
    return {str(k): int(v) for k, v in column.value_counts().sort_index().items()}
