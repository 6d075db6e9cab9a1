"""A run's clip settings: how its training clips were cut from footage, so detection cuts windows the same way.

    settings = clips_settings_of(train_files)    # from the clips' folders' summary.json (make_header_clips or
                                                 # src.detect export_clips), None for other clips
    write_clip_settings(run_dir, settings)       # the run's clip_settings.json
    read_clip_settings(run_dir)                  # checked data, or None

A clip at <folder>/clips/<name>.npy belongs to <folder>/summary.json's `clip_settings`.
"""
import json
import logging
from pathlib import Path

from src.core.atomic import write_json
from src.core.errors import UserError
from src.header.footage.crop import CROP_MODES

log = logging.getLogger(__name__)

FILE = "clip_settings.json"
# key -> (type, smallest value)
FIELDS = {"crop": (str, None), "crop_scale": (float, 0.0), "min_crop": (int, 1), "size": (int, 1),
          "num_frames": (int, 1), "frame_step": (int, 1), "max_track_gap": (int, 0), "min_track_score": (float, None)}


def clips_settings_of(files: list[str]) -> dict | None:
    """The one clip_settings of the folders these clips came from; None when none recorded any (or, with a warning,
    when they disagree)."""
    found: dict[str, dict] = {}
    for folder in {Path(f).parent for f in files}:
        summary = folder.parent / "summary.json"
        if folder.name != "clips" or not summary.is_file():
            continue
        try:
            settings = json.loads(summary.read_text()).get("clip_settings")
        except (OSError, ValueError, AttributeError):
            continue
        if isinstance(settings, dict) and _problem(settings) is None:
            found[json.dumps(settings, sort_keys=True)] = settings
    if len(found) > 1:
        log.warning("the training clips were cut with %d different settings (%s); detection will not know which to "
                    "use: give detect.crop_scale / min_crop / crop_size / frame_step explicitly", len(found),
                    "; ".join(found))
        return None
    return next(iter(found.values()), None)


def write_clip_settings(run_dir: Path, settings: dict | None) -> None:
    if settings is not None:
        write_json(Path(run_dir) / FILE, settings)


def read_clip_settings(run_dir: Path) -> dict | None:
    path = Path(run_dir) / FILE
    if not path.is_file():
        return None
    try:
        settings = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise UserError(f"{path}: unreadable ({err}); the run folder is damaged, train the run again") from None
    problem = _problem(settings)
    if problem:
        raise UserError(f"{path}: {problem}; the run folder is damaged, train the run again")
    return settings


def _problem(settings) -> str | None:
    if not isinstance(settings, dict):
        return "not a JSON object"
    for key, (kind, low) in FIELDS.items():
        value = settings.get(key)
        if kind is str:
            if value not in CROP_MODES:
                return f"{key}={value!r} is not one of {', '.join(CROP_MODES)}"
        elif isinstance(value, bool) or not isinstance(value, (int, float)) or (kind is int and value != int(value)):
            return f"{key}={value!r} is not {'an integer' if kind is int else 'a number'}"
        elif low is not None and not value >= low or (key == "crop_scale" and value <= 0):
            return f"{key}={value!r} is out of range"
    return None
