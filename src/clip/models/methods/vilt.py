"""ViLT: deep coupled vision-language prompts (MaPLe-like; not the ViLT VQA model).

Shallow: Video-CoOp's text context and `ctx_len_video` visual prompts (extra keys/values of vision layer 0).
Deep, per layer (all ephemeral: extra keys/values of that layer only):
- layer i in `text_to_vision_layers`: learned text tokens (tokens_per_layer_text × D) go to text layer i, and
  Linear(D -> Dv) of them to vision layer i;
- layer i in `vision_to_text_layers`: learned vision tokens (tokens_per_layer_vision × Dv) go to vision layer i,
  and Linear(Dv -> D) of them to text layer i;
- other layers: nothing. The two coupling projections are shared by all layers.
"""
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from src.clip.models.layers.layer_schedule import resolve_layers
from src.clip.models.layers.prompted_vision import PromptedVisionTower
from src.clip.models.layers.tower_runner import LayerTokens
from src.clip.models.layers.visual_prompts import VisualPrompts
from src.clip.models.methods.video_coop import VideoCoOp


class ViLT(VideoCoOp):
    """Learns the text context, the shallow visual prompts, the deep text / vision tokens, the two coupling
    projections, the pooling module and (optionally) the logit scale.
    """

    def __init__(self, clip, tokenizer, class_names: list[str], method: dict, num_frames: int):
        super().__init__(clip, tokenizer, class_names, method, num_frames)
        self.vision_tower = PromptedVisionTower(clip.visual)
        text_width, vision_width = clip.token_embedding.weight.shape[1], self.vision_tower.width
        depth = min(len(clip.transformer.resblocks), len(clip.visual.transformer.resblocks))
        self.t2v_layers = resolve_layers("text_to_vision_layers", method["text_to_vision_layers"], depth)
        self.v2t_layers = resolve_layers("vision_to_text_layers", method["vision_to_text_layers"], depth)
        std = method["deep_init_std"]
        self.visual_prompts = VisualPrompts(vision_width, method["ctx_len_video"], method["ctx_std"],
                                            persistent=False)
        self.text_deep = nn.Parameter(                                           # (layers, n_t, D)
            torch.randn(len(self.t2v_layers), method["tokens_per_layer_text"], text_width) * std)
        self.vision_deep = nn.Parameter(                                         # (layers, n_v, Dv)
            torch.randn(len(self.v2t_layers), method["tokens_per_layer_vision"], vision_width) * std)
        self.text_to_vision = nn.Linear(text_width, vision_width)
        self.vision_to_text = nn.Linear(vision_width, text_width)
        self.grad_checkpointing = bool(method["grad_checkpointing"])
        if method["learn_just_pooling"]:
            for module in (self.visual_prompts, self.text_to_vision, self.vision_to_text):
                module.requires_grad_(False)
            self.text_deep.requires_grad_(False)
            self.vision_deep.requires_grad_(False)

    def _deep_tokens(self, layer: int, tower: str) -> Tensor | None:
        """(1, n, width) ephemeral tokens of one tower at one layer, or None."""
        parts = []
        if layer in self.t2v_layers:
            text = self.text_deep[self.t2v_layers.index(layer)]                  # (n_t, D)
            parts.append(text if tower == "text" else self.text_to_vision(text))
        if layer in self.v2t_layers:
            vision = self.vision_deep[self.v2t_layers.index(layer)]              # (n_v, Dv)
            parts.append(vision if tower == "vision" else self.vision_to_text(vision))
        if tower == "vision" and layer == 0:
            parts.insert(0, self.visual_prompts.layer0_tokens(self.clip.visual.ln_pre)[0])   # shallow prompts
        return torch.cat(parts, dim=0)[None] if parts else None

    def _text_hook(self, layer: int, x: Tensor) -> LayerTokens | None:
        tokens = self._deep_tokens(layer, "text")
        return LayerTokens(ephemeral=tokens) if tokens is not None else None

    def _vision_hook(self, layer: int, x: Tensor) -> LayerTokens | None:
        tokens = self._deep_tokens(layer, "vision")
        return LayerTokens(ephemeral=tokens) if tokens is not None else None

    def class_text_features(self) -> Tensor:
        return F.normalize(self.text_encoder(hook=self._text_hook), dim=-1)      # (C, E)

    def encode_frames(self, clips: Tensor) -> Tensor:
        """(N, T, 3, H, W) -> (N, T, E) through the image tower with shallow + deep vision tokens."""
        n, t = clips.shape[:2]
        features = self.vision_tower(clips.flatten(0, 1), hook=self._vision_hook,
                                     grad_checkpointing=self.grad_checkpointing)  # (N·T, E)
        return features.view(n, t, -1)
