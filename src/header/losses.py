"""Header Net losses (per clip, reduction left to the caller): `ce`, class-weighted `weighted_ce`, or `focal`.

Headers are rare, so plain cross-entropy is easily won by predicting "no header". `weighted_ce` weighs each class
by the inverse of its training frequency (or by given weights); `focal` (Lin et al. 2017) down-weights easy
clips: alpha_t * (1 - p_t)^gamma * CE, with alpha on the header class.
"""
import torch
import torch.nn.functional as F
from torch import nn

from src.core.errors import UserError

LOSSES = ("ce", "weighted_ce", "focal")


class FocalLoss(nn.Module):
    def __init__(self, alpha: float, gamma: float):
        super().__init__()
        self.alpha, self.gamma = alpha, gamma

    def forward(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        log_p = F.log_softmax(logits.float(), dim=-1)                 # (B, 2)
        log_pt = log_p.gather(1, labels[:, None]).squeeze(1)          # (B,) log prob of the true class
        alpha_t = torch.where(labels == 1, self.alpha, 1.0 - self.alpha)
        return -alpha_t * (1.0 - log_pt.exp()) ** self.gamma * log_pt


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
