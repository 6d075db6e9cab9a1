"""Header Net: a video backbone (CSN or VideoMAE v2) + pooling to one vector per clip + a binary head.

    clip (B, 3, T, S, S) -> backbone -> features -> pool -> (B, D) -> dropout + linear -> logits (B, 2)

Class 1 is "header". The pool and the head are "head" parameters for fine-tuning (trained in every mode).
"""
import logging

import torch
from torch import nn

from src.core.errors import UserError
from src.header.models.csn import CSNBackbone, load_csn_weights
from src.header.models.videomae import build_videomae

log = logging.getLogger(__name__)

NUM_CLASSES = 2  # 0 = no header, 1 = header


class FeatureMapPool(nn.Module):
    """(B, D, T', H', W') -> (B, D): global average, so any frame count and size works (CSN)."""

    def __init__(self):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool3d(1)

    def reduce(self, x: torch.Tensor) -> torch.Tensor:
        """The parameter-free part (cacheable while the backbone is frozen): (B, D, T', H', W') -> (B, D)."""
        return self.pool(x).flatten(1)

    def finish(self, reduced: torch.Tensor) -> torch.Tensor:
        return reduced  # nothing trainable

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.finish(self.reduce(x))


class TokenMeanPool(nn.Module):
    """(B, N, D) -> (B, D): mean of the tokens, then LayerNorm (VideoMAE v2's `fc_norm`)."""

    def __init__(self, dim: int, eps: float):
        super().__init__()
        self.norm = nn.LayerNorm(dim, eps=eps)

    def reduce(self, tokens: torch.Tensor) -> torch.Tensor:
        """The parameter-free part (cacheable while the backbone is frozen): (B, N, D) -> (B, D)."""
        return tokens.mean(dim=1)

    def finish(self, reduced: torch.Tensor) -> torch.Tensor:
        return self.norm(reduced)  # trainable in every finetune mode, so never cached

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.finish(self.reduce(tokens))


class HeaderNet(nn.Module):
    def __init__(self, backbone: nn.Module, pool: nn.Module, *, feature_dim: int, dropout: float):
        super().__init__()
        self.backbone = backbone
        self.pool = pool
        self.feature_dim = feature_dim
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(feature_dim, NUM_CLASSES))
        # Set by param_groups.apply_finetune_mode: a frozen backbone runs without autograd (no activations kept).
        self.backbone_frozen = False

    def frozen_features(self, clips: torch.Tensor) -> torch.Tensor:
        """(B, 3, T, S, S) -> (B, D): backbone + the parameter-free part of the pool, i.e. what a frozen run can
        cache (dataset.feature_cache); `head_forward` does the rest."""
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.backbone_frozen):
            raw = self.backbone(clips)
        return self.pool.reduce(raw)

    def features(self, clips: torch.Tensor) -> torch.Tensor:
        """(B, 3, T, S, S) -> pooled features (B, D)."""
        return self.pool.finish(self.frozen_features(clips))

    def head_forward(self, frozen_features: torch.Tensor) -> torch.Tensor:
        """(B, D) output of `frozen_features` (e.g. from the cache) -> (B, 2) logits: the trainable part only."""
        return self.head(self.pool.finish(frozen_features))

    def forward(self, clips: torch.Tensor) -> torch.Tensor:
        return self.head_forward(self.frozen_features(clips))  # (B, 2) logits


def build_header_net(backbone: dict, *, num_frames: int, input_size: int) -> HeaderNet:
    """The net of `cfg.backbone` (kind csn | vmae), with local weights loaded when `backbone.ckpt` is set."""
    kind = backbone["kind"]
    if kind == "csn":
        net = CSNBackbone(model_depth=backbone["model_depth"], stem_dim_out=backbone["stem_dim_out"],
                          stem_pool=backbone["stem_pool"], gradient_checkpointing=backbone["gradient_checkpointing"])
        if backbone["ckpt"] is not None:
            load_csn_weights(net, backbone["ckpt"], backbone["ckpt_format"])
        return HeaderNet(net, FeatureMapPool(), feature_dim=net.feature_dim, dropout=backbone["dropout"])
    if kind == "vmae":
        net, weights = build_videomae(backbone, num_frames=num_frames, image_size=input_size)
        pool = TokenMeanPool(net.feature_dim, eps=backbone["pool_norm_eps"])
        if weights is not None and weights.pool_norm:
            pool.norm.load_state_dict(weights.pool_norm, strict=True)
        elif weights is not None:
            log.info("checkpoint has no fc_norm: the pooling LayerNorm starts at identity")
        return HeaderNet(net, pool, feature_dim=net.feature_dim, dropout=backbone["dropout"])
    raise UserError(f"backbone.kind={kind}: header backbones are csn or vmae (pick with backbone=csn|vmae)")
