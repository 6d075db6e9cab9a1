"""`python -m src.predict run=<run> inputs=<file|folder|glob>`: predictions for video files (task=clip) or .npy
clips / videos (task=header), or `method=zero_shot` CLIP without a run. See conf/predict.yaml."""
from pathlib import Path

import hydra
from omegaconf import DictConfig, OmegaConf

from src.core import run_naming  # noqa: F401  (registers the run_tag resolver before Hydra composes)
from src.core.cli_checks import CONF_DIR
from src.core.command_line import check_command_line
from src.core.errors import UserError, one_line_errors
from src.core.hydra_run import run_command
from src.core.inference_engine import check_engine, engine_settings
from src.core.override_checks import folder_problem
from src.core.prediction_io import find_inputs, resolve_device
from src.tasks import follow_run_task, get_task


def check_inputs(cfg: DictConfig) -> None:
    """The run (or a model that needs none: zero-shot CLIP), the input files, the device, the engine (and the run's
    export for engine=onnxruntime) and the output folder."""
    task = get_task(cfg.task.name)  # main() made it the run's task
    if cfg.run is not None:
        task.check_run(str(cfg.run), cfg)
    else:
        task.check_without_run(cfg, "predict")
    find_inputs(OmegaConf.to_container(cfg.inputs) if OmegaConf.is_list(cfg.inputs) else cfg.inputs,
                task.predict_suffixes)
    device = resolve_device(str(cfg.device))
    check_engine(engine_settings(cfg), device, (lambda: task.export_target(str(cfg.run), cfg))
                 if cfg.run is not None else None, "")
    if problem := folder_problem(Path(cfg.output)):
        raise UserError(f"output={cfg.output}: cannot create this folder ({problem}); pick a writable place")


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="predict")
def hydra_main(cfg: DictConfig) -> None:
    with one_line_errors():
        get_task(cfg.task.name).predict(OmegaConf.to_container(cfg, resolve=True))


def check_command(argv: list[str]) -> Path | None:
    """What predict would refuse, before Hydra starts; the run's task (task=header …) is added to `argv`."""
    argv[:] = follow_run_task(argv, "predict")
    return check_command_line(argv, "predict", after_resolve=[check_inputs])


def main() -> None:
    run_command(check_command, hydra_main)


if __name__ == "__main__":
    main()
