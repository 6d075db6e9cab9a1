"""`python -m src.evaluate task=header run=…`: metrics at 0.5 and at the run's threshold, predictions, plots."""
import json

import numpy as np
import pandas as pd
import pytest

from src.header.artifacts import PREDICTION_COLUMNS

TINY_DEMO = ["experiment=header_demo", "trainer.max_epochs=1", "dataset.synthetic.num_clips=24",
             "dataset.input_size=32", "dataset.synthetic.size=32", "~callbacks.progress_bar", "run_name=h"]


def test_header_evaluation_reproduces_the_runs_validation_and_writes_its_files(cli, tmp_path):
    trained = cli(TINY_DEMO, tmp_path)
    assert trained.returncode == 0, trained.stderr[-3000:]
    run = tmp_path / "report/header_experiments/h"
    val_csv = tmp_path / "data/synthetic/header/val.csv"
    result = cli(["task=header", "run=h", f"dataset.val_csv={val_csv}", "trainer=cpu"], tmp_path, module="src.evaluate")
    assert result.returncode == 0, result.stderr[-3000:]
    results = json.loads((run / "eval/val-8f.json").read_text())
    best = json.loads((run / "best_metrics.json").read_text())
    assert results["at_0.5"]["f1"] == pytest.approx(best["val_f1"], abs=1e-6)
    assert results["auc"] == pytest.approx(best["val_auc"], abs=1e-6)
    assert results["at_run_threshold"]["threshold"] == best["best_threshold"]["threshold"]
    assert results["at_run_threshold"]["f1"] == pytest.approx(best["best_threshold"]["f1"], abs=1e-6)
    ours = pd.read_csv(run / "eval/val-8f-predictions.csv")
    theirs = pd.read_csv(run / "val_predictions.csv")
    assert list(ours.columns) == PREDICTION_COLUMNS and ours["path"].tolist() == theirs["path"].tolist()
    assert np.allclose(ours["prob_header"], theirs["prob_header"], atol=1e-5)
    assert np.allclose(ours["loss"], theirs["loss"], atol=1e-5)
    assert results["protocol"]["checkpoint"].endswith(best["checkpoint"]) and results["num_clips"] == len(theirs)
    assert theirs["label"].nunique() == 2                              # both classes: curves can be drawn
    assert (run / "eval/val-8f-roc.png").stat().st_size > 0 and (run / "eval/val-8f-pr.png").stat().st_size > 0
    assert "ROC-AUC" in result.stdout and "Header Net evaluation" in result.stdout

    missing = cli(["task=header", f"run={tmp_path}", "trainer=cpu"], tmp_path, module="src.evaluate")
    assert missing.returncode == 2 and "not a task=header run folder" in missing.stderr
