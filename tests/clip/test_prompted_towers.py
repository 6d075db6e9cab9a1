"""The shared prompt machinery: run_blocks (persistent / ephemeral tokens), prompted text and vision towers."""
from pathlib import Path

import pytest
import torch

from src.clip.models.layers.prompted_text import PromptedTextEncoder, encode_sentences
from src.clip.models.layers.prompted_vision import PromptedVisionTower
from src.clip.models.layers.tower_runner import LayerTokens, run_blocks
from src.core.errors import UserError

CONF = Path(__file__).resolve().parents[2] / "conf" / "backbone"
NAMES = ["apply eye makeup", "jump", "playing daf"]       # different token counts -> different EOS positions


@pytest.fixture(scope="module")
def tiny(tiny_clip):
    return tiny_clip


def _encoder(tiny, ctx_len=4, ctx_init="a video of a", class_wise=False, position="end", names=NAMES):
    clip, tokenizer = tiny
    return PromptedTextEncoder(clip, tokenizer, names, ctx_len, ctx_init, 0.02, class_wise, position)


# ---- text ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("class_wise", [False, True])
@pytest.mark.parametrize("position, template", [("end", "a video of a {}."), ("front", "{} a video of a."),
                                                ("middle", "a video {} of a.")])
def test_context_from_words_reproduces_encode_text(tiny, class_wise, position, template):
    clip, tokenizer = tiny
    encoder = _encoder(tiny, class_wise=class_wise, position=position)
    expected = clip.encode_text(tokenizer([template.format(n) for n in NAMES]))
    assert encoder.ctx.shape == ((3, 4, 64) if class_wise else (4, 64))
    assert torch.allclose(encoder(), expected, atol=1e-5)


def test_no_context_is_the_plain_class_name_prompt(tiny):
    clip, tokenizer = tiny
    encoder = _encoder(tiny, ctx_len=0, ctx_init=None)
    assert encoder.ctx.numel() == 0
    assert torch.allclose(encoder(), clip.encode_text(tokenizer([f"{n}." for n in NAMES])), atol=1e-5)


def test_eos_position_is_each_class_own(tiny):
    clip, tokenizer = tiny
    encoder = _encoder(tiny)
    expected = tokenizer([f"a video of a {n}." for n in NAMES]).argmax(dim=-1)
    assert encoder.eos_positions.tolist() == expected.tolist() == [9, 7, 8]     # after SOS, 4 ctx, name, "."
    # class-order matters: the prompt of class 1 is pooled at its own EOS, not class 0's
    single = _encoder(tiny, names=["jump"])
    assert torch.allclose(encoder()[1], single()[0], atol=1e-6)


def test_random_context_init_and_mismatched_init_length(tiny, caplog):
    torch.manual_seed(1)
    encoder = _encoder(tiny, ctx_len=16, ctx_init=None, class_wise=True)
    assert encoder.ctx.shape == (3, 16, 64)
    assert 0.015 < encoder.ctx[0].std().item() < 0.025
    assert torch.equal(encoder.ctx[0], encoder.ctx[2])          # class-wise contexts start equal
    with caplog.at_level("WARNING"):
        from_words = _encoder(tiny, ctx_len=8, ctx_init="a video of a")
    assert from_words.ctx_len == 4 and "4 tokens" in caplog.text


def test_bad_position_and_too_long_prompt_are_user_errors(tiny):
    with pytest.raises(UserError, match="class_token_position"):
        _encoder(tiny, position="back")
    with pytest.raises(UserError, match="ctx_len"):
        _encoder(tiny, ctx_len=80, ctx_init=None)


def test_causal_mask_is_kept_tokens_after_eos_do_not_matter(tiny):
    encoder = _encoder(tiny)
    before = encoder()
    encoder.base_embeddings[:, 20:] += torch.randn_like(encoder.base_embeddings[:, 20:])   # pad region only
    assert torch.allclose(encoder(), before, atol=1e-6)
    encoder.base_embeddings[:, 5] += torch.randn(64)                   # a class-name token: must matter
    assert not torch.allclose(encoder(), before, atol=1e-3)


def test_gradient_reaches_the_context_only(tiny):
    encoder = _encoder(tiny, ctx_init=None)
    encoder().pow(2).sum().backward()
    assert encoder.ctx.grad is not None and encoder.ctx.grad.abs().sum() > 0
    assert all(p.grad is None for p in tiny[0].parameters())


def test_repeat_major_order_with_per_sequence_ephemeral_tokens(tiny):
    encoder = _encoder(tiny)
    C = len(NAMES)
    plain = encoder()
    tokens = torch.zeros(2 * C, 1, 64)
    tokens[C:] = torch.randn(C, 1, 64)                         # only repeat r = 1 gets a non-zero token

    def hook(layer, x):
        # sequence length unchanged by ephemeral tokens (the prompts run only up to the last EOS)
        assert x.shape == (2 * C, encoder.num_tokens, 64) and encoder.num_tokens == int(encoder.eos_positions.max()) + 1
        return LayerTokens(ephemeral=tokens) if layer == 1 else None

    out = encoder(hook=hook, repeat=2)                          # (2·C, E), row r·C + c
    assert out.shape == (2 * C, 64)
    assert not torch.allclose(out[:C], plain, atol=1e-4)       # a zero token is still an extra key: changes r=0
    assert not torch.allclose(out[C:], out[:C], atol=1e-4)
    repeated = encoder(repeat=2)
    assert torch.allclose(repeated[:C], plain, atol=1e-5) and torch.allclose(repeated[C:], plain, atol=1e-5)


# ---- run_blocks ---------------------------------------------------------------------------------------------
def test_ephemeral_token_under_causal_mask_reaches_every_query(tiny):
    clip, _ = tiny
    x = torch.randn(2, 77, 64)
    base = run_blocks(clip.transformer.resblocks, x, clip.attn_mask, None)
    token = torch.randn(1, 1, 64)
    out = run_blocks(clip.transformer.resblocks, x, clip.attn_mask,
                     lambda i, _: LayerTokens(ephemeral=token) if i == 0 else None)
    assert out.shape == base.shape
    assert not torch.allclose(out[:, 0], base[:, 0], atol=1e-5)     # even the first (SOS) query sees it
    bool_mask = clip.attn_mask.isinf()                               # True = blocked, PyTorch convention
    assert torch.allclose(run_blocks(clip.transformer.resblocks, x, bool_mask, None), base, atol=1e-6)


def test_grad_checkpointing_matches(tiny):
    clip, _ = tiny
    width = clip.visual.transformer.width
    token = torch.randn(1, 2, width, requires_grad=True)
    x = torch.randn(2, 17, width)
    hook = lambda i, _: LayerTokens(ephemeral=token)          # noqa: E731
    plain = run_blocks(clip.visual.transformer.resblocks, x, None, hook)
    (grad_plain,) = torch.autograd.grad(plain.sum(), token)
    ckpt = run_blocks(clip.visual.transformer.resblocks, x, None, hook, grad_checkpointing=True)
    (grad_ckpt,) = torch.autograd.grad(ckpt.sum(), token)
    assert torch.allclose(plain, ckpt, atol=1e-6) and torch.allclose(grad_plain, grad_ckpt, atol=1e-6)


# ---- vision -------------------------------------------------------------------------------------------------
def _recorder(tokens_at: dict[int, LayerTokens] | None = None):
    seen: dict[int, torch.Tensor] = {}

    def hook(layer, x):
        seen[layer] = x.detach().clone()
        return (tokens_at or {}).get(layer)
    return hook, seen


def test_vision_tower_without_tokens_equals_encode_image(tiny):
    clip, _ = tiny
    images = torch.randn(4, 3, 32, 32)
    tower = PromptedVisionTower(clip.visual)
    assert tower.width == 64 and list(tower.parameters()) == []
    assert torch.allclose(tower(images), clip.encode_image(images), atol=1e-5)
    hook, seen = _recorder()
    assert torch.allclose(tower(images, hook=hook), clip.encode_image(images), atol=1e-5)
    assert sorted(seen) == [0, 1] and seen[0].shape == (4, 17, 64)


def test_ephemeral_tokens_leave_earlier_layers_and_length_untouched(tiny):
    clip, _ = tiny
    images = torch.randn(4, 3, 32, 32)
    tower = PromptedVisionTower(clip.visual)
    base_hook, base_seen = _recorder()
    base = tower(images, hook=base_hook)
    hook, seen = _recorder({1: LayerTokens(ephemeral=torch.randn(4, 3, 64))})
    out = tower(images, hook=hook)
    assert not torch.allclose(out, base, atol=1e-4)
    assert torch.equal(seen[0], base_seen[0]) and torch.equal(seen[1], base_seen[1])   # x entering layer 1 too
    assert all(x.shape == (4, 17, 64) for x in seen.values())


def test_persistent_prompts_change_outputs_from_layer_zero(tiny):
    clip, _ = tiny
    images = torch.randn(4, 3, 32, 32)
    tower = PromptedVisionTower(clip.visual)
    base_hook, base_seen = _recorder()
    base = tower(images, hook=base_hook)
    hook, seen = _recorder()
    out = tower(images, prompts=torch.randn(1, 5, 64), hook=hook)        # shared by all images
    assert seen[0].shape == (4, 22, 64) and seen[1].shape == (4, 22, 64)  # prompts stay in the sequence
    assert not torch.allclose(seen[1][:, :17], base_seen[1], atol=1e-4)   # layer 0's output already differs
    assert not torch.allclose(out, base, atol=1e-4)
    hook, seen = _recorder({1: LayerTokens(persistent=torch.randn(4, 2, 64))})
    deep = tower(images, hook=hook)
    assert torch.equal(seen[1], base_seen[1]) and not torch.allclose(deep, base, atol=1e-4)


def test_encode_sentences_is_the_frozen_plain_path(tiny):
    clip, tokenizer = tiny
    features = encode_sentences(clip, tokenizer, ["a video of a person doing jump."])
    assert not features.requires_grad
    assert torch.allclose(features, clip.encode_text(tokenizer(["a video of a person doing jump."])), atol=1e-6)
