"""Pre-build the frame-feature cache of a dataset, with a progress bar (same overrides as `src.train`).

    python data_tools/cache_features.py method=video_coop dataset=ucf101 backbone=clip_b16
    python -m data_tools.cache_features experiment=demo          # the synthetic set with the demo's tiny CLIP

Afterwards `python -m src.train … dataset.feature_cache=read` (or auto) trains on the cached features.
How the cache is filled: src/clip/feature_cache_tool.py.
"""
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import hydra  # noqa: E402
from omegaconf import DictConfig  # noqa: E402

from src.core import run_naming  # noqa: E402, F401  (registers the run_tag resolver)
from src.core.cli_checks import CONF_DIR  # noqa: E402
from src.core.command_line import check_command_line  # noqa: E402
from src.core.errors import one_line_errors  # noqa: E402
from src.core.hydra_run import run_command  # noqa: E402
from src.tasks import get_task  # noqa: E402


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="train")
def hydra_main(cfg: DictConfig) -> None:
    with one_line_errors():
        get_task(cfg.task.name).cache_features(cfg)


def check_command(argv: list[str]) -> Path | None:
    return check_command_line(argv, "train", after_resolve=[check_cache_features])


def check_cache_features(cfg: DictConfig) -> None:
    get_task(cfg.task.name).check_cache_features(cfg)


def main() -> None:
    run_command(check_command, hydra_main)


if __name__ == "__main__":
    main()
