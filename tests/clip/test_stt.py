"""stt on a tiny random-init CLIP: its video-conditioned text (each class at its own EOS, class chunks,
checkpointing, only the tokens up to the last EOS)."""
import torch
import torch.nn.functional as F

from src.clip.models.layers.prompted_text import PromptedTextEncoder
from src.clip.models.layers.tower_runner import LayerTokens
from tests.clip.tiny_methods import build, make_clip, videos


def test_stt_each_class_pools_at_its_own_eos_for_many_clips():
    clip_tok = make_clip()
    classes = ["run", "apply eye makeup on the face", "jump rope"]   # different prompt lengths -> EOS positions
    model = build("stt", clip_tok, classes=classes).eval()
    eos = model.text_encoder.eos_positions
    assert len(set(eos.tolist())) == 3
    record = {}
    with torch.no_grad():
        model.encode_frames(videos(b=3)[:, 0], record=record)       # B·V = 3 clips
        features = model.video_text_features(record)                # (3, C, E)
        tokens = model.summary_tokens(record)                        # (3, S, D)
    for c, name in enumerate(classes):                               # reference: one class, one clip at a time
        single = PromptedTextEncoder(clip_tok[0], clip_tok[1], [name], ctx_len=4, ctx_init=None, ctx_std=0.02,
                                     class_wise=False, class_token_position="end")
        single.ctx.data.copy_(model.text_encoder.ctx.data)
        for n in range(3):
            def hook(layer, _x, n=n):
                slot = model.text_layers.index(layer) if layer in model.text_layers else None
                return None if slot is None else LayerTokens(ephemeral=tokens[n:n + 1, slot:slot + 1])
            with torch.no_grad():
                expected = F.normalize(single(hook=hook), dim=-1)[0]
            torch.testing.assert_close(features[n, c], expected, atol=1e-5, rtol=0)
    torch.testing.assert_close(features.norm(dim=-1), torch.ones(3, 3))


def test_stt_class_chunks_and_checkpointing_match_one_pass():
    clip_tok = make_clip()
    whole = build("stt", clip_tok, class_chunk_size=None, grad_checkpointing=False)
    chunked = build("stt", clip_tok, class_chunk_size=2, grad_checkpointing=True)
    chunked.load_state_dict(whole.state_dict())
    video = videos(b=2, v=2)
    grads = []
    for model in (whole, chunked):
        model.train()
        logits = model(video)
        logits.pow(2).sum().backward()
        grads.append((logits.detach(), model.text_encoder.ctx.grad.clone(),
                      model.summary_to_text["0"].weight.grad.clone()))
    torch.testing.assert_close(grads[0][0], grads[1][0], atol=1e-5, rtol=0)
    torch.testing.assert_close(grads[0][1], grads[1][1], atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(grads[0][2], grads[1][2], atol=1e-5, rtol=1e-4)


def test_stt_text_runs_only_up_to_the_last_eos():
    """The video-conditioned text is the cost of stt (B·C sequences a step): the padding after the last EOS is
    never encoded, and dropping it changes nothing (the first test compares with a per-class reference)."""
    model = build("stt", classes=["run", "apply eye makeup on the face"]).eval()
    lengths = []
    first_block = model.clip.transformer.resblocks[0]
    handle = first_block.register_forward_pre_hook(lambda _m, args: lengths.append(args[0].shape[1]))
    with torch.no_grad():
        model(videos())
    handle.remove()
    last_eos = int(model.text_encoder.eos_positions.max())
    context = model.clip.positional_embedding.shape[0]
    assert last_eos + 2 < context, "the test needs padding after the last EOS"
    assert lengths == [last_eos + 2]   # up to the last EOS + layer 0's summary token (an extra key)
