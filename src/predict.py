"""`python -m src.predict run=<run> inputs=<file|folder|glob>`: predictions for video files (task=clip) or .npy
clips / videos (task=header), or `method=zero_shot` CLIP without a run. See conf/predict.yaml."""
import sys
from pathlib import Path

import hydra
from omegaconf import DictConfig, OmegaConf

from src.core import run_naming  # noqa: F401  (registers the run_tag resolver before Hydra composes)
from src.core.cli_checks import CONF_DIR, check_group_choices
from src.core.errors import one_line_errors


def is_header_run(spec, report_dir: Path) -> bool:
    return spec is not None and any((p / "best_metrics.json").is_file() for p in (Path(spec), Path(report_dir) / spec))


def predict(cfg: dict) -> list[dict]:
    from src.core.prediction_io import VIDEO_SUFFIXES, find_inputs

    if is_header_run(cfg["run"], cfg["paths"]["report_dir"]):
        from src.header.prediction import SUFFIXES, predict_header

        return predict_header(cfg, find_inputs(cfg["inputs"], SUFFIXES), Path(cfg["output"]))
    from src.clip.prediction import predict_clip

    return predict_clip(cfg, find_inputs(cfg["inputs"], VIDEO_SUFFIXES), Path(cfg["output"]))


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="predict")
def hydra_main(cfg: DictConfig) -> None:
    with one_line_errors():
        predict(OmegaConf.to_container(cfg, resolve=True))


def main() -> None:
    with one_line_errors():
        check_group_choices(sys.argv[1:])
    hydra_main()


if __name__ == "__main__":
    main()
