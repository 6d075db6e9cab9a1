"""The synthetic action set as Something-Something v2 unpacks: VP9 .webm videos named by id, JSON annotations.

    <root>/20bn-something-something-v2/<id>.webm
    <root>/labels/labels.json       {"Pushing something from left to right": "4", …} (sorted by name, as SSv2's)
    <root>/labels/train.json        [{"id": "1", "label": "pushing a yellow disc from left to right",
    <root>/labels/validation.json     "template": "Pushing [something] from left to right",
                                      "placeholders": ["a yellow disc"]}, …]
    <root>/labels/test.json         [{"id": "9"}, …]: no labels, as SSv2's

Each synthetic class gets the SSv2 template that describes it (MovingLeft / MovingRight are SSv2's own "Pushing
something from right to left" / "… from left to right" pair, which a horizontal flip swaps). Group 1 of every class
is validation, group 2 test, the rest train. Used by archive_layouts.arrange on make_action_dataset's temp folder.
"""
import json
import os
import re
import shutil
from pathlib import Path

from src.synthetic import ucf_layout

VIDEO_DIR, LABEL_DIR = "20bn-something-something-v2", "labels"
TEMPLATES = {
    "BlueTriangleStill": "Showing [a blue triangle] to the camera",
    "GreenCircleStill": "Showing [a green circle] to the camera",
    "RedSquareStill": "Showing [a red square] to the camera",
    "MovingLeft": "Pushing [something] from right to left",
    "MovingRight": "Pushing [something] from left to right",
    "Growing": "Moving [something] towards the camera",
    "Shrinking": "Moving [something] away from the camera",
}
OBJECT = "a yellow disc"            # what "[something]" stands for in the filled-in label
_BRACKETED = re.compile(r"\[([^\]]*)\]")


def flat_video_path(class_name: str, group: int, clip: int) -> str:
    """Where the clip is encoded first (UCF-101's path, as VP9 .webm): `arrange` renames it to <id>.webm."""
    return str(Path(ucf_layout.video_path(class_name, group, clip)).with_suffix(".webm"))


def class_name_of(template: str) -> str:
    """The labels.json key of a template: the brackets removed."""
    return template.replace("[", "").replace("]", "")


def annotation(video_id: str, template: str) -> dict:
    """One row of train.json / validation.json: the template, its placeholders and the filled-in label."""
    placeholders = [OBJECT if text == "something" else text for text in _BRACKETED.findall(template)]
    filled = iter(placeholders)
    label = _BRACKETED.sub(lambda _: next(filled), template)
    return {"id": video_id, "label": label[0].lower() + label[1:], "template": template, "placeholders": placeholders}


def arrange(tmp: Path, class_names: list[str], groups: int, clips_per_group: int) -> None:
    """Move the flat set's .webm clips in `tmp` to <id>.webm and write the four JSON files."""
    (tmp / VIDEO_DIR).mkdir()
    rows: dict[str, list[dict]] = {"train": [], "validation": [], "test": []}
    video_id = 0
    for name in class_names:
        for group in range(1, groups + 1):
            split = {1: "validation", 2: "test"}.get(group, "train")
            for clip in range(1, clips_per_group + 1):
                video_id += 1
                os.replace(tmp / flat_video_path(name, group, clip), tmp / VIDEO_DIR / f"{video_id}.webm")
                row = annotation(str(video_id), TEMPLATES[name])
                rows[split].append(row if split != "test" else {"id": row["id"]})
        (tmp / name).rmdir()
    shutil.rmtree(tmp / ucf_layout.LIST_DIR)
    (tmp / LABEL_DIR).mkdir()
    names = sorted(class_name_of(TEMPLATES[name]) for name in class_names)
    _write_json(tmp / LABEL_DIR / "labels.json", {name: str(index) for index, name in enumerate(names)})
    for split, split_rows in rows.items():
        _write_json(tmp / LABEL_DIR / f"{split}.json", split_rows)


def _write_json(path: Path, data) -> None:
    path.write_text(json.dumps(data, indent=4) + "\n")
