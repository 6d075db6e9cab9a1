"""What a task offers the entry points (train, evaluate, predict, detect, check_dataset and the tools that read runs).

Each task package has one `Task` subclass in its `task.py` (`src/clip/task.py`, `src/header/task.py`); the entry
points find it by `task.name` through `src/tasks.py` and never import a task package themselves. A task that does
not offer a command keeps the default here, which refuses it with one line.
"""
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from src.core.dataset_report import DatasetReport
from src.core.errors import UserError
from src.core.parts import TaskParts


class Task:
    name: str = ""                    # the task.name this class serves (conf/task/<name>.yaml)

    # src.train
    def build(self, cfg: DictConfig) -> TaskParts:
        """The (module, datamodule, run folder, callbacks, summary) of a training run."""
        raise self.refuse("training")

    # src.evaluate
    def evaluate(self, cfg: DictConfig, overrides: list[str]) -> dict:
        """A finished run (cfg.run) under the protocol the config and the command line's `overrides` state."""
        raise self.refuse("evaluate")

    # src.predict
    def predict(self, cfg: dict) -> list[dict]:
        """Predictions for the files `cfg["inputs"]` names; written to `cfg["output"]`."""
        raise self.refuse("predict")

    # src.detect
    def detect(self, cfg: dict) -> dict:
        """Events along a whole video (cfg["video"])."""
        raise self.refuse("detect")

    # data_tools.check_dataset
    def check_dataset(self, dataset: dict, check: dict) -> DatasetReport:
        raise self.refuse("check_dataset")

    # every tool that reads a run folder
    def run_files(self, run_dir: Path) -> dict[str, Any]:
        """The files a finished run folder holds, by role (run.json's `files`)."""
        return {}

    def describe_run(self, config: dict) -> dict[str, Any]:
        """What run.json says the run is (method / backbone / dataset …), from the run's resolved config."""
        return {}

    def refuse(self, what: str) -> UserError:
        return UserError(f"task={self.name} has no {what}; see `python -m src.{what.split()[0]} --help` for the "
                         f"tasks that do")
