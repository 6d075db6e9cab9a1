"""load_clip_run: a finished run comes back in eval mode with its learned tensors; bad run folders are UserErrors."""
import json
import shutil

import pytest
import torch

from src.clip.run_loading import load_clip_run
from src.core.errors import UserError


def test_a_trained_run_comes_back_with_its_weights_and_bad_folders_are_refused(cli, tiny_clip_run, synthetic_root,
                                                                             tmp_path):
    result = cli(["method=video_coop", "dataset=ucf101", f"dataset.root={synthetic_root}", *tiny_clip_run,
                  "trainer.max_epochs=1", "run_id=r"], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    models = tmp_path / "models"
    run = load_clip_run("video_coop/ucf101/r", models)
    saved = torch.load(models / "video_coop/ucf101/r/checkpoint.pth", weights_only=True)
    assert run.checkpoint == models / "video_coop/ucf101/r/checkpoint.pth"
    assert run.class_names == saved["meta"]["class_names"] and run.config["method"]["name"] == "video_coop"
    assert "trainer" not in run.config  # only the sections the model is rebuilt from (src/core/run_config.py)
    assert not run.module.training and not run.module.model.training
    learned = run.module.model.trainable_state_dict()
    assert learned.keys() == saved["state_dict"].keys()
    assert all(torch.equal(learned[k], saved["state_dict"][k]) for k in learned)
    # the same run by folder path, with a protocol override merged into its config
    again = load_clip_run(str(models / "video_coop/ucf101/r"), tmp_path / "elsewhere",
                          overrides={"dataset": {"num_temporal_views": 3}})
    assert again.config["dataset"]["num_temporal_views"] == 3 and again.config["method"] == run.config["method"]
    # the random-init frozen CLIP is rebuilt identically from the run's seed
    assert torch.equal(run.module.model.clip.visual.proj, again.module.model.clip.visual.proj)

    with pytest.raises(UserError, match="not a task=clip run folder"):
        load_clip_run(str(tmp_path), models)
    with pytest.raises(UserError, match="no-such-run"):
        load_clip_run("video_coop/ucf101/no-such-run", models)
    broken = models / "video_coop/ucf101/broken"
    shutil.copytree(models / "video_coop/ucf101/r", broken)
    (broken / "checkpoint.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(UserError, match="not a readable PyTorch checkpoint"):
        load_clip_run("video_coop/ucf101/broken", models)
    (broken / "checkpoint.pth").unlink()
    with pytest.raises(UserError, match="no checkpoint"):
        load_clip_run("video_coop/ucf101/broken", models)
    assert json.loads((broken / "config.json").read_text())["run_id"] == "r"
