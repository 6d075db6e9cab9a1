"""detect.tracks: which ball track of the CSV belongs to the video being scored.

A CSV without video_id,half columns is this video's. Otherwise (video_id, half) is detect.video_id/detect.half when
given, the CSV's only pair, or the pair the video's path names (<video_id>/<half>_*.mkv, SoccerNet's layout, or
<video_id>_<half>.mkv). A track with no box inside the video is refused: it belongs to another video.
"""
from pathlib import Path

from src.core.errors import UserError
from src.header.footage.tracks import BallTrack, read_tracks


def choose_track(detect: dict, video: Path, video_frames: int | None, min_score: float) -> tuple[BallTrack, tuple]:
    """(the track, (video_id, half)) for `video`; (video_id, half) is (detect.video_id, detect.half) for a CSV of one
    video."""
    tracks = read_tracks([Path(detect["tracks"])], min_score=min_score, name="detect.tracks")
    if None in tracks:
        key, track = (detect["video_id"], detect["half"]), tracks[None]
    else:
        key = _pick_key(sorted(tracks), detect, Path(video))
        track = tracks[key]
    inside = (track.frames >= 0) & (track.frames < (video_frames if video_frames is not None else float("inf")))
    if not inside.any():
        raise UserError(f"detect.tracks={detect['tracks']}: no ball box of {key if key[0] is not None else 'it'} "
                        f"lies in frames 0..{video_frames - 1 if video_frames else '?'} of {video}; give the "
                        "track of this video")
    return track, key


def _pick_key(keys: list[tuple[str, int]], detect: dict, video: Path) -> tuple[str, int]:
    shown = ", ".join(f"{v}/{h}" for v, h in keys[:4]) + (", …" if len(keys) > 4 else "")
    if detect["video_id"] is not None or detect["half"] is not None:
        wanted = [k for k in keys if (detect["video_id"] is None or k[0] == str(detect["video_id"]))
                  and (detect["half"] is None or k[1] == int(detect["half"]))]
        if len(wanted) != 1:
            raise UserError(f"detect.video_id={detect['video_id']}, detect.half={detect['half']}: {len(wanted)} tracks "
                            f"of detect.tracks={detect['tracks']} match (it has {shown}); name one video_id and half")
        return wanted[0]
    if len(keys) == 1:
        return keys[0]
    named = [k for k in keys if _names(video, k)]
    if len(named) != 1:
        raise UserError(f"detect.tracks={detect['tracks']}: holds the tracks of {len(keys)} videos ({shown}) and "
                        f"the video's path does not pick one; add detect.video_id=<id> detect.half=<1|2>")
    return named[0]


def _names(video: Path, key: tuple[str, int]) -> bool:
    """Does the video's path name (video_id, half)? <video_id>/<half>_*.ext or <video_id>_<half>.ext."""
    video_id, half = key
    folder = video.parent.as_posix()
    in_folder = (folder == video_id or folder.endswith(f"/{video_id}")) and video.stem.startswith(f"{half}_")
    return in_folder or video.stem == f"{video_id}_{half}"
