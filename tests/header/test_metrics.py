"""Header Net validation metrics: MCC of a constant predictor is 0; a real one matches the formula."""
import math

import pytest
import torch

from src.header.metrics import binary_metrics

LABELS = torch.tensor([0, 0, 0, 1, 0, 1, 0, 0])


@pytest.mark.parametrize("constant", [0.1, 0.9])  # all predicted non-header / all predicted header
def test_mcc_of_a_constant_predictor_is_zero(constant):
    figures = binary_metrics(threshold=0.5, sync_on_compute=False)(torch.full((8,), constant), LABELS)
    assert figures["mcc"].item() == 0.0


def test_mcc_is_zero_when_the_labels_have_one_class():
    figures = binary_metrics(threshold=0.5, sync_on_compute=False)(torch.tensor([0.9, 0.1, 0.8]), torch.zeros(3, dtype=torch.long))
    assert figures["mcc"].item() == 0.0


def test_mcc_of_an_informative_predictor_matches_the_formula():
    probs = torch.tensor([0.1, 0.7, 0.2, 0.9, 0.3, 0.4, 0.1, 0.2])  # tp=1 fp=1 fn=1 tn=5
    tp, fp, fn, tn = 1, 1, 1, 5
    expected = (tp * tn - fp * fn) / math.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
    figures = binary_metrics(threshold=0.5, sync_on_compute=False)(probs, LABELS)
    assert figures["mcc"].item() == pytest.approx(expected, abs=1e-6)
