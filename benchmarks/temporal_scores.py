"""The figures of benchmarks/temporal.py: pair accuracies from a confusion matrix, the per-method summary over
seeds, and whether a row beats the order-blind baseline by more than the noise."""
import statistics

from src.clip.data.class_names import prompt_name
from src.synthetic.datasets import MOTION_PAIRS

BASELINE = "video_coop_mean"
Z_MIN = 2.0   # "beats the baseline": more than 2 standard errors above it (see beats_baseline)
PAIR_NAMES = {pair: "/".join(prompt_name(c).split()[-1] for c in pair) for pair in MOTION_PAIRS}   # "left/right"


def pair_accuracy(results: dict, pair: tuple[str, str]) -> float:
    """Fraction of the pair's held-out videos predicted as their own class (4-way prediction)."""
    names = results["class_names"]
    rows = [names.index(prompt_name(c)) for c in pair]
    matrix = results["confusion_matrix"]                        # (C, C): row = true class, column = predicted
    total = sum(sum(matrix[r]) for r in rows)
    assert total > 0, f"no held-out videos of {pair}: the hold-out has too few groups"
    return sum(matrix[r][r] for r in rows) / total


def cross_pair_errors(results: dict) -> float:
    """Fraction of held-out videos predicted as a class of the OTHER pair (appearance errors, not order ones)."""
    names, matrix = results["class_names"], results["confusion_matrix"]
    pair_of = {names.index(prompt_name(c)): i for i, pair in enumerate(MOTION_PAIRS) for c in pair}
    wrong = sum(matrix[t][p] for t in pair_of for p in pair_of if pair_of[t] != pair_of[p])
    return wrong / sum(map(sum, matrix))


def summarise(runs: list[dict]) -> list[dict]:
    """Runs (one per row and seed) -> one row per method: mean and std over its seeds (std 0 for one seed).

    `pair_mean` is the mean of the two pair accuracies (the goal's measure); `overall` and `held_out_videos`
    (summed over the seeds) feed beats_baseline.
    """
    keys = [*PAIR_NAMES.values(), "pair_mean", "overall", "cross_pair_errors", "train_seconds"]
    rows = []
    for name in dict.fromkeys(run["method"] for run in runs):
        own = [run for run in runs if run["method"] == name]
        values = {key: [run[key] if key != "pair_mean" else statistics.fmean(run[p] for p in PAIR_NAMES.values())
                        for run in own] for key in keys}
        rows.append({"method": name, "method_name": own[0]["method_name"], "pooling": own[0]["pooling"],
                     "seeds": [run["seed"] for run in own],
                     "held_out_videos": sum(run["held_out_videos"] for run in own),
                     **{key: statistics.fmean(v) for key, v in values.items()},
                     **{f"{key}_std": statistics.pstdev(v) for key, v in values.items()}})
    return rows


def mean_std(row: dict, key: str) -> str:
    return f"{row[key]:.2f}±{row[key + '_std']:.2f}"          # compact: the table fits 80 columns


def beats_baseline(rows: list[dict]) -> dict:
    """Row -> whether its overall held-out accuracy beats the order-blind baseline's by more than the noise.

    With ~100 held-out videos one accuracy has a standard error of ~5 points, so "higher" is not enough: a row
    beats the baseline when the difference exceeds Z_MIN standard errors of a difference of two proportions
    (for a row over several seeds: its mean accuracy over all the seeds' held-out videos together).
    """
    base = next((r for r in rows if r["method"] == BASELINE), None)
    if base is None:
        return {}
    out = {}
    for row in rows:
        if row is base:
            continue
        variance = sum(r["overall"] * (1 - r["overall"]) / r["held_out_videos"] for r in (row, base))
        out[row["method"]] = row["overall"] - base["overall"] > Z_MIN * max(variance, 1e-12) ** 0.5
    return out
