"""load_clip: random init from a model config, local checkpoint files (state dict, wrapped, safetensors), errors."""
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from src.clip.models.backbone import load_clip
from src.core.errors import UserError
from tests.composed import section

CONF = Path(__file__).resolve().parents[2] / "conf" / "backbone"


def tiny_backbone(**overrides) -> dict:
    """conf/backbone/clip_tiny.yaml composed over its default (clip_b16.yaml), as Hydra would."""
    return {**section("backbone", ["backbone=clip_tiny"]), **overrides}


def _saved_tiny_clip(tmp_path: Path, seed: int = 0):
    torch.manual_seed(seed)
    model, _ = load_clip(tiny_backbone())
    return model, {k: v.clone() for k, v in model.state_dict().items()}


def test_random_init_is_frozen_eval_and_has_the_bundled_tokenizer():
    torch.manual_seed(0)
    model, tokenizer = load_clip(tiny_backbone())
    assert not model.training
    assert all(not p.requires_grad for p in model.parameters())
    ids = tokenizer(["a video of a person doing jump."])
    assert ids.shape == (1, 77)
    assert ids[0, 0].item() == 49406 and ids[0].argmax().item() == 9      # SOS, 7 words, ".", then EOS
    assert model.visual.image_mean == tuple(tiny_backbone()["mean"])
    assert model.encode_image(torch.randn(2, 3, 32, 32)).shape == (2, 64)


@pytest.mark.parametrize("wrap", ["bare", "state_dict", "safetensors"])
def test_local_checkpoint_gives_identical_weights_and_features(tmp_path, wrap):
    original, state = _saved_tiny_clip(tmp_path)
    if wrap == "safetensors":
        path = tmp_path / "clip.safetensors"
        save_file({k: v.contiguous() for k, v in state.items()}, str(path))
    else:
        path = tmp_path / "clip.pt"
        torch.save(state if wrap == "bare" else {"state_dict": state, "epoch": 3}, path)

    torch.manual_seed(123)               # a different random init underneath: the file must overwrite it all
    loaded, _ = load_clip(tiny_backbone(pretrained=str(path)))
    for key, value in loaded.state_dict().items():
        assert torch.equal(value, state[key]), key
    images = torch.randn(3, 3, 32, 32)
    assert torch.allclose(loaded.encode_image(images), original.encode_image(images), atol=1e-6)
    assert all(not p.requires_grad for p in loaded.parameters()) and not loaded.training


def test_ddp_module_prefix_is_stripped(tmp_path):
    _, state = _saved_tiny_clip(tmp_path)
    path = tmp_path / "ddp.pth"
    torch.save({f"module.{k}": v for k, v in state.items()}, path)
    loaded, _ = load_clip(tiny_backbone(pretrained=str(path)))
    assert torch.equal(loaded.visual.proj, state["visual.proj"])


def test_missing_checkpoint_file_is_a_user_error_naming_it(tmp_path):
    missing = tmp_path / "nowhere" / "clip.pt"
    with pytest.raises(UserError, match=str(missing)):
        load_clip(tiny_backbone(pretrained=str(missing)))


def test_checkpoint_of_another_architecture_is_a_user_error(tmp_path):
    _, state = _saved_tiny_clip(tmp_path)
    del state["visual.proj"]
    state["extra.weight"] = torch.zeros(1)
    path = tmp_path / "other.pt"
    torch.save(state, path)
    with pytest.raises(UserError, match="visual.proj"):
        load_clip(tiny_backbone(pretrained=str(path)))


def test_non_tensor_pickle_is_rejected_by_weights_only(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"state_dict": {"x": torch.zeros(1)}, "obj": Path("x")}, path)   # not weights-only loadable
    with pytest.raises(UserError, match="state-dict"):
        load_clip(tiny_backbone(pretrained=str(path)))


def test_config_errors_are_user_errors():
    with pytest.raises(UserError, match="backbone.image_size"):
        load_clip(tiny_backbone(image_size=224))
    with pytest.raises(UserError, match="backbone.pretrained"):
        load_clip(tiny_backbone(pretrained="some_tag"))        # a tag (not a file) cannot fill a custom model_cfg
    with pytest.raises(UserError, match="backbone.name"):
        load_clip(tiny_backbone(model_cfg=None))               # clip-tiny is not a registered open_clip model
