"""load_header_run: a finished Header Net run comes back in eval mode; bad run folders are UserErrors."""
import json

import pytest
import torch

from src.core.errors import UserError
from src.header.run_loading import load_header_run

TINY_DEMO = ["experiment=header_demo", "trainer.max_epochs=1", "dataset.synthetic.num_clips=24",
             "dataset.input_size=32", "dataset.synthetic.size=32", "~callbacks.progress_bar", "run_name=h"]


def test_a_trained_header_run_comes_back_and_bad_folders_are_refused(cli, tmp_path):
    result = cli(TINY_DEMO, tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    reports = tmp_path / "report" / "header_experiments"
    run = load_header_run("h", reports)
    best = json.loads((reports / "h" / "best_metrics.json").read_text())
    assert run.checkpoint == reports / "h" / best["checkpoint"]
    assert run.threshold == best["best_threshold"]["threshold"]
    assert run.config["backbone"]["name"] == "csn-tiny" and not run.net.training
    saved = torch.load(run.checkpoint, weights_only=True)["state_dict"]
    assert all(torch.equal(run.net.state_dict()[k], v) for k, v in saved.items())
    assert load_header_run(str(reports / "h"), tmp_path).threshold == run.threshold   # by folder path too

    with pytest.raises(UserError, match="not a task=header run folder"):
        load_header_run(str(tmp_path), reports)
    run.checkpoint.write_bytes(b"junk")
    with pytest.raises(UserError, match="not a readable PyTorch checkpoint"):
        load_header_run("h", reports)
    run.checkpoint.unlink()
    with pytest.raises(UserError, match="missing"):
        load_header_run("h", reports)
