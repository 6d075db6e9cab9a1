"""The composed config: the seed's defaults per method and backbone, optimiser/schedule in one place per task,
one epochs key, run_name as run_id's alias, and every method key commented."""
import re
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

import src.core.run_naming  # noqa: F401  (resolvers used by conf/task/*.yaml)
from src.train import apply_aliases

CONF = Path(__file__).resolve().parents[2] / "conf"
METHODS = ("video_coop", "dual_coop", "stt", "vidop", "vilt", "vita")


def _cfg(*overrides: str, tmp_path: Path) -> dict:
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose("train", overrides=[*overrides, f"paths.root_dir={tmp_path}", f"paths.output_dir={tmp_path}"])
    apply_aliases(cfg)  # what src.train does before resolving
    return OmegaConf.to_container(cfg, resolve=True)


@pytest.mark.parametrize("dataset", ["ucf101", "hmdb51", "kinetics400"])
def test_method_defaults_are_the_seed_run_scripts(tmp_path, dataset):
    cfg = {m: _cfg(f"method={m}", f"dataset={dataset}", tmp_path=tmp_path) for m in METHODS}
    assert cfg["video_coop"]["method"]["ctx_len"] == 16
    assert cfg["video_coop"]["dataset"]["k_val"] == cfg["dual_coop"]["dataset"]["k_val"] == 4
    assert cfg["dual_coop"]["dataset"]["num_workers"] == cfg["stt"]["dataset"]["num_workers"] == 2
    assert cfg["vidop"]["dataset"]["augment"] is True and cfg["vidop"]["method"]["handcrafted_features"] is False
    assert cfg["vilt"]["dataset"]["augment"] is False  # only vidop's run script augments
    # vidop learns no text context: the CoOp context keys are not in its section
    assert not {"ctx_len", "ctx_init", "class_wise", "class_token_position"} & set(cfg["vidop"]["method"])
    for name, c in cfg.items():
        assert c["method"]["name"] == name and c["method"]["pool_init_std"] == 0.02
        assert not {"lr", "weight_decay", "epochs", "min_lr", "grad_clip"} & set(c["method"]), name


def test_clip_optimiser_schedule_and_epochs_come_from_the_task_recipes(tmp_path):
    vita = _cfg("method=vita", tmp_path=tmp_path)
    assert vita["optimizer"] == {"_target_": "torch.optim.AdamW", "_partial_": True, "lr": 8e-5, "weight_decay": 0.2}
    assert vita["trainer"]["max_epochs"] == vita["scheduler"]["T_max"] == 20
    assert vita["trainer"]["gradient_clip_val"] == 1.0 and vita["scheduler"]["eta_min"] == 1e-6
    # one epochs key: the seed's `epochs` alias moves trainer.max_epochs and what follows it
    short = _cfg("method=dual_coop", "epochs=3", "optimizer.lr=0.01", tmp_path=tmp_path)
    assert short["trainer"]["max_epochs"] == short["scheduler"]["T_max"] == 3 and short["optimizer"]["lr"] == 0.01


@pytest.mark.parametrize("backbone, batch, ckpt", [
    ("csn", 16, None), ("vmae", 4, "checkpoints/VideoMAEv2-Base"),
])
def test_header_batch_follows_the_backbone(tmp_path, backbone, batch, ckpt):
    cfg = _cfg("task=header", f"backbone={backbone}", tmp_path=tmp_path)
    assert cfg["dataset"]["batch_size"] == batch and cfg["backbone"]["ckpt"] == ckpt
    assert cfg["task"]["threshold"] == 0.5 and cfg["scheduler"]["warmup_epochs"] == 1
    assert cfg["dataset"]["pin_memory"] == "auto" and cfg["dataset"]["persistent_workers"] is True


@pytest.mark.parametrize("variant, folder", [("large", "VideoMAEv2-Large"), ("giant", "VideoMAEv2-giant")])
def test_vmae_variant_points_at_the_seeds_checkpoint_folder(tmp_path, variant, folder):
    cfg = _cfg("task=header", "backbone=vmae", f"backbone.variant={variant}", tmp_path=tmp_path)
    assert cfg["backbone"]["ckpt"] == f"checkpoints/{folder}"


@pytest.mark.parametrize("task, key", [("clip", "run_id"), ("header", "run_id"), ("clip", "run_name"),
                                       ("header", "run_name")])
def test_run_name_is_an_alias_of_run_id(tmp_path, task, key):
    cfg = _cfg(f"task={task}", f"{key}=mine", tmp_path=tmp_path)
    assert cfg["run_id"] == "mine" and Path(cfg["run_dir"]).name == "mine"
    default = _cfg(f"task={task}", tmp_path=tmp_path)
    assert default["run_id"] != "mine" and Path(default["run_dir"]).name == default["run_id"]


def test_every_method_key_has_a_comment():
    key = re.compile(r"^\s*[a-z_]+:\s*\S")  # a key with a value on its line (block headers carry none)
    for path in sorted((CONF / "method").glob("*.yaml")):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if key.match(line) and not line.lstrip().startswith("#") and "#" not in line:
                assert line.strip().startswith("name:"), f"{path.name}:{number}: {line.strip()} has no comment"
