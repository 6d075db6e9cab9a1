"""The five prompt methods on a tiny random-init CLIP: what learns, what stays frozen, and each method's fix
(dual_coop and vita here; stt and vidop in their own files)."""
import pytest
import torch
import torch.nn.functional as F

from src.clip.models.layers.frame_summary import FrameSummary
from src.clip.models.layers.layer_schedule import resolve_layers
from src.clip.models.methods.video_coop import VideoCoOp
from src.core.errors import UserError
from tests.clip.tiny_methods import CLASSES, LEARNED, METHODS, T, build, make_clip, method_cfg, videos
from tests.composed import section


# ---- every method ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(METHODS))
def test_training_step_changes_only_the_learned_parts(name):
    model = build(name)
    clip_before = {k: v.clone() for k, v in model.clip.state_dict().items()}
    learned_before = {k: v.detach().clone() for k, v in model.named_parameters() if not k.startswith("clip.")}
    trainable = {k.split(".")[0] for k, p in model.named_parameters() if p.requires_grad}
    assert trainable == LEARNED[name]

    model.train()
    assert not any(m.training for m in model.clip.modules()), "frozen CLIP modules stay in eval mode"
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    loss = F.cross_entropy(model(videos()), torch.tensor([0, 2])) + model.extra_loss()
    loss.backward()
    optimizer.step()

    for key, value in model.clip.state_dict().items():
        assert torch.equal(value, clip_before[key]), f"CLIP tensor {key} changed"
    changed = {k.split(".")[0] for k, v in model.named_parameters()
               if not k.startswith("clip.") and not torch.equal(v, learned_before[k])}
    assert changed == LEARNED[name]


@pytest.mark.parametrize("name", sorted(METHODS))
def test_loss_falls_when_overfitting_eight_videos(name):
    model = build(name, classes=["run", "jump"]).train()
    video, labels = videos(b=8, seed=3), torch.tensor([0, 1] * 4)
    video = video + labels.view(8, 1, 1, 1, 1, 1).float()         # a class-dependent brightness to find
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=5e-3)
    losses = []
    for _ in range(25):
        loss = F.cross_entropy(model(video), labels) + model.extra_loss()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0], f"{name}: loss {losses[0]:.3f} -> {losses[-1]:.3f}"


@pytest.mark.parametrize("name", sorted(METHODS))
def test_view_logits_are_averaged_over_views(name):
    model = build(name).eval()
    video = videos(b=2, v=3)
    with torch.no_grad():
        logits = model(video)                                      # (B, C)
        per_view = torch.stack([model(video[:, v:v + 1]) for v in range(3)], 0).mean(0)
    assert logits.shape == (2, len(CLASSES))
    torch.testing.assert_close(logits, per_view, atol=1e-5, rtol=0)


@pytest.mark.parametrize("name", sorted(METHODS))
def test_training_and_evaluation_score_a_video_the_same_way(name):
    """Evaluation precomputes class text features once per pass when the method says it may (clip_module.py)."""
    extra = {"descriptor_templates": ["a video of {}.", "a photo of {}."]} if name == "vidop" else {}
    model = build(name, **extra)
    video = videos()
    with torch.no_grad():
        train_logits = model.train()(video)
        model.eval()
        text = None if model.text_features_depend_on_video else model.class_text_features()
        eval_logits = model(video, text)
    torch.testing.assert_close(train_logits, eval_logits, atol=1e-6, rtol=0)


@pytest.mark.parametrize("name", sorted(METHODS))
def test_yaml_defaults_run_on_a_twelve_layer_clip(name):
    """The unmodified YAML (layer lists 0–9, 12 summary heads) on ViT-B/16's depth, narrow for speed."""
    clip, tok = make_clip(vision_cfg={"layers": 12, "width": 96, "head_width": 32},
                          text_cfg={"layers": 12, "width": 96, "heads": 2})
    torch.manual_seed(0)
    model = METHODS[name](clip, tok, CLASSES, section("method", [f"method={name}"]), 8).train()
    loss = F.cross_entropy(model(videos(b=1, t=8)), torch.tensor([1])) + model.extra_loss()
    loss.backward()
    assert torch.isfinite(loss)
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)


def test_layer_lists_must_exist_in_the_backbone():
    assert resolve_layers("k", [1, -1, 0], 4) == [0, 1, 3]
    with pytest.raises(UserError, match="method.text_to_vision_layers: layer 4 does not exist"):
        build("vilt", text_to_vision_layers=[0, 4])
    with pytest.raises(UserError, match="method.summary_heads"):
        build("vita", summary_heads=12)
    with pytest.raises(UserError, match="method.summary_to_text_layers: empty"):
        build("stt", summary_to_text_layers=[])


# ---- dual_coop ---------------------------------------------------------------------------------------------
def _layer_outputs(model, clips):
    """Outputs of every vision block, first 1 + P rows (CLS + patches), for one forward."""
    outputs, handles = [], []
    for block in model.clip.visual.transformer.resblocks:
        handles.append(block.register_forward_hook(lambda _m, _i, out: outputs.append(out[:, :5].clone())))
    with torch.no_grad():
        model.encode_frames(clips)
    for h in handles:
        h.remove()
    return outputs


def test_dual_coop_ephemeral_and_persistent_prompts_differ_from_layer_one_on():
    clip_tok = make_clip()
    ephemeral = build("dual_coop", clip_tok, keep_vision_prompts=False)
    persistent = build("dual_coop", clip_tok, keep_vision_prompts=True)
    persistent.load_state_dict(ephemeral.state_dict())
    clips = videos()[:, 0]                                # (N, T, 3, H, W); 32 px / 8 = 4 patches + CLS
    a, b = _layer_outputs(ephemeral, clips), _layer_outputs(persistent, clips)
    torch.testing.assert_close(a[0], b[0], atol=1e-5, rtol=0)       # layer 0 sees the same keys/values
    assert (a[1] - b[1]).abs().max() > 1e-3               # layer 1: only the persistent prompts remain


def test_continue_video_coop_as_dual_coop_loads_ctx_and_pooling():
    clip_tok = make_clip()
    torch.manual_seed(5)
    coop = VideoCoOp(*clip_tok, CLASSES, method_cfg("video_coop"), T)
    dual = build("dual_coop", clip_tok)
    report = dual.load_learned(coop.trainable_state_dict(), CLASSES)
    assert "text_encoder.ctx" in report["loaded"]
    assert {k for k in report["loaded"] if k.startswith("pooling.")} == {k for k in coop.trainable_state_dict()
                                                                         if k.startswith("pooling.")}
    assert report["new"] == ["visual_prompts.tokens"]
    torch.testing.assert_close(dual.text_encoder.ctx, coop.text_encoder.ctx, atol=0, rtol=0)


# ---- vita --------------------------------------------------------------------------------------------------
def test_vita_frame_summaries_see_the_other_frames():
    model = build("vita", num_frames=3).eval()
    clips = videos(b=1, t=3)[:, 0]                                   # (1, T, 3, H, W)
    changed = clips.clone()
    changed[:, 0] = torch.randn_like(changed[:, 0])                  # change frame 0 only
    runs = []
    for x in (clips, changed):
        record = {}
        with torch.no_grad():
            runs.append((model.encode_frames(x, record=record), record))
    (feats_a, sums_a), (feats_b, sums_b) = runs
    # layer 1's CLS depends on the frame; the attention across frames carries frame 0's change to frames 1, 2
    assert (sums_a[1][:, 1:] - sums_b[1][:, 1:]).abs().amin() > 0
    assert (sums_a[1][:, 1:] - sums_b[1][:, 1:]).abs().max() > 1e-3
    assert (feats_a[:, 1:] - feats_b[:, 1:]).abs().max() > 1e-4, "other frames' features change too"


def test_frame_summary_attends_across_frames_not_within_one():
    torch.manual_seed(0)
    summary = FrameSummary(8, 2, num_frames=4, init_std=0.02)
    cls = torch.randn(2, 4, 8)
    moved = cls.clone()
    moved[:, 3] += 1.0
    delta = (summary(cls) - summary(moved)).abs()                   # (N, T, Dv)
    assert (delta[:, :3].amax(-1) > 1e-4).all()


def test_frame_summary_sees_frame_order():
    """The temporal position embedding: the same frames in reverse order give other summaries (not permuted)."""
    torch.manual_seed(0)
    summary = FrameSummary(8, 2, num_frames=4, init_std=0.02)
    cls = torch.randn(2, 4, 8)
    forward, backward = summary(cls), summary(cls.flip(1)).flip(1)
    assert (forward - backward).abs().max() > 1e-3


@pytest.mark.parametrize("name", ["vita", "stt"])
def test_summary_readout_starts_as_clips_readout_then_carries_order_through_mean_pooling(name):
    model = build(name, num_frames=4).eval()
    clips = videos(b=2, t=4)[:, 0]                                   # (N, T, 3, H, W)
    with torch.no_grad():
        tokens = model.vision_tower.encode_tokens(clips.flatten(0, 1), hook=model.video_prompter.make_hook())
        clip_readout = model.vision_tower.readout(tokens).view(2, 4, -1)        # CLIP's CLS -> ln_post -> proj
        assert torch.equal(model.encode_frames(clips), clip_readout)            # zero-initialised readout
        torch.nn.init.normal_(model.summary_readout.to_embedding.weight, std=0.5)   # as if trained
        cls = tokens[:, 0].view(2, 4, -1)                                       # (N, T, Dv) final CLS tokens
        added = model.encode_frames(clips) - clip_readout
        assert torch.allclose(added, model.summary_readout(cls), atol=1e-5)
        # Under mean pooling the readout's mean over the frames still depends on their order.
        forward, backward = model.summary_readout(cls).mean(1), model.summary_readout(cls.flip(1)).mean(1)
    assert model.pooling.__class__.__name__ == "MeanPooling"                    # the methods' default
    assert (forward - backward).abs().max() > 1e-3


def test_vita_checks_the_frame_count():
    model = build("vita", num_frames=3)
    with pytest.raises(UserError, match="dataset.num_frames"):
        model(videos(t=2))
