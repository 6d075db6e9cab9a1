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
from src.core.hydra_run import run_command
from src.core.task import Task
from src.tasks import get_task, task_of_run

log = logging.getLogger(__name__)


def detecting_task(cfg) -> Task:
    """The task of the run (its run.json, or its files); a folder of no known task: task=header's checks say why."""
    return get_task(task_of_run(str(cfg.run), cfg.paths) or "header")


def check_inputs(cfg: DictConfig) -> None:
    for key in ("run", "video"):
        if OmegaConf.is_missing(cfg, key):
            raise UserError(f"{key}= is required: python -m src.detect run=<header run name or folder> "
                            f"video=<match video>")
    detecting_task(cfg).check_detect(cfg)


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="detect")
def hydra_main(cfg: DictConfig) -> None:
    try:
        with one_line_errors():
            detecting_task(cfg).detect(OmegaConf.to_container(cfg, resolve=True))
    except KeyboardInterrupt:  # windows.csv is flushed batch by batch: what is there is finished
        print("interrupted: the finished windows are in windows.csv; continue with resume=true", file=sys.stderr)
        sys.exit(130)


def check_command(argv: list[str]) -> Path | None:
    return check_command_line(argv, "detect", after_resolve=[check_inputs])


def main() -> None:
    run_command(check_command, hydra_main)


if __name__ == "__main__":
    main()
