"""The F1-optimal threshold is the middle of the range that gives the best F1, not its edge: on a perfectly
separated validation set the edge is the weakest header's probability, which any new header scoring a little lower
falls under."""
import pytest
import torch

from src.header.metrics import best_f1_threshold


def test_a_perfect_separation_puts_the_threshold_midway_between_the_classes():
    best = best_f1_threshold(torch.tensor([0.1, 0.3, 0.9, 0.95]), torch.tensor([0, 0, 1, 1]), fallback=0.5)
    assert best == {"threshold": pytest.approx(0.6), "f1": 1.0, "precision": 1.0, "recall": 1.0}


def test_the_midpoint_keeps_the_best_predictions_on_these_clips():
    probs, labels = torch.tensor([0.1, 0.3, 0.35, 0.9, 0.95, 0.4]), torch.tensor([0, 0, 1, 1, 1, 0])
    best = best_f1_threshold(probs, labels, fallback=0.5)
    predicted = probs >= best["threshold"]
    tp = int((predicted & (labels == 1)).sum())
    f1 = 2 * tp / (int(predicted.sum()) + int(labels.sum()))
    assert best["f1"] == pytest.approx(f1) == pytest.approx(6 / 7)   # 0.35, 0.9, 0.95 headers + 0.4: 3 TP, 1 FP
    assert 0.3 < best["threshold"] < 0.35


def test_no_positive_f1_falls_back_to_the_decision_threshold():
    assert best_f1_threshold(torch.tensor([0.2, 0.1]), torch.tensor([0, 0]), fallback=0.5)["threshold"] == 0.5
