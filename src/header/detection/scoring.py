"""Slide the header model over a video in one decoding pass: frames -> ring-buffered windows -> batches ->
P(header) per window, appended to windows.csv (and gaps to gaps.csv) batch by batch.

Preprocessing is the run's validation transform (resize + normalise: per-frame operations), applied to each frame
once as it enters the ring, so a frame shared by overlapping windows is resized once.
"""
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import av
import torch
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from torchvision import tv_tensors

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


def frame_preprocessor(transform: Callable) -> Callable[[av.VideoFrame], torch.Tensor]:
    """A decoded frame -> (3, S, S) float through `transform` (the run's validation transform on a 1-frame video)."""
    def preprocess(frame: av.VideoFrame) -> torch.Tensor:
        rgb = torch.from_numpy(frame.to_ndarray(format="rgb24")).permute(2, 0, 1)[None]  # (1, 3, H, W) uint8
        return transform(tv_tensors.Video(rgb)).as_subclass(torch.Tensor)[0]             # (3, S, S)
    return preprocess


@torch.inference_mode()
def window_probs(net: torch.nn.Module, windows: list[Window], device: torch.device) -> list[float]:
    clips = torch.stack([w.frames for w in windows]).permute(0, 2, 1, 3, 4)  # (B, T, 3, S, S) -> (B, 3, T, S, S)
    logits = net(clips.to(device, non_blocking=True))                         # (B, 2)
    return logits.float().softmax(-1)[:, 1].cpu().tolist()


def score_video(video: VideoStream, net: torch.nn.Module, preprocess: Callable, spec: WindowSpec, *,
                start_frame: int, end_frame: int | None, batch_size: int, device: torch.device,
                windows_log: AppendLog, gaps_log: AppendLog, show_progress: bool) -> ScoringStats:
    stats = ScoringStats()
    began = time.perf_counter()
    sliding = SlidingWindows(spec, preprocess, first_start=start_frame)
    pending: list[Window] = []
    fps = video.fps

    def flush(final: bool) -> None:
        while len(pending) >= batch_size or (final and pending):
            batch = pending[:batch_size]
            del pending[:batch_size]
            probs = window_probs(net, batch, device)
            windows_log.append([(w.start_frame, w.end_frame, round((w.start_frame + w.end_frame) / 2 / fps, 4),
                                 round(p, 6)) for w, p in zip(batch, probs)])
            stats.windows += len(batch)

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
