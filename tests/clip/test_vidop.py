"""vidop on a tiny random-init CLIP: fixed descriptor text features, the optimal-transport plan, descriptor files."""
import json

import pytest
import torch
import torch.nn.functional as F

from src.clip.models.methods import vidop as vidop_module
from src.clip.models.methods.vidop import transport_scores
from src.core.errors import UserError
from tests.clip.tiny_methods import build, videos


def test_vidop_uses_the_same_text_features_in_train_and_eval(monkeypatch):
    model = build("vidop")
    def no_more_encoding(*_a, **_k):
        raise AssertionError("descriptors must be encoded once, at construction")
    monkeypatch.setattr(vidop_module, "encode_sentences", no_more_encoding)
    video = videos()
    with torch.no_grad():
        train_text, train_logits = model.train().class_text_features(), model(video)
        eval_text, eval_logits = model.eval().class_text_features(), model(video)
    assert torch.equal(train_text, eval_text)
    assert torch.equal(train_logits, eval_logits)


def test_vidop_transport_plan_has_the_marginals_and_no_gradient():
    g = torch.Generator().manual_seed(0)
    frames = F.normalize(torch.randn(2, 4, 8, generator=g), dim=-1).requires_grad_()
    descriptors = F.normalize(torch.randn(3, 5, 8, generator=g), dim=-1)
    mask = torch.tensor([[True] * 5, [True, True, False, False, False], [True] * 3 + [False] * 2])
    scores, plan = transport_scores(frames, descriptors, mask, eps=0.1, iters=500)
    assert not plan.requires_grad and scores.requires_grad
    torch.testing.assert_close(plan.sum(-1), torch.full((2, 3, 4), 0.25), atol=1e-5, rtol=0)
    for c, valid in enumerate(mask.sum(-1).tolist()):
        column_sums = plan[:, c].sum(-2)[:, :valid]                                      # (N, valid)
        torch.testing.assert_close(column_sums, torch.full((2, valid), 1 / valid), atol=1e-5, rtol=0)
        assert (plan[:, c, :, valid:] == 0).all()
    sim = torch.einsum("nte,cme->nctm", frames, descriptors)
    torch.testing.assert_close(scores, (plan * sim).sum((-1, -2)))


@pytest.mark.parametrize("agg", ["mean", "max", "ot"])
def test_vidop_descriptors_file_adds_sentences(tmp_path, agg):
    file = tmp_path / "descriptors.json"
    file.write_text(json.dumps({"Run": ["legs move fast", "a runner on a track"],      # folder-name style keys
                                "apply_eye_makeup": ["a brush"], "jump": ["feet leave the ground"],
                                "NotInTheDataset": ["ignored"]}))
    model = build("vidop", descriptors_file=str(file), descriptor_agg=agg).eval()
    assert model.descriptor_mask.sum(-1).tolist() == [3, 2, 2]       # template + the file's sentences
    with torch.no_grad():
        logits = model(videos())
    assert torch.isfinite(logits).all() and logits.shape == (2, 3)


def test_vidop_descriptor_errors_name_the_file_and_class(tmp_path):
    with pytest.raises(UserError, match="missing.json does not exist"):
        build("vidop", descriptors_file=str(tmp_path / "missing.json"))
    file = tmp_path / "partial.json"
    file.write_text(json.dumps({"run": ["legs"], "jump": ["feet"]}))
    with pytest.raises(UserError, match="partial.json: no descriptors for class 'apply eye makeup'"):
        build("vidop", descriptors_file=str(file))


@pytest.mark.parametrize("agg", ["mean", "max"])
def test_vidop_scores_aggregate_the_similarity_to_each_descriptor(agg):
    model = build("vidop", descriptor_templates=["a video of {}.", "a photo of {}."], descriptor_agg=agg).eval()
    video = videos()
    with torch.no_grad():
        logits = model(video)
        frames = F.normalize(model.encode_frames(video[:, 0]), dim=-1)          # (N, T, E)
        pooled = F.normalize(model.video_map(model.pooling(frames)), dim=-1)     # (N, E)
        sim = torch.einsum("ne,cme->ncm", pooled, model.descriptor_features)      # (N, C, 2)
    expected = sim.mean(-1) if agg == "mean" else sim.amax(-1)
    torch.testing.assert_close(logits, model.current_logit_scale() * expected, atol=1e-5, rtol=0)
