"""What a task=clip validation / test pass measures (torchmetrics: synced across DDP ranks)."""
from torchmetrics import MetricCollection
from torchmetrics.classification import (
    MulticlassAccuracy,
    MulticlassConfusionMatrix,
    MulticlassF1Score,
    MulticlassPrecision,
    MulticlassRecall,
)


def eval_metrics(num_classes: int) -> MetricCollection:
    """Everything a validation/test pass reports (torchmetrics syncs them across DDP ranks)."""
    return MetricCollection(
        {
            "top1": MulticlassAccuracy(num_classes, average="micro"),
            "top5": MulticlassAccuracy(num_classes, top_k=min(5, num_classes), average="micro"),
            "per_class_acc": MulticlassAccuracy(num_classes, average=None),
            "precision_macro": MulticlassPrecision(num_classes, average="macro"),
            "recall_macro": MulticlassRecall(num_classes, average="macro"),
            "f1_macro": MulticlassF1Score(num_classes, average="macro"),
            "f1_micro": MulticlassF1Score(num_classes, average="micro"),
            "confusion_matrix": MulticlassConfusionMatrix(num_classes),
        },
        # Compute groups would merge metrics whose first batch happened to agree (top-5 with top-1).
        compute_groups=False,
    )
