"""STT: the ViTa vision side + a deep text side conditioned on each clip's frame summaries.

For each layer i of `summary_to_text_layers`, the T frame summaries of vision layer i are concatenated (T·Dv)
and projected (Linear T·Dv -> D) into one ephemeral token appended to every class prompt of that clip in text
layer i. The text tower therefore encodes N·C sequences (N = B·V clips): cost grows with the number of classes.
Memory is bounded by encoding `class_chunk_size` classes at a time and, with `grad_checkpointing`, by
recomputing each chunk in backward (only one chunk's activations are alive at once).
The vision side, readout included, is ViTa's: the summary readout of the final CLS tokens (SummaryReadout) is
what lets frame order reach the video embedding under stt's default mean pooling; the video-conditioned text
alone left stt near chance on the temporal benchmark's left/right pair.
"""
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.checkpoint import checkpoint

from src.clip.models.layers.layer_schedule import resolve_layers
from src.clip.models.layers.tower_runner import LayerTokens, run_blocks
from src.clip.models.methods.vita import ViTa
from src.core.errors import UserError


class STT(ViTa):
    """Learns ViTa's parameters (discriminative conditioning always on) plus one Linear(T·Dv -> D) per text
    layer that receives a summary token. Text features are per clip (N, C, E), L2-normalised.
    """

    text_features_depend_on_video = True

    def __init__(self, clip, tokenizer, class_names: list[str], method: dict, num_frames: int):
        vita_cfg = {**method, "discriminative_conditioning": True}          # always on in stt (its paper's design)
        super().__init__(clip, tokenizer, class_names, vita_cfg, num_frames)
        depth = min(len(clip.transformer.resblocks), len(clip.visual.transformer.resblocks))
        self.text_layers = resolve_layers("summary_to_text_layers", method["summary_to_text_layers"], depth)
        if not self.text_layers:
            raise UserError("method.summary_to_text_layers: empty; stt conditions at least one text layer on the "
                            "video (method=vita is the same model without that)")
        self.summary_to_text = nn.ModuleDict({
            str(i): nn.Linear(num_frames * self.vision_tower.width, clip.token_embedding.weight.shape[1])
            for i in self.text_layers})
        chunk = method["class_chunk_size"]
        if chunk is not None and (not isinstance(chunk, int) or chunk < 1):
            raise UserError(f"method.class_chunk_size: {chunk!r} is not a positive integer; use one, or null "
                            "(all classes at once)")
        self.class_chunk_size = chunk or len(class_names)
        if method["learn_just_pooling"]:
            self.summary_to_text.requires_grad_(False)

    # ---- logits -------------------------------------------------------------------------------------------
    def view_logits(self, clips: Tensor, text_features: Tensor | None) -> Tensor:
        """(N, T, 3, H, W) -> (N, C); text features conditioned on each clip unless given."""
        summaries: dict[int, Tensor] = {}
        frames = F.normalize(self.encode_frames(clips, record=summaries), dim=-1)   # (N, T, E)
        video = F.normalize(self.pooling(frames), dim=-1)                            # (N, E)
        if text_features is None:
            text_features = self.video_text_features(summaries)                      # (N, C, E)
        text = F.normalize(text_features, dim=-1)
        if text.dim() == 2:
            return self.current_logit_scale() * video @ text.t()
        return self.current_logit_scale() * torch.einsum("ne,nce->nc", video, text)

    # ---- video-conditioned text ---------------------------------------------------------------------------
    def summary_tokens(self, summaries: dict[int, Tensor]) -> Tensor:
        """Vision layer i's summaries (N, T, Dv) for each text layer i -> text tokens (N, S, D), S layers."""
        return torch.stack([self.summary_to_text[str(i)](summaries[i].flatten(1)) for i in self.text_layers], 1)

    def video_text_features(self, summaries: dict[int, Tensor]) -> Tensor:
        """(N, C, E) L2-normalised class text features, one set per clip, encoded in class chunks."""
        tokens = self.summary_tokens(summaries)                                      # (N, S, D)
        prompts = self.text_encoder.prompt_embeddings()                              # (C, L, D), ctx in place
        eos = self.text_encoder.eos_positions                                        # (C,)
        chunks = []
        for start in range(0, len(self.class_names), self.class_chunk_size):
            part = slice(start, start + self.class_chunk_size)
            if self.grad_checkpointing and torch.is_grad_enabled():
                chunks.append(checkpoint(self.encode_prompts, prompts[part], eos[part], tokens,
                                         use_reentrant=False))
            else:
                chunks.append(self.encode_prompts(prompts[part], eos[part], tokens))
        return F.normalize(torch.cat(chunks, dim=1), dim=-1)                        # (N, C, E)

    def encode_prompts(self, prompts: Tensor, eos: Tensor, tokens: Tensor) -> Tensor:
        """Prompts (c, L, D) of c classes, their EOS positions (c,), clip tokens (N, S, D) -> (N, c, E).

        Sequence row n·c + k is (clip n, class k): the ephemeral token of row n·c + k is clip n's, and its EOS
        is class k's own (the original took EOS positions from another class when B·V > 1).
        """
        clip, length = self.clip, self.text_encoder.num_tokens
        n, c = tokens.shape[0], prompts.shape[0]
        # Only up to the last EOS (as PromptedText.forward): under the causal mask the padding after it reaches no
        # EOS output, and the summary token is an extra key that every row sees wherever the sequence ends.
        x = prompts[:, :length].unsqueeze(0).expand(n, -1, -1, -1).flatten(0, 1)   # (N·c, L', D)
        x = x + clip.positional_embedding[:length].to(x.dtype)
        mask = None if clip.attn_mask is None else clip.attn_mask[:length, :length]
        slot = {layer: j for j, layer in enumerate(self.text_layers)}

        def hook(layer: int, _x: Tensor) -> LayerTokens | None:
            if layer not in slot:
                return None
            own = tokens[:, slot[layer]].repeat_interleave(c, dim=0)                  # (N·c, D): clip n's token
            return LayerTokens(ephemeral=own[:, None])                                # (N·c, 1, D)

        x = run_blocks(clip.transformer.resblocks, x, mask, hook)                  # (N·c, L', D)
        rows = torch.arange(n * c, device=x.device)
        pooled = clip.ln_final(x[rows, eos.repeat(n)])                               # (N·c, D)
        projection = clip.text_projection
        if isinstance(projection, nn.Linear):
            pooled = projection(pooled)
        elif projection is not None:
            pooled = pooled @ projection
        return pooled.view(n, c, -1)                                                 # (N, c, E)
