"""CLIP's text path with learnable context tokens in place of prompt words (CoOp), plus the frozen plain path.

Prompt for class c (position `end`): [SOS] ctx_1 … ctx_k <class-name tokens> . [EOS]. Everything else is CLIP's
own text path: token + positional embedding, the causal mask, the transformer, ln_final, EOS pooling and the
text projection. With ctx initialised from the words "a video of a" the output equals
`clip.encode_text(tokenizer(["a video of a <class>."]))`.
"""
import logging
from collections.abc import Callable

import torch
from torch import Tensor, nn

from src.clip.models.layers.tower_runner import TokenHook, run_blocks
from src.core.errors import UserError

log = logging.getLogger(__name__)

# Placeholder word for context slots: one BPE token whatever surrounds it (the tokenizer splits on spaces first).
_PLACEHOLDER = "X"
_POSITIONS = ("end", "middle", "front")
_LONG_CONTEXT = 1024
_SENTENCE_CHUNK = 256     # sentences per frozen text pass: bounds memory for thousands of descriptors


def _count_tokens(tokenizer: Callable, words: str) -> int:
    """Number of BPE tokens of `words` (a long context length so nothing is truncated away)."""
    if not words:
        return 0
    ids = tokenizer([words], context_length=_LONG_CONTEXT)[0]
    return int(ids.argmax()) - 1          # EOS is the largest id; minus SOS


def _prompt_layout(tokenizer: Callable, name: str, ctx_words: list[str], position: str) -> tuple[str, list[int]]:
    """The sentence whose tokens carry class `name`'s prompt, and the token positions of its context slots.

    end: "<ctx> <name>."   front: "<name> <ctx>."   middle: "<ctx first half> <name> <ctx second half>."
    The class name is followed by a space in front/middle, so its tokens do not depend on what follows it.
    """
    half = len(ctx_words) // 2 if position == "middle" else len(ctx_words)
    before, after = (" ".join(ctx_words[:half]), " ".join(ctx_words[half:]))
    if position == "front":
        before, after = "", " ".join(ctx_words)
    n_before, n_name, n_after = (_count_tokens(tokenizer, t) for t in (before, name, after))
    positions = [1 + i for i in range(n_before)] + [1 + n_before + n_name + i for i in range(n_after)]
    sentence = " ".join(p for p in (before, name, after) if p) + "."
    return sentence, positions


class PromptedTextEncoder(nn.Module):
    """Class prompts with learnable context -> (repeat·C, E) unnormalised text features.

    The frozen CLIP is not registered as a submodule (the owning classifier holds it as `clip`), so this
    module's state dict is only the learned context.
    """

    def __init__(self, clip, tokenizer, class_names: list[str], ctx_len: int, ctx_init: str | None,
                 ctx_std: float, class_wise: bool, class_token_position: str):
        super().__init__()
        if class_token_position not in _POSITIONS:
            raise UserError(f"method.class_token_position: '{class_token_position}' is not one of {list(_POSITIONS)}; "
                            "pick one of them")
        if ctx_len < 0:
            raise UserError(f"method.ctx_len: {ctx_len} is negative; use 0 (no learned context) or more")
        assert len(class_names) > 0, "PromptedTextEncoder needs at least one class name"
        assert getattr(clip, "text_pool_type", "argmax") == "argmax", "only CLIP's argmax (EOS) text pooling is supported"
        assert clip.transformer.batch_first, "open_clip text transformer must run batch-first"
        self._frozen = (clip,)            # a tuple: not registered, so no CLIP weights in this state dict
        self.num_classes = len(class_names)
        self.class_wise = class_wise
        self.class_token_position = class_token_position

        ctx_words = self._context_words(tokenizer, ctx_len, ctx_init)
        self.ctx_len = _count_tokens(tokenizer, " ".join(ctx_words))
        k, context_length = self.ctx_len, clip.context_length
        sentences, positions = [], []
        for name in class_names:
            sentence, pos = _prompt_layout(tokenizer, name, ctx_words, class_token_position)
            if _count_tokens(tokenizer, sentence) + 2 > context_length:
                raise UserError(f"class name '{name}': prompt of {k} context tokens + the name is longer than "
                                f"CLIP's {context_length} tokens; shorten the class name or method.ctx_len")
            sentences.append(sentence)
            positions.append(pos)
        token_ids = tokenizer(sentences).to(clip.token_embedding.weight.device)      # (C, L)
        with torch.no_grad():
            base = clip.token_embedding(token_ids)                                     # (C, L, D)
        self.register_buffer("base_embeddings", base, persistent=False)
        self.register_buffer("eos_positions", token_ids.argmax(dim=-1), persistent=False)   # (C,)
        # Tokens after the last EOS cannot reach any EOS output under the causal mask: run only up to it.
        self.num_tokens = int(self.eos_positions.max()) + 1                            # L' <= L
        self.register_buffer("ctx_positions", torch.tensor(positions, dtype=torch.long).reshape(len(class_names), k),
                             persistent=False)                                          # (C, k)
        self.ctx = nn.Parameter(self._initial_context(base, bool(ctx_init), ctx_std))

    @staticmethod
    def _context_words(tokenizer: Callable, ctx_len: int, ctx_init: str | None) -> list[str]:
        """The context as words: ctx_init's words, or ctx_len one-token placeholders."""
        if not ctx_init:
            return [_PLACEHOLDER] * ctx_len
        n_tokens = _count_tokens(tokenizer, ctx_init)
        if n_tokens != ctx_len:
            log.warning("method.ctx_init '%s' has %d tokens; using ctx_len=%d instead of method.ctx_len=%d",
                        ctx_init, n_tokens, n_tokens, ctx_len)
        # The words themselves go into the sentence: their token embeddings become the initial context.
        return ctx_init.strip().split()

    def _initial_context(self, base: Tensor, from_words: bool, ctx_std: float) -> Tensor:
        k, width = self.ctx_len, base.shape[-1]
        if from_words:
            # The words sit at the context positions of class 0's prompt (identical for every class).
            index = self.ctx_positions[0]
            ctx = base[0, index].detach().clone()                      # (k, D)
        else:
            ctx = torch.randn(k, width, device=base.device, dtype=base.dtype) * ctx_std
        if self.class_wise:
            ctx = ctx.unsqueeze(0).repeat(self.num_classes, 1, 1)      # (C, k, D)
        return ctx

    @property
    def clip(self):
        return self._frozen[0]

    def prompt_embeddings(self, repeat: int = 1, ctx: Tensor | None = None) -> Tensor:
        """(repeat·C, L, D) token embeddings with the context in place; row r·C + c is (repeat r, class c)."""
        C, k = self.num_classes, self.ctx_len
        ctx = self.ctx if ctx is None else ctx
        base = self.base_embeddings.repeat(repeat, 1, 1)                # (R·C, L, D)
        if k == 0:
            return base
        if ctx.dim() == 2:
            ctx = ctx.unsqueeze(0).expand(repeat * C, -1, -1)           # (R·C, k, D)
        elif ctx.shape[0] == C:
            ctx = ctx.repeat(repeat, 1, 1)
        assert ctx.shape == (repeat * C, k, base.shape[-1]), (
            f"ctx must be (k, D), (C, k, D) or (repeat·C, k, D); got {tuple(ctx.shape)} with C={C}, k={k}")
        index = self.ctx_positions.repeat(repeat, 1).unsqueeze(-1).expand(-1, -1, base.shape[-1])  # (R·C, k, D)
        return base.scatter(1, index, ctx.to(base.dtype))

    def forward(self, hook: TokenHook | None = None, repeat: int = 1, ctx: Tensor | None = None) -> Tensor:
        """-> (repeat·C, E) unnormalised class text features; a hook may add per-sequence tokens per layer."""
        clip, L = self.clip, self.num_tokens
        x = self.prompt_embeddings(repeat, ctx)[:, :L]                  # (R·C, L', D): padding after EOS dropped
        x = x + clip.positional_embedding[:L].to(x.dtype)
        grad_ckpt = bool(getattr(clip.transformer, "grad_checkpointing", False))
        mask = None if clip.attn_mask is None else clip.attn_mask[:L, :L]
        x = run_blocks(clip.transformer.resblocks, x, mask, hook, grad_ckpt)
        eos = self.eos_positions.repeat(repeat)                         # (R·C,) each sequence its own EOS
        x = clip.ln_final(x[torch.arange(x.shape[0], device=x.device), eos])   # (R·C, D)
        return project_text(clip, x)


def project_text(clip, x: Tensor) -> Tensor:
    """(S, D) pooled text tokens -> (S, E) through CLIP's text projection (a Parameter or a Linear)."""
    proj = clip.text_projection
    if proj is None:
        return x
    return proj(x) if isinstance(proj, nn.Linear) else x @ proj


@torch.no_grad()
def encode_sentences(clip, tokenizer, sentences: list[str]) -> Tensor:
    """(S, E) frozen standard CLIP text features of plain sentences (hand-crafted prompts, descriptors)."""
    device = clip.token_embedding.weight.device
    chunks = [clip.encode_text(tokenizer(sentences[i:i + _SENTENCE_CHUNK]).to(device))
              for i in range(0, len(sentences), _SENTENCE_CHUNK)]
    return torch.cat(chunks, dim=0)


