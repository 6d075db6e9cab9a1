"""Header Net losses (per clip, reduction left to the caller): `ce`, class-weighted `weighted_ce`, or `focal`.

Headers are rare, so plain cross-entropy is easily won by predicting "no header". `weighted_ce` weighs each class
by the inverse of its training frequency (or by given weights); `focal` (Lin et al. 2017) down-weights easy
clips: alpha_t * (1 - p_t)^gamma * CE, with alpha on the header class.
"""
import torch
import torch.nn.functional as F
from torch import nn
from torchvision.ops import sigmoid_focal_loss

from src.core.errors import UserError

LOSSES = ("ce", "weighted_ce", "focal")


class FocalLoss(nn.Module):
    """Focal loss of the two-logit head through torchvision's sigmoid focal loss: with two classes,
    softmax(z)[header] = sigmoid(z_header - z_no_header), so the softmax focal loss is exactly the sigmoid focal loss
    of that logit margin (alpha on the header class)."""

    def __init__(self, alpha: float, gamma: float):
        super().__init__()
        self.alpha, self.gamma = alpha, gamma

    def forward(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        logits = logits.float()
        margin = logits[:, 1] - logits[:, 0]                          # (B,) the header logit of a sigmoid
        return sigmoid_focal_loss(margin, labels.float(), alpha=self.alpha, gamma=self.gamma, reduction="none")


class WeightedCrossEntropy(nn.Module):
    def __init__(self, weights: list[float] | None):
        super().__init__()
        self.register_buffer("weights", torch.tensor(weights, dtype=torch.float32) if weights else None)

    def forward(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(logits.float(), labels, weight=self.weights, reduction="none")


def build_loss(loss: dict, class_counts: list[int]) -> nn.Module:
    """The per-clip loss of `cfg.loss`; `class_counts` = training clips per class [non-header, header]."""
    name = loss["name"]
    if name == "ce":
        return WeightedCrossEntropy(None)
    if name == "weighted_ce":
        weights = loss["class_weights"]
        if weights == "auto":  # inverse frequency, normalised so a balanced set gets weights 1, 1
            total = sum(class_counts)
            weights = [total / (len(class_counts) * max(c, 1)) for c in class_counts]
        if len(weights) != 2:
            raise UserError(f"loss.class_weights={weights}: give auto or two weights [non-header, header]")
        return WeightedCrossEntropy([float(w) for w in weights])
    if name == "focal":
        return FocalLoss(alpha=loss["focal_alpha"], gamma=loss["focal_gamma"])
    raise UserError(f"loss.name={name}: unknown loss; use one of {', '.join(LOSSES)}")
