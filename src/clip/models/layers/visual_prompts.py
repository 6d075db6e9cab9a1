"""Shallow visual prompt tokens shared by every frame, view and video (dual_coop, vidop, vilt).

The tokens are appended after CLS + patches, after the positional embedding and before ln_pre. Persistent
prompts stay in the sequence through every layer (VPT-deep); otherwise they are ephemeral: extra keys/values of
layer 0 only. An ephemeral layer-0 token enters after ln_pre, so ln_pre is applied to it here — LayerNorm acts per
token, which makes this exactly the token the persistent path would feed to layer 0.
"""
import torch
import torch.nn as nn
from torch import Tensor

from src.clip.models.layers.tower_runner import LayerTokens, TokenHook


class VisualPrompts(nn.Module):
    def __init__(self, width: int, num_tokens: int, init_std: float, persistent: bool):
        super().__init__()
        assert num_tokens > 0, f"VisualPrompts: need at least one token, got {num_tokens}"
        self.persistent = persistent
        self.tokens = nn.Parameter(torch.randn(num_tokens, width) * init_std)     # (n, Dv)

    def persistent_prompts(self) -> Tensor | None:
        """(1, n, Dv) for PromptedVisionTower(prompts=...), or None when the prompts are ephemeral."""
        return self.tokens[None] if self.persistent else None

    def layer0_tokens(self, ln_pre: nn.Module) -> Tensor | None:
        """(1, n, Dv) ephemeral tokens for layer 0 (ln_pre applied), or None when the prompts are persistent."""
        return None if self.persistent else ln_pre(self.tokens)[None]

    def layer0_hook(self, ln_pre: nn.Module) -> TokenHook | None:
        """TokenHook adding the ephemeral prompts to layer 0, or None when they are persistent."""
        if self.persistent:
            return None

        def hook(layer: int, x: Tensor) -> LayerTokens | None:
            return LayerTokens(ephemeral=self.layer0_tokens(ln_pre)) if layer == 0 else None

        return hook

    def encode_frames(self, tower, clips: Tensor, ln_pre: nn.Module, grad_checkpointing: bool) -> Tensor:
        """(N, T, 3, H, W) -> (N, T, E) through the prompted image tower (gradient flows to the prompts)."""
        n, t = clips.shape[:2]
        features = tower(clips.flatten(0, 1), prompts=self.persistent_prompts(), hook=self.layer0_hook(ln_pre),
                         grad_checkpointing=grad_checkpointing)
        return features.view(n, t, -1)                                           # (N, T, E)
