"""Which epoch is the run's best (best_metrics.json, the checkpoint detection loads): the highest val F1, ties to the
higher ROC-AUC, then to the lower val loss — a small validation set saturates early, and the first epoch to get
every clip right is not the one that separates them best."""
import json
from types import SimpleNamespace

import numpy as np
import pandas as pd
import torch

from src.header.artifacts import HeaderRunArtifacts
from src.header.module import HeaderEpochResult


def _result(epoch: int, f1: float, auc: float, loss: float) -> HeaderEpochResult:
    figures = {"loss": loss, "acc": 1.0, "precision": 1.0, "recall": 1.0, "f1": f1, "auc": auc, "pr_auc": auc,
               "mcc": 1.0}
    predictions = {"row_idx": np.arange(2), "label": np.array([0, 1]), "prob_header": np.array([0.2, 0.9]),
                   "loss": np.array([loss, loss])}
    return HeaderEpochResult(stage="fit", epoch=epoch, weights={"w": torch.full((1,), float(epoch))}, figures=figures,
                             best_threshold={"threshold": 0.5, "f1": f1, "precision": 1.0, "recall": 1.0},
                             predictions=predictions, threshold=0.5, train_loss=0.1, lrs={"lr_head": 1e-3})


def test_ties_in_f1_and_auc_go_to_the_lower_validation_loss(tmp_path):
    writer = HeaderRunArtifacts(tmp_path, {}, pd.DataFrame({"row_idx": [0, 1], "path": ["a.npy", "b.npy"]}))
    trainer = SimpleNamespace(is_global_zero=True)
    for epoch, (f1, auc, loss) in enumerate([(0.8, 0.9, 0.5), (1.0, 1.0, 0.40), (1.0, 1.0, 0.20), (1.0, 1.0, 0.30),
                                             (1.0, 0.99, 0.01)]):
        writer.on_epoch_result(trainer, _result(epoch, f1, auc, loss))
    best = json.loads((tmp_path / "best_metrics.json").read_text())
    assert best["epoch"] == 3 and best["val_loss"] == 0.2        # epochs are numbered from 1
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == ["best_epoch_3.pt"]
