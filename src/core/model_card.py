"""MODEL_CARD.md: what a run is, what it scored under which protocol, what it costs and what it is not for.

Written into the run folder when a run finishes (the task's artifact writer, at the end of fit / test) and again
by src.evaluate after each evaluation result, from the task's `run_facts` dict (src/core/run_facts.py): this
renderer knows no task. Written atomically: a reader sees the old card or the new one, never half of one.
"""
from pathlib import Path

from src.core.atomic import write_text
from src.core.run_facts import COST_KEYS, run_limits

MODEL_CARD = "MODEL_CARD.md"


def write_model_card(run_dir: Path, facts: dict) -> Path:
    return write_text(Path(run_dir) / MODEL_CARD, render_model_card(facts))


def render_model_card(facts: dict) -> str:
    lines = [f"# Model card: {facts['run_id']}", "",
             f"Task `{facts['task']}`, written from the run folder's files (`{facts['run_dir']}`).", ""]
    lines += _section("Model", {"task": facts["task"], "method": facts["method"], "backbone": facts["backbone"],
                                "weights source": facts["weights"], "seed": facts["seed"],
                                "created": facts["created"], "code (git commit)": facts["git_commit"]})
    lines += _section("Data and protocol", {"dataset": facts["dataset"], **facts["protocol"]})
    lines += ["## Results", ""]
    for result in facts["results"]:
        lines += _result(result, facts["primary"])
    if not facts["results"]:
        lines += ["No result yet.", ""]
    lines += _cost(facts["cost"])
    lines += ["## Intended use", "", facts["intended_use"], "", "## Known limits", ""]
    lines += [f"- {limit}" for limit in [*run_limits(facts), *facts["limits"]]] or ["- none recorded"]
    return "\n".join(lines) + "\n"


def _section(title: str, items: dict) -> list[str]:
    return [f"## {title}", "", *(f"- {key}: {_value(value)}" for key, value in items.items()), ""]


def _result(result: dict, primary: str) -> list[str]:
    title = f"### {result['source']} ({result['split']} split, {result['dataset']})"
    figures = result["figures"]
    header = [primary, *(k for k in figures if k != primary)]
    return [title, "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header),
            "| " + " | ".join(_value(figures.get(k)) for k in header) + " |", "",
            "Protocol: " + ", ".join(f"{k}={_value(v)}" for k, v in result["protocol"].items()),
            *(["", "Details: " + ", ".join(f"{k}={_value(v)}" for k, v in result["details"].items())]
              if result.get("details") else []), ""]


def _cost(cost: dict | None) -> list[str]:
    if cost is None:
        return ["## Cost", "", "No cost.json in the run folder (runs from before it): not measured.", ""]
    items = {key: cost.get(key) for key in COST_KEYS}
    items["per"] = f"one clip of {cost.get('num_frames')} frames at {cost.get('image_size')} px"
    items["measured on"] = cost.get("device")
    return _section("Cost", items)


def _value(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)
