"""`python -m src.evaluate [overrides]`: evaluate a finished run under a stated protocol; results beside the run.

    python -m src.evaluate run=video_coop/ucf101/<run_id> dataset.num_temporal_views=4 dataset.num_spatial_views=3
    python -m src.evaluate run=video_coop/kinetics400/<run_id> dataset=ucf101          (cross-dataset)
    python -m src.evaluate method=zero_shot dataset=ucf101 backbone=clip_b16
    python -m src.evaluate task=header run=report/header_experiments/<name> dataset.val_csv=…
"""
import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from src.core import run_naming  # noqa: F401  (registers the run_tag resolver before Hydra composes)
from src.core.cli_checks import CONF_DIR
from src.core.command_line import check_command_line
from src.core.config_checks import check_devices
from src.core.cpu_threads import apply_cpu_threads
from src.core.errors import UserError, one_line_errors
from src.core.hydra_run import run_hydra
from src.core.override_checks import folder_problem
from src.run_checks import check_finished_run


def check_run(cfg: DictConfig) -> None:
    """run= names a finished run of task.name (or method=zero_shot evaluates CLIP without one)."""
    task = cfg.task.name
    if cfg.run is not None:
        check_finished_run(cfg, task)
    elif task == "clip" and cfg.method.name == "zero_shot":
        if problem := folder_problem(Path(cfg.zero_shot_dir)):
            raise UserError(f"zero_shot_dir={cfg.zero_shot_dir}: cannot create this folder ({problem}); point "
                            "paths.models_dir at a writable place")
    else:
        runs = cfg.paths.models_dir if task == "clip" else cfg.paths.report_dir
        raise UserError(f"run= is missing: give the name of a finished task={task} run under {runs} or its folder"
                        + (", or evaluate method=zero_shot" if task == "clip" else ""))


def evaluate(cfg: DictConfig) -> dict:
    """Hand the composed config and the command line's overrides to the task's evaluator."""
    overrides = list(HydraConfig.get().overrides.task) if HydraConfig.initialized() else []
    apply_cpu_threads(cfg)  # trainer.cpu_threads: applied, and taken out of the Trainer's arguments
    return hydra.utils.get_method(cfg.evaluators[cfg.task.name])(cfg, overrides)


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="evaluate")
def hydra_main(cfg: DictConfig) -> None:
    with one_line_errors():
        evaluate(cfg)


def main() -> None:
    with one_line_errors():
        output_dir = check_command_line(sys.argv[1:], "evaluate", after_resolve=[check_devices, check_run])
    run_hydra(hydra_main, output_dir)


if __name__ == "__main__":
    main()
