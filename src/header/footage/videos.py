"""Which file is the video of (video_id, half): SoccerNet's layout or one file per half.

    ROOT/<video_id>/<half>_*.{mkv,mp4,avi}       (SoccerNet: 1_224p.mkv, 2_720p.mkv, ...)
    ROOT/<video_id>_<half>.{mkv,mp4,avi}

A labels row's `video_path` overrides the lookup (absolute, or relative to the labels CSV's folder, else to the
current folder). No file, or several, is that row's skip reason, never a crash.
"""
import re
from pathlib import Path

VIDEO_SUFFIXES = (".mkv", ".mp4", ".avi")


def find_video(root: Path | None, video_id: str, half: int, video_path: str, source: str) -> tuple[Path | None, str]:
    """(the video, "") or (None, the reason: video_missing / video_ambiguous ...)."""
    if video_path:
        given = Path(video_path)
        for candidate in ([given] if given.is_absolute() else [Path(source) / given, Path.cwd() / given]):
            if candidate.is_file():
                return candidate, ""
        return None, f"video_missing: video_path {video_path} not found (relative to {source} or the current folder)"
    if root is None:
        return None, "video_missing: no --videos folder given and the row has no video_path"
    folder = root / video_id
    found = sorted(p for p in folder.glob(f"{half}_*") if p.suffix.lower() in VIDEO_SUFFIXES and p.is_file()) \
        if folder.is_dir() else []
    found += [p for p in (root / f"{video_id}_{half}{s}" for s in VIDEO_SUFFIXES) if p.is_file()]
    if not found:
        return None, (f"video_missing: neither {folder}/{half}_*.mkv|mp4|avi nor {root}/{video_id}_{half}.mkv|mp4|avi "
                      "exists")
    if len(found) > 1:
        return None, f"video_ambiguous: {len(found)} videos match ({', '.join(p.name for p in found[:4])}); " \
                     "keep one, or give the row a video_path"
    return found[0], ""


def safe_name(video_id: str) -> str:
    """video_id as part of a file name: anything but letters, digits, '.', '-' and '_' becomes '_'."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", video_id).strip("_") or "video"
