"""`python -m src.predict` for task=header: .npy clips and videos in a folder with a corrupt clip, labels at the
run's F1-optimal threshold (or threshold=), probabilities equal to the run's model on the clip."""
import json
import shutil

import numpy as np
import pandas as pd
import pytest
import torch
from torchvision import tv_tensors

from src.header.data.dataset import sample_frame_indices
from src.header.data.transforms import build_clip_transform
from src.header.run_loading import load_header_run
from src.synthetic.match_video import render_match_video

TINY_RUN = ["experiment=header_demo", "trainer.max_epochs=1", "dataset.synthetic.num_clips=24", "dataset.input_size=32",
            "dataset.synthetic.size=32", "~callbacks.progress_bar", "run_name=tiny"]


def test_header_predict_on_clips_and_a_video_lists_the_corrupt_clip(cli, tmp_path):
    assert cli(TINY_RUN, tmp_path).returncode == 0
    folder = tmp_path / "inputs"
    folder.mkdir()
    clips = sorted((tmp_path / "data" / "synthetic" / "header" / "clips").glob("*.npy"))[:3]
    for clip in clips:
        shutil.copy(clip, folder / clip.name)
    (folder / "corrupt.npy").write_bytes(b"\x93NUMPY truncated")
    render_match_video(folder / "match.mp4", seed=1, duration_s=4, fps=10, size=32)
    result = cli(["run=tiny", f"inputs={folder}", f"output={tmp_path}/out", "progress=false"], tmp_path,
                 module="src.predict")
    assert result.returncode == 0, result.stderr[-3000:]
    table = pd.read_csv(tmp_path / "out" / "predictions.csv")
    assert list(table.columns) == ["path", "prob_header", "pred_label", "error"] and len(table) == 5
    bad = table[table["path"].str.endswith("corrupt.npy")]
    assert bad["prob_header"].isna().all() and "not a readable .npy file" in bad["error"].iloc[0]
    good = table[table["error"].isna()]
    assert len(good) == 4 and good["path"].str.endswith("match.mp4").sum() == 1
    best = json.loads((tmp_path / "report" / "header_experiments" / "tiny" / "best_metrics.json").read_text())
    threshold = best["best_threshold"]["threshold"]
    assert (good["pred_label"] == (good["prob_header"] >= threshold).astype(int)).all()

    run = load_header_run("tiny", tmp_path / "report" / "header_experiments")
    transform = build_clip_transform(input_size=32, augment=False, flip_prob=0.0, color_jitter={}, normalise=True,
                                     mean=run.config["backbone"]["mean"], std=run.config["backbone"]["std"])
    clip = np.load(clips[0])
    frames = torch.from_numpy(clip[sample_frame_indices(len(clip), 8)]).permute(0, 3, 1, 2)  # (T, 3, H, W)
    video = transform(tv_tensors.Video(frames)).as_subclass(torch.Tensor).permute(1, 0, 2, 3)[None]
    with torch.no_grad():
        expected = run.net(video).softmax(-1)[0, 1].item()
    row = table[table["path"].str.endswith(clips[0].name)]
    assert row["prob_header"].iloc[0] == pytest.approx(expected, abs=1e-5)

    result = cli(["run=tiny", f"inputs={folder}/*.npy", f"output={tmp_path}/all", "threshold=0.0",
                  "progress=false"], tmp_path, module="src.predict")
    assert result.returncode == 0
    relabelled = pd.read_csv(tmp_path / "all" / "predictions.csv")
    assert len(relabelled) == 4 and (relabelled["pred_label"].dropna() == 1).all()
