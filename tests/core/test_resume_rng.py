"""RngState restores the GPU RNG states that both the checkpoint and this process have: a run saved with more or
fewer GPUs visible (or on the CPU) resumes, and logs the difference. Simulated on the CPU: torch.cuda's device
count and state setters are replaced by fakes that refuse a GPU that does not exist, as the real ones do."""
import random

import numpy as np
import pytest
import torch

from src.core import resume


@pytest.fixture
def fake_gpus(monkeypatch):
    """fake_gpus(n) -> {device index: state set}; n GPUs visible (0: no CUDA)."""
    def install(visible: int) -> dict[int, torch.Tensor]:
        restored: dict[int, torch.Tensor] = {}

        def set_rng_state(state: torch.Tensor, device: int = 0) -> None:
            if device >= visible:
                raise RuntimeError(f"CUDA error: invalid device ordinal {device}")
            restored[device] = state

        monkeypatch.setattr(torch.cuda, "is_available", lambda: visible > 0)
        monkeypatch.setattr(torch.cuda, "device_count", lambda: visible)
        monkeypatch.setattr(torch.cuda, "set_rng_state", set_rng_state)
        monkeypatch.setattr(torch.cuda, "set_rng_state_all",
                            lambda states: [set_rng_state(s, i) for i, s in enumerate(states)])
        return restored
    return install


def _saved_with_gpus(count: int) -> dict:
    state = {"torch": torch.get_rng_state(), "python": random.getstate()}
    name, keys, pos, has_gauss, cached = np.random.get_state()
    state["numpy"] = {"name": name, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                      "has_gauss": int(has_gauss), "cached_gaussian": float(cached)}
    if count:
        state["cuda"] = [torch.full((16,), i, dtype=torch.uint8) for i in range(count)]
    return state


@pytest.mark.parametrize("saved, visible", [(2, 1), (1, 2), (4, 0), (0, 1)])
def test_only_the_gpus_both_have_are_restored_and_the_difference_is_logged(fake_gpus, caplog, saved, visible):
    restored = fake_gpus(visible)
    resume._restore(_saved_with_gpus(saved))
    both = min(saved, visible)
    assert sorted(restored) == list(range(both))
    assert all(torch.equal(restored[i], torch.full((16,), i, dtype=torch.uint8)) for i in restored)
    assert f"the checkpoint holds the RNG state of {saved} GPU(s), {visible} are visible now" in caplog.text


def test_the_same_gpus_restore_every_state_silently(fake_gpus, caplog):
    restored = fake_gpus(2)
    resume._restore(_saved_with_gpus(2))
    assert sorted(restored) == [0, 1] and "GPU(s)" not in caplog.text


def test_cpu_states_round_trip():
    state = resume._capture()
    expected = torch.rand(3), np.random.rand(), random.random()
    resume._restore(state)
    assert torch.equal(torch.rand(3), expected[0]) and np.random.rand() == expected[1]
    assert random.random() == expected[2]
