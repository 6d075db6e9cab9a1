"""Video-CoOp: learnable text context (CoOp) + temporal pooling over frozen, unprompted CLIP frame features."""
import torch.nn.functional as F
from torch import Tensor

from src.clip.models.classifier import ClipVideoClassifier
from src.clip.models.layers.prompted_text import PromptedTextEncoder


class VideoCoOp(ClipVideoClassifier):
    """Learns the text context, the pooling module and (optionally) the logit scale.

    `learn_just_pooling` freezes everything but the pooling module (e.g. attention pooling trained on top of a
    mean-pooled run's context). Frames go through the frozen image tower without gradient (cacheable).
    """

    def __init__(self, clip, tokenizer, class_names: list[str], method: dict, num_frames: int):
        super().__init__(clip, tokenizer, class_names, method, num_frames)
        self.text_encoder = PromptedTextEncoder(
            clip, tokenizer, class_names,
            ctx_len=method["ctx_len"], ctx_init=method["ctx_init"], ctx_std=method["ctx_std"],
            class_wise=method["class_wise"], class_token_position=method["class_token_position"])
        if method["learn_just_pooling"]:
            for name, param in self.named_parameters():
                if not name.startswith("pooling."):
                    param.requires_grad_(False)

    def class_text_features(self) -> Tensor:
        return F.normalize(self.text_encoder(), dim=-1)               # (C, E)
