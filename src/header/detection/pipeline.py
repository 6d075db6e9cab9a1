"""`python -m src.detect`: a trained Header Net over a whole match video -> detections/<video stem>/.

    checks (run, video, annotations, settings)  ->  score every window in one decoding pass (windows.csv)
    ->  smooth + peaks + minimum gap (events.csv)  ->  metrics.json (events_csv=)  ->  timeline.png
    ->  clips/ + clips.csv (export_clips=true)  ->  summary.json

Everything is checked before the output folder is created; bad input is a UserError.
"""
import logging
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from src.core.atomic import write_csv, write_json
from src.core.errors import UserError
from src.core.prediction_io import resolve_device
from src.header.data.transforms import build_clip_transform
from src.header.detection.export import export_event_clips
from src.header.detection.matching import read_true_events
from src.header.detection.postprocess import Detections, evaluate, find_events, read_gaps, timeline_data
from src.header.detection.scoring import frame_preprocessor, score_video
from src.header.detection.timeline import draw_timeline
from src.header.detection.video_stream import VideoStream
from src.header.detection.window_log import (
    GAP_COLUMNS,
    WINDOW_COLUMNS,
    AppendLog,
    read_windows,
    resume_start,
    write_settings,
)
from src.header.detection.windowing import WindowSpec
from src.header.run_loading import load_header_run

log = logging.getLogger(__name__)


def check_settings(detect: dict) -> None:
    problems = []
    if detect["smoothing"] < 1 or detect["smoothing"] % 2 == 0:
        problems.append(f"detect.smoothing={detect['smoothing']} must be an odd number >= 1 (1 = no smoothing)")
    for key in ("stride", "frame_step", "batch_size"):
        if detect[key] < 1:
            problems.append(f"detect.{key}={detect[key]} must be >= 1")
    if detect["num_frames"] is not None and detect["num_frames"] < 1:
        problems.append(f"detect.num_frames={detect['num_frames']} must be >= 1 (or null: the run's)")
    if detect["threshold"] is not None and not 0.0 <= detect["threshold"] <= 1.0:
        problems.append(f"detect.threshold={detect['threshold']} must be in [0, 1] (or null: the run's)")
    if detect["min_gap_s"] < 0 or detect["tolerance_s"] < 0:
        problems.append("detect.min_gap_s and detect.tolerance_s must be >= 0")
    start, end = detect["start"], detect["end"]
    if (start is not None and start < 0) or (start is not None and end is not None and end <= start):
        problems.append(f"detect.start={start}, detect.end={end}: need 0 <= start < end (seconds)")
    if problems:
        raise UserError("; ".join(problems))


def run_detection(cfg: dict) -> dict:
    detect = cfg["detect"]
    check_settings(detect)
    device = resolve_device(str(detect["device"]), key="detect.device")
    true_frames = read_true_events(Path(cfg["events_csv"])) if cfg["events_csv"] else None
    run = load_header_run(str(cfg["run"]), Path(cfg["paths"]["report_dir"]))
    with VideoStream(cfg["video"]) as video:
        spec = WindowSpec(num_frames=detect["num_frames"] or run.config["dataset"]["num_frames"],
                          frame_step=detect["frame_step"], stride=detect["stride"])
        start_frame = round((detect["start"] or 0) * video.fps)
        end_frame = None if detect["end"] is None else round(detect["end"] * video.fps)
        out_dir = Path(cfg["output_dir"]) / video.path.stem
        settings = {"video": str(video.path.resolve()), "checkpoint": str(Path(run.checkpoint).resolve()),
                    "num_frames": spec.num_frames, "frame_step": spec.frame_step, "stride": spec.stride,
                    "start_frame": start_frame, "end_frame": end_frame}
        resumed_at = resume_start(out_dir, settings, bool(cfg["resume"]))
        out_dir.mkdir(parents=True, exist_ok=True)
        write_settings(out_dir, settings)
        stats = _score(video, run, spec, cfg, out_dir, device, start_frame if resumed_at is None else resumed_at,
                       end_frame, fresh=resumed_at is None)
        fps = video.fps
    threshold = run.threshold if detect["threshold"] is None else float(detect["threshold"])
    if true_frames is not None:  # only the annotated headers inside the scored range count
        upper = np.inf if end_frame is None else end_frame
        true_frames = true_frames[(true_frames >= start_frame) & (true_frames < upper)]
    found, metrics = _events(out_dir, detect, fps, spec, threshold, true_frames)
    summary = _finish(cfg, out_dir, found, metrics, stats, fps=fps, threshold=threshold, spec=spec)
    return summary


def _score(video, run, spec: WindowSpec, cfg: dict, out_dir: Path, device, start_frame: int, end_frame, *,
           fresh: bool):
    data = run.config["dataset"]
    transform = build_clip_transform(input_size=data["input_size"], augment=False, flip_prob=0.0, color_jitter={},
                                     normalise=True, mean=run.config["backbone"]["mean"], std=run.config["backbone"]["std"])
    windows_log = AppendLog(out_dir / "windows.csv", WINDOW_COLUMNS, fresh=fresh)
    gaps_log = AppendLog(out_dir / "gaps.csv", GAP_COLUMNS, fresh=fresh)
    net = run.net.to(device).eval()
    try:
        return score_video(video, net, frame_preprocessor(transform), spec, start_frame=start_frame,
                           end_frame=end_frame, batch_size=cfg["detect"]["batch_size"], device=device,
                           windows_log=windows_log, gaps_log=gaps_log, show_progress=bool(cfg["progress"]))
    finally:
        windows_log.close()
        gaps_log.close()


def _events(out_dir: Path, detect: dict, fps: float, spec: WindowSpec, threshold: float, true_frames):
    windows = read_windows(out_dir / "windows.csv")
    windows, events = find_events(windows, fps=fps, stride=spec.stride, smoothing=detect["smoothing"],
                                  threshold=threshold, min_gap_s=detect["min_gap_s"])
    write_csv(out_dir / "events.csv", events)
    match, metrics = None, None
    if true_frames is not None:
        match, metrics = evaluate(events, true_frames, fps=fps, tolerance_s=detect["tolerance_s"])
        write_json(out_dir / "metrics.json", {**metrics, "threshold": threshold})
    return Detections(windows=windows, events=events, match=match, true_frames=true_frames), metrics


def _finish(cfg: dict, out_dir: Path, found: Detections, metrics, stats, *, fps: float, threshold: float,
            spec: WindowSpec) -> dict:
    detect = cfg["detect"]
    windows = found.windows
    duration = float((windows["end_frame"].max() + 1) / fps) if len(windows) else 0.0
    gaps = read_gaps(out_dir / "gaps.csv")
    title = f"{Path(cfg['video']).name}: P(header), threshold {threshold:.2f}, {len(found.events)} events"
    draw_timeline(timeline_data(found, gaps, fps=fps, threshold=threshold, duration_s=duration, title=title),
                  out_dir / "timeline.png", row_minutes=detect["row_minutes"], dpi=detect["timeline_dpi"])
    if cfg["export_clips"]:
        labels = [1] * len(found.events) if found.match is None else (found.match.detection_to_true >= 0).astype(int)
        with VideoStream(cfg["video"]) as video:
            export_event_clips(video, found.events, out_dir, num_frames=spec.num_frames, frame_step=spec.frame_step,
                               size=detect["export_size"], half=detect["export_half"], labels=labels)
    summary = {"video": str(cfg["video"]), "output": str(out_dir), "fps": fps, "windows": int(len(windows)),
               "windows_scored_now": stats.windows, "frames_decoded": stats.frames, "gaps": int(len(gaps)),
               "decode_errors": stats.decode_errors, "events": int(len(found.events)), "threshold": threshold,
               "seconds": round(stats.seconds, 2),
               "windows_per_s": round(stats.windows / stats.seconds, 2) if stats.seconds else None}
    if metrics is not None:
        summary.update({k: metrics[k] for k in ("precision", "recall", "f1")})
    write_json(out_dir / "summary.json", summary)
    _print(found, summary)
    return summary


def _print(found: Detections, summary: dict) -> None:
    table = Table(title=f"{summary['events']} header events -> {summary['output']}")
    for column in ("event", "timecode", "peak_frame", "prob"):
        table.add_column(column)
    for row in found.events.itertuples(index=False):
        table.add_row(str(row.event), row.timecode, str(row.peak_frame), f"{row.prob:.3f}")
    console = Console()
    console.print(table)
    console.print(" ".join(f"{k}={v}" for k, v in summary.items() if k not in ("video", "output")))
