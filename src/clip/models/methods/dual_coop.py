"""Dual-CoOp: Video-CoOp's learnable text context + visual prompt tokens in the frozen image tower."""
from torch import Tensor

from src.clip.models.layers.prompted_vision import PromptedVisionTower
from src.clip.models.layers.visual_prompts import VisualPrompts
from src.clip.models.methods.video_coop import VideoCoOp


class DualCoOp(VideoCoOp):
    """Learns the text context, `ctx_len_video` visual prompts shared by all frames/views/videos, the pooling
    module and (optionally) the logit scale.

    `keep_vision_prompts: false` -> the prompts are extra keys/values of layer 0 only; `true` -> they stay in
    the sequence through every layer. Either way they are appended after CLS + patches, before ln_pre.
    Subclassing VideoCoOp keeps the state-dict keys (`text_encoder.ctx`, `pooling.*`) the same, so a video_coop
    run can be continued as dual_coop (the visual prompts are then reported as new).
    """

    def __init__(self, clip, tokenizer, class_names: list[str], method: dict, num_frames: int):
        super().__init__(clip, tokenizer, class_names, method, num_frames)
        self.vision_tower = PromptedVisionTower(clip.visual)
        self.visual_prompts = VisualPrompts(self.vision_tower.width, method["ctx_len_video"], method["ctx_std"],
                                            persistent=method["keep_vision_prompts"])
        self.grad_checkpointing = bool(method["grad_checkpointing"])
        if method["learn_just_pooling"]:
            self.visual_prompts.requires_grad_(False)

    def encode_frames(self, clips: Tensor) -> Tensor:
        """(N, T, 3, H, W) -> (N, T, E) through the prompted image tower (with gradient to the prompts)."""
        return self.visual_prompts.encode_frames(self.vision_tower, clips, self.clip.visual.ln_pre,
                                                 self.grad_checkpointing)
