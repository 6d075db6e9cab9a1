"""task=header's subject for src.profile (src/core/cost.py): the Header Net of the config (backbone, finetune mode)
as a training run builds it, and one clip of the size it trains on; no data is read."""
import torch
from omegaconf import DictConfig, OmegaConf

from src.core.cost import CostSubject
from src.header.module import HeaderModule


def profile_subject(cfg: DictConfig) -> CostSubject:
    config = OmegaConf.to_container(cfg, resolve=True)
    # The class counts only weigh the loss (weighted_ce), which the profile does not run: equal counts.
    module = HeaderModule.from_config(config, class_counts=[1, 1])
    frames, size = int(config["dataset"]["num_frames"]), int(config["dataset"]["input_size"])
    generator = torch.Generator().manual_seed(int(config["seed"]))
    example = torch.randn(1, 3, frames, size, size, generator=generator)       # (B, 3, T, S, S)
    return CostSubject(module, example, num_frames=frames, image_size=size)
