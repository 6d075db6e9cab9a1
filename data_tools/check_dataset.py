"""`python -m data_tools.check_dataset [overrides]` (or `python data_tools/check_dataset.py …`): check a dataset
before training on it, with the same config groups and overrides as `python -m src.train`.

    python -m data_tools.check_dataset dataset=ucf101 dataset.root=/data/ucf101
    python -m data_tools.check_dataset dataset=kinetics400 dataset.root=/data/k400 dataset.num_workers=16 check.decode=all
    python -m data_tools.check_dataset task=header dataset.train_csv=cache/header_16f/train.csv dataset.val_csv=…

Prints a summary and writes dataset_report.json (check.output, default this run's Hydra output folder).
Exit 0: clean; 2: a run would fail or be silently wrong (each finding says which and what to do).
Config keys: conf/check_dataset.yaml. What is checked: src/clip/data/check.py, src/header/data/check.py.
"""
import logging
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import hydra  # noqa: E402
from hydra.core.hydra_config import HydraConfig  # noqa: E402
from omegaconf import DictConfig, OmegaConf  # noqa: E402
from rich.console import Console  # noqa: E402

from src.core.cli_checks import CONF_DIR  # noqa: E402
from src.core.command_line import check_command_line  # noqa: E402
from src.core.dataset_report import DatasetReport  # noqa: E402
from src.core.errors import UserError, one_line_errors  # noqa: E402
from src.core.hydra_run import run_command  # noqa: E402
from src.core.override_checks import folder_problem  # noqa: E402
from src.tasks import get_task  # noqa: E402

log = logging.getLogger(__name__)


def run_check(cfg: DictConfig) -> DatasetReport:
    """The report for the task and dataset `cfg` describes (nothing is written)."""
    dataset = OmegaConf.to_container(cfg.dataset, resolve=True)
    return get_task(cfg.task.name).check_dataset(dataset, OmegaConf.to_container(cfg.check, resolve=True),
                                                 Path(cfg.paths.cache_dir))


def check_output(cfg: DictConfig) -> None:
    if cfg.check.output is not None and (problem := folder_problem(Path(cfg.check.output))):
        raise UserError(f"check.output={cfg.check.output}: cannot create this folder ({problem}); pick a writable "
                        "place")


def output_folder(cfg: DictConfig) -> Path:
    if cfg.check.output is not None:
        return Path(cfg.check.output)
    return Path(HydraConfig.get().runtime.output_dir)


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="check_dataset")
def hydra_main(cfg: DictConfig) -> None:
    with one_line_errors():
        report = run_check(cfg)
        report.print(Console())
        path = report.write(output_folder(cfg))  # a full or read-only folder: one error line too
    print(f"report: {path}")
    sys.exit(report.exit_code)


def check_command(argv: list[str]) -> Path | None:
    return check_command_line(argv, "check_dataset", after_resolve=[check_output])


def main() -> None:
    run_command(check_command, hydra_main)


if __name__ == "__main__":
    main()
