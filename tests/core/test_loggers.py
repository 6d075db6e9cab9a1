"""Loggers: the log says when W&B runs offline (and why); the CSV logger appends on resume instead of wiping."""
import csv
import logging

import pytest

from src.core.loggers import AppendingCSVLogger, _wandb_mode


@pytest.mark.parametrize("env, token, offline, why", [
    ({}, "", True, "no WANDB_API_KEY"),
    ({"WANDB_API_KEY": "k" * 40, "WANDB_MODE": "offline"}, "", True, "WANDB_MODE=offline"),
    ({"WANDB_API_KEY": "k" * 40}, "", False, None),
])
def test_wandb_mode_is_logged(monkeypatch, tmp_path, caplog, env, token, offline, why):
    for key in ("WANDB_API_KEY", "WANDB_MODE"):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    entry = {"project": "p", "save_dir": str(tmp_path), "offline": "auto", "token_file": str(tmp_path / "none.txt")}
    with caplog.at_level(logging.INFO, logger="src.core.loggers"):
        result = _wandb_mode(dict(entry))
    assert result["offline"] is offline and "token_file" not in result
    line = next(r.getMessage() for r in caplog.records if r.getMessage().startswith("wandb: "))
    assert line.startswith("wandb: offline" if offline else "wandb: online")
    if why:
        assert why in line


def test_csv_logger_appends_to_an_existing_metrics_file(tmp_path):
    first = AppendingCSVLogger(save_dir=str(tmp_path), name="logs", version="")
    first.log_metrics({"train/loss": 1.0}, step=0)
    first.save()
    second = AppendingCSVLogger(save_dir=str(tmp_path), name="logs", version="")  # a resumed run
    second.log_metrics({"train/loss": 0.5}, step=1)
    second.log_metrics({"val/acc": 0.25}, step=2)  # a new column: the file is rewritten with every row kept
    second.save()
    with (tmp_path / "logs" / "metrics.csv").open(newline="") as file:
        rows = list(csv.DictReader(file))
    assert [(r["step"], r["train/loss"], r["val/acc"]) for r in rows] == [("0", "1.0", ""), ("1", "0.5", ""),
                                                                          ("2", "", "0.25")]
