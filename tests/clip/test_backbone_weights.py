"""backbone.pretrained from local files as data (OpenAI's TorchScript archive, ViFi-CLIP checkpoints) and hub
tags that fail fast without network (src/clip/models/weights/)."""
import logging
import pickle
import sys
import time
import types
import warnings
import zipfile
from pathlib import Path

import open_clip
import pytest
import torch
from safetensors.torch import save_file

from src.clip.models.backbone import load_clip
from src.clip.models.weights import hub
from src.core.errors import UserError
from tests.composed import section
from tests.core.bad_input_helpers import one_error_line

# OpenAI's layout as open_clip.model.build_model_from_openai_state_dict infers it: 64-wide heads, MLP ratio 4.
OPENAI_TINY = {"embed_dim": 32,
               "vision_cfg": {"image_size": 32, "layers": 2, "width": 64, "patch_size": 8},
               "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 1, "layers": 2}}


def tiny_backbone(**overrides) -> dict:
    """conf/backbone/clip_tiny.yaml composed over its default (clip_b16.yaml), as Hydra would."""
    return {**section("backbone", ["backbone=clip_tiny"]), **overrides}


def _features(model, seed: int = 7) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    images = torch.randn(3, 3, 32, 32, generator=generator)
    tokens = open_clip.SimpleTokenizer()(["a video of jumping.", "a video of a cat.", "x"])
    with torch.no_grad():
        return model.encode_image(images), model.encode_text(tokens)


def _openai_archive(path: Path) -> None:
    """A TorchScript archive laid out as OpenAI's release: fp16 weights, OpenAI's metadata tensors, the causal
    mask a plain attribute (not a buffer)."""
    torch.manual_seed(1)
    model = open_clip.model.CLIP(**OPENAI_TINY, quick_gelu=True).eval()
    open_clip.model.convert_weights_to_fp16(model)
    for name, value in (("input_resolution", 32), ("context_length", 77), ("vocab_size", 49408)):
        if hasattr(model, name):
            delattr(model, name)
        model.register_buffer(name, torch.tensor(value))
    model.attn_mask = model._buffers.pop("attn_mask")
    with warnings.catch_warnings():   # torch.jit's deprecation notices
        warnings.simplefilter("ignore")
        traced = torch.jit.trace(model, (torch.randn(1, 3, 32, 32).half(), torch.zeros(1, 77, dtype=torch.long)),
                                 check_trace=False)
        torch.jit.save(traced, str(path))


def test_openai_torchscript_archive_matches_open_clip_loading(tmp_path):
    path = tmp_path / "ViT-tiny.pt"
    _openai_archive(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = open_clip.load_openai_model(str(path), precision="fp32", device="cpu")   # runs torch.jit.load
    # load_clip freezes its model, which lets nn.MultiheadAttention take its fused path: the same for the reference
    # (else the two differ by float rounding of two attention kernels, ~1e-6, not by weights).
    reference.eval().requires_grad_(False)

    loaded, _ = load_clip(tiny_backbone(model_cfg=OPENAI_TINY, pretrained=str(path)))
    assert loaded.transformer.resblocks[0].mlp.gelu.__class__.__name__ == "QuickGELU"
    reference_state = reference.state_dict()
    assert set(loaded.state_dict()) == set(reference_state)
    for key, value in loaded.state_dict().items():
        assert torch.equal(value, reference_state[key]), key
    for ours, theirs in zip(_features(loaded), _features(reference), strict=True):
        assert (ours - theirs).abs().max().item() <= 1e-6


def test_torchscript_archive_code_is_never_run(tmp_path):
    class Payload:
        def __reduce__(self):
            return (Path.mkdir, (tmp_path / "ran",))

    path = tmp_path / "evil.pt"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("evil/constants.pkl", pickle.dumps(()))
        archive.writestr("evil/data.pkl", pickle.dumps(Payload(), protocol=2))
    with pytest.raises(UserError, match="evil.pt: cannot read its tensors as data"):
        load_clip(tiny_backbone(pretrained=str(path)))
    assert not (tmp_path / "ran").exists()


class CfgNode(dict):
    """Pickles as yacs.config.CfgNode, the way ViFi-CLIP's config does (a dict subclass with its flags in __dict__)."""


CfgNode.__module__, CfgNode.__qualname__ = "yacs.config", "CfgNode"


def _yacs_config() -> CfgNode:
    node = CfgNode(MODEL=CfgNode(ARCH="ViT-B/16"), TRAIN=CfgNode(LR=8e-6, EPOCHS=10))
    for each in (node, node["MODEL"], node["TRAIN"]):
        each.__dict__.update({"__immutable__": True, "__deprecated_keys__": set(), "__renamed_keys__": {},
                              "__new_allowed__": False})
    return node


def _vifi_checkpoint(source_state: dict, path: Path, extra: dict | None = None) -> None:
    """What ViFi-CLIP's utils/tools.py epoch_saving writes for DistributedDataParallel(ViFiCLIP)."""
    model = {"module.logit_scale": source_state["logit_scale"],
             "module.prompt_learner.complete_text_embeddings": torch.randn(5, 77, 64)}
    for key, value in source_state.items():
        if key.startswith("visual."):
            model["module.image_encoder." + key[len("visual."):]] = value
        elif key.startswith(("transformer.", "positional_embedding", "ln_final.", "text_projection")):
            model["module.text_encoder." + key] = value
    model.update(extra or {})
    payload = {"model": model, "optimizer": {"state": {}, "param_groups": [{"lr": 8e-6, "params": [0, 1]}]},
               "lr_scheduler": {"t_initial": 10, "warmup_t": 2, "noise_range_t": None}, "max_accuracy": 51.3,
               "epoch": 9, "config": _yacs_config()}
    yacs, config = types.ModuleType("yacs"), types.ModuleType("yacs.config")
    config.CfgNode, yacs.config = CfgNode, config
    sys.modules.update({"yacs": yacs, "yacs.config": config})   # only while pickling: loading never imports it
    try:
        torch.save(payload, path)
    finally:
        del sys.modules["yacs"], sys.modules["yacs.config"]


def _source_clip() -> tuple[open_clip.model.CLIP, dict]:
    torch.manual_seed(3)
    # Frozen as load_clip freezes (nn.MultiheadAttention's fused path then runs for both: bit-equal features).
    source = open_clip.model.CLIP(**tiny_backbone()["model_cfg"], quick_gelu=True).eval().requires_grad_(False)
    return source, {key: value.clone() for key, value in source.state_dict().items()}


def test_vifi_checkpoint_loads_the_source_tensors(tmp_path, caplog):
    source, state = _source_clip()
    _vifi_checkpoint(state, tmp_path / "vifi_best.pth")
    torch.save({"token_embedding.weight": state["token_embedding.weight"]}, tmp_path / "openai_tokens.pt")
    torch.manual_seed(99)                # a different random init underneath: the files must overwrite it all
    with caplog.at_level(logging.INFO, logger="src.clip.models.weights"):
        loaded, _ = load_clip(tiny_backbone(pretrained=str(tmp_path / "vifi_best.pth"),
                                            vifi_token_embedding=str(tmp_path / "openai_tokens.pt")))
    assert "unused (their class prompts): prompt_learner.complete_text_embeddings" in caplog.text
    assert set(loaded.state_dict()) == set(state)
    for key, value in loaded.state_dict().items():
        assert torch.equal(value, state[key]), key
    for ours, theirs in zip(_features(loaded), _features(source), strict=True):
        assert torch.equal(ours, theirs)


@pytest.mark.parametrize(("extra", "words"), [
    ({"module.prompt_learner.ctx": torch.zeros(4, 64)}, "learned prompts ['prompt_learner.ctx']"),
    ({"module.image_encoder.VPT": torch.zeros(4, 64)}, "learned prompts ['image_encoder.VPT']"),
    ({"module.temporal_head.weight": torch.zeros(2)}, "keys this mapping does not know (['temporal_head.weight'])"),
])
def test_vifi_checkpoint_with_parts_a_clip_cannot_hold_is_refused(tmp_path, extra, words):
    _, state = _source_clip()
    _vifi_checkpoint(state, tmp_path / "vifi.pth", extra)
    with pytest.raises(UserError) as error:
        load_clip(tiny_backbone(pretrained=str(tmp_path / "vifi.pth")))
    assert words in str(error.value)


def test_mismatching_checkpoint_is_one_line_before_any_folder(cli, tiny_clip_run, tmp_path_factory, tmp_path):
    _, state = _source_clip()   # clip_tiny's towers; the run below asks for clip_tiny_deep's 12 blocks
    path = tmp_path_factory.mktemp("weights") / "vifi_tiny.pth"
    _vifi_checkpoint(state, path)
    result = cli(["method=video_coop", "dataset=ucf101", f"dataset.root={tmp_path}/data", *tiny_clip_run,
                  "backbone=clip_tiny_deep", f"backbone.pretrained={path}"], tmp_path)
    line = one_error_line(result, str(path), "a vifi_clip file that does not match the 'clip-tiny-deep'")
    assert "missing ['transformer.resblocks.10" in line
    assert sorted(tmp_path.iterdir()) == []   # no Hydra output folder, no run folder


@pytest.mark.parametrize(("module", "method"), [("src.train", "video_coop"), ("src.evaluate", "zero_shot")])
def test_offline_hub_tag_is_one_line_in_under_5_s(cli, tiny_clip_run, monkeypatch, tmp_path, module, method):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))   # an empty hub cache
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    args = [f"method={method}", "dataset=ucf101", f"dataset.root={tmp_path}/data", *tiny_clip_run, "backbone=clip_b16"]
    # Timed on the second call: the first pays the entry point's one-off imports (Lightning, the task package),
    # which on a loaded test machine alone can take seconds; what is timed is the check, not Python's start-up.
    for _ in range(2):
        start = time.perf_counter()
        result = cli(args, tmp_path, module=module)
        elapsed = time.perf_counter() - start
        one_error_line(result, "backbone.pretrained=openai", "HF_HUB_OFFLINE is set", "hf download timm/",
                       "backbone.pretrained=<dir>/open_clip_model.safetensors backbone.weights_format=openai")
    assert elapsed < 5.0, elapsed
    assert sorted(tmp_path.iterdir()) == []


def test_weights_format_decides_quick_gelu_for_a_state_dict_and_is_checked_against_the_file(tmp_path):
    _, state = _source_clip()
    save_file({key: value.contiguous() for key, value in state.items()}, str(tmp_path / "openai.safetensors"))
    as_open_clip, _ = load_clip(tiny_backbone(pretrained=str(tmp_path / "openai.safetensors")))
    as_openai, _ = load_clip(tiny_backbone(pretrained=str(tmp_path / "openai.safetensors"), weights_format="openai"))
    assert type(as_open_clip.transformer.resblocks[0].mlp.gelu) is torch.nn.GELU
    assert type(as_openai.transformer.resblocks[0].mlp.gelu) is open_clip.transformer.QuickGELU
    with pytest.raises(UserError, match="weights_format=vifi_clip, but .* holds open_clip weights"):
        load_clip(tiny_backbone(pretrained=str(tmp_path / "openai.safetensors"), weights_format="vifi_clip"))


def test_unreachable_hub_is_refused_after_a_short_probe(monkeypatch, tmp_path):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(hub.hub_constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_ENDPOINT", "https://hub.example.invalid")
    probed = []

    def refuse(address, timeout):        # what a firewall's reset looks like to the probe
        probed.append((address, timeout))
        raise ConnectionRefusedError(f"refused {address}")

    monkeypatch.setattr(hub.socket, "create_connection", refuse)
    start = time.perf_counter()
    with pytest.raises(UserError, match=r"hub.example.invalid is unreachable \(refused"):
        load_clip({**tiny_backbone(), "name": "ViT-B-16", "model_cfg": None, "image_size": 224, "pretrained": "openai"})
    assert time.perf_counter() - start < 5.0
    assert probed == [(("hub.example.invalid", 443), 3.0)]


def test_cached_tag_loads_offline_at_once_with_the_tags_quick_gelu(monkeypatch, tmp_path):
    """A tag whose file is in the hub cache loads with no hub request (HF_HUB_OFFLINE set after huggingface_hub
    was imported: its own offline flag is still false, so a request would be tried and retried)."""
    _, state = _source_clip()
    model_cfg = tiny_backbone()["model_cfg"]     # registered as an open_clip model with a made-up QuickGELU tag
    monkeypatch.setitem(open_clip.factory._MODEL_CONFIGS, "clip-tiny-hub", model_cfg)
    monkeypatch.setitem(open_clip.pretrained._PRETRAINED, "clip-tiny-hub",
                        {"cached_tiny": {"hf_hub": "test-org/clip-tiny-hub/", "quick_gelu": True}})

    def no_network(*args, **kwargs):   # the file is in the cache the test made: any connection is a failure
        raise AssertionError(f"a hub request was tried: {args}")

    monkeypatch.setattr(hub.socket, "create_connection", no_network)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    repo = tmp_path / "hf" / "hub" / "models--test-org--clip-tiny-hub"
    (repo / "snapshots" / "abc123").mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("abc123")
    save_file({key: value.contiguous() for key, value in state.items()},
              str(repo / "snapshots" / "abc123" / "open_clip_model.safetensors"))

    start = time.perf_counter()
    loaded, _ = load_clip(tiny_backbone(name="clip-tiny-hub", model_cfg=None, pretrained="cached_tiny"))
    assert time.perf_counter() - start < 5.0
    assert type(loaded.transformer.resblocks[0].mlp.gelu) is open_clip.transformer.QuickGELU
    for key, value in loaded.state_dict().items():
        assert torch.equal(value, state[key]), key


def test_vifi_checkpoint_in_method_vifi_clip_gives_the_logits_of_the_same_tensors_loaded_directly(tmp_path):
    """ViFi-CLIP's released file -> backbone.pretrained -> method=vifi_clip scores videos as that CLIP does."""
    from src.clip.models.registry import build_method

    source, state = _source_clip()
    _vifi_checkpoint(state, tmp_path / "vifi_best.pth")
    torch.save({"token_embedding.weight": state["token_embedding.weight"]}, tmp_path / "openai_tokens.pt")
    method = {**section("method", ["method=vifi_clip"]), "text_chunk": 2}
    classes = ["jumping", "swimming", "riding a bike"]
    torch.manual_seed(99)                # another random init underneath: the file must set every tensor
    loaded, tokenizer = load_clip(tiny_backbone(pretrained=str(tmp_path / "vifi_best.pth"),
                                                vifi_token_embedding=str(tmp_path / "openai_tokens.pt")))
    from_file = build_method(method, loaded, tokenizer, classes, num_frames=4).eval()
    direct = build_method(method, source, tokenizer, classes, num_frames=4).eval()
    video = torch.randn(2, 1, 4, 3, 32, 32, generator=torch.Generator().manual_seed(5))   # (B, V, T, 3, H, W)
    with torch.no_grad():
        ours, theirs = from_file(video), direct(video)
    assert ours.shape == (2, 3)
    assert (ours - theirs).abs().max() <= 1e-5
    assert ours.std() > 0                # the logits tell the classes apart (not a constant)


def test_a_backbone_section_from_before_the_weights_keys_takes_confs_values():
    """A run folder saved before weights_format / vifi_token_embedding / hub_timeout_s existed: conf/'s defaults."""
    from omegaconf import OmegaConf

    from src.clip.models.backbone import _settings
    from src.core.cli_checks import CONF_DIR
    conf = OmegaConf.load(CONF_DIR / "backbone" / "clip_b16.yaml")
    old = {k: v for k, v in tiny_backbone().items() if k not in ("weights_format", "vifi_token_embedding", "hub_timeout_s")}
    assert _settings(old) == (conf.weights_format, conf.vifi_token_embedding, float(conf.hub_timeout_s))
    assert _settings({**old, "hub_timeout_s": 7, "weights_format": "openai"})[::2] == ("openai", 7.0)
