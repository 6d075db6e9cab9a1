"""Encoding the class prompts once per optimizer step gives exactly the per-micro-batch gradients."""
import pytorch_lightning as pl
import torch
from omegaconf import OmegaConf

from src.clip.module import ClipVideoModule


def _compose_dict(compose, overrides: list[str], tmp_path) -> dict:
    return OmegaConf.to_container(compose(overrides, tmp_path), resolve=True)


def _train_one_window(compose, tmp_path, share: bool) -> dict[str, torch.Tensor]:
    cfg = _compose_dict(compose, ["backbone=clip_tiny", "dataset=synthetic", "dataset.num_frames=2", "method.ctx_len=4",
                       f"task.text_once_per_step={str(share).lower()}"], tmp_path)
    torch.manual_seed(0)
    module = ClipVideoModule.from_config(cfg, ["red square", "green circle", "moving left"])
    generator = torch.Generator().manual_seed(1)
    batches = [{"video": torch.randn(2, 1, 2, 3, 32, 32, generator=generator),
                "label": torch.randint(0, 3, (2,), generator=generator), "index": torch.arange(2),
                "num_bad": torch.tensor(0)} for _ in range(4)]
    trainer = pl.Trainer(accelerator="cpu", max_steps=1, accumulate_grad_batches=4, logger=False,
                         enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                         limit_val_batches=0, gradient_clip_val=1.0)
    trainer.fit(module, train_dataloaders=torch.utils.data.DataLoader(batches, batch_size=None))
    assert trainer.global_step == 1
    return module.model.trainable_state_dict()


def test_shared_text_features_match_per_batch_encoding(compose, tmp_path):
    shared, per_batch = _train_one_window(compose, tmp_path, True), _train_one_window(compose, tmp_path, False)
    initial = _initial(compose, tmp_path)
    assert not torch.equal(shared["text_encoder.ctx"], initial["text_encoder.ctx"]), "the context must have trained"
    for key in per_batch:
        assert torch.allclose(shared[key], per_batch[key], atol=1e-6), key


def _initial(compose, tmp_path):
    cfg = _compose_dict(compose, ["backbone=clip_tiny", "dataset=synthetic", "dataset.num_frames=2", "method.ctx_len=4"], tmp_path)
    torch.manual_seed(0)
    return ClipVideoModule.from_config(cfg, ["red square", "green circle", "moving left"]).model.trainable_state_dict()
