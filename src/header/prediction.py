"""task=header `python -m src.predict run=<header run> inputs=<.npy clips and/or videos>`.

A `.npy` clip is read as in training (num_frames sampled evenly); a video is read as one clip of num_frames
consecutive frames from `start` seconds, or centred in the video when start is null. Both go through the run's
validation transform. Output per file: prob_header and pred_label at the run's F1-optimal threshold
(`threshold=` overrides). A file that cannot be read is listed with its error; the others still run.
"""
import logging
from pathlib import Path

import numpy as np
import torch
from rich.progress import Progress
from torchvision import tv_tensors

from src.core.errors import BadVideoError, UserError
from src.core.inference_engine import engine_settings, inference_engine
from src.core.prediction_io import VIDEO_SUFFIXES, print_table, resolve_device, write_predictions
from src.header.data.dataset import read_clip_frames
from src.header.data.transforms import build_clip_transform
from src.header.detection.video_stream import VideoStream
from src.header.run_loading import header_export_target, load_header_run, resolve_header_run_dir

log = logging.getLogger(__name__)

COLUMNS = ["path", "prob_header", "pred_label", "error"]
SUFFIXES = (".npy", *VIDEO_SUFFIXES)


def read_video_clip(path: Path, num_frames: int, start_s: float | None) -> np.ndarray:
    try:
        with VideoStream(path) as video:
            total = video.num_frames or num_frames
            first = round(start_s * video.fps) if start_s is not None else max(0, (total - num_frames) // 2)
            frames = [f.to_ndarray(format="rgb24") for _, f in video.frames(first, first + num_frames)]
    except UserError as err:
        raise BadVideoError(str(err)) from None
    if len(frames) < num_frames:
        raise BadVideoError(f"{path}: only {len(frames)} of {num_frames} frames from frame {first} decode")
    return np.stack(frames)  # (T, H, W, 3)


def predict_header(cfg: dict, files: list[Path], out_dir: Path) -> list[dict]:
    run = load_header_run(str(cfg["run"]), Path(cfg["paths"]["report_dir"]))
    threshold = run.threshold if cfg["threshold"] is None else float(cfg["threshold"])
    device = resolve_device(str(cfg["device"]))
    target = header_export_target(resolve_header_run_dir(str(cfg["run"]), Path(cfg["paths"]["report_dir"])))
    engine = inference_engine(engine_settings(cfg), run.net.to(device).eval(), device, target, "")
    data, backbone = run.config["dataset"], run.config["backbone"]
    transform = build_clip_transform(input_size=data["input_size"], augment=False, flip_prob=0.0, color_jitter={},
                                     normalise=True, mean=backbone["mean"], std=backbone["std"])
    records = []
    with Progress(disable=not cfg["progress"], transient=True) as progress:
        for path in progress.track(files, description="predicting"):
            records.append(_predict_file(engine, path, data, cfg["start"], transform, threshold))
    write_predictions(out_dir, records, records, COLUMNS)
    print_table(f"header predictions (threshold {threshold:.3f}) -> {out_dir}", ["file", "P(header)", "label"],
                [[Path(r["path"]).name, "error" if r["error"] else f"{r['prob_header']:.3f}",
                  r["error"] or str(r["pred_label"])] for r in records])
    return records


def _predict_file(engine, path: Path, data: dict, start: float | None, transform, threshold: float) -> dict:
    """One file's prediction record, or its error (a file that cannot be read is listed, not fatal)."""
    try:
        clip = read_clip_frames(path, data["num_frames"]) if path.suffix.lower() == ".npy" else \
            read_video_clip(path, data["num_frames"], start)
    except BadVideoError as err:
        log.warning("cannot read %s: %s", path, err)
        return {"path": str(path), "prob_header": None, "pred_label": None, "error": str(err)}
    video = transform(tv_tensors.Video(torch.from_numpy(clip).permute(0, 3, 1, 2)))  # (T, 3, S, S)
    logits = engine(video.as_subclass(torch.Tensor).permute(1, 0, 2, 3)[None])  # (1, 3, T, S, S) -> (1, 2)
    prob = float(logits.float().softmax(-1)[0, 1])
    return {"path": str(path), "prob_header": round(prob, 6), "pred_label": int(prob >= threshold), "error": ""}
