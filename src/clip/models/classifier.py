"""Base of the six CLIP methods: frozen CLIP, temporal pooling over views, logits, regularisers, learned state.

(B, V, T, 3, H, W) -> per-view logits (B·V, C) -> mean over the V views -> (B, C).
Subclasses change `encode_frames` (prompted image tower), `class_text_features` (learned prompts) or the whole
`view_logits` (video-conditioned text, descriptors).
"""
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from src.clip.models.layers.pooling import build_pooling
from src.clip.models.layers.prompted_text import PromptedTextEncoder, encode_sentences
from src.core.errors import UserError

_CLIP_PREFIX = "clip."


class ClipVideoClassifier(nn.Module):
    """Base of all six methods: (B, V, T, 3, H, W) -> logits (B, C) = mean over views of per-view logits."""

    text_features_depend_on_video: bool = False   # stt sets True: text features come out of view_logits itself
    trains_clip: bool = False     # vifi_clip sets True: CLIP itself trains (no feature cache, CLIP in the learned state)

    def __init__(self, clip, tokenizer, class_names: list[str], method: dict, num_frames: int):
        super().__init__()
        assert len(class_names) > 0, "a classifier needs at least one class name"
        self.clip = clip.eval()
        for p in self.clip.parameters():
            p.requires_grad_(False)
        self.class_names = list(class_names)
        self.num_frames = num_frames
        self.embed_dim = int(clip.visual.output_dim)                  # E
        self.pooling = build_pooling(method["pooling"], self.embed_dim, num_frames, method["pool_heads"],
                                     method["pool_init_std"])

        self.logit_scale_max = float(method["logit_scale_max"])
        if method["learn_logit_scale"]:
            self.logit_scale = nn.Parameter(torch.tensor(float(method["logit_scale_init"])))
        else:
            # CLIP's own (pretrained) scale, frozen; derived from CLIP, so not part of the learned state.
            self.register_buffer("logit_scale", clip.logit_scale.detach().clone().reshape(()), persistent=False)

        self.reg_strength = float(method["reg_strength"])
        self.cos_reg_strength = float(method["cos_reg_strength"])
        sentences = [method["handcrafted_template"].format(name) for name in self.class_names]
        handcrafted = F.normalize(encode_sentences(clip, tokenizer, sentences), dim=-1)   # (C, E)
        self.register_buffer("handcrafted_text_features", handcrafted, persistent=False)

    # ---- logits -------------------------------------------------------------------------------------------
    def forward(self, video: Tensor, text_features: Tensor | None = None) -> Tensor:
        assert video.dim() == 6, f"video must be (B, V, T, 3, H, W), got {tuple(video.shape)}"
        B, V = video.shape[:2]
        if text_features is None and not self.text_features_depend_on_video:
            text_features = self.class_text_features()                 # once for all views
        logits = self.view_logits(video.flatten(0, 1), text_features)  # (B·V, C)
        return logits.view(B, V, -1).mean(dim=1)                       # (B, C)

    @property
    def frame_features_cacheable(self) -> bool:
        """Frames go through the frozen, unprompted image tower (derived: a method that prompts it overrides
        encode_frames or view_logits), so per-frame features can be computed once and cached."""
        return type(self).caches_frame_features()

    @classmethod
    def caches_frame_features(cls) -> bool:
        """frame_features_cacheable, known from the class (before a model is built)."""
        return cls.encode_frames is ClipVideoClassifier.encode_frames and cls.view_logits is ClipVideoClassifier.view_logits

    def forward_features(self, features: Tensor, text_features: Tensor | None = None) -> Tensor:
        """Cached frame features (B, V, T, E) of the frozen image tower -> (B, C); same as forward on pixels."""
        assert self.frame_features_cacheable, f"{type(self).__name__} prompts the image tower: no feature input"
        assert features.dim() == 4, f"features must be (B, V, T, E), got {tuple(features.shape)}"
        B, V = features.shape[:2]
        if text_features is None:
            text_features = self.class_text_features()
        return self.score_frames(features.flatten(0, 1), text_features).view(B, V, -1).mean(dim=1)

    def view_logits(self, clips: Tensor, text_features: Tensor | None) -> Tensor:
        """(N, T, 3, H, W) -> (N, C). text_features (C, E) or per-clip (N, C, E); None -> class_text_features()."""
        return self.score_frames(self.encode_frames(clips), text_features)

    def score_frames(self, frames: Tensor, text_features: Tensor | None) -> Tensor:
        """Frame features (N, T, E) -> normalise per frame -> pool -> normalise -> logits (N, C)."""
        frames = F.normalize(frames, dim=-1)                           # (N, T, E)
        video = F.normalize(self.pooling(frames), dim=-1)              # (N, E)
        if text_features is None:
            text_features = self.class_text_features()
        text = F.normalize(text_features, dim=-1)
        scale = self.current_logit_scale()
        if text.dim() == 3:                                            # (N, C, E): video-conditioned text
            return scale * torch.einsum("ne,nce->nc", video, text)
        return scale * video @ text.t()                                # (N, C)

    def current_logit_scale(self) -> Tensor:
        """exp(logit scale); a learned scale is clamped at logit_scale_max (ln 100) as in CLIP."""
        if isinstance(self.logit_scale, nn.Parameter):
            return self.logit_scale.clamp(max=self.logit_scale_max).exp()
        return self.logit_scale.exp()

    def encode_frames(self, clips: Tensor) -> Tensor:
        """(N, T, 3, H, W) -> (N, T, E) with the frozen, unprompted image tower (no grad: cacheable)."""
        N, T = clips.shape[:2]
        with torch.no_grad():
            features = self.clip.encode_image(clips.flatten(0, 1))     # (N·T, E)
        return features.view(N, T, -1)

    def class_text_features(self) -> Tensor:
        """(C, E) normalised class text features; the base uses the hand-crafted prompts (zero-shot CLIP)."""
        return self.handcrafted_text_features

    # ---- regularisers -------------------------------------------------------------------------------------
    def extra_loss(self) -> Tensor:
        """−λ·mean cos(learned, hand-crafted) + μ·(1 − mean cos); a 0 tensor when λ = μ = 0."""
        zero = self.handcrafted_text_features.new_zeros(())
        if self.reg_strength == 0.0 and self.cos_reg_strength == 0.0:
            return zero
        learned = F.normalize(self.class_text_features(), dim=-1)     # (C, E)
        mean_cos = (learned * self.handcrafted_text_features).sum(dim=-1).mean()
        return -self.reg_strength * mean_cos + self.cos_reg_strength * (1.0 - mean_cos)

    # ---- modes and learned state --------------------------------------------------------------------------
    def train(self, mode: bool = True):
        super().train(mode)
        self.clip.eval()                  # frozen CLIP: dropout / patch dropout stay off
        return self

    def trainable_state_dict(self) -> dict[str, Tensor]:
        """Only what is learned (prompts, pooling, heads, learned scale): every key outside the frozen CLIP."""
        return {k: v.detach().clone() for k, v in self.state_dict().items() if not k.startswith(_CLIP_PREFIX)}

    def class_specific_keys(self) -> set[str]:
        """Learned keys whose shape depends on the number of classes (class-wise contexts)."""
        return {f"{name}.ctx" for name, module in self.named_modules()
                if isinstance(module, PromptedTextEncoder) and module.class_wise}

    def load_learned(self, state: dict[str, Tensor], source_class_names: list[str],
                     refuse_unmatched: bool = False) -> dict[str, list[str]]:
        """Load learned tensors from a run trained on `source_class_names` (prompt text, logit order).

        Shared tensors load when their shape matches. Class-specific ones (class-wise contexts, rows = classes)
        are matched by class NAME: a class of this model that the source learned gets that class's row; the
        others keep their fresh init (training) or, with `refuse_unmatched` (evaluation), raise a UserError.
        Returns {"loaded", "loaded_by_class_name", "new", "ignored", "matched_classes", "reinitialised_classes"}.
        """
        own = self.trainable_state_dict()
        source_index = {name: i for i, name in enumerate(source_class_names)}
        matched = [(c, source_index[n]) for c, n in enumerate(self.class_names) if n in source_index]
        unmatched = [n for n in self.class_names if n not in source_index]
        report: dict[str, list[str]] = {"loaded": [], "loaded_by_class_name": [], "new": [], "ignored": [],
                                        "matched_classes": [], "reinitialised_classes": []}
        to_load = {}
        for key, value in own.items():
            if key not in state:
                report["new"].append(key)
            elif key in self.class_specific_keys():
                self._refuse_unmatched(unmatched, refuse_unmatched)
                to_load[key] = _rows_by_class(key, state[key], value, matched, len(source_class_names))
                report["loaded_by_class_name"].append(key)
                report["matched_classes"] = [self.class_names[c] for c, _ in matched]
                report["reinitialised_classes"] = unmatched
            elif tuple(state[key].shape) == tuple(value.shape):
                to_load[key] = state[key]
                report["loaded"].append(key)
            else:
                raise UserError(f"learned tensor '{key}' has shape {tuple(state[key].shape)} in the checkpoint but "
                                f"this model needs {tuple(value.shape)}; use the same method settings "
                                "(ctx_len, pooling, …) as the run you load")
        report["ignored"] = sorted(k for k in state if k not in own)
        self.load_state_dict(to_load, strict=False)
        return report

    def _refuse_unmatched(self, unmatched: list[str], refuse: bool) -> None:
        if refuse and unmatched:
            shown = ", ".join(unmatched[:5]) + (" …" if len(unmatched) > 5 else "")
            raise UserError(f"{type(self).__name__} learned one prompt context per class (class_wise) and "
                            f"{len(unmatched)} of the {len(self.class_names)} target classes were never trained "
                            f"({shown}), so it cannot score them; evaluate on the classes it was trained on or "
                            "use a run with method.class_wise=false")


def _rows_by_class(key: str, source: Tensor, own: Tensor, matched: list[tuple[int, int]], num_source: int) -> Tensor:
    """`own` (C, …) with row c replaced by `source` row s for every matched (c, s); other rows keep their init."""
    if source.shape[0] != num_source or tuple(source.shape[1:]) != tuple(own.shape[1:]):
        raise UserError(f"learned tensor '{key}' has shape {tuple(source.shape)} in the checkpoint, expected "
                        f"({num_source}, {', '.join(map(str, own.shape[1:]))}); use the same method settings "
                        "(ctx_len, …) as the run you load")
    rows = own.detach().clone()
    if matched:
        targets, sources = zip(*matched)
        rows[list(targets)] = source[list(sources)].to(rows.dtype)
    return rows
