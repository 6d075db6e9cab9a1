"""`python -m src.detect`: a trained Header Net over a whole match video -> detections/<video stem>/.

    checks (run, video, annotations, ball track, settings)  ->  the run's clip view (its clips' crop)
    ->  score every window in one decoding pass (windows.csv)  ->  smooth + peaks + minimum gap (events.csv)
    ->  metrics.json (events_csv=)  ->  timeline.png  ->  clips/ + clips.csv (export_clips=true)  ->  summary.json

Everything is checked before the output folder is created; bad input is a UserError.
"""
import logging
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from src.core.atomic import write_csv, write_json
from src.core.errors import UserError
from src.core.inference_engine import engine_settings, inference_engine
from src.core.prediction_io import resolve_device
from src.header.data.transforms import build_clip_transform
from src.header.detection.clip_view import ClipView, clip_view, merged_settings
from src.header.detection.export import export_mined_clips
from src.header.detection.matching import read_true_events
from src.header.detection.postprocess import Detections, evaluate, find_events, read_gaps, timeline_data
from src.header.detection.scoring import frame_preprocessor, score_video
from src.header.detection.timeline import draw_timeline
from src.header.detection.track_choice import choose_track
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
from src.header.run_loading import header_export_target, load_header_run, resolve_header_run_dir

log = logging.getLogger(__name__)


def check_settings(detect: dict) -> None:
    problems = []
    if detect["smoothing"] < 1 or detect["smoothing"] % 2 == 0:
        problems.append(f"detect.smoothing={detect['smoothing']} must be an odd number >= 1 (1 = no smoothing)")
    for key in ("stride", "batch_size"):
        if detect[key] < 1:
            problems.append(f"detect.{key}={detect[key]} must be >= 1")
    for key in ("frame_step", "crop_size", "min_crop"):
        if detect[key] is not None and detect[key] < 1:
            problems.append(f"detect.{key}={detect[key]} must be >= 1 (or null: the run's clips')")
    if detect["crop_scale"] is not None and not detect["crop_scale"] > 0:
        problems.append(f"detect.crop_scale={detect['crop_scale']} must be > 0 (or null: the run's clips')")
    if detect["max_track_gap"] is not None and detect["max_track_gap"] < 0:
        problems.append(f"detect.max_track_gap={detect['max_track_gap']} must be >= 0 (or null: the run's clips')")
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
    run_dir = resolve_header_run_dir(str(cfg["run"]), Path(cfg["paths"]["report_dir"]))
    engine = inference_engine(engine_settings(detect), run.net.to(device).eval(), device, header_export_target(run_dir),
                              "detect.")  # before the output folder: an export onnxruntime cannot load is refused
    with VideoStream(cfg["video"]) as video:
        view, key = video_view(detect, run, video)
        spec = WindowSpec(num_frames=view.num_frames, frame_step=view.frame_step, stride=detect["stride"])
        start_frame = round((detect["start"] or 0) * video.fps)
        end_frame = None if detect["end"] is None else round(detect["end"] * video.fps)
        out_dir = Path(cfg["output_dir"]) / video.path.stem
        settings = {"video": str(video.path.resolve()), "checkpoint": str(Path(run.checkpoint).resolve()),
                    "num_frames": spec.num_frames, "frame_step": spec.frame_step, "stride": spec.stride,
                    "start_frame": start_frame, "end_frame": end_frame,
                    "tracks": str(Path(detect["tracks"]).resolve()) if detect["tracks"] else None,
                    "clip_view": view.settings()}
        resumed_at = resume_start(out_dir, settings, bool(cfg["resume"]))
        out_dir.mkdir(parents=True, exist_ok=True)
        write_settings(out_dir, settings)
        stats = _score(video, run, view, spec, cfg, out_dir, engine,
                       start_frame if resumed_at is None else resumed_at, end_frame, fresh=resumed_at is None)
        fps = video.fps
    threshold = run.threshold if detect["threshold"] is None else float(detect["threshold"])
    if true_frames is not None:  # only the annotated headers inside the scored range count
        upper = np.inf if end_frame is None else end_frame
        true_frames = true_frames[(true_frames >= start_frame) & (true_frames < upper)]
    found, metrics = _events(out_dir, detect, fps, spec, threshold, true_frames)
    exported = _export(cfg, found, view, key, out_dir) if cfg["export_clips"] else None
    return _finish(cfg, out_dir, found, metrics, stats, fps=fps, threshold=threshold, view=view, exported=exported)


def video_view(detect: dict, run, video: VideoStream) -> tuple[ClipView, tuple]:
    """The run's clip view for this video, and the video's (video_id, half) (from the track CSV or detect.*)."""
    key = (detect["video_id"], detect["half"])
    track = None
    if detect["tracks"]:
        min_score = merged_settings(detect, run.clip_settings, run.config["dataset"])["min_track_score"]
        track, key = choose_track(detect, video.path, video.num_frames, float(min_score))
    return clip_view(detect, run.clip_settings, run.config["dataset"], track), key


def _score(video, run, view: ClipView, spec: WindowSpec, cfg: dict, out_dir: Path, engine, start_frame: int,
           end_frame, *, fresh: bool):
    data = run.config["dataset"]
    transform = build_clip_transform(input_size=data["input_size"], augment=False, flip_prob=0.0, color_jitter={},
                                     normalise=True, mean=run.config["backbone"]["mean"], std=run.config["backbone"]["std"])
    windows_log = AppendLog(out_dir / "windows.csv", WINDOW_COLUMNS, fresh=fresh)
    gaps_log = AppendLog(out_dir / "gaps.csv", GAP_COLUMNS, fresh=fresh)
    try:
        return score_video(video, engine, frame_preprocessor(transform, view), spec, start_frame=start_frame,
                           end_frame=end_frame, batch_size=cfg["detect"]["batch_size"],
                           windows_log=windows_log, gaps_log=gaps_log, show_progress=bool(cfg["progress"]),
                           model_frames=view.model_frames)
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


def _export(cfg: dict, found: Detections, view: ClipView, key: tuple, out_dir: Path) -> dict:
    with VideoStream(cfg["video"]) as video:
        return export_mined_clips(video, found, view, key, out_dir)


def _finish(cfg: dict, out_dir: Path, found: Detections, metrics, stats, *, fps: float, threshold: float,
            view: ClipView, exported: dict | None) -> dict:
    detect = cfg["detect"]
    windows = found.windows
    duration = float((windows["end_frame"].max() + 1) / fps) if len(windows) else 0.0
    gaps = read_gaps(out_dir / "gaps.csv")
    title = f"{Path(cfg['video']).name}: P(header), threshold {threshold:.2f}, {len(found.events)} events"
    draw_timeline(timeline_data(found, gaps, fps=fps, threshold=threshold, duration_s=duration, title=title),
                  out_dir / "timeline.png", row_minutes=detect["row_minutes"], dpi=detect["timeline_dpi"])
    no_ball = int((windows["status"] == "no_ball").sum()) if len(windows) else 0
    summary = {"video": str(cfg["video"]), "output": str(out_dir), "fps": fps, "windows": int(len(windows)) - no_ball,
               "windows_no_ball": no_ball, "windows_scored_now": stats.windows, "frames_decoded": stats.frames,
               "gaps": int(len(gaps)), "decode_errors": stats.decode_errors, "events": int(len(found.events)),
               "threshold": threshold, "engine": detect["engine"], "precision": detect["precision"],
               "seconds": round(stats.seconds, 2),
               "windows_per_s": round(stats.windows / stats.seconds, 2) if stats.seconds else None,
               "clip_view": view.settings()}
    if metrics is not None:
        summary.update({k: metrics[k] for k in ("precision", "recall", "f1")})
    if exported is not None:  # the exported clips' folder is a clips source: training reads clip_settings here
        summary.update(exported)
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
    console.print(" ".join(f"{k}={v}" for k, v in summary.items()
                           if k not in ("video", "output") and not isinstance(v, dict)))
