"""VideoMix's generator resumes on any device: it draws on the CPU, its checkpointed state is a CPU ByteTensor, so a
CPU last.ckpt continues the exact stream in a process on a GPU (simulated: the module's device is cuda:0), and an
older checkpoint's CUDA generator state is a logged fresh start, not a crash."""
from types import SimpleNamespace

import torch
from omegaconf import OmegaConf

from src.clip.module import ClipVideoModule
from src.clip.videomix import videomix

CLASSES = ["red square", "green circle", "moving left"]


def _module(compose, tmp_path, device: str) -> ClipVideoModule:
    cfg = OmegaConf.to_container(compose(["backbone=clip_tiny", "dataset=synthetic", "dataset.num_frames=2",
                                          "method.ctx_len=4", "method.videomix=spatial"], tmp_path), resolve=True)
    torch.manual_seed(0)
    module = ClipVideoModule.from_config(cfg, CLASSES)
    # What on_fit_start reads of a Trainer; no accelerator is touched, so cuda:0 needs no GPU.
    module._trainer = SimpleNamespace(global_rank=0, world_size=1, accumulate_grad_batches=1, precision="32-true")
    module._device = torch.device(device)
    return module


def _mix_draws(module: ClipVideoModule) -> torch.Tensor:
    video = torch.randn(4, 1, 2, 3, 16, 16, generator=torch.Generator().manual_seed(5))
    mixed, targets = videomix(video, torch.arange(4) % 3, 3, "cube", 1.0, module._mix_gen)
    return torch.cat([mixed.flatten(), targets.flatten()])


def test_a_cpu_checkpoint_resumes_the_exact_videomix_stream_on_a_gpu(compose, tmp_path):
    saved = _module(compose, tmp_path, "cpu")
    saved.on_fit_start()
    _mix_draws(saved)                                         # the stream moved on before the checkpoint
    checkpoint = {"state_dict": saved.state_dict()}
    saved.on_save_checkpoint(checkpoint)
    state = checkpoint["videomix_generator"][0]
    assert state.device.type == "cpu" and state.dtype == torch.uint8
    expected = _mix_draws(saved)                              # what the uninterrupted run draws next

    resumed = _module(compose, tmp_path, "cuda:0")            # the resumed process runs on a GPU
    resumed.on_load_checkpoint(checkpoint)
    resumed.on_fit_start()
    assert resumed._mix_gen.device.type == "cpu"
    assert torch.equal(_mix_draws(resumed), expected)


def test_an_older_checkpoint_with_a_cuda_generator_state_restarts_the_stream_with_a_warning(compose, tmp_path,
                                                                                             caplog):
    cuda_state = torch.tensor([7, 0, 0, 0, 0, 0, 0, 0] + [0] * 8, dtype=torch.uint8)  # Philox: seed + offset
    module = _module(compose, tmp_path, "cpu")
    module.on_load_checkpoint({"videomix_generator": [cuda_state]})
    module.on_fit_start()
    fresh = _module(compose, tmp_path, "cpu")
    fresh.on_fit_start()                                      # seeded, as a run that starts from scratch
    assert torch.equal(_mix_draws(module), _mix_draws(fresh))
    assert "VideoMix restarts its stream from the seed" in caplog.text
