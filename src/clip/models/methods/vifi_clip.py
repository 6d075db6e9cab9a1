"""ViFi-CLIP (muzairkhattak/ViFi-CLIP, trainers/vificlip.py): CLIP's image and text towers fine-tuned on videos.

Video feature = normalise(mean over frames of encode_image(frame)) (ViFi averages the raw frame features, then
normalises); class text feature = normalise(encode_text("a photo of a {class}.")), re-encoded at every step
because the text tower trains; logits = exp(CLIP's own logit scale) · video · text.
What trains (`method.train_blocks`): null = every CLIP parameter but the token embedding (ViFi encodes the token
embeddings once into a buffer, so its token table never learns); N = the last N residual blocks of each tower plus
what follows them (image: ln_post, proj; text: ln_final, text_projection) and the logit scale.
Memory: the classes are encoded `method.text_chunk` at a time and `method.grad_checkpointing` turns on open_clip's
per-block activation checkpointing in both towers, so only each block's input is kept for all C classes.
"""
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from src.clip.models.classifier import ClipVideoClassifier
from src.clip.models.layers.prompted_text import project_text
from src.core.errors import UserError

_HEAD_PREFIXES = ("visual.ln_post.", "ln_final.", "text_projection.")   # module heads after the last blocks
_HEAD_PARAMETERS = ("visual.proj", "text_projection", "logit_scale")   # ... and the bare Parameters


class ViFiCLIP(ClipVideoClassifier):
    """Fine-tunes CLIP itself: the learned state is the trained CLIP tensors (keys `clip.…`)."""

    trains_clip = True   # its frame features change every step: never cached (src/clip/feature_cache.py)

    def __init__(self, clip, tokenizer, class_names: list[str], method: dict, num_frames: int):
        _check_settings(method)
        super().__init__(clip, tokenizer, class_names, method, num_frames)
        tokens = tokenizer([method["prompt_template"].format(name) for name in self.class_names])      # (C, 77)
        length = int(tokens.argmax(dim=-1).max()) + 1  # up to the last EOS: the causal mask hides the padding
        self.register_buffer("prompt_tokens", tokens[:, :length].long(), persistent=False)   # (C, L')
        self.text_chunk = method["text_chunk"] or len(self.class_names)
        self.trained_clip_keys = _trained_parameter_names(clip, method["train_blocks"])
        for name, param in clip.named_parameters():
            param.requires_grad_(name in self.trained_clip_keys)
        clip.set_grad_checkpointing(bool(method["grad_checkpointing"]))

    # ---- logits -------------------------------------------------------------------------------------------
    def encode_frames(self, clips: Tensor) -> Tensor:
        """(N, T, 3, H, W) -> (N, T, E) through the trained image tower (with gradient)."""
        N, T = clips.shape[:2]
        return self.clip.encode_image(clips.flatten(0, 1)).view(N, T, -1)

    def score_frames(self, frames: Tensor, text_features: Tensor | None) -> Tensor:
        """ViFi's order: mean of the raw frame features, then normalise (the base normalises every frame first)."""
        video = F.normalize(self.pooling(frames), dim=-1)                                  # (N, E)
        text = F.normalize(self.class_text_features() if text_features is None else text_features, dim=-1)
        return self.current_logit_scale() * video @ text.t()                              # (N, C)

    def current_logit_scale(self) -> Tensor:
        """CLIP's own scale (it trains with the towers, as in ViFi), clamped at ln 100 as in CLIP's training."""
        return self.clip.logit_scale.clamp(max=self.logit_scale_max).exp()

    def class_text_features(self) -> Tensor:
        """(C, E) normalised text features of the fixed prompts, encoded `text_chunk` classes at a time."""
        chunks = [self._encode_tokens(self.prompt_tokens[start:start + self.text_chunk])
                  for start in range(0, len(self.class_names), self.text_chunk)]
        return F.normalize(torch.cat(chunks), dim=-1)

    def _encode_tokens(self, tokens: Tensor) -> Tensor:
        """CLIP's encode_text on token ids (c, L') cut after the last EOS: (c, E), unnormalised."""
        clip, length = self.clip, tokens.shape[1]
        x = clip.token_embedding(tokens) + clip.positional_embedding[:length]
        mask = None if clip.attn_mask is None else clip.attn_mask[:length, :length]
        x = clip.ln_final(clip.transformer(x, attn_mask=mask))                            # (c, L', D)
        x = x[torch.arange(x.shape[0], device=x.device), tokens.argmax(dim=-1)]           # EOS token (highest id)
        return project_text(clip, x)

    # ---- modes and learned state --------------------------------------------------------------------------
    def train(self, mode: bool = True):
        nn.Module.train(self, mode)       # CLIP trains: it follows the mode (the base keeps a frozen CLIP in eval)
        return self

    def trainable_state_dict(self) -> dict[str, Tensor]:
        """The base's learned keys (none by default) + the CLIP tensors this run trains (`clip.<name>`)."""
        state = self.state_dict()
        own = super().trainable_state_dict()
        own.update({f"clip.{name}": state[f"clip.{name}"].detach().clone() for name in self.trained_clip_keys})
        return own


def _check_settings(method: dict) -> None:
    template, blocks, chunk = method["prompt_template"], method["train_blocks"], method["text_chunk"]
    if not isinstance(template, str) or template.count("{}") != 1:
        raise UserError(f"method.prompt_template: {template!r} needs exactly one {{}} where the class name goes, "
                        "e.g. 'a photo of a {}.'")
    if blocks is not None and (not isinstance(blocks, int) or isinstance(blocks, bool) or blocks < 0):
        raise UserError(f"method.train_blocks: {blocks!r} is not an integer >= 0; use null (train all of CLIP) "
                        "or N (the last N blocks of each tower + their final norms and projections)")
    if chunk is not None and (not isinstance(chunk, int) or isinstance(chunk, bool) or chunk < 1):
        raise UserError(f"method.text_chunk: {chunk!r} is not a positive integer; use one, or null (all classes "
                        "at once)")
    if method["pooling"] != "mean" or method["learn_logit_scale"]:
        raise UserError(f"method=vifi_clip averages the frame features and trains CLIP's own logit scale: "
                        f"method.pooling must be mean (got {method['pooling']}) and method.learn_logit_scale "
                        "false")


def _trained_parameter_names(clip, train_blocks: int | None) -> set[str]:
    """Names (in `clip`) of the parameters that train: all but the token embedding, or the last N blocks + heads."""
    names = [name for name, _ in clip.named_parameters()]
    if train_blocks is None:
        return {name for name in names if not name.startswith("token_embedding.")}
    prefixes = list(_HEAD_PREFIXES)
    for tower, blocks in (("visual.transformer", clip.visual.transformer.resblocks),
                          ("transformer", clip.transformer.resblocks)):
        if train_blocks > len(blocks):
            raise UserError(f"method.train_blocks={train_blocks}: the {tower} tower has only {len(blocks)} "
                            f"blocks; use at most {len(blocks)} or null (all of CLIP)")
        prefixes += [f"{tower}.resblocks.{i}." for i in range(len(blocks) - train_blocks, len(blocks))]
    return {name for name in names if name in _HEAD_PARAMETERS or name.startswith(tuple(prefixes))}
