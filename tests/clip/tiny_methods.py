"""The five prompt methods built on a tiny random-init CLIP (clip_tiny: 2 layers per tower, width 64), for tests."""
import open_clip
import torch

from src.clip.models.methods.dual_coop import DualCoOp
from src.clip.models.methods.stt import STT
from src.clip.models.methods.vidop import ViDOP
from src.clip.models.methods.vilt import ViLT
from src.clip.models.methods.vita import ViTa
from tests.composed import section

METHODS = {"dual_coop": DualCoOp, "stt": STT, "vidop": ViDOP, "vilt": ViLT, "vita": ViTa}
# What each method learns, by top-level attribute (stt/vilt/vita pool by `mean`: no parameters).
LEARNED = {
    "dual_coop": {"text_encoder", "pooling", "visual_prompts"},
    "stt": {"text_encoder", "video_prompter", "summary_readout", "summary_to_text"},
    "vidop": {"pooling", "visual_prompts", "video_map"},
    "vilt": {"text_encoder", "visual_prompts", "text_deep", "vision_deep", "text_to_vision", "vision_to_text"},
    "vita": {"text_encoder", "video_prompter", "summary_readout"},
}
# clip_tiny has 2 layers per tower and width 64: the YAML defaults name layers 0–9 and 12 heads.
TINY = {"summary_heads": 2, "summary_to_text_layers": [0, 1], "text_to_vision_layers": [0],
        "vision_to_text_layers": [1], "class_chunk_size": None, "grad_checkpointing": False, "ctx_len": 4,
        "ctx_len_video": 4}
CLASSES = ["run", "apply eye makeup", "jump"]
T = 2


def make_clip(**model_overrides) -> tuple[torch.nn.Module, object]:
    cfg = section("backbone", ["backbone=clip_tiny"])["model_cfg"]
    for tower, values in model_overrides.items():
        cfg[tower] = {**cfg[tower], **values}
    torch.manual_seed(0)
    clip = open_clip.model.CLIP(**cfg).eval()
    for p in clip.parameters():
        p.requires_grad_(False)
    return clip, open_clip.SimpleTokenizer(context_length=cfg["text_cfg"]["context_length"])


def method_cfg(name: str, **overrides) -> dict:
    return {**section("method", [f"method={name}"]), **TINY, **overrides}


def build(name: str, clip_tok=None, classes=CLASSES, num_frames=T, seed=0, **overrides):
    clip, tok = clip_tok or make_clip()
    torch.manual_seed(seed)
    return METHODS[name](clip, tok, classes, method_cfg(name, **overrides), num_frames)


def videos(b=2, v=1, t=T, seed=1) -> torch.Tensor:
    return torch.randn(b, v, t, 3, 32, 32, generator=torch.Generator().manual_seed(seed))   # (B, V, T, 3, H, W)
