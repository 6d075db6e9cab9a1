"""`python -m src.export run=<run> format=onnx|torchscript [output=<folder>] [overwrite=true]`: a trained run (either
task) as one ONNX or TorchScript file + export.json, checked against the PyTorch model on the run's own data before
it is moved into place (src/core/export_files.py; settings in conf/export.yaml)."""
from pathlib import Path

import hydra
from omegaconf import DictConfig, OmegaConf

from src.core import run_naming  # noqa: F401  (registers the run_tag resolver before Hydra composes)
from src.core.cli_checks import CONF_DIR
from src.core.command_line import check_command_line
from src.core.errors import UserError, one_line_errors
from src.core.export_files import check_export_folder, export_folder
from src.core.hydra_run import run_command
from src.tasks import follow_run_task, get_task


def check_inputs(cfg: DictConfig) -> None:
    """The run (its folder, config and weights), the export folder, the packages the format needs."""
    if cfg.run is None:
        raise UserError("run= is required: python -m src.export run=<run name or folder> format=onnx|torchscript")
    task = get_task(cfg.task.name)  # main() made it the run's task
    task.check_run(str(cfg.run), cfg)
    check_export_folder(export_folder(cfg, task.run_folder(str(cfg.run), cfg)).absolute(), cfg.format, cfg.overwrite)


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="export")
def hydra_main(cfg: DictConfig) -> None:
    with one_line_errors():
        get_task(cfg.task.name).export(OmegaConf.to_container(cfg, resolve=True))


def check_command(argv: list[str]) -> Path | None:
    """What export would refuse, before Hydra starts; the run's task (task=header …) is added to `argv`."""
    argv[:] = follow_run_task(argv, "export")
    return check_command_line(argv, "export", after_resolve=[check_inputs])


def main() -> None:
    run_command(check_command, hydra_main)


if __name__ == "__main__":
    main()
