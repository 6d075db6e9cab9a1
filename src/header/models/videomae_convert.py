"""VideoMAE v2 checkpoints -> `transformers.VideoMAEModel`: architecture and weights, by explicit key mapping.

Two layouts are read:
- transformers format: config.json (`model_type: videomae`) + weights named as VideoMAEModel's (optionally under
  `videomae.`, with a classifier or decoder beside it; older files call the attention biases `q_bias`/`v_bias`).
- the original VideoMAE v2 format (OpenGVLab's release): config.json holding `model_config` (the timm-style
  VisionTransformer arguments) + weights `model.blocks.N.attn.qkv.weight` etc. The fused qkv projection is split
  into query/key/value; `q_bias` -> query.bias, `v_bias` -> value.bias; the key has no bias in both models (the
  original concatenates zeros for it), so nothing is lost.
Every weight ends up used or is listed as deliberately ignored (classifier heads, the pre-training decoder); a key
no rule knows is an error.

The encoder's final LayerNorm (`norm` / `encoder.norm` in the original format, `layernorm` in transformers') goes
where OpenGVLab's own fine-tuning puts it (run_class_finetuning.py, models/modeling_finetune.py of
OpenGVLab/VideoMAEv2), see `place_final_norm`. A pre-training checkpoint always has `encoder.norm` and never an
`fc_norm`; a fine-tuned one has `fc_norm` (mean pooling) or `norm` (CLS pooling).
"""
import re
from dataclasses import dataclass, field

import torch

from src.core.errors import UserError

# Arguments of the original VisionTransformer that a `model_config` may leave out, with the values the original
# code gives them (a property of that file format, not a setting of ours).
ORIGINAL_FORMAT_DEFAULTS = {"patch_size": 16, "embed_dim": 768, "depth": 12, "num_heads": 12, "mlp_ratio": 4.0,
                            "qkv_bias": False, "layer_norm_eps": 1e-12, "init_values": 0.0, "tubelet_size": 2,
                            "use_learnable_pos_emb": False, "use_mean_pooling": True, "cos_attn": False}
# Classifier heads, the pre-training decoder, and fixed sin-cos tables (rebuilt by transformers).
IGNORED = re.compile(r"^(head\.|classifier\.|decoder\.|encoder_to_decoder\.|mask_token$|position_embeddings$"
                     r"|pos_embed$)")


@dataclass
class ConvertedWeights:
    backbone: dict[str, torch.Tensor]                               # VideoMAEModel state-dict keys
    pool_norm: dict[str, torch.Tensor] = field(default_factory=dict)  # fc_norm weight/bias, when the file has it
    ignored: list[str] = field(default_factory=list)                # keys deliberately dropped
    # The encoder's final LayerNorm over all tokens (weight/bias) and the file's keys for it, until
    # place_final_norm puts it into `backbone` or `ignored`.
    final_norm: dict[str, torch.Tensor] = field(default_factory=dict)
    final_norm_keys: list[str] = field(default_factory=list)


def place_final_norm(weights: ConvertedWeights, *, use_mean_pooling: bool) -> str:
    """Put the encoder's final LayerNorm where OpenGVLab's fine-tuning puts it; -> the rule as applied (for the log).

    OpenGVLab's fine-tuning model with mean pooling (their default; `--use_cls` turns it off) has no LayerNorm
    over the tokens (`norm` is an Identity) and one after the mean (`fc_norm`): the pre-training `encoder.norm` is
    left unused by their non-strict load, and `fc_norm`, absent from a pre-training checkpoint, starts fresh
    (weight 1, bias 0). Without mean pooling `norm` is the final LayerNorm over the tokens and is loaded.
    transformers' VideoMAEModel mirrors this (`layernorm` exists only when use_mean_pooling is false), so:
    - mean pooling: the final norm is dropped and reported; the pooling LayerNorm takes `fc_norm` when the
      checkpoint has it (a fine-tuned one), else starts at identity (a pre-training one);
    - no mean pooling: the final norm becomes `layernorm` (applied to every token). The header net still averages
      the tokens and applies its pooling LayerNorm after that (`fc_norm` if present, else identity).
    """
    had = weights.final_norm_keys
    if use_mean_pooling:
        weights.ignored.extend(had)
        kept = "dropped, as OpenGVLab's fine-tuning drops it" if had else "absent"
        pool = "loaded from fc_norm" if weights.pool_norm else "fresh at identity (no fc_norm in the checkpoint)"
        rule = f"use_mean_pooling=true: the final token norm ({', '.join(had) or 'norm'}) is {kept}; the " \
               f"LayerNorm after the mean is {pool}"
    else:
        weights.backbone.update({f"layernorm.{name}": value for name, value in weights.final_norm.items()})
        rule = f"use_mean_pooling=false: the final token norm ({', '.join(had) or 'none in the checkpoint'}) is " \
               f"transformers' layernorm over every token"
    weights.final_norm, weights.final_norm_keys = {}, []
    return rule


def summarise_keys(keys: list[str]) -> str:
    """'decoder.* (20), mask_token (1)': keys grouped by their first name after any wrapper prefix (for the log)."""
    groups: dict[str, int] = {}
    for key in keys:
        parts = key.replace("_orig_mod.", "").split(".")
        while len(parts) > 1 and parts[0] in ("model", "module", "encoder", "videomae"):
            parts = parts[1:]
        name = f"{parts[0]}.*" if len(parts) > 1 else parts[0]
        groups[name] = groups.get(name, 0) + 1
    return ", ".join(f"{name} ({count})" for name, count in groups.items()) or "none"


def architecture_from_original(model_config: dict, where: str) -> dict:
    """VideoMAEConfig arguments (no frame count or image size: those follow the dataset) from `model_config`."""
    cfg = {**ORIGINAL_FORMAT_DEFAULTS, **model_config}
    unsupported = {"init_values": cfg["init_values"] not in (0, 0.0, None),
                   "cos_attn": bool(cfg["cos_attn"]),
                   "use_learnable_pos_emb": bool(cfg["use_learnable_pos_emb"]),
                   "qk_scale": cfg.get("qk_scale") is not None,
                   "attn_head_dim": cfg.get("attn_head_dim") is not None}
    bad = [name for name, is_set in unsupported.items() if is_set]
    if bad:
        raise UserError(f"{where}: model_config sets {', '.join(bad)}, which transformers' VideoMAE cannot express; "
                        f"use a standard VideoMAE v2 checkpoint (base / large / giant)")
    patch = cfg["patch_size"]
    return {
        "hidden_size": int(cfg["embed_dim"]),
        "num_hidden_layers": int(cfg["depth"]),
        "num_attention_heads": int(cfg["num_heads"]),
        "intermediate_size": int(cfg["embed_dim"] * cfg["mlp_ratio"]),  # giant: 1408 * 48/11 = 6144
        "patch_size": int(patch[0] if isinstance(patch, (list, tuple)) else patch),
        "tubelet_size": int(cfg["tubelet_size"]),
        "layer_norm_eps": float(cfg["layer_norm_eps"]),
        "qv_bias": bool(cfg["qkv_bias"]),
        "use_mean_pooling": bool(cfg["use_mean_pooling"]),
        "pretrained_num_frames": cfg.get("num_frames"),
    }


def architecture_from_transformers(config: dict) -> dict:
    """The same arguments from a transformers-format config.json (legacy `qkv_bias` accepted)."""
    get = config.get
    patch = get("patch_size", 16)
    return {
        "hidden_size": int(config["hidden_size"]),
        "num_hidden_layers": int(config["num_hidden_layers"]),
        "num_attention_heads": int(config["num_attention_heads"]),
        "intermediate_size": int(config["intermediate_size"]),
        "patch_size": int(patch[0] if isinstance(patch, (list, tuple)) else patch),
        "tubelet_size": int(get("tubelet_size", 2)),
        "layer_norm_eps": float(get("layer_norm_eps", 1e-12)),
        "qv_bias": bool(get("qv_bias", get("qkv_bias", True))),
        "use_mean_pooling": bool(get("use_mean_pooling", True)),
        "pretrained_num_frames": get("num_frames"),
    }


_ORIGINAL_BLOCK_RULES = [
    ("norm1", "layernorm_before"),
    ("attn.proj", "attention.output.dense"),
    ("norm2", "layernorm_after"),
    ("mlp.fc1", "intermediate.dense"),
    ("mlp.fc2", "output.dense"),
]


def convert_original_state_dict(state: dict[str, torch.Tensor]) -> ConvertedWeights:
    """Original VideoMAE v2 weights (with or without the `model.` / `encoder.` prefix) -> VideoMAEModel keys."""
    out = ConvertedWeights(backbone={})
    unknown = []
    for full_key, value in state.items():
        key = full_key.replace("_orig_mod.", "").removeprefix("model.")  # torch.compile's wrapper prefix too
        # Pre-training checkpoints keep the encoder under `encoder.` (blocks, patch_embed, norm, fc_norm).
        key = key.removeprefix("encoder.")
        if IGNORED.match(key):
            out.ignored.append(full_key)
            continue
        if key.startswith("patch_embed.proj."):
            out.backbone[key.replace("patch_embed.proj.", "embeddings.patch_embeddings.projection.")] = value
            continue
        if key.startswith("fc_norm."):
            out.pool_norm[key.removeprefix("fc_norm.")] = value
            continue
        if key.startswith("norm."):  # the final LayerNorm over all tokens: where it goes is place_final_norm's
            out.final_norm[key.removeprefix("norm.")] = value
            out.final_norm_keys.append(full_key)
            continue
        m = re.match(r"^blocks\.(\d+)\.(.+)$", key)
        if not m:
            unknown.append(full_key)
            continue
        layer, rest = f"encoder.layer.{m[1]}", m[2]
        attention = f"{layer}.attention.attention"
        if rest == "attn.qkv.weight":  # (3D, D): rows are [query; key; value]
            query, key_w, value_w = value.chunk(3, dim=0)
            out.backbone.update({f"{attention}.query.weight": query, f"{attention}.key.weight": key_w,
                                 f"{attention}.value.weight": value_w})
        elif rest == "attn.q_bias":
            out.backbone[f"{attention}.query.bias"] = value
        elif rest == "attn.v_bias":
            out.backbone[f"{attention}.value.bias"] = value
        else:
            for old, new in _ORIGINAL_BLOCK_RULES:
                if rest.startswith(old + "."):
                    out.backbone[f"{layer}.{new}.{rest[len(old) + 1:]}"] = value
                    break
            else:
                unknown.append(full_key)
    if unknown:
        raise UserError(f"original VideoMAE v2 weights have keys no rule maps: {', '.join(unknown[:5])}; "
                        f"is this a VideoMAE v2 encoder checkpoint?")
    return out


def normalise_transformers_state_dict(state: dict[str, torch.Tensor]) -> ConvertedWeights:
    """transformers-format weights (VideoMAEModel / ForVideoClassification / ForPreTraining) -> VideoMAEModel keys."""
    out = ConvertedWeights(backbone={})
    for full_key, value in state.items():
        key = full_key.removeprefix("videomae.")
        if key.startswith("fc_norm."):
            out.pool_norm[key.removeprefix("fc_norm.")] = value
        elif key.startswith("layernorm."):  # the final LayerNorm over all tokens: see place_final_norm
            out.final_norm[key.removeprefix("layernorm.")] = value
            out.final_norm_keys.append(full_key)
        elif IGNORED.match(key):
            out.ignored.append(full_key)
        else:  # older files name the attention biases q_bias / v_bias
            key = re.sub(r"attention\.attention\.q_bias$", "attention.attention.query.bias", key)
            out.backbone[re.sub(r"attention\.attention\.v_bias$", "attention.attention.value.bias", key)] = value
    return out


def looks_original(state: dict[str, torch.Tensor]) -> bool:
    """True for original-format weights (fused qkv), False for transformers names."""
    return any(re.search(r"(^|\.)blocks\.\d+\.attn\.qkv\.weight$", k) for k in state)
