"""What the bad-input tests share (a helper module, not a conftest): the prior workspace the cases point at, built
once per session in-process, and the one assertion every case makes.

The workspace holds a finished clip run and a finished header run (trained here, in-process: seconds), damaged
copies of their folders, a video, annotation CSVs and files of the wrong kind. After every case the workspace, the
synthetic dataset and the repository root are byte-identical and the test's own tmp folder is still empty.
"""
import hashlib
import json
import os
import random
import shutil
from pathlib import Path
from types import SimpleNamespace

import torch

REPO = Path(__file__).resolve().parents[2]
CLIP = ["method=video_coop", "dataset=ucf101", "backbone=clip_tiny", "trainer=cpu", "dataset.num_frames=4",
        "dataset.num_temporal_views=1", "dataset.num_spatial_views=1", "dataset.batch_size=4", "dataset.num_workers=0",
        "dataset.batches_per_backprop=1", "~callbacks.progress_bar", "logger=csv", "trainer.max_epochs=1"]
HEADER = ["task=header", "backbone=csn_tiny", "dataset=header_synthetic", "trainer=cpu", "dataset.batch_size=4",
          "dataset.num_workers=0", "dataset.synthetic.num_clips=24", "~callbacks.progress_bar", "logger=csv",
          "trainer.max_epochs=1"]
_BUILT: dict[Path, dict] = {}


def prior_workspace(tmp_path_factory, synthetic_root: Path) -> dict:
    """The workspace (made on the first call of the session): paths by name, for `str.format` in the cases."""
    base = tmp_path_factory.getbasetemp()
    if base not in _BUILT:
        _BUILT[base] = _build(tmp_path_factory.mktemp("prior"), synthetic_root)
    return _BUILT[base]


def _build(root: Path, synthetic_root: Path) -> dict:
    from src.train import train
    from tests.composed import compose_config

    environ, threads = dict(os.environ), torch.get_num_threads()
    try:  # train() sets the seed's and the run folder's environment variables and torch's threads: put them back
        train(compose_config([*CLIP, f"dataset.root={synthetic_root}", "run_id=prior"], root))
        train(compose_config([*HEADER, f"dataset.root={root}/header_data", "run_name=prior"], root))
    finally:
        os.environ.clear()
        os.environ.update(environ)
        torch.set_num_threads(threads)
    clip_run, header_run = root / "models/video_coop/ucf101/prior", root / "report/header_experiments/prior"
    video = next(p for p in sorted(synthetic_root.rglob("*.avi")))
    paths = {"root": root, "synthetic": synthetic_root, "clip_run": clip_run, "header_run": header_run,
             "header_data": root / "header_data", "video": video,
             "header_best": next((header_run / "checkpoints").glob("best_epoch_*.pt"))}
    _write_files(root)
    paths.update(_damaged_runs(root / "damaged", clip_run, header_run))
    paths["snapshot"] = snapshot(root, synthetic_root)
    return paths


def _write_files(root: Path) -> None:
    (root / "random.ckpt").write_bytes(os.urandom(4096))
    (root / "json.ckpt").write_text(json.dumps({"state_dict": {}, "epoch": 3}))
    (root / "a_file").write_text("not a folder\n")
    # Seeded: some random bytes parse as a container without a video stream (another, also valid, error line).
    (root / "not_a_video.mp4").write_bytes(random.Random(0).randbytes(2048))
    (root / "events.csv").write_text("frame\n5\n")
    (root / "events_no_frame.csv").write_text("time\n0.5\n")
    (root / "events_negative.csv").write_text("frame\n-3\n")
    (root / "empty_folder").mkdir()


def _damaged_runs(folder: Path, clip_run: Path, header_run: Path) -> dict:
    """Copies of the two runs (the files run loading reads), each damaged in one way."""
    damage = {
        "clip_bad_json": ("config.json", "{not json"), "clip_no_sections": ("config.json", '{"method": {}}'),
        "clip_bad_checkpoint": ("checkpoint.pth", os.urandom(512)), "clip_no_checkpoint": ("checkpoint.pth", None),
        "clip_no_config": ("config.json", None),
        "header_bad_yaml": ("config.yaml", "backbone: [1, 2\n  dataset: }\n"),
        "header_interpolation": ("config.yaml", "backbone: ${nope.key}\ndataset: {num_frames: 8}\nfinetune: {}\nloss: {}\n"
                                 "task: {}\nseed: 0\n"),
        "header_no_dataset": ("config.yaml", "backbone: {kind: csn, mean: [0], std: [1]}\n"),
        "header_bad_best": ("best_metrics.json", "{"), "header_incomplete_best": ("best_metrics.json", "{}"),
        "header_no_checkpoint": ("checkpoints", None),
    }
    found = {}
    for name, (file, content) in damage.items():
        source = clip_run if name.startswith("clip") else header_run
        target = folder / name
        target.mkdir(parents=True)
        for keep in ("config.json", "checkpoint.pth", "config.yaml", "best_metrics.json", "checkpoints"):
            if (source / keep).is_dir():
                shutil.copytree(source / keep, target / keep)
            elif (source / keep).is_file():
                shutil.copy(source / keep, target / keep)
        if (target / file).is_dir():
            shutil.rmtree(target / file)
        else:
            (target / file).unlink()
        if content is not None:
            (target / file).write_bytes(content if isinstance(content, bytes) else content.encode())
        found[name] = target
    return found


def snapshot(*folders: Path) -> dict:
    """Every file (its SHA-256) and folder under `folders`."""
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "folder"
            for folder in folders for p in sorted(folder.rglob("*"))}


def repo_entries() -> set[str]:
    return {p.name for p in REPO.iterdir()}


def fill(args: list[str], prior: dict) -> list[str]:
    return [arg.format(**prior) for arg in args]


def one_error_line(result, *words: str) -> str:
    """The contract on a CliResult / CompletedProcess: exit 2, exactly one stderr line, `error: …` holding every word
    of `words`, no traceback anywhere. Returns the line."""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2, result.stderr[-3000:]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr[-3000:]
    assert "Traceback" not in result.stderr + (result.stdout or "")
    assert all(w in lines[0] for w in words), lines[0]
    return lines[0]


def assert_bad_input(code: int, err: str, words: str, prior: dict, tmp_path: Path, repo_before: set[str]) -> None:
    """Exit 2, exactly one stderr line `error: …` holding `words`, and nothing created or changed anywhere."""
    one_error_line(SimpleNamespace(returncode=code, stderr=err, stdout=""), words)
    assert sorted(tmp_path.iterdir()) == []  # no output folder, no run folder, not even Hydra's
    assert snapshot(prior["root"], prior["synthetic"]) == prior["snapshot"]  # prior runs byte-identical
    assert repo_entries() == repo_before
