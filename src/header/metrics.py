"""Header Net validation figures: the binary metrics at the decision threshold (task.threshold, 0.5) and the
F1-optimal threshold.

They are computed from the validation predictions of every rank gathered into one set (duplicates the
DistributedSampler pads with removed), so the metric objects do not sync again (`sync_on_compute=False`).
"""
import torch
from torchmetrics import MetricCollection
from torchmetrics.classification import (
    BinaryAccuracy,
    BinaryAUROC,
    BinaryAveragePrecision,
    BinaryF1Score,
    BinaryMatthewsCorrCoef,
    BinaryPrecision,
    BinaryRecall,
)
from torchmetrics.functional.classification import binary_precision_recall_curve


class MatthewsCorrCoef(BinaryMatthewsCorrCoef):
    """BinaryMatthewsCorrCoef, but 0 when a row or column of the confusion matrix is empty (a constant predictor,
    or a single class in the labels): MCC is undefined there and 0 is the convention; torchmetrics 1.9 returns
    a value far from 0 (e.g. 0.41 for all-negative predictions on 2 headers in 8)."""

    def compute(self) -> torch.Tensor:
        (tn, fp), (fn, tp) = self.confmat.tolist()
        if 0 in (tp + fp, tp + fn, tn + fp, tn + fn):
            return torch.tensor(0.0, device=self.confmat.device)
        return super().compute()


def binary_metrics(*, threshold: float, sync_on_compute: bool) -> MetricCollection:
    """acc, precision, recall, f1, mcc at `threshold` on the header probability; auc (ROC) and pr_auc (AP)."""
    kw = {"sync_on_compute": sync_on_compute}
    return MetricCollection({
        "acc": BinaryAccuracy(threshold=threshold, **kw),
        "precision": BinaryPrecision(threshold=threshold, **kw),
        "recall": BinaryRecall(threshold=threshold, **kw),
        "f1": BinaryF1Score(threshold=threshold, **kw),
        "auc": BinaryAUROC(**kw),
        "pr_auc": BinaryAveragePrecision(**kw),
        "mcc": MatthewsCorrCoef(threshold=threshold, **kw),
    })


def best_f1_threshold(probs: torch.Tensor, labels: torch.Tensor, *, fallback: float) -> dict[str, float]:
    """The header-probability threshold with the highest F1 on these predictions, and its F1/precision/recall
    (`fallback`, the decision threshold, with zeros when no threshold gives a positive F1).

    Every threshold between the lowest probability predicted a header and the highest one predicted not gives these
    same predictions; the midpoint is taken, the widest margin on both sides (the edge itself would call a new clip
    scoring a hair below the weakest validation header a non-header: on a small, perfectly separated validation set
    the edge sits near 1.0). Chosen on validation, so it is optimistic for that set; it is reported beside 0.5 and
    is src.detect's default, never used for selecting the best epoch.
    """
    precision, recall, thresholds = binary_precision_recall_curve(probs.float(), labels.long())
    precision, recall = precision[:-1], recall[:-1]  # the last point (recall 0) has no threshold
    f1 = 2 * precision * recall / (precision + recall).clamp(min=1e-12)
    if thresholds.numel() == 0 or float(f1.max()) <= 0.0:
        return {"threshold": fallback, "f1": 0.0, "precision": 0.0, "recall": 0.0}
    best = int(torch.argmax(f1))
    threshold = float(thresholds[best]) if best == 0 else float(thresholds[best - 1] + thresholds[best]) / 2
    return {"threshold": threshold, "f1": float(f1[best]),
            "precision": float(precision[best]), "recall": float(recall[best])}
