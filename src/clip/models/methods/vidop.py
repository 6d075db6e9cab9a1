"""ViDOP: visual prompts + pooling, scored against fixed per-class text descriptors.

Each class has descriptors: the hand-crafted templates filled with its name (or the bare name when
`handcrafted_features: false`) plus, when `descriptors_file` is given, that JSON's sentences for the class.
They are encoded ONCE by the frozen standard CLIP text path into a buffer, so training and evaluation use the
very same text features (the original used different ones in each: that was its train/val gap).
A clip's class score aggregates its similarity to the class's descriptors: `mean` | `max` over the descriptors
(pooled video embedding), or `ot`: Sinkhorn transport of the T frame embeddings onto the descriptors (uniform
marginals, plan without gradient) and the plan-weighted similarity.
"""
import json
import logging
import re
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor

from src.clip.models.classifier import ClipVideoClassifier
from src.clip.models.layers.prompted_text import encode_sentences
from src.clip.models.layers.prompted_vision import PromptedVisionTower
from src.clip.models.layers.sinkhorn import sinkhorn
from src.clip.models.layers.visual_prompts import VisualPrompts
from src.core.errors import UserError

log = logging.getLogger(__name__)
AGGREGATIONS = ("mean", "max", "ot")


def _class_key(name: str) -> str:
    """"ApplyEyeMakeup", "apply eye makeup", "apply_eye_makeup" -> "applyeyemakeup" (file keys match either)."""
    return re.sub(r"[^0-9a-z]", "", name.lower())


def read_descriptors_file(path: str, class_names: list[str]) -> list[list[str]]:
    """JSON {class folder name or prompt name: [sentences]} -> sentences per class, in class order."""
    file = Path(path).expanduser()
    if not file.is_file():
        raise UserError(f"method.descriptors_file: {file} does not exist; give a JSON file "
                        '{"<class>": ["<sentence>", ...]} or set method.descriptors_file=null')
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise UserError(f"{file}: not valid JSON ({err}); fix the file") from err
    if not isinstance(data, dict):
        raise UserError(f"{file}: expected a JSON object {{class: [sentences]}}, got {type(data).__name__}")
    by_key = {}
    for key, sentences in data.items():
        if not isinstance(sentences, list) or not all(isinstance(s, str) and s.strip() for s in sentences):
            raise UserError(f"{file}: class '{key}': expected a list of non-empty sentences; fix the entry")
        by_key[_class_key(key)] = sentences
    missing = [name for name in class_names if _class_key(name) not in by_key]
    if missing:
        raise UserError(f"{file}: no descriptors for class '{missing[0]}' ({len(missing)} classes missing); "
                        "add an entry for every class (folder name or prompt name as the key)")
    unused = len(by_key) - len({_class_key(n) for n in class_names})
    if unused > 0:
        log.info("%s: %d classes not in this dataset are ignored", file, unused)
    return [by_key[_class_key(name)] for name in class_names]


def descriptor_sentences(class_names: list[str], method: dict) -> list[list[str]]:
    """Per class: the hand-crafted templates (or the bare name) + the descriptors file's sentences."""
    if method["handcrafted_features"]:
        per_class = [[t.format(name) for t in method["descriptor_templates"]] for name in class_names]
    else:
        per_class = [[name] for name in class_names]
    if method["descriptors_file"]:
        extra = read_descriptors_file(method["descriptors_file"], class_names)
        per_class = [own + more for own, more in zip(per_class, extra)]
    return per_class


def transport_scores(frames: Tensor, descriptors: Tensor, mask: Tensor, eps: float, iters: int
                     ) -> tuple[Tensor, Tensor]:
    """OT class scores: frames (N, T, E) and descriptors (C, M, E) L2-normalised, mask (C, M) valid descriptors.

    Returns (scores (N, C), plan (N, C, T, M)); score = Σ plan · cos. The plan carries no gradient (OST): the
    similarities do.
    """
    sim = torch.einsum("nte,cme->nctm", frames, descriptors)                    # (N, C, T, M)
    with torch.no_grad():
        col_mask = mask[None].expand(sim.shape[0], -1, -1)                      # (N, C, M)
        plan = sinkhorn(1.0 - sim.detach(), eps, iters, col_mask=col_mask)     # (N, C, T, M)
    return (plan * sim).sum(dim=(-1, -2)), plan


class ViDOP(ClipVideoClassifier):
    """Learns `ctx_len_video` visual prompts (as dual_coop), the pooling module, a linear map of the pooled video
    embedding and (optionally) the logit scale; no text context.

    Why the map: vidop's class features are FIXED descriptors, so — unlike the methods that learn a text context —
    nothing moves the text toward the video. The order-aware attention pooling adds a learned temporal contrast
    to the frames' mean, and the mean itself is CLIP's (only the layer-0 prompts shape it): on the temporal
    benchmark that left vidop unable to place growing and shrinking apart for one seed in three. A learned
    Linear(E -> E) of the pooled embedding, initialised to the identity (an untrained vidop scores exactly
    CLIP's pooled embedding), lets the video side turn toward the descriptors.
    """

    # Scores come from the per-class descriptor SET (C, M, E), not one (C, E) feature per class: callers must
    # not precompute class_text_features() and pass it in (evaluation would then score unlike training).
    text_features_depend_on_video = True

    def __init__(self, clip, tokenizer, class_names: list[str], method: dict, num_frames: int):
        super().__init__(clip, tokenizer, class_names, method, num_frames)
        if method["descriptor_agg"] not in AGGREGATIONS:
            raise UserError(f"method.descriptor_agg: '{method['descriptor_agg']}' is not one of "
                            f"{list(AGGREGATIONS)}; pick one of them")
        self.aggregation = method["descriptor_agg"]
        self.sinkhorn_eps, self.sinkhorn_iters = float(method["sinkhorn_eps"]), int(method["sinkhorn_iters"])
        self.vision_tower = PromptedVisionTower(clip.visual)
        self.visual_prompts = VisualPrompts(self.vision_tower.width, method["ctx_len_video"], method["ctx_std"],
                                            persistent=method["keep_vision_prompts"])
        self.grad_checkpointing = bool(method["grad_checkpointing"])
        self._register_descriptors(clip, tokenizer, descriptor_sentences(self.class_names, method))
        self.video_map = torch.nn.Linear(self.embed_dim, self.embed_dim)           # (E -> E), identity at init
        torch.nn.init.eye_(self.video_map.weight)
        torch.nn.init.zeros_(self.video_map.bias)
        if method["learn_just_pooling"]:
            self.visual_prompts.requires_grad_(False)
        if self.aggregation == "ot":
            # ot scores frames directly: pooling and map get no gradient (and DDP must not wait for one).
            self.pooling.requires_grad_(False)
            self.video_map.requires_grad_(False)

    def _register_descriptors(self, clip, tokenizer, per_class: list[list[str]]) -> None:
        """Encode every descriptor once -> buffers descriptor_features (C, M, E) and descriptor_mask (C, M)."""
        flat = [s for sentences in per_class for s in sentences]
        encoded = F.normalize(encode_sentences(clip, tokenizer, flat), dim=-1)   # (S, E)
        width = max(len(s) for s in per_class)
        features = encoded.new_zeros(len(per_class), width, encoded.shape[-1])   # (C, M, E)
        mask = torch.zeros(len(per_class), width, dtype=torch.bool, device=encoded.device)
        start = 0
        for c, sentences in enumerate(per_class):
            features[c, :len(sentences)] = encoded[start:start + len(sentences)]
            mask[c, :len(sentences)] = True
            start += len(sentences)
        # Non-persistent: derived from the frozen CLIP, rebuilt on load, not part of the learned state.
        self.register_buffer("descriptor_features", features, persistent=False)
        self.register_buffer("descriptor_mask", mask, persistent=False)
        log.info("vidop: %d descriptors for %d classes (up to %d per class)", len(flat), len(per_class), width)

    def class_text_features(self) -> Tensor:
        """(C, E) normalised mean of each class's descriptor features (the same in training and evaluation)."""
        mask = self.descriptor_mask.unsqueeze(-1).to(self.descriptor_features.dtype)   # (C, M, 1)
        return F.normalize((self.descriptor_features * mask).sum(1), dim=-1)

    def encode_frames(self, clips: Tensor) -> Tensor:
        return self.visual_prompts.encode_frames(self.vision_tower, clips, self.clip.visual.ln_pre,
                                                 self.grad_checkpointing)

    def view_logits(self, clips: Tensor, text_features: Tensor | None) -> Tensor:
        """(N, T, 3, H, W) -> (N, C). Given text_features (C, E) act as one descriptor per class."""
        if text_features is None:
            descriptors, mask = self.descriptor_features, self.descriptor_mask        # (C, M, E), (C, M)
        else:
            descriptors = F.normalize(text_features, dim=-1)[:, None]                # (C, 1, E)
            mask = torch.ones(descriptors.shape[:2], dtype=torch.bool, device=descriptors.device)
        frames = F.normalize(self.encode_frames(clips), dim=-1)                      # (N, T, E)
        if self.aggregation == "ot":
            scores, _ = transport_scores(frames, descriptors, mask, self.sinkhorn_eps, self.sinkhorn_iters)
        else:
            video = F.normalize(self.video_map(self.pooling(frames)), dim=-1)        # (N, E)
            sim = torch.einsum("ne,cme->ncm", video, descriptors)                    # (N, C, M)
            if self.aggregation == "max":
                scores = sim.masked_fill(~mask, float("-inf")).amax(dim=-1)
            else:
                scores = (sim * mask).sum(-1) / mask.sum(-1)
        return self.current_logit_scale() * scores                                   # (N, C)
