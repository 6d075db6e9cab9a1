"""VideoMAE v2: the original checkpoint format converted by key mapping gives the original model's features
(tests/header/vmae_reference.py re-implements the original encoder forward independently of transformers)."""
import json
import math
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf
from safetensors.torch import save_file

from src.core.errors import UserError
from src.header.models.net import build_header_net
from src.header.models.videomae_convert import (
    architecture_from_original,
    normalise_transformers_state_dict,
    place_final_norm,
)
from tests.header.vmae_reference import (
    DIM,
    EPS,
    FRAMES,
    MODEL_CONFIG,
    SIZE,
    TUBELET,
    clips,
    original_state_dict,
    reference_features,
    write_original_folder,
    write_transformers_folder,
)


@pytest.fixture
def vmae_backbone(compose, tmp_path):
    """backbone=vmae composed with `backbone.ckpt=<ckpt>` (+ overrides), as a plain dict."""
    def backbone(ckpt: Path | None, *extra: str) -> dict:
        cfg = compose(["task=header", "backbone=vmae", f"backbone.ckpt={ckpt}", *extra], tmp_path)
        return OmegaConf.to_container(cfg.backbone)
    return backbone


def test_original_format_converts_to_the_original_models_features(vmae_backbone, tmp_path):
    sd = original_state_dict()
    folder = write_original_folder(tmp_path / "orig", sd)
    net = build_header_net(vmae_backbone(folder), num_frames=FRAMES, input_size=SIZE).eval()
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
    net_tf = build_header_net(vmae_backbone(tf_folder), num_frames=FRAMES, input_size=SIZE).eval()
    with torch.no_grad():
        assert torch.allclose(net_tf.features(clips()), reference, atol=1e-5)


def _keys(path: Path) -> set[str]:
    from safetensors import safe_open

    with safe_open(str(path), "pt") as f:
        return set(f.keys())


def test_every_key_must_be_used_and_present(vmae_backbone, tmp_path):
    sd = original_state_dict()
    extra = write_original_folder(tmp_path / "extra", {**sd, "model.blocks.0.attn.mystery": torch.zeros(3)})
    with pytest.raises(UserError, match="mystery"):
        build_header_net(vmae_backbone(extra), num_frames=FRAMES, input_size=SIZE)
    missing = write_original_folder(tmp_path / "missing", {k: v for k, v in sd.items() if "1.attn.v_bias" not in k})
    with pytest.raises(UserError, match="value.bias"):
        build_header_net(vmae_backbone(missing), num_frames=FRAMES, input_size=SIZE)
    head = write_original_folder(tmp_path / "head", {**sd, "model.head.weight": torch.zeros(400, DIM)})
    build_header_net(vmae_backbone(head), num_frames=FRAMES, input_size=SIZE)  # a K400 head is dropped


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


def test_variant_must_agree_with_the_checkpoint(vmae_backbone, tmp_path):
    folder = write_original_folder(tmp_path / "orig", original_state_dict())
    with pytest.raises(UserError, match="variant=base"):
        build_header_net(vmae_backbone(folder, "backbone.variant=base"), num_frames=FRAMES, input_size=SIZE)


@pytest.mark.parametrize("make, words", [
    (lambda d: d / "nowhere", ["not found", "VideoMAEv2"]),
    (lambda d: (d.mkdir(), (d / "config.json").write_text('{"foo": 1}'),
                save_file({"w": torch.zeros(1)}, str(d / "model.safetensors")), d)[-1], ["no known format"]),
    (lambda d: (d.mkdir(), (d / "config.json").write_text("{}"), d)[-1], ["model.safetensors"]),
])
def test_bad_checkpoint_is_one_clear_error(vmae_backbone, tmp_path, make, words):
    ckpt = make(tmp_path / "ckpt")
    with pytest.raises(UserError) as info:
        build_header_net(vmae_backbone(ckpt), num_frames=FRAMES, input_size=SIZE)
    assert str(ckpt) in str(info.value) and all(w in str(info.value) for w in words) and "\n" not in str(info.value)


def test_frames_must_be_a_multiple_of_the_tubelet(vmae_backbone, tmp_path):
    folder = write_original_folder(tmp_path / "orig", original_state_dict())
    with pytest.raises(UserError, match=r"num_frames=5 is not a multiple of the VideoMAE tubelet size 2"):
        build_header_net(vmae_backbone(folder), num_frames=5, input_size=SIZE)
    net = build_header_net(vmae_backbone(folder), num_frames=8, input_size=SIZE)  # any multiple works
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
def test_original_release_checkpoint_layouts_load(vmae_backbone, tmp_path, layout):
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
    net = build_header_net(vmae_backbone(folder), num_frames=FRAMES, input_size=SIZE).eval()
    attention = net.backbone.model.encoder.layer[1].attention.attention
    assert torch.equal(attention.query.bias, sd["model.blocks.1.attn.q_bias"])
    if layout == "pretraining":
        assert torch.equal(net.backbone.model.layernorm.weight, sd["model.fc_norm.weight"])


def test_checkpoint_errors_name_the_file(vmae_backbone, tmp_path):
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "VideoMAEv2_Base", "model_config": MODEL_CONFIG}))
    torch.save({"model": {**original_state_dict(), "model.blocks.0.extra.weight": torch.zeros(1)}},
               folder / "pytorch_model.bin")
    with pytest.raises(UserError, match=f"backbone.ckpt={folder}.*blocks.0.extra"):
        build_header_net(vmae_backbone(folder), num_frames=FRAMES, input_size=SIZE)
    (folder / "pytorch_model.bin").write_bytes(b"\x00not a checkpoint")
    with pytest.raises(UserError, match=f"cannot read {folder / 'pytorch_model.bin'}"):
        build_header_net(vmae_backbone(folder), num_frames=FRAMES, input_size=SIZE)


def _released_pretraining_payload(sd: dict[str, torch.Tensor], wrapper: str) -> tuple[dict, list[str]]:
    """A VideoMAE v2 pre-training checkpoint as released (a bare .pth): under `model` or `module`, the encoder as
    `encoder.*` with its final `encoder.norm.*` and no fc_norm, plus the decoder. -> (payload, decoder keys)."""
    g = torch.Generator().manual_seed(3)
    encoder = {k.replace("model.", "encoder.", 1): v for k, v in sd.items() if "fc_norm" not in k}
    encoder.update({"encoder.norm.weight": 1 + 0.2 * torch.randn(DIM, generator=g),
                    "encoder.norm.bias": 0.2 * torch.randn(DIM, generator=g)})
    decoder = {"decoder.blocks.0.norm1.weight": torch.ones(16), "decoder.blocks.0.attn.qkv.weight": torch.zeros(48, 16),
               "decoder.blocks.0.mlp.fc1.weight": torch.zeros(32, 16), "decoder.norm.weight": torch.ones(16),
               "decoder.norm.bias": torch.zeros(16), "decoder.head.weight": torch.zeros(3 * 2 * 8 * 8, 16),
               "encoder_to_decoder.weight": torch.zeros(16, DIM), "mask_token": torch.zeros(1, 1, 16)}
    return {wrapper: {**encoder, **decoder}}, list(decoder)


@pytest.mark.parametrize("wrapper", ["model", "module"])
def test_released_pretraining_checkpoint_loads_with_mean_pooling_as_opengvlab_fine_tunes(vmae_backbone, tmp_path,
                                                                                       wrapper, caplog):
    """Mean pooling (the default): encoder.norm is dropped as OpenGVLab's fine-tuning drops it, the LayerNorm
    after the mean starts at identity (no fc_norm in a pre-training checkpoint), the decoder is ignored and
    reported."""
    sd = original_state_dict()
    payload, decoder_keys = _released_pretraining_payload(sd, wrapper)
    torch.save(payload, tmp_path / "vit_t_pretrain.pth")
    with caplog.at_level("INFO", logger="src.header.models.videomae"):
        net = build_header_net(vmae_backbone(tmp_path / "vit_t_pretrain.pth", "backbone=vmae_tiny"),
                               num_frames=FRAMES, input_size=SIZE).eval()
    assert net.backbone.model.layernorm is None  # transformers' VideoMAEModel under mean pooling
    assert torch.equal(net.pool.norm.weight, torch.ones(DIM)) and torch.equal(net.pool.norm.bias, torch.zeros(DIM))
    identity = {**sd, "model.fc_norm.weight": torch.ones(DIM), "model.fc_norm.bias": torch.zeros(DIM)}
    with torch.no_grad():
        ours, reference = net.features(clips()), reference_features(identity, clips())
    assert torch.allclose(ours, reference, atol=1e-5), (ours - reference).abs().max()
    log = caplog.text
    assert "use_mean_pooling=true" in log and "encoder.norm.weight, encoder.norm.bias" in log and "dropped" in log
    assert "fresh at identity" in log and "decoder.* (6)" in log and "encoder_to_decoder.* (1)" in log
    assert "mask_token (1)" in log and "ignored 10" in log  # 8 decoder keys + the two of encoder.norm
    assert len(decoder_keys) == 8


def test_released_pretraining_checkpoint_without_mean_pooling_normalises_every_token(vmae_backbone, tmp_path, caplog):
    """use_mean_pooling=false (OpenGVLab's --use_cls): encoder.norm is the final LayerNorm over every token."""
    sd = original_state_dict()
    payload, _ = _released_pretraining_payload(sd, "model")
    torch.save(payload, tmp_path / "vit_t_pretrain.pth")
    with caplog.at_level("INFO", logger="src.header.models.videomae"):
        net = build_header_net(vmae_backbone(tmp_path / "vit_t_pretrain.pth", "backbone=vmae_tiny",
                                             "backbone.use_mean_pooling=false"),
                               num_frames=FRAMES, input_size=SIZE).eval()
    assert torch.equal(net.backbone.model.layernorm.weight, payload["model"]["encoder.norm.weight"])
    assert torch.equal(net.backbone.model.layernorm.bias, payload["model"]["encoder.norm.bias"])
    with_norm = {**sd, "model.norm.weight": payload["model"]["encoder.norm.weight"],
                 "model.norm.bias": payload["model"]["encoder.norm.bias"],
                 "model.fc_norm.weight": torch.ones(DIM), "model.fc_norm.bias": torch.zeros(DIM)}
    with torch.no_grad():
        ours, reference = net.features(clips()), reference_features(with_norm, clips(), token_norm="norm")
    assert torch.allclose(ours, reference, atol=1e-5), (ours - reference).abs().max()
    assert "use_mean_pooling=false" in caplog.text and "ignored 8" in caplog.text


def test_a_fine_tuned_checkpoint_keeps_its_fc_norm_and_the_choice_overrides_the_config(vmae_backbone, tmp_path):
    folder = write_original_folder(tmp_path / "ft", original_state_dict())  # config: use_mean_pooling true, fc_norm
    net = build_header_net(vmae_backbone(folder), num_frames=FRAMES, input_size=SIZE)
    assert torch.equal(net.pool.norm.weight, original_state_dict()["model.fc_norm.weight"])
    with pytest.raises(UserError, match="layernorm.weight.*use_mean_pooling=false"):  # no final norm to load
        build_header_net(vmae_backbone(folder, "backbone.use_mean_pooling=false"), num_frames=FRAMES, input_size=SIZE)
    with pytest.raises(UserError, match="backbone.use_mean_pooling=maybe: use auto, true or false"):
        build_header_net(vmae_backbone(folder, "backbone.use_mean_pooling=maybe"), num_frames=FRAMES, input_size=SIZE)


def test_transformers_layernorm_follows_the_same_rule():
    state = {"videomae.layernorm.weight": torch.ones(2), "videomae.layernorm.bias": torch.zeros(2)}
    dropped = normalise_transformers_state_dict(state)
    assert "use_mean_pooling=true" in place_final_norm(dropped, use_mean_pooling=True)
    assert dropped.ignored == list(state) and not dropped.backbone
    kept = normalise_transformers_state_dict(state)
    place_final_norm(kept, use_mean_pooling=False)
    assert set(kept.backbone) == {"layernorm.weight", "layernorm.bias"} and not kept.ignored
