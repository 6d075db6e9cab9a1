"""Zero-shot CLIP: the frozen CLIP with hand-crafted prompts, nothing learned (the baseline of every table).

Class text feature = normalise(mean over templates of normalise(encode_text(template.format(class)))), CLIP's
prompt ensembling in feature space. Video feature = normalise(mean over frames of normalise(encode_image(frame))).
Logits = exp(CLIP's logit scale) · video · text. Evaluate with `python -m src.evaluate method=zero_shot …`.
"""
import torch
import torch.nn.functional as F
from torch import Tensor

from src.clip.models.classifier import ClipVideoClassifier
from src.clip.models.layers.prompted_text import encode_sentences
from src.core.errors import UserError

PARAMETER_FREE_POOLING = ("mean", "max")


class ZeroShot(ClipVideoClassifier):
    """No trainable parameter: the template-ensemble text features are computed once, at construction."""

    def __init__(self, clip, tokenizer, class_names: list[str], method: dict, num_frames: int):
        if method["pooling"] not in PARAMETER_FREE_POOLING or method["learn_logit_scale"]:
            raise UserError(f"method=zero_shot learns nothing: method.pooling must be one of "
                            f"{list(PARAMETER_FREE_POOLING)} (got {method['pooling']}) and method.learn_logit_scale "
                            "false")
        templates = list(method["templates"])
        bad = [t for t in templates if t.count("{}") != 1]
        if not templates or bad:
            raise UserError(f"method.templates: {bad or 'empty'}; give a list of prompts, each with one {{}} where "
                            "the class name goes, e.g. ['a video of a {}.']")
        super().__init__(clip, tokenizer, class_names, method, num_frames)
        per_template = [F.normalize(encode_sentences(clip, tokenizer, [t.format(name) for name in self.class_names]),
                                    dim=-1) for t in templates]                      # templates x (C, E)
        ensemble = F.normalize(torch.stack(per_template).mean(dim=0), dim=-1)        # (C, E)
        self.register_buffer("ensemble_text_features", ensemble, persistent=False)

    def class_text_features(self) -> Tensor:
        return self.ensemble_text_features
