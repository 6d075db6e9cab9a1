"""`python -m src.evaluate [overrides]`: evaluate a finished run under a stated protocol; results beside the run.

    python -m src.evaluate run=video_coop/ucf101/<run_id> dataset.num_temporal_views=4 dataset.num_spatial_views=3
    python -m src.evaluate run=video_coop/kinetics400/<run_id> dataset=ucf101          (cross-dataset)
    python -m src.evaluate method=zero_shot dataset=ucf101 backbone=clip_b16
    python -m src.evaluate run=video_coop/kinetics400/<run_id> dataset=kinetics600 protocol=zero_shot_k600
    python -m src.evaluate task=header run=report/header_experiments/<name> dataset.val_csv=…
"""

from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig
from pytorch_lightning.utilities import rank_zero_only

from src.core import run_naming  # noqa: F401  (registers the run_tag resolver before Hydra composes)
from src.core.cli_checks import CONF_DIR
from src.core.command_line import check_command_line
from src.core.config_checks import check_devices
from src.core.cpu_threads import apply_cpu_threads
from src.core.errors import UserError, one_line_errors
from src.core.hydra_run import run_command
from src.tasks import follow_run_task, get_task


def check_run(cfg: DictConfig) -> None:
    """run= names a finished run of task.name (or the task evaluates a model that needs no run: zero-shot CLIP)."""
    task = get_task(cfg.task.name)
    if cfg.protocol.name != "standard" and cfg.task.name != "clip":
        raise UserError(f"protocol={cfg.protocol.name} is a task=clip protocol; evaluate a task={cfg.task.name} run "
                        "with protocol=standard (the default)")
    if cfg.run is None:
        task.check_without_run(cfg, "evaluate")
    else:
        task.check_run(str(cfg.run), cfg)


def evaluate(cfg: DictConfig) -> dict:
    """Hand the composed config and the command line's overrides to the task's evaluation; the run's model card
    then gains the new result (a zero-shot evaluation has no run folder, so no card)."""
    overrides = list(HydraConfig.get().overrides.task) if HydraConfig.initialized() else []
    apply_cpu_threads(cfg)  # trainer.cpu_threads: applied, and taken out of the Trainer's arguments
    task = get_task(cfg.task.name)
    results = task.evaluate(cfg, overrides)
    run_dir = (results.get("protocol") or {}).get("run")
    if run_dir is not None and rank_zero_only.rank == 0:
        task.write_model_card(Path(run_dir))
    return results


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="evaluate")
def hydra_main(cfg: DictConfig) -> None:
    with one_line_errors():
        evaluate(cfg)


def check_command(argv: list[str]) -> Path | None:
    """What evaluate would refuse, before Hydra starts; a header run's task=header is added to `argv`."""
    argv[:] = follow_run_task(argv, "evaluate")
    return check_command_line(argv, "evaluate", after_resolve=[check_devices, check_run])


def main() -> None:
    run_command(check_command, hydra_main)


if __name__ == "__main__":
    main()
