"""ViTa (in the spirit of Vita-CLIP): Video-CoOp's text context + per-layer summary / frame / video tokens."""
from torch import Tensor

from src.clip.models.layers.frame_summary import SummaryReadout, VideoTokenPrompter
from src.clip.models.layers.prompted_vision import PromptedVisionTower
from src.clip.models.methods.video_coop import VideoCoOp
from src.core.errors import UserError


class ViTa(VideoCoOp):
    """Learns the text context, the per-layer frame-summary modules, the frame and video tokens, the pooling
    module and (optionally) the logit scale. Every vision layer gets ephemeral tokens (frame_summary.py); the
    readout is CLS -> ln_post -> proj per frame + the summary readout of the final CLS tokens (SummaryReadout:
    it carries frame order to the decision even under the default mean pooling), then temporal pooling.
    """

    def __init__(self, clip, tokenizer, class_names: list[str], method: dict, num_frames: int):
        super().__init__(clip, tokenizer, class_names, method, num_frames)
        self.vision_tower = PromptedVisionTower(clip.visual)
        self.video_prompter = VideoTokenPrompter(
            width=self.vision_tower.width, layers=len(clip.visual.transformer.resblocks), num_frames=num_frames,
            summary_heads=method["summary_heads"], num_frame_tokens=method["num_frame_tokens"],
            num_video_tokens=method["ctx_len_video"],
            discriminative_conditioning=method["discriminative_conditioning"], init_std=method["ctx_std"])
        self.summary_readout = SummaryReadout(self.vision_tower.width, self.embed_dim, method["summary_heads"],
                                              num_frames, method["ctx_std"])
        self.grad_checkpointing = bool(method["grad_checkpointing"])
        if method["learn_just_pooling"]:
            self.video_prompter.requires_grad_(False)
            self.summary_readout.requires_grad_(False)

    def encode_frames(self, clips: Tensor, record: dict[int, Tensor] | None = None) -> Tensor:
        """(N, T, 3, H, W) -> (N, T, E). `record[i]` receives vision layer i's frame summaries (N, T, Dv)."""
        n, t = clips.shape[:2]
        if t != self.num_frames:
            raise UserError(f"dataset.num_frames: the model was built for {self.num_frames} frames per "
                            f"view (its frame tokens are per frame position) but got clips of {t}; keep "
                            "dataset.num_frames the same for training and evaluation")
        tokens = self.vision_tower.encode_tokens(clips.flatten(0, 1), hook=self.video_prompter.make_hook(record),
                                                 grad_checkpointing=self.grad_checkpointing)   # (N·T, L, Dv)
        frames = self.vision_tower.readout(tokens).view(n, t, -1)                  # (N, T, E)
        return frames + self.summary_readout(tokens[:, 0].reshape(n, t, -1))       # (N, T, E)
