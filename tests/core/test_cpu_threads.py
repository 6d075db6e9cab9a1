"""trainer.cpu_threads: torch's intra-op threads, applied once before the Trainer is built."""
import pytest
import torch
from omegaconf import OmegaConf

from src.core.cpu_threads import apply_cpu_threads, resolve_cpu_threads
from src.core.errors import UserError


def test_auto_leaves_the_workers_their_cores():
    assert resolve_cpu_threads("auto", num_workers=4, cores=16) == 12
    assert resolve_cpu_threads("auto", num_workers=4, cores=2) == 1      # never below one thread
    assert resolve_cpu_threads("auto", num_workers=0, cores=8) is None   # no workers: torch's default
    assert resolve_cpu_threads(3, num_workers=4, cores=2) == 3
    assert resolve_cpu_threads(None, num_workers=4, cores=2) is None


@pytest.mark.parametrize("bad", [0, -2, "many", 1.5, True])
def test_a_bad_setting_is_a_user_error(bad):
    with pytest.raises(UserError, match="trainer.cpu_threads"):
        resolve_cpu_threads(bad, num_workers=0, cores=2)


def test_apply_sets_torch_threads_and_takes_the_key_out_of_the_trainer_section():
    before = torch.get_num_threads()
    cfg = OmegaConf.create({"trainer": {"_target_": "pytorch_lightning.Trainer", "cpu_threads": 1},
                            "dataset": {"num_workers": 2}})
    try:
        assert apply_cpu_threads(cfg) == 1 and torch.get_num_threads() == 1
        assert "cpu_threads" not in cfg.trainer  # the rest is handed to pytorch_lightning.Trainer
    finally:
        torch.set_num_threads(before)


def test_train_rejects_a_bad_setting_before_any_run_folder(cli, tmp_path, tiny_clip_run):
    result = cli([*tiny_clip_run, "trainer.cpu_threads=0"], tmp_path)
    assert result.returncode == 2 and result.stderr.strip().startswith("error: trainer.cpu_threads=0")
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert not (tmp_path / "models").exists() and not (tmp_path / "report").exists()
