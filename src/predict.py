"""`python -m src.predict run=<run> inputs=<file|folder|glob>`: predictions for video files (task=clip) or .npy
clips / videos (task=header), or `method=zero_shot` CLIP without a run. See conf/predict.yaml."""
import sys
from pathlib import Path

import hydra
from omegaconf import DictConfig, OmegaConf

from src.core import run_naming  # noqa: F401  (registers the run_tag resolver before Hydra composes)
from src.core.cli_checks import CONF_DIR
from src.core.command_line import check_command_line
from src.core.errors import UserError, one_line_errors
from src.core.hydra_run import run_hydra
from src.core.override_checks import folder_problem
from src.core.prediction_io import VIDEO_SUFFIXES, find_inputs, resolve_device
from src.run_checks import check_finished_run


def run_task(spec, report_dir: Path) -> str:
    """The task follows the run folder (README "Inference"): a header run holds best_metrics.json."""
    folders = (Path(spec), Path(report_dir) / spec) if spec is not None else ()
    return "header" if any((folder / "best_metrics.json").is_file() for folder in folders) else "clip"


def input_suffixes(task: str) -> tuple[str, ...]:
    if task == "header":
        from src.header.prediction import SUFFIXES

        return SUFFIXES
    return VIDEO_SUFFIXES


def check_inputs(cfg: DictConfig) -> None:
    """The run (or method=zero_shot), the input files, the device and the output folder."""
    task = run_task(cfg.run, Path(cfg.paths.report_dir))
    if cfg.run is not None:
        check_finished_run(cfg, task)
    elif cfg.method.name != "zero_shot":
        raise UserError(f"run= is required for method={cfg.method.name}: give a trained run ('method/dataset/run_id', "
                        "a header run's name, or its folder), or use method=zero_shot without a run")
    inputs = OmegaConf.to_container(cfg.inputs) if OmegaConf.is_list(cfg.inputs) else cfg.inputs
    find_inputs(inputs, input_suffixes(task))
    resolve_device(str(cfg.device))
    if problem := folder_problem(Path(cfg.output)):
        raise UserError(f"output={cfg.output}: cannot create this folder ({problem}); pick a writable place")


def predict(cfg: dict) -> list[dict]:
    task = run_task(cfg["run"], cfg["paths"]["report_dir"])
    files = find_inputs(cfg["inputs"], input_suffixes(task))
    if task == "header":
        from src.header.prediction import predict_header

        return predict_header(cfg, files, Path(cfg["output"]))
    from src.clip.prediction import predict_clip

    return predict_clip(cfg, files, Path(cfg["output"]))


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="predict")
def hydra_main(cfg: DictConfig) -> None:
    with one_line_errors():
        predict(OmegaConf.to_container(cfg, resolve=True))


def main() -> None:
    with one_line_errors():
        output_dir = check_command_line(sys.argv[1:], "predict", after_resolve=[check_inputs])
    run_hydra(hydra_main, output_dir)


if __name__ == "__main__":
    main()
