"""VideoMAE v2: the original checkpoint format converted by key mapping gives the original model's features.

The reference below re-implements the original VideoMAE v2 encoder forward (fused qkv with q_bias / zero key
bias / v_bias, sin-cos positions, pre-norm blocks, mean pooling + fc_norm) directly from the original weights,
independently of transformers and of the conversion code.
"""
import json
import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from omegaconf import OmegaConf
from safetensors.torch import save_file
from transformers import VideoMAEConfig, VideoMAEForVideoClassification

from src.core.errors import UserError
from src.header.models.net import build_header_net
from src.header.models.videomae_convert import architecture_from_original, normalise_transformers_state_dict
from tests.header.header_helpers import compose_header_cfg

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


def reference_features(sd: dict[str, torch.Tensor], clips: torch.Tensor) -> torch.Tensor:
    """The original VideoMAE v2 forward_features on (B, 3, T, H, W) -> (B, D)."""
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


def vmae_backbone(tmp_path: Path, ckpt: Path | None, *extra: str) -> dict:
    cfg = compose_header_cfg(tmp_path, ["task=header", "backbone=vmae", f"backbone.ckpt={ckpt}", *extra])
    return OmegaConf.to_container(cfg.backbone)


def clips(seed: int = 1) -> torch.Tensor:
    return torch.randn(2, 3, FRAMES, SIZE, SIZE, generator=torch.Generator().manual_seed(seed))


def test_original_format_converts_to_the_original_models_features(tmp_path):
    sd = original_state_dict()
    folder = write_original_folder(tmp_path / "orig", sd)
    net = build_header_net(vmae_backbone(tmp_path, folder), num_frames=FRAMES, input_size=SIZE).eval()
    attention = net.backbone.model.encoder.layer[0].attention.attention
    assert torch.equal(attention.query.bias, sd["model.blocks.0.attn.q_bias"])
    assert attention.query.bias.abs().min() > 0
    assert torch.equal(attention.value.bias, sd["model.blocks.0.attn.v_bias"]) and attention.key.bias is None
    with torch.no_grad():
        ours, reference = net.features(clips()), reference_features(sd, clips())
    assert torch.allclose(ours, reference, atol=1e-5), (ours - reference).abs().max()

    tf_folder = write_transformers_folder(tmp_path / "tf", net)
    # transformers writes the attention biases under their on-disk names q_bias / v_bias (no key bias)
    saved = _keys(tf_folder / "model.safetensors")
    assert {"videomae.encoder.layer.0.attention.attention.q_bias", "fc_norm.weight", "classifier.weight"} <= saved
    assert not any("key.bias" in k for k in saved)
    net_tf = build_header_net(vmae_backbone(tmp_path, tf_folder), num_frames=FRAMES, input_size=SIZE).eval()
    with torch.no_grad():
        assert torch.allclose(net_tf.features(clips()), reference, atol=1e-5)


def _keys(path: Path) -> set[str]:
    from safetensors import safe_open

    with safe_open(str(path), "pt") as f:
        return set(f.keys())


def test_every_key_must_be_used_and_present(tmp_path):
    sd = original_state_dict()
    extra = write_original_folder(tmp_path / "extra", {**sd, "model.blocks.0.attn.mystery": torch.zeros(3)})
    with pytest.raises(UserError, match="mystery"):
        build_header_net(vmae_backbone(tmp_path, extra), num_frames=FRAMES, input_size=SIZE)
    missing = write_original_folder(tmp_path / "missing", {k: v for k, v in sd.items() if "1.attn.v_bias" not in k})
    with pytest.raises(UserError, match="value.bias"):
        build_header_net(vmae_backbone(tmp_path, missing), num_frames=FRAMES, input_size=SIZE)
    head = write_original_folder(tmp_path / "head", {**sd, "model.head.weight": torch.zeros(400, DIM)})
    build_header_net(vmae_backbone(tmp_path, head), num_frames=FRAMES, input_size=SIZE)  # a K400 head is dropped


def test_legacy_transformers_bias_names_are_renamed():
    state = {"videomae.encoder.layer.0.attention.attention.q_bias": torch.ones(2),
             "videomae.encoder.layer.0.attention.attention.v_bias": torch.ones(2),
             "classifier.weight": torch.ones(2, 2), "fc_norm.weight": torch.ones(2)}
    out = normalise_transformers_state_dict(state)
    assert set(out.backbone) == {"encoder.layer.0.attention.attention.query.bias",
                                 "encoder.layer.0.attention.attention.value.bias"}
    assert out.ignored == ["classifier.weight"] and set(out.pool_norm) == {"weight"}


def test_giant_architecture_uses_patch_14_and_mlp_ratio_48_over_11():
    giant = {"img_size": 224, "patch_size": 14, "embed_dim": 1408, "depth": 40, "num_heads": 16,
             "mlp_ratio": 48 / 11, "qkv_bias": True, "layer_norm_eps": 1e-6, "num_frames": 16, "tubelet_size": 2}
    arch = architecture_from_original(giant, "giant/config.json")
    assert (arch["hidden_size"], arch["intermediate_size"], arch["patch_size"]) == (1408, 6144, 14)
    assert arch["num_hidden_layers"] == 40 and arch["qv_bias"] is True
    with pytest.raises(UserError, match="init_values"):
        architecture_from_original({**giant, "init_values": 0.1}, "x/config.json")


def test_variant_must_agree_with_the_checkpoint(tmp_path):
    folder = write_original_folder(tmp_path / "orig", original_state_dict())
    with pytest.raises(UserError, match="variant=base"):
        build_header_net(vmae_backbone(tmp_path, folder, "backbone.variant=base"), num_frames=FRAMES, input_size=SIZE)


@pytest.mark.parametrize("make, words", [
    (lambda d: d / "nowhere", ["not found", "VideoMAEv2"]),
    (lambda d: (d.mkdir(), (d / "config.json").write_text('{"foo": 1}'),
                save_file({"w": torch.zeros(1)}, str(d / "model.safetensors")), d)[-1], ["no known format"]),
    (lambda d: (d.mkdir(), (d / "config.json").write_text("{}"), d)[-1], ["model.safetensors"]),
])
def test_bad_checkpoint_is_one_clear_error(tmp_path, make, words):
    ckpt = make(tmp_path / "ckpt")
    with pytest.raises(UserError) as info:
        build_header_net(vmae_backbone(tmp_path, ckpt), num_frames=FRAMES, input_size=SIZE)
    assert str(ckpt) in str(info.value) and all(w in str(info.value) for w in words) and "\n" not in str(info.value)


def test_frames_must_be_a_multiple_of_the_tubelet(tmp_path):
    folder = write_original_folder(tmp_path / "orig", original_state_dict())
    with pytest.raises(UserError, match=r"num_frames=5 is not a multiple of the VideoMAE tubelet size 2"):
        build_header_net(vmae_backbone(tmp_path, folder), num_frames=5, input_size=SIZE)
    net = build_header_net(vmae_backbone(tmp_path, folder), num_frames=8, input_size=SIZE)  # any multiple works
    with torch.no_grad():
        assert net(torch.zeros(1, 3, 8, SIZE, SIZE)).shape == (1, 2)
    assert math.isclose(net.pool.norm.eps, EPS)


def _as_pretraining(sd: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The layout of an original pre-training checkpoint: `encoder.`-prefixed, a final `encoder.norm` instead of
    fc_norm, plus the decoder the header net ignores."""
    out = {k.replace("model.", "encoder.", 1): v for k, v in sd.items() if "fc_norm" not in k}
    out.update({"encoder.norm.weight": sd["model.fc_norm.weight"], "encoder.norm.bias": sd["model.fc_norm.bias"],
                "decoder.norm.weight": torch.ones(DIM), "encoder_to_decoder.weight": torch.zeros(DIM, DIM),
                "mask_token": torch.zeros(1, 1, DIM)})
    return out


@pytest.mark.parametrize("layout", ["pretraining", "training_checkpoint", "compiled"])
def test_original_release_checkpoint_layouts_load(tmp_path, layout):
    """Pre-training (encoder.* incl. encoder.norm.*), a training checkpoint with optimizer/epoch/scaler/args
    (an argparse.Namespace) and torch.compile's `_orig_mod.` prefix all load the same encoder weights."""
    import argparse

    sd = original_state_dict()
    config = dict(MODEL_CONFIG)
    if layout == "pretraining":
        weights, config["use_mean_pooling"] = _as_pretraining(sd), False
        payload = {"model": weights}
    elif layout == "training_checkpoint":
        payload = {"model": sd, "optimizer": {"state": {}, "param_groups": [{"lr": 1e-3, "params": [0]}]},
                   "epoch": 799, "scaler": {"scale": 65536.0, "growth_factor": 2.0},
                   "args": argparse.Namespace(model="vit_base", lr=1e-3, tubelet_size=TUBELET)}
    else:
        payload = {k.replace("model.", "model._orig_mod.", 1): v for k, v in sd.items()}
    folder = tmp_path / layout
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "VideoMAEv2_Base", "model_config": config}))
    torch.save(payload, folder / "pytorch_model.bin")
    net = build_header_net(vmae_backbone(tmp_path, folder), num_frames=FRAMES, input_size=SIZE).eval()
    attention = net.backbone.model.encoder.layer[1].attention.attention
    assert torch.equal(attention.query.bias, sd["model.blocks.1.attn.q_bias"])
    if layout == "pretraining":
        assert torch.equal(net.backbone.model.layernorm.weight, sd["model.fc_norm.weight"])


def test_checkpoint_errors_name_the_file(tmp_path):
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "VideoMAEv2_Base", "model_config": MODEL_CONFIG}))
    torch.save({"model": {**original_state_dict(), "model.blocks.0.extra.weight": torch.zeros(1)}},
               folder / "pytorch_model.bin")
    with pytest.raises(UserError, match=f"backbone.ckpt={folder}.*blocks.0.extra"):
        build_header_net(vmae_backbone(tmp_path, folder), num_frames=FRAMES, input_size=SIZE)
    (folder / "pytorch_model.bin").write_bytes(b"\x00not a checkpoint")
    with pytest.raises(UserError, match=f"cannot read {folder / 'pytorch_model.bin'}"):
        build_header_net(vmae_backbone(tmp_path, folder), num_frames=FRAMES, input_size=SIZE)
