"""finetune.drop_path_rate: timm's DropPath on the residual branches of transformers' VideoMAE blocks."""
import pytest
import torch
from omegaconf import OmegaConf
from timm.layers import DropPath

from src.core.errors import UserError
from src.header.models.net import build_header_net
from src.header.models.videomae import add_drop_path
from tests.composed import compose_config

FRAMES, SIZE = 4, 32


def _backbone(tmp_path, name: str = "vmae_tiny") -> dict:
    cfg = compose_config(["task=header", f"backbone={name}"], tmp_path)
    return {**OmegaConf.to_container(cfg.backbone), "dropout": 0.0}


def _twin_nets(tmp_path, rate: float):
    """A plain net and the same weights with drop path `rate`."""
    torch.manual_seed(0)
    plain = build_header_net(_backbone(tmp_path), num_frames=FRAMES, input_size=SIZE)
    torch.manual_seed(0)
    dropped = build_header_net(_backbone(tmp_path), num_frames=FRAMES, input_size=SIZE)
    add_drop_path(dropped.backbone, rate)
    assert plain.state_dict().keys() == dropped.state_dict().keys()  # no parameters: checkpoints unchanged
    assert all(torch.equal(a, b) for a, b in zip(plain.state_dict().values(), dropped.state_dict().values()))
    return plain, dropped


def test_rate_zero_is_exactly_the_plain_model_in_training(tmp_path):
    plain, dropped = _twin_nets(tmp_path, 0.0)
    assert not any(isinstance(m, DropPath) for m in dropped.modules())
    clips = torch.randn(3, 3, FRAMES, SIZE, SIZE)
    plain.train(), dropped.train()
    torch.manual_seed(1)
    expected = plain(clips)
    torch.manual_seed(1)
    assert torch.equal(dropped(clips), expected)


def test_rate_rises_linearly_over_blocks_drops_in_training_and_is_the_identity_in_eval(tmp_path):
    plain, dropped = _twin_nets(tmp_path, 0.4)
    blocks = dropped.backbone.model.encoder.layer
    rates = [[m.drop_prob for m in block.modules() if isinstance(m, DropPath)] for block in blocks]
    assert rates == [[0.0, 0.0], [0.4, 0.4]]  # 2 blocks: linspace(0, 0.4, 2), on the attention and the MLP branch
    clips = torch.randn(8, 3, FRAMES, SIZE, SIZE)
    plain.eval(), dropped.eval()
    assert torch.equal(dropped(clips), plain(clips))
    dropped.train()
    torch.manual_seed(2)
    first, second = dropped(clips), dropped(clips)
    assert not torch.allclose(first, second)           # a new drop pattern per forward pass
    assert not torch.allclose(first, plain.train()(clips))


def test_bad_rates_and_non_videomae_backbones_are_user_errors(tmp_path):
    net = build_header_net(_backbone(tmp_path), num_frames=FRAMES, input_size=SIZE)
    with pytest.raises(UserError, match="finetune.drop_path_rate=1.0"):
        add_drop_path(net.backbone, 1.0)
    csn = build_header_net(_backbone(tmp_path, "csn_tiny"), num_frames=FRAMES, input_size=SIZE)
    add_drop_path(csn.backbone, 0.0)  # nothing asked, nothing done
    with pytest.raises(UserError, match="backbone=vmae"):
        add_drop_path(csn.backbone, 0.1)
