"""Header Net models: CSN pooling for any clip size, fine-tuning modes, parameter groups, losses (CSN weights and
its reference: test_csn_reference.py)."""
import pytest
import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from omegaconf import OmegaConf
from torch import nn

from src.core.errors import UserError
from src.header.data.datamodule import HeaderDataModule
from src.header.losses import build_loss
from src.header.models.net import build_header_net
from src.header.module import HeaderModule
from tests.header.clip_sets import train_val_csvs


def _cfg(compose, tiny_header_run, tmp_path, *overrides):
    train, val = train_val_csvs(tmp_path / "data")
    cfg = compose([*tiny_header_run, f"dataset.train_csv={train}", f"dataset.val_csv={val}",
                                        *overrides], tmp_path)
    return OmegaConf.to_container(cfg)


def _module(config: dict) -> tuple[HeaderModule, HeaderDataModule]:
    dm = HeaderDataModule(config["dataset"], mean=config["backbone"]["mean"], std=config["backbone"]["std"],
                          seed=0)
    return HeaderModule.from_config(config, dm.class_counts), dm


class ModeProbe(pl.Callback):
    """Records, at every training step, which backbone modules are in training mode."""

    def __init__(self):
        self.backbone_training: list[bool] = []

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        self.backbone_training.append(any(m.training for m in pl_module.net.backbone.modules()))


def _fit_steps(module, dm, steps: int = 2) -> ModeProbe:
    probe = ModeProbe()
    trainer = pl.Trainer(accelerator="cpu", max_epochs=1, limit_train_batches=steps, limit_val_batches=0,
                         logger=False, enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False, callbacks=[probe])
    trainer.fit(module, datamodule=dm)
    return probe


def _snapshot(module: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def _changed(before: dict, after: dict) -> set[str]:
    return {k for k in before if not torch.equal(before[k], after[k])}


@pytest.mark.parametrize("frames, size", [(8, 112), (16, 160), (32, 224)])
def test_csn_pools_any_clip_length_and_size(frames, size):
    backbone = {"kind": "csn", "model_depth": 50, "stem_dim_out": 8, "stem_pool": "max", "dropout": 0.0,
                "gradient_checkpointing": False, "ckpt": None, "ckpt_format": "auto"}
    net = build_header_net(backbone, num_frames=frames, input_size=size).eval()
    with torch.no_grad():
        features = net.features(torch.randn(1, 3, frames, size, size))
        logits = net(torch.randn(2, 3, frames, size, size))
    assert features.shape == (1, 256) and logits.shape == (2, 2)


@pytest.mark.parametrize("backbone", ["csn_tiny", "vmae_tiny"])
def test_frozen_trains_the_head_only_and_keeps_the_backbone_in_eval_mode(compose, tiny_header_run, tmp_path, backbone):
    module, dm = _module(_cfg(compose, tiny_header_run, tmp_path, f"backbone={backbone}", "finetune=frozen"))
    backbone_before, head_before = _snapshot(module.net.backbone), _snapshot(module.net.head)
    probe = _fit_steps(module, dm)
    assert probe.backbone_training == [False, False]
    assert not _changed(backbone_before, _snapshot(module.net.backbone))  # weights and BatchNorm statistics
    assert _changed(head_before, _snapshot(module.net.head)) == {"1.weight", "1.bias"}
    optimizer = module.trainer.optimizers[0]
    in_optimizer = {id(p) for g in optimizer.param_groups for p in g["params"]}
    assert in_optimizer == {id(p) for p in [*module.net.pool.parameters(), *module.net.head.parameters()]}


@pytest.mark.parametrize("backbone, blocks", [("csn_tiny", 2), ("vmae_tiny", 1)])
def test_partial_changes_only_the_last_blocks_and_the_head(compose, tiny_header_run, tmp_path, backbone, blocks):
    module, dm = _module(_cfg(compose, tiny_header_run, tmp_path, f"backbone={backbone}", "finetune=partial",
                              f"finetune.unfreeze_blocks={blocks}", "finetune.lr_backbone=0.01"))
    groups = module.net.backbone.layer_groups()
    frozen, unfrozen = groups[:-blocks], groups[-blocks:]
    before = [_snapshot(g) for g in groups]
    _fit_steps(module, dm)
    assert all(not m.training for g in frozen for m in g.modules())
    for group, old in zip(frozen, before[:-blocks]):
        assert not _changed(old, _snapshot(group))
    for group, old in zip(unfrozen, before[-blocks:]):
        assert any("weight" in k for k in _changed(old, _snapshot(group)))


def test_full_trains_everything_with_layer_decayed_learning_rates(compose, tiny_header_run, tmp_path):
    config = _cfg(compose, tiny_header_run, tmp_path, "backbone=vmae_tiny", "finetune=full", "finetune.lr_backbone=1e-4",
                  "finetune.lr_head=1e-2", "finetune.layer_decay=0.5", "scheduler.warmup_epochs=0")
    module, dm = _module(config)
    before = _snapshot(module.net)
    _fit_steps(module, dm, steps=1)
    changed = _changed(before, _snapshot(module.net))
    assert any(k.startswith("backbone.model.embeddings") for k in changed)
    assert any(k.startswith("head") for k in changed)
    param_groups = {g["name"]: g for g in module.trainer.optimizers[0].param_groups}
    initial = {name: g["initial_lr"] for name, g in param_groups.items()}
    # vmae_tiny: level 0 = patch embedding, 1-2 = the two blocks; the top block gets lr_backbone
    assert initial["backbone.2"] == pytest.approx(1e-4) and initial["backbone.1"] == pytest.approx(5e-5)
    assert initial["backbone.0"] == pytest.approx(2.5e-5) and initial["head"] == pytest.approx(1e-2)
    assert all(p.ndim <= 1 for name, g in param_groups.items() if name.endswith("no_decay") for p in g["params"])
    assert all(g["weight_decay"] == 0.05 for name, g in param_groups.items() if not name.endswith("no_decay"))
    listed = sum(len(g["params"]) for g in param_groups.values())
    trainable = [p for p in module.net.parameters() if p.requires_grad]
    assert listed == len(trainable) == len(list(module.net.parameters()))


def test_focal_and_weighted_losses():
    logits, labels = torch.tensor([[2.0, -1.0], [0.5, 0.3], [-1.0, 1.5]]), torch.tensor([0, 1, 1])
    focal = build_loss({"name": "focal", "focal_alpha": 0.75, "focal_gamma": 2.0}, [10, 2])(logits, labels)
    p_true = logits.softmax(-1)[torch.arange(3), labels]
    alpha = torch.tensor([0.25, 0.75, 0.75])
    assert torch.allclose(focal, -alpha * (1 - p_true) ** 2 * p_true.log())
    weighted = build_loss({"name": "weighted_ce", "class_weights": "auto"}, [10, 2])(logits, labels)
    weights = torch.tensor([12 / 20, 12 / 4])
    assert torch.allclose(weighted, F.cross_entropy(logits, labels, reduction="none") * weights[labels])
    plain = build_loss({"name": "ce"}, [10, 2])(logits, labels)
    assert torch.allclose(plain, F.cross_entropy(logits, labels, reduction="none"))
    with pytest.raises(UserError, match="loss.name=hinge"):
        build_loss({"name": "hinge"}, [1, 1])


@pytest.mark.parametrize("backbone", [
    {"kind": "csn", "model_depth": 50, "stem_dim_out": 8, "stem_pool": "max", "ckpt": None, "ckpt_format": "auto"},
    {"kind": "vmae", "variant": "tiny", "ckpt": None, "tubelet_size": 2, "layer_norm_eps": 1e-6, "pool_norm_eps": 1e-6,
     "attn_implementation": "eager", "variants": {"tiny": {"hidden_size": 32, "num_hidden_layers": 2,
                                                           "num_attention_heads": 2, "intermediate_size": 64,
                                                           "patch_size": 8}}},
])
def test_gradient_checkpointing_gives_the_same_gradients(backbone):
    nets = []
    for checkpointing in (False, True):
        torch.manual_seed(0)
        nets.append(build_header_net({**backbone, "dropout": 0.0, "gradient_checkpointing": checkpointing},
                                     num_frames=4, input_size=32).train())
    clips = torch.randn(2, 3, 4, 32, 32)
    for net in nets:
        net(clips).square().sum().backward()
    for (name, a), (_, b) in zip(nets[0].named_parameters(), nets[1].named_parameters()):
        assert torch.allclose(a.grad, b.grad, atol=1e-5, rtol=1e-4), name


@pytest.mark.parametrize("backbone, finetune, lr_backbone, lr_head", [
    ("csn", "full", 1e-3, 1e-3), ("vmae", "frozen", None, 1e-3), ("vmae", "full", 1e-5, 1e-3),
])
def test_learning_rate_defaults_follow_the_seeds_table(compose, tmp_path, backbone, finetune, lr_backbone, lr_head):
    cfg = compose(["task=header", f"backbone={backbone}", f"finetune={finetune}"], tmp_path)
    assert (cfg.finetune.lr_backbone, cfg.finetune.lr_head) == (lr_backbone, lr_head)
    assert cfg.optimizer.weight_decay == 0.05 and cfg.loss.name == "focal" and cfg.trainer.max_epochs == 50
    assert cfg.finetune.layer_decay == (0.75 if backbone == "vmae" else 1.0)


def test_warmup_then_cosine_schedule():
    from src.core.warmup_cosine import WarmupCosine

    schedule = WarmupCosine(warmup_steps=10, total_steps=110, start_factor=0.01, min_ratio=0.01)
    assert schedule(0) == pytest.approx(0.01) and schedule(5) == pytest.approx(0.505) and schedule(10) == 1.0
    assert schedule(60) == pytest.approx(0.505) and schedule(110) == pytest.approx(0.01)
    after = [schedule(s) for s in range(10, 111)]
    assert all(a >= b for a, b in zip(after, after[1:]))
