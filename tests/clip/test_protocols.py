"""Few-shot and base-to-novel protocols through `python -m src.train -m …` on the synthetic set: the tables are
recomputed here from the individual runs' own results files."""
import json
import statistics
from pathlib import Path

import pandas as pd
import pytest

FAST = ["trainer.max_epochs=1", "trainer.limit_train_batches=2"]


def _runs(sweep: Path) -> list[dict]:
    """Every job's run folder files: config.json + test_results.json (+ base_to_novel.json)."""
    runs = []
    for result in sorted(sweep.glob("*/result.json")):
        run_dir = Path(json.loads(result.read_text())["run_dir"])
        runs.append({"config": json.loads((run_dir / "config.json").read_text()),
                     "test": json.loads((run_dir / "test_results.json").read_text()), "dir": run_dir})
    return runs


def test_few_shot_sweep_writes_mean_and_std_over_seeds_per_k(cli, tiny_clip_run, synthetic_root, tmp_path):
    result = cli(["-m", "experiment=few_shot", "method=video_coop", "dataset=ucf101", f"dataset.root={synthetic_root}",
                  *tiny_clip_run, *FAST, "dataset.k_train=1,2", "seed=0,1"], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    sweep = tmp_path / "multirun"
    table = pd.read_csv(sweep / "few_shot_table.csv")
    runs = _runs(sweep)
    assert len(runs) == 4 and table["dataset.k_train"].tolist() == [1, 2]
    for k in (1, 2):
        tops = [r["test"]["top1"] for r in runs if r["config"]["dataset"]["k_train"] == k]
        row = table[table["dataset.k_train"] == k].iloc[0]
        assert row["n_seeds"] == 2 and row["test_top1_mean"] == pytest.approx(statistics.mean(tops))
        assert row["test_top1_std"] == pytest.approx(statistics.stdev(tops))
        assert f"{statistics.mean(tops):.4f} ± {statistics.stdev(tops):.4f}" in (sweep / "few_shot_table.md").read_text()
    # K videos per class drawn with the seed: the training set size is K x classes
    classes = len(runs[0]["test"]["class_names"])
    for run in runs:
        data = json.loads((run["dir"] / "validation_results.json").read_text())["data"]
        assert data["num_videos"]["train"] == run["config"]["dataset"]["k_train"] * classes
    assert (sweep / "few_shot.png").stat().st_size > 0 and (sweep / "summary.csv").is_file()


def test_base_to_novel_writes_base_novel_and_their_harmonic_mean(cli, tiny_clip_run, synthetic_root, tmp_path):
    result = cli(["-m", "experiment=base_to_novel", "method=video_coop", "dataset=ucf101",
                  f"dataset.root={synthetic_root}", *tiny_clip_run, *FAST, "seed=0,1"], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    sweep = tmp_path / "multirun"
    figures = []
    for run in _runs(sweep):
        b2n = json.loads((run["dir"] / "base_to_novel.json").read_text())
        base = json.loads(Path(b2n["results_files"]["base"]).read_text())
        novel = json.loads(Path(b2n["results_files"]["novel"]).read_text())
        assert base["top1"] == run["test"]["top1"] == b2n["base_top1"] and novel["top1"] == b2n["novel_top1"]
        all_names = base["class_names"] + novel["class_names"]
        assert len(base["class_names"]) == len(all_names) // 2 and not set(base["class_names"]) & set(novel["class_names"])
        assert run["test"]["class_names"] == base["class_names"]        # trained on the base half only
        hm = 2 * b2n["base_top1"] * b2n["novel_top1"] / (b2n["base_top1"] + b2n["novel_top1"])
        assert b2n["hm"] == pytest.approx(hm)
        card = (run["dir"] / "MODEL_CARD.md").read_text()  # written again after the base and novel evaluations
        assert f"### eval:{Path(b2n['results_files']['novel']).stem} (test split, ucf101)" in card
        assert "classes=novel" in card
        figures.append(b2n)
    row = pd.read_csv(sweep / "base_to_novel_table.csv").iloc[0]
    for key in ("base_top1", "novel_top1", "hm"):
        assert row[f"{key}_mean"] == pytest.approx(statistics.mean(f[key] for f in figures))
        assert row[f"{key}_std"] == pytest.approx(statistics.stdev(f[key] for f in figures))


def test_a_protocol_sweep_without_seeds_is_one_line(cli, tiny_clip_run, synthetic_root, tmp_path):
    result = cli(["-m", "experiment=few_shot", "dataset=ucf101", f"dataset.root={synthetic_root}", *tiny_clip_run,
                  "dataset.k_train=1,2"], tmp_path)
    assert result.returncode == 2 and result.stderr.count("error:") == 1 and "seed=0,1,2" in result.stderr
    assert not (tmp_path / "multirun").exists()
