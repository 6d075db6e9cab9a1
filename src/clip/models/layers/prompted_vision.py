"""CLIP's image tower run layer by layer, with prompt tokens appended after CLS + patches.

With no prompts and no hook it reproduces `clip.encode_image` (open_clip's standard ViT: CLS-token readout,
no attentional pooler, ln_post before pooling).
"""
import torch
from torch import Tensor, nn

from src.clip.models.layers.tower_runner import TokenHook, run_blocks


class PromptedVisionTower(nn.Module):
    """images (N, 3, H, W) [+ prompts (N or 1, n, Dv)] -> (N, E) image features (unnormalised).

    The frozen `visual` is not registered as a submodule (the owning classifier holds the CLIP model), so this
    module has no parameters of its own: methods keep their prompt parameters themselves.
    """

    def __init__(self, visual):
        super().__init__()
        assert hasattr(visual, "conv1") and hasattr(visual, "transformer"), (
            "PromptedVisionTower needs an open_clip VisionTransformer (ModifiedResNet / timm towers are not ViTs)")
        assert getattr(visual, "attn_pool", None) is None, "attentional-pooler ViTs (CoCa) are not supported"
        assert visual.pool_type == "tok", f"only CLS-token readout is supported, got pool_type={visual.pool_type}"
        assert not visual.final_ln_after_pool, "final_ln_after_pool ViTs are not supported"
        assert visual.transformer.batch_first, "open_clip transformer must run batch-first"
        self._frozen = (visual,)          # a tuple: not registered, so no CLIP weights in this module's state
        self.width = visual.transformer.width          # Dv

    @property
    def visual(self):
        return self._frozen[0]

    def embed(self, images: Tensor, prompts: Tensor | None = None) -> Tensor:
        """(N, 3, H, W) -> (N, 1 + P + n, Dv): CLS + patches + positional embedding, prompts, then ln_pre."""
        visual = self.visual
        x = visual.conv1(images)                                       # (N, Dv, gh, gw)
        x = x.flatten(2).transpose(1, 2)                               # (N, P, Dv)
        cls = visual.class_embedding.to(x.dtype).view(1, 1, -1).expand(x.shape[0], -1, -1)
        x = torch.cat([cls, x], dim=1)                                 # (N, 1 + P, Dv)
        x = x + visual.positional_embedding.to(x.dtype)
        x = visual.patch_dropout(x)                                    # identity in eval (frozen towers are)
        if prompts is not None:
            assert prompts.dim() == 3 and prompts.shape[-1] == self.width, (
                f"prompts must be (N or 1, n, {self.width}), got {tuple(prompts.shape)}")
            assert prompts.shape[0] in (1, x.shape[0]), (
                f"prompts batch {prompts.shape[0]} must be 1 or the number of images {x.shape[0]}")
            x = torch.cat([x, prompts.to(x.dtype).expand(x.shape[0], -1, -1)], dim=1)   # (N, 1 + P + n, Dv)
        return visual.ln_pre(x)

    def readout(self, x: Tensor) -> Tensor:
        """(N, L, Dv) tokens after the last layer -> (N, E): CLS -> ln_post -> proj."""
        visual = self.visual
        pooled = visual.ln_post(x[:, 0])                               # (N, Dv)
        return pooled @ visual.proj if visual.proj is not None else pooled

    def encode_tokens(self, images: Tensor, prompts: Tensor | None = None, hook: TokenHook | None = None,
                      grad_checkpointing: bool = False) -> Tensor:
        """(N, 3, H, W) -> (N, L, Dv): every token after the last layer (before the readout)."""
        assert images.dim() == 4, f"images must be (N, 3, H, W), got {tuple(images.shape)}"
        x = self.embed(images, prompts)                                # (N, L, Dv)
        return run_blocks(self.visual.transformer.resblocks, x, None, hook, grad_checkpointing)

    def forward(self, images: Tensor, prompts: Tensor | None = None, hook: TokenHook | None = None,
                grad_checkpointing: bool = False) -> Tensor:
        return self.readout(self.encode_tokens(images, prompts, hook, grad_checkpointing))   # (N, E)
