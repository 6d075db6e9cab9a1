"""Slide the header model over a video in one decoding pass: frames -> ring-buffered windows -> batches ->
P(header) per window, appended to windows.csv (and gaps to gaps.csv) batch by batch.

Preprocessing is the run's clip view (the crop its training clips were cut with: src/header/detection/clip_view.py)
and then its validation transform (resize + normalise): per-frame operations, applied to each frame once as it
enters the ring, so a frame shared by overlapping windows is cropped and resized once. A window with a frame
that has no ball box is a `no_ball` row of windows.csv, in order, without a probability.
"""
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import av
import numpy as np
import torch
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from torchvision import tv_tensors

from src.header.detection.clip_view import ClipView
from src.header.detection.video_stream import VideoStream
from src.header.detection.window_log import AppendLog
from src.header.detection.windowing import SlidingWindows, Window, WindowSpec

log = logging.getLogger(__name__)


@dataclass
class ScoringStats:
    windows: int = 0          # windows scored in this call
    frames: int = 0           # frames decoded
    gaps: int = 0             # missing stretches found
    decode_errors: int = 0    # packets that did not decode
    seconds: float = 0.0


def frame_preprocessor(transform: Callable, view: ClipView | None = None) -> Callable:
    """(index, decoded frame) -> (3, S, S) float: the view's crop (None: no ball box, nothing decoded to pixels),
    then `transform` (the run's validation transform on a 1-frame video). No view: the frame as decoded."""
    def preprocess(index: int, frame: av.VideoFrame) -> torch.Tensor | None:
        box = view.box(index) if view is not None else None
        if view is not None and view.track is not None and box is None:
            return None  # no ball here: the frame is not even converted
        rgb = frame.to_ndarray(format="rgb24")                                           # (H, W, 3) uint8
        if view is not None:
            rgb = view.crop_frame(rgb, box)                                              # (s, s, 3) uint8
        pixels = torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1)[None]      # (1, 3, h, w) uint8
        return transform(tv_tensors.Video(pixels)).as_subclass(torch.Tensor)[0]          # (3, S, S)
    return preprocess


def window_probs(engine: Callable[[torch.Tensor], torch.Tensor], windows: list[Window],
                 model_frames: np.ndarray | None = None) -> list[float]:
    """P(header) per window; `engine` runs the model (src/core/inference_engine.py: batch -> float32 logits),
    `model_frames` picks the frames the model takes from each window (None: all)."""
    clips = torch.stack([w.frames for w in windows])                          # (B, T, 3, S, S)
    if model_frames is not None:
        clips = clips[:, torch.from_numpy(model_frames)]
    logits = engine(clips.permute(0, 2, 1, 3, 4))                             # (B, 3, T, S, S) -> (B, 2)
    return logits.float().softmax(-1)[:, 1].cpu().tolist()


def score_video(video: VideoStream, engine: Callable[[torch.Tensor], torch.Tensor], preprocess: Callable,
                spec: WindowSpec, *, start_frame: int, end_frame: int | None, batch_size: int,
                windows_log: AppendLog, gaps_log: AppendLog, show_progress: bool,
                model_frames: np.ndarray | None = None) -> ScoringStats:
    stats = ScoringStats()
    began = time.perf_counter()
    sliding = SlidingWindows(spec, preprocess, first_start=start_frame)
    pending: list[Window] = []
    fps = video.fps

    def flush(final: bool) -> None:
        # Scored and no_ball windows stay in order in `pending`, so windows.csv is written in order (a resume reads
        # its last row); a batch is cut after its batch_size-th scored window.
        while pending:
            scored = [i for i, w in enumerate(pending) if w.frames is not None]
            if len(scored) >= batch_size:
                cut = scored[batch_size - 1] + 1
            elif final or not scored:  # the end, or only no_ball windows: nothing to wait for
                cut = len(pending)
            else:
                return
            batch = pending[:cut]
            del pending[:cut]
            with_pixels = [w for w in batch if w.frames is not None]
            probs = iter(window_probs(engine, with_pixels, model_frames) if with_pixels else [])
            windows_log.append([(w.start_frame, w.end_frame, round((w.start_frame + w.end_frame) / 2 / fps, 4),
                                 "" if w.frames is None else round(next(probs), 6),
                                 "no_ball" if w.frames is None else "scored") for w in batch])
            stats.windows += len(with_pixels)

    def record_gaps() -> None:
        new = sliding.gaps[stats.gaps:]
        if new:
            gaps_log.append([(a, b, round(a / fps, 3), round((b + 1) / fps, 3)) for a, b in new])
            for a, b in new:
                log.warning("%s: frames %d-%d missing (%.2f-%.2f s): recorded as a gap", video.path.name, a, b,
                            a / fps, (b + 1) / fps)
            stats.gaps = len(sliding.gaps)

    total = video.num_frames if end_frame is None else end_frame
    with _progress(show_progress) as progress:
        task = progress.add_task(video.path.name, total=max((total or 0) - start_frame, 0) or None)
        for index, frame in video.frames(start_frame, end_frame):
            pending.extend(sliding.push(index, frame))
            stats.frames += 1
            record_gaps()
            flush(final=False)
            progress.update(task, completed=index + 1 - start_frame)
        sliding.finish(None)
        record_gaps()
        flush(final=True)
    stats.decode_errors = video.decode_errors
    stats.seconds = time.perf_counter() - began
    return stats


def _progress(enabled: bool) -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed} frames"),
                    TimeRemainingColumn(), disable=not enabled, transient=True)
