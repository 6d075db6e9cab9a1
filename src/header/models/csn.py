"""ResNet3D-CSN (ir-CSN) as pytorchvideo's `create_csn` builds it, without its classification head.

The backbone returns the last stage's feature map (B, D, T', H', W'); the pooling that makes it (B, D) for any
clip length and size lives in header_net.py. The modules carry create_csn's names (csn_blocks.py), so local
weights load as they are: a pytorchvideo checkpoint (`.pyth`, keys `blocks.N…` under `model_state`) directly, an
mmaction2 ir-CSN checkpoint (keys `backbone.layerN…`) through the explicit name mapping below.
"""
import logging
import re
from pathlib import Path

import torch
import torch.utils.checkpoint as activation_checkpoint
from torch import nn

from src.core.errors import UserError
from src.header.models.csn_blocks import ResStage, Stem, init_resnet_weights

log = logging.getLogger(__name__)

STAGE_DEPTHS = {50: (3, 4, 6, 3), 101: (3, 4, 23, 3), 152: (3, 8, 36, 3)}  # residual blocks per stage
STEM_POOLS = ("max", None)


class CSNBackbone(nn.Module):
    """(B, 3, T, H, W) -> (B, 32 * stem_dim_out, T/8, H/32, W/32) feature map (H/16 without the stem pool).

    blocks.0 is the stem, blocks.1-4 the stages: the first keeps the size, the others halve T, H and W. Stage k
    (1-based) is 2^(k+1) x stem_dim_out wide, its bottlenecks a quarter of that (create_csn's bottleneck_ratio 4).
    create_csn's head (blocks.5: a fixed-size AvgPool3d + a 400-way projection) is not built."""

    def __init__(self, *, model_depth: int, stem_dim_out: int, stem_pool: str | None, gradient_checkpointing: bool):
        super().__init__()
        if model_depth not in STAGE_DEPTHS:
            raise UserError(f"backbone.model_depth={model_depth}: CSN depth must be one of {tuple(STAGE_DEPTHS)}")
        if stem_pool not in STEM_POOLS:
            raise UserError(f"backbone.stem_pool={stem_pool}: use max or null")
        blocks: list[nn.Module] = [Stem(stem_dim_out, max_pool=stem_pool == "max")]
        dim_in, dim_out = stem_dim_out, stem_dim_out * 4
        for index, depth in enumerate(STAGE_DEPTHS[model_depth]):
            stride = (1, 1, 1) if index == 0 else (2, 2, 2)
            blocks.append(ResStage(depth, dim_in, dim_out // 4, dim_out, stride=stride))
            dim_in, dim_out = dim_out, dim_out * 2
        self.blocks = nn.ModuleList(blocks)
        # create_csn also builds a 2-way head after the stages (dropped: the Header Net has its own) and initialises
        # it last. Its random draws are replayed, so a random-init CSN (csn_tiny: the demo, the tests) and every draw
        # after it are exactly what they were with pytorchvideo (tests/header/test_csn_reference.py).
        dropped_head = nn.Linear(dim_in, 2)
        init_resnet_weights(self)
        dropped_head.weight.data.normal_(mean=0.0, std=0.01)
        self.feature_dim = dim_in  # = 32 * stem_dim_out
        self.gradient_checkpointing = gradient_checkpointing

    def layer_groups(self) -> list[nn.Module]:
        """Bottom to top: the stem, then every residual block of every stage (partial fine-tuning, layer decay)."""
        return [self.blocks[0], *(block for stage in self.blocks[1:] for block in stage.res_blocks)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        assert x.ndim == 5 and x.shape[1] == 3, f"CSN expects (B, 3, T, H, W) clips, got {tuple(x.shape)}"
        for block in self.blocks:
            if self.gradient_checkpointing and self.training and x.requires_grad:
                x = activation_checkpoint.checkpoint(block, x, use_reentrant=False)
            else:
                x = block(x)
        return x  # (B, D, T', H', W')


# mmaction2 ir-CSN names -> create_csn names (ours). Stage N is `layerN` there and `blocks.N` here; `bn` may be `norm`.
_MMACTION_RULES = [
    (r"^conv1\.conv\.weight$", "blocks.0.conv.weight"),
    (r"^conv1\.(?:bn|norm)\.(\w+)$", r"blocks.0.norm.\1"),
    (r"^layer(\d)\.(\d+)\.conv1\.conv\.weight$", r"blocks.\1.res_blocks.\2.branch2.conv_a.weight"),
    (r"^layer(\d)\.(\d+)\.conv1\.(?:bn|norm)\.(\w+)$", r"blocks.\1.res_blocks.\2.branch2.norm_a.\3"),
    (r"^layer(\d)\.(\d+)\.conv2\.conv(?:\.0)?\.weight$", r"blocks.\1.res_blocks.\2.branch2.conv_b.weight"),
    (r"^layer(\d)\.(\d+)\.conv2\.(?:bn|norm)\.(\w+)$", r"blocks.\1.res_blocks.\2.branch2.norm_b.\3"),
    (r"^layer(\d)\.(\d+)\.conv3\.conv\.weight$", r"blocks.\1.res_blocks.\2.branch2.conv_c.weight"),
    (r"^layer(\d)\.(\d+)\.conv3\.(?:bn|norm)\.(\w+)$", r"blocks.\1.res_blocks.\2.branch2.norm_c.\3"),
    (r"^layer(\d)\.(\d+)\.downsample\.conv\.weight$", r"blocks.\1.res_blocks.\2.branch1_conv.weight"),
    (r"^layer(\d)\.(\d+)\.downsample\.(?:bn|norm)\.(\w+)$", r"blocks.\1.res_blocks.\2.branch1_norm.\3"),
]
_CLASSIFIER = re.compile(r"^(cls_head\.|blocks\.5\.|head\.|fc\.)")


def mmaction_to_pytorchvideo(state: dict[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], list[str]]:
    """(converted state dict, ignored classifier keys). A key no rule knows is an error (nothing silently lost)."""
    converted, ignored, unknown = {}, [], []
    for key, value in state.items():
        key = key.removeprefix("backbone.")
        if _CLASSIFIER.match(key):
            ignored.append(key)
            continue
        if re.match(r"^layer\d\.\d+\.conv2\.conv\.1\.weight$", key):
            raise UserError(f"{key}: an ip-CSN checkpoint (extra 1x1x1 conv in conv2); this backbone is "
                            f"ir-CSN only — use an ir-CSN checkpoint")
        for pattern, target in _MMACTION_RULES:
            if re.match(pattern, key):
                converted[re.sub(pattern, target, key)] = value
                break
        else:
            unknown.append(key)
    if unknown:
        raise UserError(f"mmaction checkpoint has keys no CSN rule maps ({', '.join(unknown[:5])}…); is it ir-CSN?")
    return converted, ignored


def _checkpoint_format(keys: list[str], requested: str) -> str:
    if requested != "auto":
        return requested
    if any(k.startswith("blocks.0.") for k in keys):
        return "pytorchvideo"
    if any(re.match(r"^(backbone\.)?(conv1\.conv|layer1\.0\.)", k) for k in keys):
        return "mmaction"
    return "unknown"


def load_csn_weights(backbone: CSNBackbone, ckpt: str, ckpt_format: str) -> list[str]:
    """Load local CSN weights (strict on the backbone); returns the checkpoint keys deliberately ignored."""
    path = Path(ckpt)
    if not path.is_file():
        raise UserError(f"backbone.ckpt={ckpt}: no such file; pass a pytorchvideo .pyth or mmaction2 CSN checkpoint, "
                        f"or backbone.ckpt=null for random init")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises many kinds for a non-checkpoint file
        raise UserError(f"backbone.ckpt={ckpt}: not a loadable torch checkpoint ({type(err).__name__}); "
                        f"pass a state dict file") from err
    state = payload
    for wrapper in ("model_state", "state_dict", "model"):  # pytorchvideo, mmaction, plain torch.save wrappers
        if isinstance(state, dict) and isinstance(state.get(wrapper), dict):
            state = state[wrapper]
    if not isinstance(state, dict):
        raise UserError(f"backbone.ckpt={ckpt}: holds a {type(state).__name__}, not a state dict")
    state = {k.removeprefix("module."): v for k, v in state.items() if isinstance(v, torch.Tensor)}
    fmt = _checkpoint_format(list(state), ckpt_format)
    if fmt == "pytorchvideo":
        ignored = [k for k in state if _CLASSIFIER.match(k)]
        state = {k: v for k, v in state.items() if k not in ignored}
    elif fmt == "mmaction":
        state, ignored = mmaction_to_pytorchvideo(state)
    else:
        raise UserError(f"backbone.ckpt={ckpt}: keys ({', '.join(list(state)[:3])}…) are in no known CSN format; "
                        f"expected pytorchvideo (blocks.N…) or mmaction2 (backbone.layerN…)")
    try:
        backbone.load_state_dict(state, strict=True)
    except RuntimeError as err:  # missing / unexpected keys or wrong shapes
        detail = " ".join(str(err).split())[:300]
        raise UserError(f"backbone.ckpt={ckpt} does not fit backbone.model_depth/stem_dim_out ({detail})") from err
    log.info("loaded CSN weights from %s (%s format; ignored %d classifier keys)", ckpt, fmt, len(ignored))
    return ignored
