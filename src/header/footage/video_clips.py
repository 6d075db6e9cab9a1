"""One video's share of `make_header_clips`: plan its clips (labelled rows + random negatives), then write them.

    result = make_video_clips(job)     # in this process or a worker: everything it needs is in `job`

Each clip is `clips/<video_id>_<half>_<frame>_<label>.npy` (T, size, size, 3) uint8; with `resume`, a clip already
there is kept and its frames are not decoded again. Every labelled row ends up in `result.rows` (written) or
`result.skipped` (with its reason).
"""
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from src.core.errors import UserError
from src.header.detection.video_stream import VideoStream
from src.header.footage.clip_writer import ClipRequest, write_clips
from src.header.footage.crop import CropSettings
from src.header.footage.sampling import ClipPlan, boxed_frames, clip_offsets, draw_negatives, possible_centres
from src.header.footage.tracks import BallTrack
from src.header.footage.videos import safe_name


@dataclass(frozen=True)
class ClipSpec:
    """What every clip of a set is: its frames and its crop (recorded in summary.json as `clip_settings`)."""
    num_frames: int
    frame_step: int
    crop: CropSettings
    max_track_gap: int
    min_track_score: float

    def as_dict(self) -> dict:
        return {**self.crop.as_dict(), "num_frames": self.num_frames, "frame_step": self.frame_step,
                "max_track_gap": self.max_track_gap, "min_track_score": self.min_track_score}


@dataclass
class VideoJob:
    video_id: str
    half: int
    path: Path | None            # None: the video was not found (`missing` says why)
    missing: str
    labelled: list[tuple[int, int]]   # (frame, label) of its usable label rows
    track: BallTrack | None      # None: whole frames (no --tracks)
    tracked: bool                # --tracks was given (a video without track rows then has no ball anywhere)
    spec: ClipSpec
    negative_ratio: float
    guard_frames: int
    seed: int
    clip_dir: Path
    resume: bool


@dataclass
class VideoResult:
    rows: list[dict] = field(default_factory=list)      # written clips: path,label,video_id,half,frame,group
    skipped: list[dict] = field(default_factory=list)   # video_id,half,frame,label,reason
    negatives_short: int = 0                            # random negatives the video could not give
    seconds: float = 0.0


def make_video_clips(job: VideoJob, tick=None) -> VideoResult:
    """`tick(n)`: called as clips are finished (a progress bar), when given."""
    began, result = time.perf_counter(), VideoResult()
    if job.path is None:
        result.skipped = [_skip(job, frame, label, job.missing) for frame, label in job.labelled]
        return result
    try:
        with VideoStream(job.path) as video:
            track = _track(job)
            plans = _plan(job, track, video.num_frames, result)
            _write(job, track, video, plans, result, tick or (lambda n: None))
    except UserError as err:  # unreadable: every row of this video says so
        result.skipped += [_skip(job, frame, label, f"video_unreadable: {err}") for frame, label in job.labelled]
    result.seconds = time.perf_counter() - began
    return result


def _track(job: VideoJob) -> BallTrack | None:
    """The video's ball track: none without --tracks, an empty one when --tracks has no row for this video."""
    if job.track is None and job.tracked:
        return BallTrack(np.zeros(0, np.int64), np.zeros((0, 4)))
    return job.track


def _plan(job: VideoJob, track: BallTrack | None, video_frames: int | None, result: VideoResult) -> list[ClipPlan]:
    offsets = clip_offsets(job.spec.num_frames, job.spec.frame_step)
    has_box = boxed_frames(track, video_frames, job.spec.max_track_gap)
    frames = np.array([f for f, _ in job.labelled], dtype=np.int64)
    plans = []
    for (frame, label), ok in zip(job.labelled, possible_centres(frames, offsets, video_frames, has_box)):
        if ok:
            plans.append(ClipPlan(frame, label, "labels"))
        else:
            result.skipped.append(_skip(job, frame, label, _why_not(frame, offsets, video_frames, has_box)))
    headers = np.array([p.frame for p in plans if p.label == 1], dtype=np.int64)
    wanted = int(round(job.negative_ratio * len(headers)))
    if wanted and video_frames is not None:
        rng = np.random.default_rng([job.seed, zlib.crc32(f"{job.video_id}\0{job.half}".encode())])
        all_headers = np.array([f for f, label in job.labelled if label == 1], dtype=np.int64)
        drawn = draw_negatives(rng, count=wanted, headers=all_headers, taken=frames, guard=job.guard_frames,
                               offsets=offsets, video_frames=video_frames, has_box=has_box)
        plans += [ClipPlan(int(f), 0, "random") for f in drawn]
        result.negatives_short = wanted - len(drawn)
    else:
        result.negatives_short = wanted
    return plans


def _why_not(frame: int, offsets: np.ndarray, video_frames: int | None, has_box: np.ndarray | None) -> str:
    if frame < 0 or (video_frames is not None and frame >= video_frames):
        return f"frame_out_of_range: the video has {video_frames} frames (0-based)"
    needed = frame + offsets
    if needed.min() < 0 or (video_frames is not None and needed.max() >= video_frames):
        return f"clip_outside_video: the clip needs frames {needed.min()}..{needed.max()}"
    lost = [int(f) for f in needed if f >= len(has_box) or not has_box[f]]
    return f"no_ball: frame {lost[0]} has no ball box within max_track_gap (and {len(lost) - 1} more)"


def _write(job: VideoJob, track: BallTrack | None, video: VideoStream, plans: list[ClipPlan], result: VideoResult,
           tick) -> None:
    offsets = clip_offsets(job.spec.num_frames, job.spec.frame_step)
    by_path, requests = {}, []
    for plan in plans:
        name = f"{safe_name(job.video_id)}_{job.half}_{plan.frame}_{plan.label}.npy"
        request = ClipRequest(frames=tuple(int(f) for f in plan.frame + offsets), path=job.clip_dir / name)
        by_path[request.path] = plan
        if job.resume and request.path.is_file():  # written by an earlier run: files are only ever complete
            _done(job, plan, request, "", result)
            tick(1)
        else:
            requests.append(request)

    def done(request: ClipRequest, reason: str) -> None:
        _done(job, by_path[request.path], request, reason, result)
        tick(1)

    write_clips(video, requests, job.spec.crop, track, job.spec.max_track_gap, done=done)


def _done(job: VideoJob, plan: ClipPlan, request: ClipRequest, reason: str, result: VideoResult) -> None:
    if reason:
        result.skipped.append(_skip(job, plan.frame, plan.label, reason))
        return
    result.rows.append({"path": f"{request.path.parent.name}/{request.path.name}", "label": plan.label,
                        "video_id": job.video_id, "half": job.half, "frame": plan.frame,
                        "group": f"{job.video_id}_{job.half}", "origin": plan.origin})


def _skip(job: VideoJob, frame: int, label: int, reason: str) -> dict:
    code, _, detail = reason.partition(": ")
    return {"video_id": job.video_id, "half": job.half, "frame": frame, "label": label, "reason": code,
            "detail": detail}
