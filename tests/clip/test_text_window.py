"""Encoding the class prompts once per optimizer step gives the per-micro-batch gradients: exactly in fp32, within
bf16 rounding under bf16-mixed and bf16-true (the text tower then runs once per step instead of once per
micro-batch)."""
import pytest
import pytorch_lightning as pl
import torch
from omegaconf import OmegaConf

from src.clip.module import ClipVideoModule

CLASSES = ["red square", "green circle", "moving left"]
ACCUMULATE = 2


def _train_one_step(compose, tmp_path, share: bool, precision: str) -> tuple[dict, dict, int, ClipVideoModule]:
    """-> (trainable tensors before, after one optimizer step, text-tower passes, module). Plain SGD: the update
    is lr x the gradient, so comparing updates compares gradients (AdamW's first step is ~lr x sign)."""
    cfg = OmegaConf.to_container(compose(
        ["backbone=clip_tiny", "dataset=synthetic", "dataset.num_frames=2", "method.ctx_len=4",
         f"task.text_once_per_step={str(share).lower()}", "optimizer._target_=torch.optim.SGD"], tmp_path),
        resolve=True)
    torch.manual_seed(0)
    module = ClipVideoModule.from_config(cfg, CLASSES)
    before = {k: v.detach().clone() for k, v in module.model.trainable_state_dict().items()}
    passes = []
    encode = module.model.class_text_features
    module.model.class_text_features = lambda *a, **kw: (passes.append(1), encode(*a, **kw))[1]
    generator = torch.Generator().manual_seed(1)
    batches = [{"video": torch.randn(2, 1, 2, 3, 32, 32, generator=generator),
                "label": torch.randint(0, 3, (2,), generator=generator), "index": torch.arange(2),
                "num_bad": torch.tensor(0)} for _ in range(ACCUMULATE)]
    trainer = pl.Trainer(accelerator="cpu", max_steps=1, accumulate_grad_batches=ACCUMULATE, precision=precision,
                         logger=False, enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False, limit_val_batches=0, gradient_clip_val=1.0)
    trainer.fit(module, train_dataloaders=torch.utils.data.DataLoader(batches, batch_size=None))
    assert trainer.global_step == 1
    return before, module.model.trainable_state_dict(), len(passes), module


@pytest.mark.parametrize("precision", ["32-true", "bf16-mixed", "bf16-true"])
def test_shared_text_features_match_per_batch_encoding(compose, tmp_path, precision):
    before, shared, shared_passes, module = _train_one_step(compose, tmp_path, True, precision)
    _, per_batch, per_batch_passes, _ = _train_one_step(compose, tmp_path, False, precision)
    assert module._text_window is not None and (shared_passes, per_batch_passes) == (1, ACCUMULATE)
    for key, start in before.items():
        update, reference = (shared[key] - start).float(), (per_batch[key] - start).float()
        if key == "text_encoder.ctx":
            assert reference.abs().max() > 0, "the context must have trained"
        if precision == "32-true":        # the same sum of gradients: only the parameters' fp32 rounding
            tolerance = 2 ** -21 * start.float().abs() + 1e-6 * reference.abs().max() + 1e-12
        elif precision == "bf16-mixed":   # fp32 weights, bf16 activations: a few units of bf16's 2^-8
            tolerance = 2 ** -5 * reference.abs().max() + 1e-12
        else:                             # bf16 weights: the two steps round to at most one bf16 step apart
            tolerance = 2 ** -7 * start.float().abs() + 1e-12
        assert ((update - reference).abs() <= tolerance).all(), (key, (update - reference).abs().max())
