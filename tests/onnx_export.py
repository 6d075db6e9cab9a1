"""A run's ONNX export made with src.export itself (its Task.export, composed in this process): the engine tests
read the folder `python -m src.export run=<run> format=onnx` writes.

    export_header_run(run_dir)   # -> run_dir / "export"
    export_clip_run(run_dir)
"""
from pathlib import Path

from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from src.tasks import get_task

CONF_DIR = Path(__file__).resolve().parents[1] / "conf"


def export_run(run_dir: Path, task: str) -> Path:
    """<run_dir>/export/ (model.onnx + export.json), checked against the run's PyTorch model as src.export does."""
    run_dir = Path(run_dir).resolve()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose("export", overrides=[f"task={task}", f"run={run_dir}", "format=onnx",
                                           f"paths.root_dir={run_dir.parent}", f"paths.output_dir={run_dir.parent}"])
    get_task(task).export(OmegaConf.to_container(cfg, resolve=True))
    return run_dir / "export"


def export_header_run(run_dir: Path) -> Path:
    return export_run(run_dir, "header")


def export_clip_run(run_dir: Path) -> Path:
    return export_run(run_dir, "clip")
