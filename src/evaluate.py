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
from src.core.errors import UserError


def evaluate(cfg: DictConfig) -> dict:
    """Hand the composed config and the command line's overrides to the task's evaluator."""
    overrides = list(HydraConfig.get().overrides.task) if HydraConfig.initialized() else []
    return hydra.utils.get_method(cfg.evaluators[cfg.task.name])(cfg, overrides)


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="evaluate")
def hydra_main(cfg: DictConfig) -> None:
    try:
        evaluate(cfg)
    except UserError as err:  # bad input: one line, exit 2, no traceback
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)


def main() -> None:
    try:
        check_group_choices(sys.argv[1:])
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
    hydra_main()


if __name__ == "__main__":
    main()
