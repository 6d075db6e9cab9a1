"""method=zero_shot: frozen CLIP + a prompt-template ensemble equals the open_clip computation by hand."""
import json
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from src.clip.models.backbone import load_clip
from src.clip.models.registry import build_method
from src.core.errors import UserError
from tests.composed import section

CONF = Path(__file__).resolve().parents[2] / "conf"
NAMES = ["apply eye makeup", "jump", "ride a horse"]
TEMPLATES = ["a video of a {}.", "a photo of a person doing {}.", "{}, in a video."]


def _tiny_clip():
    torch.manual_seed(3)
    return load_clip(section("backbone", ["backbone=clip_tiny"]))


def _method(**overrides) -> dict:
    return {**section("method", ["method=zero_shot"]), **overrides}


def test_zero_shot_logits_equal_encode_image_and_encode_text_by_hand():
    clip, tokenizer = _tiny_clip()
    model = build_method(_method(templates=TEMPLATES), clip, tokenizer, NAMES, num_frames=3).eval()
    assert not any(p.requires_grad for p in model.parameters()) and model.trainable_state_dict() == {}
    torch.manual_seed(0)
    video = torch.randn(2, 1, 3, 3, 32, 32)                                    # (B, V=1, T, 3, H, W)
    with torch.no_grad():
        logits = model(video)                                                 # (B, C)
        frames = F.normalize(clip.encode_image(video.flatten(0, 2)), dim=-1).view(2, 3, -1)   # (B, T, E)
        image = F.normalize(frames.mean(dim=1), dim=-1)                       # (B, E)
        per_template = [F.normalize(clip.encode_text(tokenizer([t.format(n) for n in NAMES])), dim=-1)
                        for t in TEMPLATES]
        text = F.normalize(torch.stack(per_template).mean(0), dim=-1)         # (C, E)
        expected = clip.logit_scale.exp() * image @ text.t()
    torch.testing.assert_close(logits, expected, atol=1e-5, rtol=1e-5)
    assert logits.std() > 0   # not a constant: the check above means something


def test_zero_shot_refuses_learned_parts_and_bad_templates():
    clip, tokenizer = _tiny_clip()
    with pytest.raises(UserError, match="pooling"):
        build_method(_method(pooling="attention"), clip, tokenizer, NAMES, num_frames=3)
    with pytest.raises(UserError, match="templates"):
        build_method(_method(templates=["no placeholder"]), clip, tokenizer, NAMES, num_frames=3)


def test_zero_shot_evaluates_without_a_run_folder_and_cannot_be_trained(cli, tiny_clip_run, synthetic_root, tmp_path):
    result = cli(["method=zero_shot", "dataset=ucf101", f"dataset.root={synthetic_root}", *tiny_clip_run],
                 tmp_path, module="src.evaluate")
    assert result.returncode == 0, result.stderr[-3000:]
    out = tmp_path / "models/zero_shot/ucf101/clip-tiny/eval/ucf101-split1-test-1x1views-4f.json"
    results = json.loads(out.read_text())
    assert results["protocol"]["method"] == "zero_shot" and results["protocol"]["checkpoint"] is None
    assert results["protocol"]["templates"] == ["a video of a {}."]
    assert results["num_videos"] == sum(map(sum, results["confusion_matrix"])) > 0
    trained = cli(["method=zero_shot", "dataset=ucf101", f"dataset.root={synthetic_root}", *tiny_clip_run], tmp_path)
    assert trained.returncode == 2 and "src.evaluate method=zero_shot" in trained.stderr
    assert not (tmp_path / "models/zero_shot/ucf101").joinpath("k").exists()
