"""The values every command checks before it starts: one table per config section and per root config, key -> the
type and range it must have. A key the composed config does not have is skipped (task=clip has no `loss`, the
predict config no `trainer`), so one table serves every command.

    check_table(cfg, "predict")    # after composing and resolving; UserError "top_k=-1: must be an integer >= 1"
"""
import re
from dataclasses import dataclass

from omegaconf import DictConfig, OmegaConf

from src.core.errors import UserError

_ABSENT = object()


@dataclass(frozen=True)
class Rule:
    """What a value must be: `kind` int | float | bool | str; numbers within [low, high] (`open_low` / `open_high`
    exclude the end) or one of `also`; strings one of `choices` or matching `pattern`; None only when `null`. `what`
    is the text after "must be"."""
    kind: type
    what: str
    low: float | None = None
    high: float | None = None
    open_low: bool = False
    open_high: bool = False
    choices: tuple = ()
    pattern: str | None = None
    null: bool = False
    also: tuple = ()      # values allowed besides (trainer.max_epochs: -1; feature_cache: false, YAML's `off`)

    def allows(self, value) -> bool:
        if value is None:
            return self.null
        if any(type(value) is type(allowed) and value == allowed for allowed in self.also):
            return True
        if isinstance(value, bool) != (self.kind is bool):
            return False
        if self.kind is float and isinstance(value, int):
            value = float(value)
        if not isinstance(value, self.kind):
            return False
        if self.choices and value not in self.choices:
            return False
        if self.pattern is not None and not re.fullmatch(self.pattern, value):
            return False
        if self.low is not None and (value <= self.low if self.open_low else value < self.low):
            return False
        return self.high is None or (value < self.high if self.open_high else value <= self.high)


def integer(low: int, what: str = "", null: bool = False) -> Rule:
    return Rule(int, what or f"an integer >= {low}" + (" (or null)" if null else ""), low=low, null=null)


def number(what: str, low: float, high: float | None = None, *, null: bool = False, open_low: bool = False,
           open_high: bool = False) -> Rule:
    return Rule(float, what, low=low, high=high, open_low=open_low, open_high=open_high, null=null)


def one_of(*choices, null: bool = False) -> Rule:
    return Rule(type(choices[0]), "one of " + " | ".join(map(str, choices)) + (" (or null)" if null else ""),
                choices=choices, null=null)


POSITIVE = integer(1, "a positive integer")
COUNT = integer(0, "an integer >= 0")
FRACTION = number("a number between 0 and 1", 0.0, 1.0)
PROBABILITY_OR_NULL = number("a probability between 0 and 1 (or null: the run's own)", 0.0, 1.0, null=True)
SECONDS_OR_NULL = number("a number of seconds >= 0 (or null)", 0.0, null=True)
SWITCH = Rule(bool, "true or false")
DEVICE = Rule(str, "auto, cpu, cuda or cuda:<index>", pattern=r"auto|cpu|cuda(:\d+)?")
ENGINE = {"engine": one_of("torch", "onnxruntime"), "precision": one_of("fp32", "bf16", "fp16"),
          "export_dir": Rule(str, "a folder (or null: <run folder>/export/)", null=True)}

# section -> key -> rule, for every root config that has the section
SECTIONS: dict[str, dict[str, Rule]] = {
    "dataset": {
        "batch_size": POSITIVE, "val_batch_size": POSITIVE, "num_frames": POSITIVE, "num_temporal_views": POSITIVE,
        "num_spatial_views": POSITIVE, "batches_per_backprop": POSITIVE, "input_size": POSITIVE,
        "prefetch_factor": POSITIVE, "num_workers": integer(0, "an integer >= 0 (0 = load in the main process)"),
        "frame_interval": integer(1, "a positive integer (or null: spread over the whole video)", null=True),
        "k_train": integer(1, "a positive integer (or null: all)", null=True),
        "k_val": integer(1, "a positive integer (or null: all)", null=True),
        "val_fraction": number("a fraction strictly between 0 and 1", 0.0, 1.0, open_low=True, open_high=True),
        "max_bad_fraction": FRACTION, "flip_prob": FRACTION,
        "neg_pos_ratio": number("a number > 0 (or null: every clip every epoch)", 0.0, open_low=True, null=True),
        "feature_cache": Rule(str, "off | auto | write | read", choices=("off", "auto", "write", "read"),
                              also=(False,)),
        "frame_store": Rule(str, "off | auto | write | read", choices=("off", "auto", "write", "read"),
                            also=(False,)),
        "frame_store_short_side": POSITIVE,
        "frame_store_quality": Rule(int, "an integer from 1 to 100", low=1, high=100),
        "index_cache": Rule(str, "auto | off | rebuild", choices=("auto", "off", "rebuild"), also=(False,)),
        "augment_on": one_of("loader", "device"),
        "augment": SWITCH, "balanced_sampling": SWITCH, "check_clips": SWITCH, "generate_if_missing": SWITCH,
        "persistent_workers": SWITCH, "decode_resize": SWITCH,
    },
    "trainer": {
        "max_epochs": Rule(int, "a positive integer, -1 (no limit) or null", low=1, also=(-1,), null=True),
        "accumulate_grad_batches": POSITIVE, "num_nodes": POSITIVE, "log_every_n_steps": POSITIVE,
        "check_val_every_n_epoch": integer(1, "a positive integer (or null)", null=True),
        "gradient_clip_val": number("a number >= 0 (or null)", 0.0, null=True),
        "accelerator": one_of("auto", "cpu", "gpu", "cuda", "mps"),
        "num_sanity_val_steps": integer(-1, "an integer >= -1 (-1: all)"),
        "cpu_threads": Rule(int, "auto, a positive integer or null", low=1, also=("auto",), null=True),
        "fast_dev_run": Rule(int, "true, false or a batch count >= 0", low=0, also=(True, False)),
        "overfit_batches": number("a batch count or a fraction >= 0", 0.0),
        **{f"limit_{split}_batches": number("a batch count or a fraction >= 0 (or null: all)", 0.0, null=True)
           for split in ("train", "val", "test", "predict")},
    },
    "optimizer": {"lr": number("a number >= 0 (or null)", 0.0, null=True),   # 0: the weights stay (a check run)
                  "weight_decay": number("a number >= 0 (or null)", 0.0, null=True)},
    "scheduler": {"eta_min": number("a number >= 0", 0.0), "warmup_epochs": number("a number >= 0", 0.0),
                  "start_factor": number("a number in (0, 1]", 0.0, 1.0, open_low=True),
                  "min_ratio": FRACTION},
    "method": {"ctx_len": POSITIVE, "pool_heads": POSITIVE, "pooling": one_of("mean", "max", "attention"),
               "videomix_prob": FRACTION, "reg_strength": number("a number >= 0", 0.0),
               "cos_reg_strength": number("a number >= 0", 0.0), "learn_just_pooling": SWITCH,
               "learn_logit_scale": SWITCH, "videomix": one_of("spatial", "temporal", "cube", null=True)},
    "task": {"threshold": number("a probability between 0 and 1", 0.0, 1.0)},
    "finetune": {"lr_backbone": number("a number > 0 (or null)", 0.0, open_low=True, null=True),
                 "lr_head": number("a number > 0", 0.0, open_low=True),
                 "layer_decay": number("a number in (0, 1]", 0.0, 1.0, open_low=True),
                 "unfreeze_blocks": integer(0, null=True),
                 "drop_path_rate": number("a number in [0, 1)", 0.0, 1.0, open_high=True),
                 "ema_decay": number("a number strictly between 0 and 1 (or null)", 0.0, 1.0, open_low=True,
                                     open_high=True, null=True)},
    "loss": {"name": one_of("ce", "weighted_ce", "focal"), "focal_alpha": FRACTION,
             "focal_gamma": number("a number >= 0", 0.0)},
    "callbacks": {"last_every_n_steps": integer(1, "a positive integer (or null: epoch ends only)", null=True),
                  "requeue_on_sigterm": SWITCH},
    "detect": {"num_frames": integer(1, "a positive integer (or null: the run's)", null=True),
               "frame_step": integer(1, "a positive integer (or null: the run's clips')", null=True),
               "stride": POSITIVE, "smoothing": POSITIVE, "batch_size": POSITIVE,
               "threshold": PROBABILITY_OR_NULL, "min_gap_s": number("a number of seconds >= 0", 0.0),
               "tolerance_s": number("a number of seconds >= 0", 0.0), "start": SECONDS_OR_NULL,
               "end": number("a number of seconds > 0 (or null)", 0.0, open_low=True, null=True),
               "device": DEVICE, "row_minutes": number("a number > 0", 0.0, open_low=True),
               "timeline_dpi": POSITIVE,
               "crop_scale": number("a number > 0 (or null: the run's clips')", 0.0, open_low=True, null=True),
               "min_crop": integer(1, "a positive integer (or null: the run's clips')", null=True),
               "crop_size": integer(1, "a positive integer (or null: the run's clips')", null=True),
               "max_track_gap": integer(0, "an integer >= 0 (or null: the run's clips')", null=True),
               "min_track_score": number("a number (or null: the run's clips')", float("-inf"), null=True),
               "half": integer(0, "an integer such as 1 or 2 (or null)", null=True), **ENGINE},
    "parity": {"tolerance": number("a number > 0", 0.0, open_low=True), "num_inputs": POSITIVE},   # src.export
    "run_cost": {"enabled": SWITCH, "warmup_iters": COUNT, "timed_iters": POSITIVE},                 # src.train
    "check": {"decode": one_of("all", "first", "none"), "min_videos_per_class": COUNT, "max_listed": POSITIVE},
}

_SEED = integer(0, "an integer >= 0")
_TRAIN = {"seed": _SEED, "validate_only": SWITCH}
# root config -> top-level key -> rule
ROOTS: dict[str, dict[str, Rule]] = {
    "train": _TRAIN,
    "check_dataset": _TRAIN,
    "evaluate": {"seed": _SEED, "split": one_of("test", "val")},
    "predict": {"seed": _SEED, "top_k": POSITIVE, "batch_size": POSITIVE, "num_workers": COUNT, "device": DEVICE,
                "threshold": PROBABILITY_OR_NULL, "start": SECONDS_OR_NULL, "progress": SWITCH, **ENGINE},
    "detect": {"resume": SWITCH, "export_clips": SWITCH, "progress": SWITCH},
    "export": {"format": one_of("onnx", "torchscript"), "overwrite": SWITCH, "opset": integer(7, "an ONNX opset >= 7")},
    "profile": {**_TRAIN, "device": DEVICE, "text_classes": POSITIVE, "warmup_iters": COUNT, "timed_iters": POSITIVE},
}


def check_table(cfg: DictConfig, root: str) -> None:
    """Every key of the tables above that `cfg` (resolved) has; the first value out of range is a UserError."""
    rules = dict(ROOTS.get(root, {}))
    for section, keys in SECTIONS.items():
        rules.update({f"{section}.{key}": rule for key, rule in keys.items()})
    for key, rule in rules.items():
        value = OmegaConf.select(cfg, key, default=_ABSENT, throw_on_missing=False)
        if value is not _ABSENT and not OmegaConf.is_config(value) and not rule.allows(value):
            raise UserError(f"{key}={value!r}: must be {rule.what}")
