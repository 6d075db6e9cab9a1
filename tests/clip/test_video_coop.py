"""video_coop on a tiny random CLIP: pooling, what a training step changes, overfitting, views, learned state."""
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from omegaconf import OmegaConf

from src.clip.models.backbone import load_clip
from src.clip.models.layers.pooling import build_pooling
from src.clip.models.methods.video_coop import VideoCoOp
from src.clip.models.registry import METHODS, build_method
from src.core.errors import UserError

CONF = Path(__file__).resolve().parents[2] / "conf"
T = 4


def tiny_clip(seed: int = 0):
    cfg = OmegaConf.merge(OmegaConf.load(CONF / "backbone" / "clip_b16.yaml"),
                          OmegaConf.load(CONF / "backbone" / "clip_tiny.yaml"))
    cfg = OmegaConf.to_container(cfg)
    cfg.pop("defaults", None)
    torch.manual_seed(seed)
    return load_clip(cfg)


def method_cfg(**overrides) -> dict:
    cfg = OmegaConf.to_container(OmegaConf.load(CONF / "method" / "video_coop.yaml"))
    cfg.update(overrides)
    return cfg


def build(names=("jump", "run"), seed: int = 0, **overrides) -> VideoCoOp:
    clip, tokenizer = tiny_clip(seed)
    return build_method(method_cfg(**overrides), clip, tokenizer, list(names), T)


def distinct_videos(n: int, views: int = 1, seed: int = 0) -> torch.Tensor:
    """(n, V, T, 3, 32, 32) random videos, each with its own colour: pure noise frames all look alike to a random ViT."""
    g = torch.Generator().manual_seed(seed)
    colour = torch.rand(n, 1, 1, 3, 1, 1, generator=g) * 4 - 2
    return colour + 0.5 * torch.randn(n, views, T, 3, 32, 32, generator=g)


def sgd_step(model, videos, labels, lr):
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=1e-3)
    loss = F.cross_entropy(model(videos), labels) + model.extra_loss()
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()


# ---- pooling ------------------------------------------------------------------------------------------------
def test_mean_and_max_pooling_values():
    frames = torch.tensor([[[1.0, -2.0], [3.0, 0.0], [-1.0, 5.0]]])          # (1, T=3, E=2)
    assert torch.equal(build_pooling("mean", 2, 3, 1)(frames), torch.tensor([[1.0, 1.0]]))
    assert torch.equal(build_pooling("max", 2, 3, 1)(frames), torch.tensor([[3.0, 5.0]]))
    with pytest.raises(UserError, match="method.pooling"):
        build_pooling("median", 2, 3, 1)
    with pytest.raises(UserError, match="pool_heads"):
        build_pooling("attention", 6, 3, 4)


def test_attention_pooling_depends_on_frame_order_and_is_learnable():
    torch.manual_seed(0)
    pooling = build_pooling("attention", 8, 4, 2)
    frames = torch.randn(3, 4, 8)
    out = pooling(frames)
    assert out.shape == (3, 8)
    assert not torch.allclose(pooling(frames.flip(1)), out, atol=1e-6)       # position embedding breaks symmetry
    pooling.position.data.zero_()                                              # without it: order-invariant
    assert torch.allclose(pooling(frames.flip(1)), pooling(frames), atol=1e-6)
    with pytest.raises(AssertionError, match="4 frames"):
        pooling(torch.randn(3, 5, 8))


# ---- what training changes --------------------------------------------------------------------------------
def test_training_step_changes_only_context_and_pooling():
    model = build()
    clip_before = {k: v.clone() for k, v in model.clip.state_dict().items()}
    learned_before = model.trainable_state_dict()
    model.train()
    assert model.pooling.training and not any(m.training for m in model.clip.modules())
    sgd_step(model, distinct_videos(4), torch.tensor([0, 1, 0, 1]), lr=1e-2)
    for key, value in model.clip.state_dict().items():
        assert torch.equal(value, clip_before[key]), f"frozen CLIP tensor {key} changed"
    learned_after = model.trainable_state_dict()
    assert set(learned_after) == set(learned_before) and not any(k.startswith("clip.") for k in learned_after)
    changed = {k for k in learned_after if not torch.equal(learned_after[k], learned_before[k])}
    assert "text_encoder.ctx" in changed and "pooling.attention.out_proj.weight" in changed
    assert changed <= {k for k in learned_after if k.startswith(("text_encoder.", "pooling."))}


def test_learn_just_pooling_keeps_the_context():
    model = build(learn_just_pooling=True)
    ctx = model.text_encoder.ctx.detach().clone()
    pool = model.pooling.attention.in_proj_weight.detach().clone()
    sgd_step(model.train(), distinct_videos(4), torch.tensor([0, 1, 0, 1]), lr=1e-2)
    assert torch.equal(model.text_encoder.ctx, ctx) and not model.text_encoder.ctx.requires_grad
    assert not torch.equal(model.pooling.attention.in_proj_weight, pool)


def test_loss_falls_when_overfitting_eight_videos():
    model = build().train()
    videos, labels = distinct_videos(8), torch.tensor([0, 1] * 4)
    lr = method_cfg()["lr"]                                    # the configured optimiser settings
    losses = [sgd_step(model, videos, labels, lr) for _ in range(30)]
    assert losses[-1] < 0.6 * losses[0], losses
    with torch.no_grad():
        accuracy = (model.eval()(videos).argmax(dim=-1) == labels).float().mean().item()
    assert accuracy >= 0.75


# ---- views and logits ---------------------------------------------------------------------------------------
def test_forward_is_the_mean_of_per_view_logits():
    model = build().eval()
    video = distinct_videos(2, views=3)                      # (B=2, V=3, T, 3, H, W)
    with torch.no_grad():
        logits = model(video)
        per_view = torch.stack([model(video[:, v:v + 1]) for v in range(3)], dim=1)   # (B, V, C)
    assert logits.shape == (2, 2)
    assert torch.allclose(logits, per_view.mean(dim=1), atol=1e-5)
    assert not torch.allclose(per_view[:, 0], per_view[:, 1], atol=1e-4)     # the views really differ


def test_logit_scale_frozen_or_learned_and_clamped():
    frozen = build()
    assert torch.allclose(frozen.current_logit_scale(), frozen.clip.logit_scale.exp())
    assert "logit_scale" not in frozen.trainable_state_dict()
    learned = build(learn_logit_scale=True, logit_scale_init=1.0)
    assert learned.logit_scale.requires_grad and learned.current_logit_scale().item() == pytest.approx(2.718, 1e-3)
    learned.logit_scale.data.fill_(10.0)
    assert learned.current_logit_scale().item() == pytest.approx(100.0, rel=1e-5)   # clamped at ln 100


def test_extra_loss_values():
    assert build().extra_loss().item() == 0.0
    # context initialised from the hand-crafted words: learned features == hand-crafted ones, cos = 1
    same = dict(ctx_init="a video of a person doing", handcrafted_template="a video of a person doing {}.")
    assert build(reg_strength=0.5, **same).extra_loss().item() == pytest.approx(-0.5, abs=1e-5)
    assert build(cos_reg_strength=0.3, **same).extra_loss().item() == pytest.approx(0.0, abs=1e-5)
    model = build(reg_strength=0.5, cos_reg_strength=0.3)
    mean_cos = (model.class_text_features() * model.handcrafted_text_features).sum(-1).mean().item()
    assert mean_cos < 0.99
    assert model.extra_loss().item() == pytest.approx(-0.5 * mean_cos + 0.3 * (1 - mean_cos), abs=1e-5)


# ---- learned state across runs ------------------------------------------------------------------------------
def test_load_learned_matches_class_specific_contexts_by_name(tmp_path):
    source = build(names=("jump", "run", "swim"), class_wise=True)
    source.text_encoder.ctx.data.normal_()
    source.pooling.query.data.fill_(0.5)
    path = tmp_path / "learned.pth"
    torch.save(source.trainable_state_dict(), path)
    state = torch.load(path, weights_only=True)

    # same count of classes, other order and one new name: rows follow the NAME, not the position
    target = build(names=("swim", "dive", "jump"), class_wise=True)
    fresh_ctx = target.text_encoder.ctx.detach().clone()
    report = target.load_learned({**state, "old_head.weight": torch.zeros(2)}, ["jump", "run", "swim"])
    assert report["loaded_by_class_name"] == ["text_encoder.ctx"] and target.class_specific_keys() == {"text_encoder.ctx"}
    assert report["matched_classes"] == ["swim", "jump"] and report["reinitialised_classes"] == ["dive"]
    assert "pooling.query" in report["loaded"] and report["ignored"] == ["old_head.weight"] and report["new"] == []
    assert torch.equal(target.text_encoder.ctx[0], source.text_encoder.ctx[2])       # swim
    assert torch.equal(target.text_encoder.ctx[2], source.text_encoder.ctx[0])       # jump
    assert torch.equal(target.text_encoder.ctx[1], fresh_ctx[1])                     # dive: fresh init
    assert torch.equal(target.pooling.query, source.pooling.query)

    refusing = build(names=("swim", "dive"), class_wise=True)               # evaluation refuses unknown classes
    with pytest.raises(UserError, match="dive"):
        refusing.load_learned(state, ["jump", "run", "swim"], refuse_unmatched=True)

    shared = build(names=("jump", "run"))                     # a shared context transfers to other classes
    shared_source = build(names=("jump", "run", "swim"))
    shared_source.text_encoder.ctx.data.normal_()
    report = shared.load_learned(shared_source.trainable_state_dict(), ["jump", "run", "swim"], refuse_unmatched=True)
    assert "text_encoder.ctx" in report["loaded"]
    assert torch.equal(shared.text_encoder.ctx, shared_source.text_encoder.ctx)


def test_load_learned_reports_new_keys_and_rejects_other_shapes():
    mean_pooled = build(pooling="mean")
    attention = build()
    report = attention.load_learned(mean_pooled.trainable_state_dict(), ["jump", "run"])
    assert report["loaded"] == ["text_encoder.ctx"] and "pooling.query" in report["new"]
    with pytest.raises(UserError, match="text_encoder.ctx"):
        build(ctx_len=4).load_learned(attention.trainable_state_dict(), ["jump", "run"])


def test_registry():
    assert METHODS["video_coop"] is VideoCoOp
    with pytest.raises(UserError, match="video_coop"):
        build(name="coop_nonexistent")
