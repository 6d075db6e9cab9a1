"""The embedded synthetic datasets: UCF-101-layout action videos and soccer-header .npy clips.

    python -m data_tools.make_synthetic                     # both, with the defaults below
    python -m data_tools.make_synthetic action --root data/synthetic/ucf_synth --seed 0 --groups 7
    python -m data_tools.make_synthetic header --root data/synthetic/header --seed 0 --num_clips 64

Action set (see src/synthetic/action_clips.py for the classes, CLASS_GROUPS for appearance vs motion):
`<root>/<Class>/v_<Class>_gXX_cYY.{avi,mp4}` (MPEG-4 Part 2 .avi and H.264 .mp4 alternate) and
`<root>/ucfTrainTestlist/` with classInd.txt, trainlist0{1,2,3}.txt, testlist0{1,2,3}.txt.
Header set: `<root>/clips/*.npy` (T, H, W, 3) uint8 and `<root>/all_clips.csv` (path,label,video_id,half,frame).

Both are deterministic for a seed, built in a temp folder and renamed into place (an interrupted run never
leaves a half dataset), and skipped when already complete with the same parameters unless --force.
"""
import csv
import logging
import math
from pathlib import Path

import numpy as np

from src.core.errors import UserError
from src.synthetic import archive_layouts, ucf_layout
from src.synthetic.action_clips import ACTION_CLASSES, CLASS_GROUPS, MOTION_PAIRS, render_action_clip
from src.synthetic.dataset_dir import build_dataset_dir
from src.synthetic.header_clips import render_header_clip
from src.synthetic.video_encoding import FPS, encode_video

__all__ = ["ACTION_CLASSES", "CLASS_GROUPS", "MOTION_PAIRS", "HEADER_CSV", "make_action_dataset",
           "make_header_dataset"]

log = logging.getLogger(__name__)

HEADER_CSV = "all_clips.csv"
HEADER_COLUMNS = ("path", "label", "video_id", "half", "frame")
_CLIPS_PER_MATCH = 16  # header clips per (match, both halves): several clips share each (video_id, half)
_FRAMES_PER_HALF = 45 * 60 * FPS  # a 45-minute half at 25 fps: the range of the `frame` column


def make_action_dataset(root: Path, *, seed: int, groups: int, clips_per_group: int, num_frames: int,
                        width: int, height: int, force: bool = False, layout: str = "flat") -> Path:
    """Write the synthetic action set under `root` (skipped when complete); returns root.

    layout: flat (UCF-101 class folders + lists in the root) or the tree a real archive unpacks to: ucf101,
    hmdb51, kinetics400, kinetics600, ssv2 (VP9 .webm videos; see src/synthetic/archive_layouts.py).
    """
    _require(seed >= 0, "seed", f"must be >= 0, got {seed}")
    _require(groups >= 2, "groups", f"must be >= 2 so every split has train and test groups, got {groups}")
    _require(clips_per_group >= 1, "clips_per_group", f"must be >= 1, got {clips_per_group}")
    _require(num_frames >= 2, "num_frames", f"must be >= 2 to show motion, got {num_frames}")
    _require(width >= 16 and height >= 16 and width % 2 == 0 and height % 2 == 0, "width/height",
             f"must be even and >= 16 (the video encoders need even sizes), got {width}x{height}")
    _require(layout in archive_layouts.LAYOUTS, "layout", f"must be one of {', '.join(archive_layouts.LAYOUTS)}, "
             f"got {layout!r}")
    _require(layout not in archive_layouts.THREE_GROUP_LAYOUTS or groups >= 3, "groups",
             f"must be >= 3 for the {layout} layout (validation, test and train groups), got {groups}")
    params = {"kind": "ucf101_action", "seed": seed, "groups": groups, "clips_per_group": clips_per_group,
              "num_frames": num_frames, "width": width, "height": height, "fps": FPS,
              "classes": list(ACTION_CLASSES)}
    if layout != "flat":  # only then: sets made before layouts existed stay complete
        params["layout"] = layout

    def build(tmp: Path) -> list[str]:
        for class_index, name in enumerate(ACTION_CLASSES):
            (tmp / name).mkdir()
            for group in range(1, groups + 1):
                for clip in range(1, clips_per_group + 1):
                    rng = np.random.default_rng([seed, class_index, group, clip])
                    frames = render_action_clip(name, rng, num_frames, width, height)  # (T, H, W, 3) uint8
                    relative = archive_layouts.video_path(layout, name, group, clip)
                    encode_video(tmp / relative, frames)
        ucf_layout.write_split_lists(tmp, list(ACTION_CLASSES), groups, clips_per_group)
        return archive_layouts.arrange(tmp, layout, list(ACTION_CLASSES), groups, clips_per_group)

    if build_dataset_dir(Path(root), params, build, force):
        log.info("%s: wrote %d videos of %d classes", root, len(ACTION_CLASSES) * groups * clips_per_group,
                 len(ACTION_CLASSES))
    return Path(root)


def make_header_dataset(root: Path, *, seed: int, num_clips: int, num_frames: int, size: int,
                        positive_fraction: float, force: bool = False) -> Path:
    """Write synthetic header clips + `<root>/all_clips.csv` (skipped when complete); returns the CSV path."""
    _require(seed >= 0, "seed", f"must be >= 0, got {seed}")
    _require(num_clips >= 2, "num_clips", f"must be >= 2 (one of each label), got {num_clips}")
    _require(num_frames >= 4, "num_frames", f"must be >= 4 so a clip has middle frames, got {num_frames}")
    _require(size >= 32, "size", f"must be >= 32 px for the player and ball to fit, got {size}")
    _require(0.0 < positive_fraction < 1.0, "positive_fraction",
             f"must be strictly between 0 and 1, got {positive_fraction}")
    params = {"kind": "header_clips", "seed": seed, "num_clips": num_clips, "num_frames": num_frames,
              "size": size, "positive_fraction": float(positive_fraction)}

    def build(tmp: Path) -> list[str]:
        (tmp / "clips").mkdir()
        rows = _plan_header_rows(seed, num_clips, positive_fraction)
        for index, row in enumerate(rows):
            rng = np.random.default_rng([seed, 1, index])
            clip, _ = render_header_clip(rng, row["label"] == 1, num_frames, size)  # (T, S, S, 3) uint8
            np.save(tmp / row["path"], clip, allow_pickle=False)
        with open(tmp / HEADER_CSV, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=HEADER_COLUMNS, lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
        return [row["path"] for row in rows] + [HEADER_CSV]

    if build_dataset_dir(Path(root), params, build, force):
        log.info("%s: wrote %d header clips", root, num_clips)
    return Path(root) / HEADER_CSV


def _plan_header_rows(seed: int, num_clips: int, positive_fraction: float) -> list[dict]:
    """Labels (exactly round(fraction · n) positives, at least one of each), matches, halves and frames."""
    rng = np.random.default_rng([seed, 0])
    num_positive = min(max(round(num_clips * positive_fraction), 1), num_clips - 1)
    labels = np.zeros(num_clips, dtype=int)
    labels[:num_positive] = 1
    rng.shuffle(labels)
    halves = [(match, half) for match in range(1, max(2, math.ceil(num_clips / _CLIPS_PER_MATCH)) + 1)
              for half in (1, 2)]
    # A random permutation dealt round-robin: every (match, half) gets about the same number of clips.
    assignment = rng.permutation(num_clips) % len(halves)
    rows = []
    for slot, (match, half) in enumerate(halves):
        members = np.flatnonzero(assignment == slot)
        frames = np.sort(rng.choice(_FRAMES_PER_HALF, size=len(members), replace=False))
        for member, frame in zip(members, frames):
            video_id = f"match_{match:02d}"
            rows.append({"path": f"clips/{video_id}_h{half}_f{frame:06d}.npy", "label": int(labels[member]),
                         "video_id": video_id, "half": half, "frame": int(frame)})
    return rows


def _require(condition: bool, key: str, problem: str) -> None:
    if not condition:
        raise UserError(f"make_synthetic {key}: {problem}; fix the argument")
