"""What `python -m src.detect` checks before Hydra starts (HeaderTask.check_detect): the settings, the device, the
annotations, the video (and detect.start inside it), the output folder, and (with the run's clip settings) the
ball track. The run itself is checked by HeaderTask.check_run."""
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from src.core.errors import UserError
from src.core.override_checks import folder_problem
from src.core.prediction_io import resolve_device
from src.header.detection.clip_view import clip_view, merged_settings
from src.header.detection.matching import read_true_events
from src.header.detection.pipeline import check_settings
from src.header.detection.track_choice import choose_track
from src.header.detection.video_stream import VideoStream


def check_detect_inputs(cfg: DictConfig) -> None:
    check_settings(OmegaConf.to_container(cfg.detect))
    resolve_device(str(cfg.detect.device), key="detect.device")
    if cfg.events_csv:
        read_true_events(Path(cfg.events_csv))
    with VideoStream(cfg.video) as video:
        frames = video.num_frames
        if cfg.detect.start is not None and frames is not None and cfg.detect.start * video.fps >= frames:
            raise UserError(f"detect.start={cfg.detect.start}: beyond the end of {video.path} ({frames / video.fps:.1f} "
                            "s); give a start inside the video, or null for its beginning")
    out_dir = Path(cfg.output_dir) / Path(cfg.video).stem
    if problem := folder_problem(out_dir):
        raise UserError(f"output_dir={cfg.output_dir}: cannot create {out_dir} ({problem}); pick a writable place")


def check_detect_view(cfg: DictConfig, run_clips: dict | None, run_dataset: dict) -> None:
    """The ball track belongs to the video, and the run can be shown what it was trained on."""
    detect = OmegaConf.to_container(cfg.detect)
    track = None
    if detect["tracks"]:
        min_score = float(merged_settings(detect, run_clips, run_dataset)["min_track_score"])
        with VideoStream(cfg.video) as video:
            track, _ = choose_track(detect, video.path, video.num_frames, min_score)
    clip_view(detect, run_clips, run_dataset, track)
