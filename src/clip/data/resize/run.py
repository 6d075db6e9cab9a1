"""`resize_tree(request)`: checks (nothing written before they pass) -> claim --dst -> the files, in --workers
processes -> failures.csv (path,reason: the videos that did not decode, not written) and resize_summary.json.

The summary: this run's counts (re-encoded, copied, copied_other, skipped_done, failed; frames in and out) and
seconds, the videos of the whole tree now in --dst with their bytes in and out and the ratio, and the settings (what a
resume must match).
"""
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from rich.progress import Progress

from src.clip.data.resize import destination, file_job
from src.clip.data.resize.containers import is_video, missing_encoders
from src.clip.data.resize.file_job import COPIED, COPIED_OTHER, FAILED, REENCODED, FileJob, FileResult
from src.clip.data.resize.plan import plan_jobs
from src.clip.data.resize.settings import ResizeSettings
from src.core.atomic import write_csv, write_json
from src.core.errors import UserError


@dataclass
class ResizeRequest:
    src: Path
    dst: Path
    settings: ResizeSettings
    workers: int
    progress: bool


def resize_tree(request: ResizeRequest) -> dict:
    began = time.perf_counter()
    src, dst = destination.check_folders(request.src, request.dst)
    record = {"src": str(src), **request.settings.as_dict()}
    destination.check_destination(dst, record)
    plan = plan_jobs(src, dst, request.settings)
    if not plan.video_suffixes:
        raise UserError(f"--src {request.src}: no videos (.mp4, .avi, .mkv, .webm, .mov, .m4v) under it; give the "
                        "dataset root")
    missing = missing_encoders(plan.video_suffixes, request.settings)
    if missing:
        encoder, suffixes = next(iter(missing.items()))
        raise UserError(f"this PyAV build has no {encoder} encoder, needed for the {', '.join(suffixes)} videos; "
                        "install a PyAV wheel with it (pip install av) or pick another --codec")
    destination.claim(dst, record)
    stale = destination.remove_partials(dst)
    results = _run(plan.todo, request.workers, request.progress)
    failures = pd.DataFrame([(r.relative, r.reason) for r in results if r.action == FAILED],
                            columns=["path", "reason"])
    write_csv(dst / destination.FAILURES_NAME, failures)
    counts = {action: sum(r.action == action for r in results)
              for action in (REENCODED, COPIED, COPIED_OTHER, FAILED)}
    videos = [job for job in plan.todo + plan.done if is_video(job.source.suffix) and job.target.exists()]
    bytes_in = sum(job.source.stat().st_size for job in videos)
    bytes_out = sum(job.target.stat().st_size for job in videos)
    summary = {
        "status": "complete", **counts, "skipped_done": len(plan.done), "stale_partials_removed": stale,
        "seconds": round(time.perf_counter() - began, 2), "videos_in_dst": len(videos),
        "video_bytes_in": bytes_in, "video_bytes_out": bytes_out,
        "size_ratio": round(bytes_out / bytes_in, 4) if bytes_in else None,
        "frames_in": sum(r.frames_in for r in results), "frames_out": sum(r.frames_out for r in results),
        "audio": "dropped", "settings": record,
    }
    write_json(dst / destination.SUMMARY_NAME, summary)
    return summary


def _run(jobs: list[FileJob], workers: int, progress: bool) -> list[FileResult]:
    results: list[FileResult] = []
    with Progress(disable=not progress, transient=True) as bar:
        task = bar.add_task("files", total=len(jobs))
        if workers <= 1 or len(jobs) <= 1:
            for job in jobs:
                results.append(file_job.process(job))
                bar.advance(task)
            return results
        # spawn, not fork: the parent may hold library threads; each worker decodes and encodes on one thread
        pool = ProcessPoolExecutor(min(workers, len(jobs)), mp_context=multiprocessing.get_context("spawn"))
        try:
            futures = [pool.submit(file_job.process, job) for job in jobs]
            for future in as_completed(futures):
                results.append(future.result())
                bar.advance(task)
        finally:  # interrupted or failed: drop what has not started (every finished file is whole)
            pool.shutdown(wait=True, cancel_futures=True)
    return sorted(results, key=lambda r: r.relative)
