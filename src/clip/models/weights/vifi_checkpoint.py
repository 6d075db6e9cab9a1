"""ViFi-CLIP's checkpoints (muzairkhattak/ViFi-CLIP) as open_clip CLIP weights.

Their utils/tools.py `epoch_saving` writes torch.save({'model': model.state_dict(), 'optimizer', 'lr_scheduler',
'max_accuracy', 'epoch', 'config': <yacs CfgNode>}) where `model` is DistributedDataParallel(ViFiCLIP), so every
key starts with `module.`. ViFiCLIP (trainers/vificlip.py) holds OpenAI CLIP's towers under other names:
`image_encoder` = clip.visual, `text_encoder` = TextEncoder(transformer, positional_embedding, ln_final,
text_projection), `logit_scale`, and a `prompt_learner` whose buffers are the token embeddings of *their* class
prompts. CLIP's `token_embedding` is not in the checkpoint: ViFi-CLIP never trains it (it embeds the prompts once,
with OpenAI's weights), so it comes from backbone.vifi_token_embedding.
"""
import logging

import torch

from src.core.errors import UserError

log = logging.getLogger(__name__)

# ViFi-CLIP key prefix -> open_clip CLIP key prefix (both towers keep OpenAI's module names underneath).
KEY_MAP = (
    ("image_encoder.", "visual."),
    ("text_encoder.transformer.", "transformer."),
    ("text_encoder.positional_embedding", "positional_embedding"),
    ("text_encoder.ln_final.", "ln_final."),
    ("text_encoder.text_projection", "text_projection"),
    ("logit_scale", "logit_scale"),
)
# Class-prompt token embeddings for the classes ViFi-CLIP trained on: this project re-embeds its own prompts.
UNUSED = ("prompt_learner.complete_text_embeddings", "prompt_learner.token_prefix", "prompt_learner.token_suffix")
# Learned prompts of their second stage (PROMPT_MODEL: True): a plain CLIP has nowhere to put them.
PROMPT_PARTS = ("prompt_learner.ctx", "VPT")
NOT_SAVED = ("token_embedding.weight",)


def is_vifi_checkpoint(payload) -> bool:
    """A dict with a 'model' state dict whose keys (past DDP's `module.`) are ViFiCLIP's towers."""
    model = payload.get("model") if isinstance(payload, dict) else None
    return isinstance(model, dict) and any(_strip_ddp(key).startswith("image_encoder.") for key in model)


def _strip_ddp(key: str) -> str:
    return key[len("module."):] if key.startswith("module.") else key


def _open_clip_key(key: str) -> str | None:
    for theirs, ours in KEY_MAP:
        if key == theirs or (theirs.endswith(".") and key.startswith(theirs)):
            return ours + key[len(theirs):]
    return None


def vifi_to_open_clip(payload: dict, source: str) -> dict[str, torch.Tensor]:
    """open_clip CLIP keys -> tensors; their bookkeeping keys are logged as unused, anything else is refused."""
    tensors = {_strip_ddp(key): tensor for key, tensor in payload["model"].items()}
    # Prompts sit inside the towers too (image_encoder.VPT, …resblocks.N.VPT_shallow): looked for before mapping.
    prompts = [key for key in tensors if any(part in key for part in PROMPT_PARTS)]
    if prompts:
        raise UserError(f"{source}: a ViFi-CLIP prompting checkpoint (learned prompts {prompts[:3]}); a plain CLIP "
                        "cannot hold them: give a fine-tuned ViFi-CLIP checkpoint (TRAINER.ViFi_CLIP.PROMPT_MODEL: False)")
    state, unused, unknown = {}, [], []
    for key, tensor in tensors.items():
        if (ours := _open_clip_key(key)) is not None:
            state[ours] = tensor
        elif key in UNUSED:
            unused.append(key)
        else:
            unknown.append(key)
    if unknown:
        raise UserError(f"{source}: ViFi-CLIP checkpoint with keys this mapping does not know ({unknown[:3]}); "
                        "give a checkpoint written by ViFi-CLIP's main.py (utils/tools.py epoch_saving)")
    log.info("%s: ViFi-CLIP checkpoint, %d tensors mapped to open_clip; unused (their class prompts): %s; "
             "not in the file: %s (from backbone.vifi_token_embedding)", source, len(state),
             ", ".join(unused) or "none", ", ".join(NOT_SAVED))
    return state
