"""Temporal pooling of per-frame embeddings: (N, T, E) -> (N, E). mean | max | attention."""
import torch
from torch import Tensor, nn

from src.core.errors import UserError

POOLING_KINDS = ("mean", "max", "attention")


def time_ramp(num_frames: int) -> Tensor:
    """(T,) initial key-position bias of the order-aware attentions: -1 (first frame) … +1 (last frame)."""
    return torch.linspace(-1.0, 1.0, num_frames)


def contrast_attention(attention: nn.MultiheadAttention, queries: Tensor, frames: Tensor,
                       time_bias: Tensor) -> Tensor:
    """queries (N, Q, D) attend over frames (N, T, D) CENTRED on the clip's mean, + a key-position bias (T,).

    Why centred: softmax weights are non-negative and sum to 1, so attention over raw frames returns a convex
    combination — it can pick a frame, not contrast early frames with late ones, and a direction of motion IS
    such a contrast (measured: one query at chance on left/right, while a linear probe on last − first frame is
    at 100%). Over centred frames the same weights act as a_t − 1/T, which sum to zero: a signed temporal
    contrast, e.g. "where the object ends up, relative to where it is on average".
    Why a bias: with uniform weights the contrast is exactly zero, and a query must grow before content or the
    position embedding can tilt the weights; a learned per-position logit bias (initialised as a ramp towards the
    last frame, see time_ramp) gives the contrast a gradient from the first step.
    """
    centred = frames - frames.mean(dim=1, keepdim=True)                         # (N, T, D)
    bias = time_bias.to(frames.dtype).expand(queries.shape[1], -1)              # (Q, T): added to every logit
    out, _ = attention(queries, centred, centred, attn_mask=bias, need_weights=False)
    return out                                                                  # (N, Q, D)


class MeanPooling(nn.Module):
    def forward(self, frames: Tensor) -> Tensor:                       # (N, T, E) -> (N, E)
        return frames.mean(dim=1)


class MaxPooling(nn.Module):
    def forward(self, frames: Tensor) -> Tensor:                       # (N, T, E) -> (N, E)
        return frames.amax(dim=1)


class AttentionPooling(nn.Module):
    """Mean of the frames + a learnable query attending over the centred frames (order-aware, see below).

    The query sees each frame with a learnable temporal position embedding and a learnable per-position logit
    bias; it attends over the frames centred on the clip mean (contrast_attention), so what it adds to the mean
    is a signed temporal contrast: the one thing an order-blind mean cannot carry (moving left vs right).
    nn.MultiheadAttention's input and output projections make that a learned linear map of the frame features.
    """

    def __init__(self, dim: int, num_frames: int, heads: int, init_std: float):
        super().__init__()
        if dim % heads != 0:
            raise UserError(f"method.pool_heads: {heads} does not divide the embedding width {dim}; "
                            "pick a divisor (e.g. 1)")
        self.num_frames = num_frames
        self.query = nn.Parameter(torch.randn(1, 1, dim) * init_std)             # (1, 1, E)
        self.position = nn.Parameter(torch.randn(num_frames, dim) * init_std)    # (T, E)
        self.time_bias = nn.Parameter(time_ramp(num_frames))                     # (T,) logit bias per position
        self.attention = nn.MultiheadAttention(dim, heads, batch_first=True)

    def forward(self, frames: Tensor) -> Tensor:                       # (N, T, E) -> (N, E)
        assert frames.shape[1] == self.num_frames, (
            f"attention pooling was built for {self.num_frames} frames per view, got {frames.shape[1]}")
        positioned = frames + self.position.to(frames.dtype)                     # (N, T, E)
        query = self.query.to(frames.dtype).expand(frames.shape[0], -1, -1)      # (N, 1, E)
        contrast = contrast_attention(self.attention, query, positioned, self.time_bias)   # (N, 1, E)
        return frames.mean(dim=1) + contrast[:, 0]


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
