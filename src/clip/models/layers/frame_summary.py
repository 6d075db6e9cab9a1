"""Per-layer video tokens for the frozen image tower (the vision side of vita and stt).

At every vision layer i the frames of a clip receive three kinds of ephemeral tokens (extra keys/values for that
layer only, see tower_runner.LayerTokens):
- a summary token: the T frames' CLS tokens entering layer i -> Linear -> LayerNorm (+ a learned temporal
  position embedding, so the attention knows which frame is which: without it frame order is invisible to it)
  -> multi-head attention ACROSS the T frames + residual, one summary per frame (the original attended over a
  length-1 sequence, so frames never exchanged information). The attention runs over the frames centred on the
  clip mean, with a learned key-position bias (pooling.contrast_attention): a softmax over raw frames can only
  average them, a signed contrast of early and late frames is what tells a direction of motion;
- `num_frame_tokens` learnable tokens per frame position, plus (discriminative conditioning, i > 0) the frame's
  L2-normalised CLS from the previous layer (the block's own ln_1 rescales it);
- `num_video_tokens` learnable tokens shared by every frame and layer.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from src.clip.models.layers.pooling import contrast_attention, time_ramp
from src.clip.models.layers.tower_runner import LayerTokens, TokenHook
from src.core.errors import UserError


class FrameSummary(nn.Module):
    """CLS tokens of the T frames of each clip (N, T, Dv) -> one summary token per frame (N, T, Dv)."""

    def __init__(self, width: int, heads: int, num_frames: int, init_std: float):
        super().__init__()
        assert width % heads == 0, f"FrameSummary: width {width} is not divisible by {heads} heads"
        self.proj = nn.Linear(width, width)
        self.norm = nn.LayerNorm(width)
        self.time = nn.Parameter(torch.randn(num_frames, width) * init_std)   # (T, Dv) temporal position
        self.time_bias = nn.Parameter(time_ramp(num_frames))                   # (T,) logit bias per key frame
        self.attn = nn.MultiheadAttention(width, heads, batch_first=True)

    def forward(self, cls: Tensor) -> Tensor:
        assert cls.dim() == 3, f"FrameSummary: expected (N, T, Dv) CLS tokens, got {tuple(cls.shape)}"
        s = self.norm(self.proj(cls)) + self.time.to(cls.dtype)          # (N, T, Dv)
        mixed = contrast_attention(self.attn, s, s, self.time_bias)      # (N, T, Dv): each frame attends to all T
        return s + mixed


class SummaryReadout(nn.Module):
    """The clip's frames after the last vision layer -> an order-aware term added to each frame's feature.

    Why: vita's frames meet the summary tokens only as extra keys/values of the frozen layers, and its default
    readout (CLS per frame, then MEAN pooling) is order-blind, so what the summaries know about frame order
    barely reached the decision (the temporal benchmark: vita at chance on moving left / right). Here one more
    FrameSummary runs over the final CLS tokens and a learned Linear(Dv -> E) adds it to every frame's
    feature: under mean pooling the mean of the summaries is a learned temporal contrast (see FrameSummary).
    The Linear starts at zero, so an untrained readout is exactly CLIP's own (CLS -> ln_post -> proj).
    """

    def __init__(self, width: int, embed_dim: int, heads: int, num_frames: int, init_std: float):
        super().__init__()
        self.summary = FrameSummary(width, heads, num_frames, init_std)
        self.to_embedding = nn.Linear(width, embed_dim)
        nn.init.zeros_(self.to_embedding.weight)
        nn.init.zeros_(self.to_embedding.bias)

    def forward(self, cls: Tensor) -> Tensor:                            # (N, T, Dv) -> (N, T, E)
        return self.to_embedding(self.summary(cls))


class VideoTokenPrompter(nn.Module):
    """Learned summary / frame / video tokens, handed to PromptedVisionTower through a TokenHook."""

    def __init__(self, width: int, layers: int, num_frames: int, summary_heads: int, num_frame_tokens: int,
                 num_video_tokens: int, discriminative_conditioning: bool, init_std: float):
        super().__init__()
        if width % summary_heads != 0:
            raise UserError(f"method.summary_heads: {summary_heads} heads do not divide the vision width "
                            f"{width}; pick a divisor (12 for ViT-B, 2 for clip_tiny)")
        self.num_frames = num_frames
        self.discriminative_conditioning = discriminative_conditioning
        self.summaries = nn.ModuleList(FrameSummary(width, summary_heads, num_frames, init_std) for _ in range(layers))
        self.frame_tokens = nn.Parameter(torch.randn(num_frames, num_frame_tokens, width) * init_std)  # (T,nf,Dv)
        self.video_tokens = nn.Parameter(torch.randn(num_video_tokens, width) * init_std)             # (nv, Dv)

    def make_hook(self, record: dict[int, Tensor] | None = None) -> TokenHook:
        """Hook for a tower run on N·T frames (clip-major); `record[i]` gets layer i's summaries (N, T, Dv)."""
        t = self.num_frames

        def hook(layer: int, x: Tensor) -> LayerTokens:
            nt, _, width = x.shape                                              # x: (N·T, L, Dv)
            assert nt % t == 0, f"VideoTokenPrompter: {nt} frames is not a multiple of T={t}"
            n = nt // t
            cls = x[:, 0]                                                       # (N·T, Dv)
            summary = self.summaries[layer](cls.reshape(n, t, width))          # (N, T, Dv)
            if record is not None:
                record[layer] = summary
            frame_tokens = self.frame_tokens.to(x.dtype).expand(n, -1, -1, -1).reshape(nt, -1, width)  # (N·T,nf,Dv)
            tokens = [summary.reshape(nt, 1, width), frame_tokens]
            if self.discriminative_conditioning and layer > 0:
                tokens.append(F.normalize(cls, dim=-1)[:, None])                # (N·T, 1, Dv)
            tokens.append(self.video_tokens.to(x.dtype).expand(nt, -1, -1))      # (N·T, nv, Dv)
            return LayerTokens(ephemeral=torch.cat(tokens, dim=1))              # (N·T, n, Dv)

        return hook
