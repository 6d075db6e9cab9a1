"""task=header's subject for src.profile (src/core/cost.py): the Header Net of the config (backbone, finetune mode)
as a training run builds it, and one clip of the size it trains on; no data is read."""
import torch
from omegaconf import DictConfig, OmegaConf
from torch import nn

from src.core.cost import CostSubject
from src.header.module import HeaderModule


def profile_subject(cfg: DictConfig) -> CostSubject:
    config = OmegaConf.to_container(cfg, resolve=True)
    # The class counts only weigh the loss (weighted_ce), which the profile does not run: equal counts.
    return header_cost_subject(HeaderModule.from_config(config, class_counts=[1, 1]), config)


def header_cost_subject(net: nn.Module, config: dict) -> CostSubject:
    """One clip of the size the config trains on through `net`; also a finished run's cost.json
    (src/header/artifacts.py)."""
    frames, size = int(config["dataset"]["num_frames"]), int(config["dataset"]["input_size"])
    generator = torch.Generator().manual_seed(int(config["seed"]))
    # Two clips: a small net pools to 1 x 1 x 1 before its last BatchNorm, which then needs two values per channel
    # in training mode; the figures are per clip.
    example = torch.randn(2, 3, frames, size, size, generator=generator)       # (B, 3, T, S, S)
    return CostSubject(net, example, num_frames=frames, image_size=size, clips=2)
