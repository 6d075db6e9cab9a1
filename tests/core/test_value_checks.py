"""The value table (src/core/value_checks.py) against the shipped configs: a key the composed config does not have
is skipped, so a misspelt table key would silently check nothing; and no shipped config breaks a rule."""
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

import src.core.run_naming  # noqa: F401  (the run_tag resolver the task configs use)
from src.core.errors import UserError
from src.core.value_checks import ROOTS, SECTIONS, Rule, check_table

CONF = Path(__file__).resolve().parents[2] / "conf"
# Each root config with the groups that carry the other task's, methods' and finetune modes' keys.
COMPOSED = [("train", []), ("train", ["task=header"]), ("train", ["task=header", "dataset=header_synthetic"]),
            ("train", ["method=dual_coop"]), ("evaluate", []), ("evaluate", ["task=header"]), ("predict", []),
            ("predict", ["task=header"]), ("detect", ["run=x", "video=y"]), ("export", []), ("export", ["task=header"]),
            ("check_dataset", []), ("profile", []), ("profile", ["task=header"])] + [("train", [f"experiment={p.stem}"]) for p in sorted(CONF.glob("experiment/*"))] \
           + [("train", [f"debug={p.stem}"]) for p in sorted(CONF.glob("debug/*"))]


def _compose(root: str, overrides: list[str]):
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose(root, overrides=["paths.root_dir=/tmp", "paths.output_dir=/tmp/out", *overrides])
    OmegaConf.resolve(cfg)
    return cfg


@pytest.fixture(scope="module")
def composed() -> list[tuple[str, object]]:
    return [(root, _compose(root, overrides)) for root, overrides in COMPOSED]


def test_every_table_key_is_a_key_of_some_shipped_config(composed):
    missing = [f"{section}.{key}" for section, keys in SECTIONS.items() for key in keys
               if not any(OmegaConf.select(cfg, f"{section}.{key}", default="<absent>") != "<absent>"
                          for _, cfg in composed)]
    missing += [f"{root}: {key}" for root, keys in ROOTS.items() for key in keys
                if not any(r == root and key in cfg for r, cfg in composed)]
    assert missing == []


def test_every_shipped_config_passes_its_table(composed):
    for root, cfg in composed:
        check_table(cfg, root)


@pytest.mark.parametrize("rule, good, bad", [
    (Rule(int, "", low=1, also=(-1,), null=True), [1, 7, -1, None], [0, -2, True, 1.5, "3"]),
    (Rule(float, "", low=0.0, high=1.0, open_low=True), [0.5, 1, 1.0], [0, 0.0, 1.01, False, "0.5"]),
    (Rule(str, "", choices=("off", "auto"), also=(False,)), ["off", "auto", False], ["on", True, 0, None]),
    (Rule(str, "", pattern=r"auto|cuda(:\d+)?"), ["auto", "cuda", "cuda:3"], ["cuda:", "tpu", "cuda:x"]),
    (Rule(bool, ""), [True, False], [1, 0, "true", None]),
])
def test_a_rule_allows_its_type_and_range_only(rule, good, bad):
    assert [rule.allows(v) for v in good] == [True] * len(good)
    assert [rule.allows(v) for v in bad] == [False] * len(bad)


def test_the_first_value_out_of_range_names_the_key_and_what_it_must_be():
    cfg = OmegaConf.create({"top_k": 0, "device": "tpu", "seed": 1})
    with pytest.raises(UserError, match=r"^top_k=0: must be a positive integer$"):
        check_table(cfg, "predict")


@pytest.mark.parametrize("override, words", [("trainer.overfit_batches=-1", "a batch count or a fraction >= 0"),
                                             ("trainer.limit_train_batches=-2", "a batch count or a fraction"),
                                             ("trainer.fast_dev_run=-1", "true, false or a batch count")])
def test_the_debug_trainer_keys_are_checked(override, words):
    with pytest.raises(UserError, match=words):
        check_table(_compose("train", [override]), "train")
