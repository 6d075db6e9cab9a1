"""What a task offers the entry points (train, evaluate, predict, detect, export, profile, check_dataset and the
tools that read runs).

Each task package has one `Task` subclass in its `task.py` (`src/clip/task.py`, `src/header/task.py`); the entry
points find it by `task.name` through `src/tasks.py` and never import a task package themselves. A task that does
not offer a command keeps the default here, which refuses it with one line.
"""
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from src.core.cost import CostSubject
from src.core.dataset_report import DatasetReport
from src.core.errors import UserError
from src.core.export_folder import ExportTarget
from src.core.model_card import write_model_card
from src.core.parts import TaskParts


class Task:
    name: str = ""                    # the task.name this class serves (conf/task/<name>.yaml)
    predict_suffixes: tuple[str, ...] = ()   # the files src.predict takes for this task's runs

    # src.train
    def build(self, cfg: DictConfig) -> TaskParts:
        """The (module, datamodule, run folder, callbacks, summary) of a training run."""
        raise self.refuse("training")

    # src.profile
    def profile_subject(self, cfg: DictConfig) -> CostSubject:
        """The training model of `cfg` at its real size and one clip of the shape it trains on, for
        src/core/cost.py; no data is read and no run folder is touched."""
        raise self.refuse("profile")

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

    # src.export
    def export(self, cfg: dict) -> dict:
        """The run cfg["run"] as one cfg["format"] file + export.json (src/core/export_files.py); returns export.json."""
        raise self.refuse("export")

    # data_tools.check_dataset
    def check_dataset(self, dataset: dict, check: dict, cache_dir: Path) -> DatasetReport:
        """`cache_dir`: paths.cache_dir (task=clip keeps its dataset index there)."""
        raise self.refuse("check_dataset")

    # data_tools.cache_features
    def cache_features(self, cfg: DictConfig) -> dict:
        """Fill the frozen-feature cache of the run `cfg` describes, outside a training run."""
        raise self.refuse("cache_features tool", "its cache, where it has one, is filled during training")

    def check_cache_features(self, cfg: DictConfig) -> None:
        """What the cache_features tool would refuse for this run, checked before Hydra writes anything."""

    # data_tools.cache_frames
    def cache_frames(self, cfg: DictConfig) -> dict:
        """Fill the decoded-frame store of the videos the run `cfg` describes reads, outside a training run."""
        raise self.refuse("cache_frames tool", "it reads no videos (its clips are already decoded .npy files)")

    # checks before Hydra starts (src/core/command_line.py): one line for what would fail later
    def check_run(self, spec: str, cfg: DictConfig) -> None:
        """run=<spec> names a readable finished run of this task (its folder, config, weights)."""
        raise self.refuse("finished runs")

    def run_folder(self, spec: str, cfg: DictConfig) -> Path:
        """The folder run=<spec> names (a UserError when there is none)."""
        raise self.refuse("finished runs")

    def check_without_run(self, cfg: DictConfig, command: str) -> None:
        """`command` (evaluate / predict) was given no run=: refused, unless the task has a model without training."""
        raise UserError(f"run= is required: give the name of a finished task={self.name} run or its folder")

    def check_training_inputs(self, cfg: DictConfig) -> None:
        """What a training run starts from, beyond the dataset (continue_from=, pretrained files)."""

    def check_detect(self, cfg: DictConfig) -> None:
        """src.detect's settings, annotations and video, before anything is written."""
        raise self.refuse("detect")

    # engine=onnxruntime (src/core/inference_engine.py) in src.predict / src.detect
    def export_target(self, spec: str, cfg) -> ExportTarget:
        """What an export must have been made from to replace run `spec`'s model (cfg: the command's config)."""
        raise self.refuse("exported models")

    # every tool that reads a run folder
    def run_files(self, run_dir: Path) -> dict[str, Any]:
        """The files a finished run folder holds, by role (run.json's `files`)."""
        return {}

    def describe_run(self, config: dict) -> dict[str, Any]:
        """What run.json says the run is (method / backbone / dataset …), from the run's resolved config."""
        return {}

    def run_facts(self, run_dir: Path) -> dict[str, Any]:
        """What the run is and scored, as plain data (src/core/run_facts.py): its model card and report rows."""
        raise self.refuse("run facts")

    def write_model_card(self, run_dir: Path) -> Path:
        """MODEL_CARD.md in the run folder, from run_facts (at the end of a run, after each src.evaluate)."""
        return write_model_card(run_dir, self.run_facts(run_dir))

    def refuse(self, what: str, hint: str = "give a run of a task that offers it") -> UserError:
        return UserError(f"task={self.name} has no {what}; {hint}")
