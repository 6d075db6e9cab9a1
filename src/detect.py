"""`python -m src.detect run=<header run> video=<match.mp4> [events_csv=…] [detect.stride=…]`: header events along
a whole match video (src/header/detection/pipeline.py; settings in conf/detect.yaml and conf/detect/*.yaml)."""
import logging
import sys

import hydra
from omegaconf import DictConfig, OmegaConf

from src.core.cli_checks import CONF_DIR, check_group_choices
from src.core.errors import UserError, one_line_errors

log = logging.getLogger(__name__)


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="detect")
def hydra_main(cfg: DictConfig) -> None:
    from src.header.detection.pipeline import run_detection

    with one_line_errors():  # bad input, a full or read-only folder: one line, exit 2, no traceback
        try:
            for key in ("run", "video"):
                if OmegaConf.is_missing(cfg, key):
                    raise UserError(f"{key}= is required: python -m src.detect run=<header run name or folder> "
                                    f"video=<match video>")
            run_detection(OmegaConf.to_container(cfg, resolve=True))
        except KeyboardInterrupt:  # windows.csv is flushed batch by batch: what is there is finished
            print("interrupted: the finished windows are in windows.csv; continue with resume=true", file=sys.stderr)
            sys.exit(130)


def main() -> None:
    with one_line_errors():
        check_group_choices(sys.argv[1:])
    hydra_main()


if __name__ == "__main__":
    main()
