"""Fine-tuning modes and optimizer parameter groups for Header Net.

- frozen:  only the pool + head train; the whole backbone is frozen and kept in eval mode.
- partial: also the last `unfreeze_blocks` backbone blocks (transformer blocks / CSN residual blocks).
- full:    everything.
Learning rates: the head gets `lr_head`; a backbone block k levels below the top gets
`lr_backbone * layer_decay**k` (layer-wise decay; the top block gets lr_backbone, the patch embedding / stem the
smallest). Biases and norm weights (1-D tensors) get no weight decay (their groups set 0; the others take the
optimizer's weight_decay, conf/task/header.yaml). Only trainable parameters are listed.
"""
from torch import nn

from src.core.errors import UserError
from src.header.models.net import HeaderNet

FINETUNE_MODES = ("frozen", "partial", "full")


def apply_finetune_mode(net: HeaderNet, *, mode: str, unfreeze_blocks: int | None) -> list[nn.Module]:
    """Set requires_grad for `mode`; returns the backbone modules that must stay in eval mode."""
    if mode not in FINETUNE_MODES:
        raise UserError(f"finetune.name={mode}: unknown mode; use one of {', '.join(FINETUNE_MODES)}")
    groups = net.backbone.layer_groups()
    net.requires_grad_(True)
    net.backbone_frozen = False
    if mode == "full":
        return []
    net.backbone.requires_grad_(False)
    if mode == "frozen":
        net.backbone_frozen = True
        return [net.backbone]
    blocks = len(groups) - 1  # the first group is the patch embedding / stem
    if unfreeze_blocks is None or not 1 <= unfreeze_blocks <= blocks:
        raise UserError(f"finetune.unfreeze_blocks={unfreeze_blocks}: partial fine-tuning needs 1..{blocks} "
                        f"(this backbone has {blocks} blocks)")
    for group in groups[-unfreeze_blocks:]:
        group.requires_grad_(True)
    grouped = {id(p) for g in groups for p in g.parameters()}
    for p in net.backbone.parameters():  # anything above the blocks (a final LayerNorm) belongs to the top
        if id(p) not in grouped:
            p.requires_grad_(True)
    return list(groups[:-unfreeze_blocks])


def build_param_groups(net: HeaderNet, *, lr_backbone: float | None, lr_head: float,
                       layer_decay: float) -> list[dict]:
    """Optimizer parameter groups, each named ("head", "backbone.<level>", + ".no_decay") for the LR logs."""
    groups = net.backbone.layer_groups()
    top = len(groups) - 1
    level_of = {id(p): level for level, g in enumerate(groups) for p in g.parameters()}
    buckets: dict[str, dict] = {}

    def add(name: str, param: nn.Parameter, lr: float) -> None:
        no_decay = param.ndim <= 1
        key = f"{name}.no_decay" if no_decay else name
        bucket = buckets.setdefault(key, {"name": key, "params": [], "lr": lr})
        if no_decay:
            bucket["weight_decay"] = 0.0
        bucket["params"].append(param)

    for module in (net.pool, net.head):
        for p in module.parameters():
            if p.requires_grad:
                add("head", p, lr_head)
    trainable_backbone = [p for p in net.backbone.parameters() if p.requires_grad]
    if trainable_backbone and lr_backbone is None:
        raise UserError("finetune.lr_backbone is null but this mode trains the backbone; set finetune.lr_backbone")
    for p in trainable_backbone:
        level = level_of.get(id(p), top)
        add(f"backbone.{level}", p, lr_backbone * layer_decay ** (top - level))
    assert buckets, "no trainable parameters"
    return list(buckets.values())
