"""A reference VideoMAE v2 (the original format) for the tests: tiny original-format weights and folders.

The reference below re-implements the original VideoMAE v2 encoder forward (fused qkv with q_bias / zero key
bias / v_bias, sin-cos positions, pre-norm blocks, mean pooling + fc_norm) directly from the original weights,
independently of transformers and of the conversion code.
"""
import json
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from transformers import VideoMAEConfig, VideoMAEForVideoClassification

DIM, DEPTH, HEADS, MLP, PATCH, TUBELET, EPS = 32, 2, 2, 2.0, 8, 2, 1e-6
FRAMES, SIZE = 4, 32
MODEL_CONFIG = {"img_size": SIZE, "patch_size": PATCH, "in_chans": 3, "num_classes": 0, "embed_dim": DIM,
                "depth": DEPTH, "num_heads": HEADS, "mlp_ratio": MLP, "qkv_bias": True, "init_values": 0.0,
                "use_learnable_pos_emb": False, "num_frames": 16, "tubelet_size": TUBELET, "use_mean_pooling": True,
                "norm_layer": "nn.LayerNorm", "layer_norm_eps": EPS, "with_cp": False, "cos_attn": False}


def original_state_dict(seed: int = 0) -> dict[str, torch.Tensor]:
    """Random weights in the original layout; biases, q_bias and v_bias deliberately far from zero."""
    g = torch.Generator().manual_seed(seed)
    r = lambda *shape: torch.randn(*shape, generator=g) * 0.2  # noqa: E731
    sd = {"model.patch_embed.proj.weight": r(DIM, 3, TUBELET, PATCH, PATCH), "model.patch_embed.proj.bias": r(DIM)}
    hidden = int(DIM * MLP)
    for i in range(DEPTH):
        b = f"model.blocks.{i}."
        sd.update({
            b + "norm1.weight": 1 + r(DIM), b + "norm1.bias": r(DIM),
            b + "attn.qkv.weight": r(3 * DIM, DIM), b + "attn.q_bias": r(DIM) + 0.5, b + "attn.v_bias": r(DIM) - 0.5,
            b + "attn.proj.weight": r(DIM, DIM), b + "attn.proj.bias": r(DIM),
            b + "norm2.weight": 1 + r(DIM), b + "norm2.bias": r(DIM),
            b + "mlp.fc1.weight": r(hidden, DIM), b + "mlp.fc1.bias": r(hidden),
            b + "mlp.fc2.weight": r(DIM, hidden), b + "mlp.fc2.bias": r(DIM),
        })
    sd.update({"model.fc_norm.weight": 1 + r(DIM), "model.fc_norm.bias": r(DIM)})
    return sd


def sincos_table(n: int, d: int) -> torch.Tensor:
    pos = torch.arange(n, dtype=torch.float64)[:, None]
    j = torch.arange(d, dtype=torch.float64)[None, :]
    angle = pos / torch.pow(10000.0, 2 * torch.div(j, 2, rounding_mode="floor") / d)
    table = torch.where(j.long() % 2 == 0, torch.sin(angle), torch.cos(angle))
    return table.float()[None]  # (1, N, D)


def reference_features(sd: dict[str, torch.Tensor], clips: torch.Tensor, token_norm: str | None = None) -> torch.Tensor:
    """The original VideoMAE v2 forward_features on (B, 3, T, H, W) -> (B, D): mean of the tokens, then fc_norm.
    `token_norm="norm"`: first the LayerNorm `model.norm.*` over every token (the encoder's final norm)."""
    p = lambda k: sd["model." + k]  # noqa: E731
    x = F.conv3d(clips, p("patch_embed.proj.weight"), p("patch_embed.proj.bias"), stride=(TUBELET, PATCH, PATCH))
    x = x.flatten(2).transpose(1, 2)                                   # (B, N, D)
    b, n, _ = x.shape
    x = x + sincos_table(n, DIM)
    head_dim = DIM // HEADS
    for i in range(DEPTH):
        w = lambda k: p(f"blocks.{i}.{k}")  # noqa: E731, B023
        h = F.layer_norm(x, (DIM,), w("norm1.weight"), w("norm1.bias"), EPS)
        qkv_bias = torch.cat([w("attn.q_bias"), torch.zeros(DIM), w("attn.v_bias")])
        qkv = F.linear(h, w("attn.qkv.weight"), qkv_bias).reshape(b, n, 3, HEADS, head_dim).permute(2, 0, 3, 1, 4)
        attn = ((qkv[0] * head_dim ** -0.5) @ qkv[1].transpose(-2, -1)).softmax(-1)
        out = (attn @ qkv[2]).transpose(1, 2).reshape(b, n, DIM)
        x = x + F.linear(out, w("attn.proj.weight"), w("attn.proj.bias"))
        h = F.layer_norm(x, (DIM,), w("norm2.weight"), w("norm2.bias"), EPS)
        hidden = F.gelu(F.linear(h, w("mlp.fc1.weight"), w("mlp.fc1.bias")))
        x = x + F.linear(hidden, w("mlp.fc2.weight"), w("mlp.fc2.bias"))
    if token_norm is not None:
        x = F.layer_norm(x, (DIM,), p(f"{token_norm}.weight"), p(f"{token_norm}.bias"), EPS)
    return F.layer_norm(x.mean(1), (DIM,), p("fc_norm.weight"), p("fc_norm.bias"), EPS)


def write_original_folder(folder: Path, sd: dict[str, torch.Tensor]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps({"model_type": "VideoMAEv2_Base", "model_config": MODEL_CONFIG}))
    save_file(sd, str(folder / "model.safetensors"))
    return folder


def write_transformers_folder(folder: Path, net) -> Path:
    """The same weights saved by transformers itself, as a VideoMAEForVideoClassification (videomae.* + fc_norm)."""
    config = VideoMAEConfig(**net.backbone.model.config.to_dict())
    classifier = VideoMAEForVideoClassification(config)
    classifier.videomae.load_state_dict(net.backbone.model.state_dict())
    classifier.fc_norm.load_state_dict(net.pool.norm.state_dict())
    classifier.save_pretrained(folder)
    return folder


def clips(seed: int = 1) -> torch.Tensor:
    return torch.randn(2, 3, FRAMES, SIZE, SIZE, generator=torch.Generator().manual_seed(seed))
