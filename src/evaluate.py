"""`python -m src.evaluate [overrides]`: evaluate a finished run under a stated protocol; results beside the run.

    python -m src.evaluate run=video_coop/ucf101/<run_id> dataset.num_temporal_views=4 dataset.num_spatial_views=3
    python -m src.evaluate run=video_coop/kinetics400/<run_id> dataset=ucf101          (cross-dataset)
    python -m src.evaluate method=zero_shot dataset=ucf101 backbone=clip_b16
    python -m src.evaluate task=header run=report/header_experiments/<name> dataset.val_csv=…
"""
import sys

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from src.core import run_naming  # noqa: F401  (registers the run_tag resolver before Hydra composes)
from src.core.cli_checks import CONF_DIR, check_group_choices
from src.core.cpu_threads import apply_cpu_threads
from src.core.errors import one_line_errors


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
        check_group_choices(sys.argv[1:])
    hydra_main()


if __name__ == "__main__":
    main()
