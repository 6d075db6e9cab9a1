"""Temporal pooling of per-frame embeddings: (N, T, E) -> (N, E). mean | max | attention."""
import torch
from torch import Tensor, nn

from src.core.errors import UserError

POOLING_KINDS = ("mean", "max", "attention")


class MeanPooling(nn.Module):
    def forward(self, frames: Tensor) -> Tensor:                       # (N, T, E) -> (N, E)
        return frames.mean(dim=1)


class MaxPooling(nn.Module):
    def forward(self, frames: Tensor) -> Tensor:                       # (N, T, E) -> (N, E)
        return frames.amax(dim=1)


class AttentionPooling(nn.Module):
    """A learnable query attends over the T frame embeddings (+ a learnable temporal position embedding).

    nn.MultiheadAttention's input and output projections make the result a learned (attention-weighted) linear
    map of the frame features: that is what lets video_coop adapt the embedding, not only weight frames.
    """

    def __init__(self, dim: int, num_frames: int, heads: int, init_std: float):
        super().__init__()
        if dim % heads != 0:
            raise UserError(f"method.pool_heads: {heads} does not divide the embedding width {dim}; "
                            "pick a divisor (e.g. 1)")
        self.num_frames = num_frames
        self.query = nn.Parameter(torch.randn(1, 1, dim) * init_std)             # (1, 1, E)
        self.position = nn.Parameter(torch.randn(num_frames, dim) * init_std)    # (T, E)
        self.attention = nn.MultiheadAttention(dim, heads, batch_first=True)

    def forward(self, frames: Tensor) -> Tensor:                       # (N, T, E) -> (N, E)
        assert frames.shape[1] == self.num_frames, (
            f"attention pooling was built for {self.num_frames} frames per view, got {frames.shape[1]}")
        keys = frames + self.position.to(frames.dtype)                 # (N, T, E)
        query = self.query.to(frames.dtype).expand(frames.shape[0], -1, -1)   # (N, 1, E)
        pooled, _ = self.attention(query, keys, keys, need_weights=False)    # (N, 1, E)
        return pooled[:, 0]


def build_pooling(kind: str, dim: int, num_frames: int, heads: int, init_std: float) -> nn.Module:
    """The pooling module named by `method.pooling` (attention: `method.pool_heads`, `method.pool_init_std`);
    (N, T, E) -> (N, E)."""
    if kind == "mean":
        return MeanPooling()
    if kind == "max":
        return MaxPooling()
    if kind == "attention":
        return AttentionPooling(dim, num_frames, heads, init_std)
    raise UserError(f"method.pooling: '{kind}' is not one of {list(POOLING_KINDS)}; pick one of them")
