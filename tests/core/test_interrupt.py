"""SIGTERM / SIGINT during a fit (src/core/interrupt.py): the batch finishes, last.ckpt is written at that step, the
run is marked interrupted, the process exits 143 / 130; the resume with ckpt_path= ends with the files of the
uninterrupted run (bitwise on CPU). The signal comes from tests/core/kill_switch.py inside the run."""
import json
import signal

import torch

from tests.core.resumed_runs import KILL, assert_same, clip_files, run_train, steps_per_epoch


def _base(synthetic_root, tiny_clip_run) -> list[str]:
    # One torch thread in-process and in the subprocess: the runs compared bitwise must do the same arithmetic.
    return ["method=video_coop", "dataset=ucf101", f"dataset.root={synthetic_root}", *tiny_clip_run,
            "trainer.max_epochs=2", "~callbacks.early_stopping", "trainer.cpu_threads=1"]


def test_sigterm_mid_epoch_checkpoints_that_step_exits_143_and_resumes_exactly(cli, tmp_path, synthetic_root,
                                                                               tiny_clip_run):
    base = _base(synthetic_root, tiny_clip_run)
    assert cli([*base, "run_id=ref"], tmp_path / "ref").returncode == 0
    reference = tmp_path / "ref/models/video_coop/ucf101/ref"
    steps = steps_per_epoch(reference)
    at = steps + steps // 2  # inside epoch 1; no step checkpoints are configured (last_every_n_steps: null)
    assert steps >= 2
    proc = run_train(tmp_path / "cut", [*base, "run_id=cut", KILL, f"+callbacks.kill.at_step={at}",
                                   "+callbacks.kill.signal_name=SIGTERM"])
    assert proc.returncode == 143, proc.stderr[-3000:]
    run = tmp_path / "cut/models/video_coop/ucf101/cut"
    assert f"interrupted by SIGTERM at step {at}: {run / 'last.ckpt'} written" in proc.stderr
    assert "Traceback" not in proc.stderr
    last = torch.load(run / "last.ckpt", map_location="cpu", weights_only=True)
    assert last["global_step"] == at and last["epoch"] == 1
    status = json.loads((run / "status.json").read_text())
    assert status["status"] == "interrupted" and "SIGTERM" in status["error"]
    assert "status" not in json.loads((run / "config.json").read_text())  # interrupted is not failed
    assert not list(run.rglob("*.tmp"))

    resumed = cli([*base, f"ckpt_path={run / 'last.ckpt'}"], tmp_path / "cut")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert_same(clip_files(reference), clip_files(run))
    assert json.loads((run / "status.json").read_text())["status"] == "finished"


def test_sigint_exits_130_with_last_ckpt_and_the_signal_handlers_put_back(cli, tmp_path, synthetic_root,
                                                                           tiny_clip_run):
    handlers = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    result = cli([*_base(synthetic_root, tiny_clip_run), "trainer.max_epochs=1", "run_id=r", KILL,
                  "+callbacks.kill.at_step=2", "+callbacks.kill.signal_name=SIGINT"], tmp_path)
    assert result.returncode == 130, result.stderr[-3000:]
    run = tmp_path / "models/video_coop/ucf101/r"
    assert torch.load(run / "last.ckpt", map_location="cpu", weights_only=True)["global_step"] == 2
    assert json.loads((run / "status.json").read_text())["status"] == "interrupted"
    assert {s: signal.getsignal(s) for s in handlers} == handlers


def test_with_gradient_accumulation_the_stop_waits_for_the_optimizer_step(cli, tmp_path, synthetic_root,
                                                                          tiny_clip_run):
    """Accumulated gradients are not in a checkpoint: a signal after batch 3 of 2-batch steps stops after batch 4."""
    result = cli([*_base(synthetic_root, tiny_clip_run), "trainer.max_epochs=1", "dataset.batch_size=2",
                  "trainer.accumulate_grad_batches=2", "run_id=r", KILL, "+callbacks.kill.at_batch=3",
                  "+callbacks.kill.signal_name=SIGINT"], tmp_path)
    assert result.returncode == 130, result.stderr[-3000:]
    last = torch.load(tmp_path / "models/video_coop/ucf101/r/last.ckpt", map_location="cpu", weights_only=True)
    batches = last["loops"]["fit_loop"]["epoch_loop.batch_progress"]["current"]["processed"]
    assert last["global_step"] == 2 and batches == 4
