"""Run a frozen open_clip transformer layer by layer, letting a method add tokens before each layer.

One mechanism for every prompt method (Dual-CoOp, ViDOP, ViLT, ViTa, STT), on both towers:

- *persistent* tokens are appended to the sequence before a layer and stay there for all later layers
  (VPT-deep style; the readout ignores them);
- *ephemeral* tokens are appended before a layer as extra keys/values and their rows are dropped after it.
  LayerNorm and the MLP act per token, so appending rows and dropping them again is exactly "extra keys and
  values for this layer's attention": the original rows' outputs see them only through attention.

The open_clip block itself runs unchanged (open_clip 3.3: `batch_first=True`, additive float masks with -inf).
"""
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.checkpoint import checkpoint


@dataclass
class LayerTokens:
    """Tokens a hook adds before one layer. Leading dim N (one row per sequence) or 1 (shared by all)."""

    persistent: Tensor | None = None   # (N, n, D) appended before this layer; stay in the sequence afterwards
    ephemeral: Tensor | None = None    # (N, n, D) extra keys/values for this layer only, removed after it


TokenHook = Callable[[int, Tensor], LayerTokens | None]   # (layer index, x (N, L, D) entering the layer)


def _as_additive_mask(attn_mask: Tensor | None, dtype: torch.dtype) -> Tensor | None:
    """Bool masks (True = blocked) become additive float masks, the form open_clip's block expects.

    open_clip's ResidualAttentionBlock casts the mask with `.to(q.dtype)`, which would turn a bool mask into
    0/1 additions instead of blocking: convert here so either form is safe.
    """
    if attn_mask is None or attn_mask.dtype != torch.bool:
        return attn_mask
    additive = torch.zeros(attn_mask.shape, dtype=dtype, device=attn_mask.device)
    return additive.masked_fill(attn_mask, float("-inf"))


def _extend_mask(attn_mask: Tensor | None, n_new: int) -> Tensor | None:
    """(…, L, L) -> (…, L+n, L+n) with the new rows and columns allowed (0).

    New columns 0: every original query (even under the causal text mask) may attend to the added tokens.
    New rows 0: the added tokens' own queries see everything, so no row is all -inf (which would give NaN).
    """
    if attn_mask is None or n_new == 0:
        return attn_mask
    return F.pad(attn_mask, (0, n_new, 0, n_new), value=0.0)


def _broadcast_tokens(tokens: Tensor, x: Tensor, what: str) -> Tensor:
    """(N or 1, n, D) -> (N, n, D) in x's dtype, checked against the sequence x (N, L, D)."""
    assert tokens.dim() == 3, f"{what} tokens must be (N, n, D), got {tuple(tokens.shape)}"
    assert tokens.shape[-1] == x.shape[-1], f"{what} tokens width {tokens.shape[-1]} != tower width {x.shape[-1]}"
    assert tokens.shape[0] in (1, x.shape[0]), (
        f"{what} tokens batch {tokens.shape[0]} must be 1 or the number of sequences {x.shape[0]}")
    return tokens.to(x.dtype).expand(x.shape[0], -1, -1)


def _run_block(block: nn.Module, x: Tensor, attn_mask: Tensor | None, grad_checkpointing: bool) -> Tensor:
    if grad_checkpointing and torch.is_grad_enabled():
        # Non-reentrant checkpointing: recomputes the block in backward, keeps gradients to the added tokens.
        return checkpoint(block, x, attn_mask=attn_mask, use_reentrant=False)
    return block(x, attn_mask=attn_mask)


def run_blocks(blocks: nn.ModuleList, x: Tensor, attn_mask: Tensor | None, hook: TokenHook | None,
               grad_checkpointing: bool = False) -> Tensor:
    """Run `blocks` on x (N, L, D) batch-first; returns (N, L + persistent tokens added, D).

    Before layer i, `hook(i, x)` may return LayerTokens: persistent tokens join the sequence for good, then
    ephemeral tokens are appended for layer i only. `attn_mask` is (L, L) (or (N·heads, L, L)), additive or bool.
    """
    assert x.dim() == 3, f"run_blocks expects x (N, L, D), got {tuple(x.shape)}"
    mask = _as_additive_mask(attn_mask, x.dtype)
    if mask is not None:
        assert mask.shape[-1] == x.shape[1], f"attention mask {tuple(mask.shape)} does not fit length {x.shape[1]}"
    for layer, block in enumerate(blocks):
        tokens = hook(layer, x) if hook is not None else None
        if tokens is not None and tokens.persistent is not None:
            persistent = _broadcast_tokens(tokens.persistent, x, "persistent")
            x = torch.cat([x, persistent], dim=1)                       # (N, L + n_p, D)
            mask = _extend_mask(mask, persistent.shape[1])
        if tokens is not None and tokens.ephemeral is not None:
            ephemeral = _broadcast_tokens(tokens.ephemeral, x, "ephemeral")
            length = x.shape[1]
            x_ext = torch.cat([x, ephemeral], dim=1)                    # (N, L + n_e, D)
            x = _run_block(block, x_ext, _extend_mask(mask, ephemeral.shape[1]), grad_checkpointing)[:, :length]
        else:
            x = _run_block(block, x, mask, grad_checkpointing)
    return x
