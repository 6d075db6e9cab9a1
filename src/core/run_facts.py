"""What a run is and what it scored, as plain data: the dict each task builds from a run folder (`Task.run_facts`)
and that both its MODEL_CARD.md (src/core/model_card.py) and its leaderboard rows (src.report) are made from.

    {"task": "clip", "run_id": ..., "run_dir": ..., "status": "finished", "created": ..., "seed": 0, "git_commit": ...,
     "method": "video_coop", "backbone": "clip-b16", "weights": "open_clip tag 'openai'", "random_init": False,
     "dataset": "ucf101", "synthetic": False,
     "protocol": {"k_shot": "all", "classes": "all", "frames": 8, "views": "1x1", ...},   # how it was trained
     "primary": "top1",                      # the figure runs of this task are ranked by (in every result)
     "results": [{"source": "best" | "test" | "eval:<file stem>", "split": "val", "dataset": "ucf101",
                  "protocol": {...},        # what makes two results comparable (an eval may change frames, views)
                  "details": {"epoch": 12},  # about this result, not part of the comparison
                  "figures": {"top1": 0.81, ...}}],
     "cost": <cost.json> | None, "intended_use": "...", "limits": ["..."]}

A run folder is data: every file is read with the plain JSON / safe YAML readers, never instantiated. A file that
cannot be read is a UserError naming it (src.report skips that run with one warning line).
"""
import json
from pathlib import Path
from typing import Any

from src.core.errors import UserError

COST_FILE = "cost.json"   # written into a run folder when it finishes: params, GFLOPs per clip (the cost profile)
COST_KEYS = ("params_total", "params_trainable", "gflops_forward", "gflops_train")


def read_json(path: Path) -> Any:
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise UserError(f"{path}: unreadable JSON ({type(err).__name__}); the run folder is damaged, train or "
                        "evaluate the run again") from None


def read_json_dict(path: Path) -> dict:
    data = read_json(path)
    if not isinstance(data, dict):
        raise UserError(f"{path}: not a JSON object; the run folder is damaged, train or evaluate the run again")
    return data


def read_cost(run_dir: Path) -> dict | None:
    """The run's cost.json (params, GFLOPs); None when the run has none (runs from before it: blanks)."""
    path = Path(run_dir) / COST_FILE
    return read_json_dict(path) if path.is_file() else None


def eval_files(run_dir: Path) -> list[Path]:
    """The results files src.evaluate wrote into <run folder>/eval/, by name."""
    return sorted((Path(run_dir) / "eval").glob("*.json"))


def run_limits(facts: dict) -> list[str]:
    """The known limits every task shares; the task's own come after them."""
    limits = []
    if facts["synthetic"]:
        limits.append(f"Trained on synthetic data (dataset {facts['dataset']}): its figures test the code, they say "
                      "nothing about real videos.")
    if facts["random_init"]:
        limits.append("Random-init backbone (no pretrained weights): not a usable classifier outside tests and demos.")
    if facts["status"] in ("failed", "interrupted"):  # `running`: the card written at the end of fit, before run.json
        limits.append(f"The run did not finish (status: {facts['status']}): its figures are not a result.")
    if not any(r["source"] != "best" for r in facts["results"]):
        limits.append("Only the validation figures of the best epoch, which also chose that epoch (optimistic); "
                      "no test or evaluation result yet.")
    return limits
