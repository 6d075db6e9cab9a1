"""`python -m src.detect run=<header run> video=<match.mp4> [events_csv=…] [detect.stride=…]`: header events along
a whole match video (src/header/detection/pipeline.py; settings in conf/detect.yaml and conf/detect/*.yaml)."""
import logging
import sys
from pathlib import Path

import hydra
from omegaconf import DictConfig, OmegaConf

from src.core.cli_checks import CONF_DIR
from src.core.command_line import check_command_line
from src.core.errors import UserError, one_line_errors
from src.core.hydra_run import run_hydra
from src.core.override_checks import folder_problem
from src.core.prediction_io import resolve_device
from src.run_checks import check_finished_run

log = logging.getLogger(__name__)


def check_inputs(cfg: DictConfig) -> None:
    """The settings, the device, the annotations, the run, the video (and detect.start inside it), the output."""
    from src.header.detection.matching import read_true_events
    from src.header.detection.pipeline import check_settings
    from src.header.detection.video_stream import VideoStream

    for key in ("run", "video"):
        if OmegaConf.is_missing(cfg, key):
            raise UserError(f"{key}= is required: python -m src.detect run=<header run name or folder> "
                            f"video=<match video>")
    check_settings(OmegaConf.to_container(cfg.detect))
    resolve_device(str(cfg.detect.device), key="detect.device")
    if cfg.events_csv:
        read_true_events(Path(cfg.events_csv))
    check_finished_run(cfg, "header")
    with VideoStream(cfg.video) as video:
        frames = video.num_frames
        if cfg.detect.start is not None and frames is not None and cfg.detect.start * video.fps >= frames:
            raise UserError(f"detect.start={cfg.detect.start}: beyond the end of {video.path} ({frames / video.fps:.1f} "
                            "s); give a start inside the video, or null for its beginning")
    out_dir = Path(cfg.output_dir) / Path(cfg.video).stem
    if problem := folder_problem(out_dir):
        raise UserError(f"output_dir={cfg.output_dir}: cannot create {out_dir} ({problem}); pick a writable place")


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="detect")
def hydra_main(cfg: DictConfig) -> None:
    from src.header.detection.pipeline import run_detection

    try:
        with one_line_errors():
            run_detection(OmegaConf.to_container(cfg, resolve=True))
    except KeyboardInterrupt:  # windows.csv is flushed batch by batch: what is there is finished
        print("interrupted: the finished windows are in windows.csv; continue with resume=true", file=sys.stderr)
        sys.exit(130)


def main() -> None:
    with one_line_errors():
        output_dir = check_command_line(sys.argv[1:], "detect", after_resolve=[check_inputs])
    run_hydra(hydra_main, output_dir)


if __name__ == "__main__":
    main()
