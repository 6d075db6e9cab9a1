"""One file of the tree: re-encoded (a video whose short side is above --short_side, or whose rate --fps changes),
copied byte for byte (a smaller video, any other file), or failed (a video that does not open or decode: reported,
not written).

Whatever is written goes to `.<name>.resize-partial` beside the target and is renamed over it when whole, so the
target name only ever holds a complete file: a killed run leaves at most partial files (removed by the next run,
destination.remove_partials), and the next run skips every target that exists.
"""
import errno
import os
import shutil
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av

from src.clip.data.resize.containers import is_video, output_rate
from src.clip.data.resize.settings import ResizeSettings, output_size
from src.clip.data.resize.transcode import UnreadableVideo, open_video, reencode
from src.core.disk_errors import disk_error
from src.core.errors import one_line

PARTIAL_SUFFIX = ".resize-partial"
REENCODED, COPIED, COPIED_OTHER, FAILED = "reencoded", "copied", "copied_other", "failed"


@dataclass(frozen=True)
class FileJob:
    source: Path
    target: Path
    relative: str              # the path under --src (and under --dst)
    settings: ResizeSettings


@dataclass
class FileResult:
    relative: str
    action: str                # REENCODED, COPIED (a video already small enough), COPIED_OTHER, FAILED
    reason: str = ""           # FAILED: why
    bytes_in: int = 0
    bytes_out: int = 0
    frames_in: int = 0         # REENCODED: frames decoded and written
    frames_out: int = 0


def partial_path(target: Path) -> Path:
    return target.with_name(f".{target.name}{PARTIAL_SUFFIX}")


def process(job: FileJob) -> FileResult:
    """Do one file. A disk error writing the output (full, read-only) is raised: it would fail every file after."""
    partial = partial_path(job.target)
    job.target.parent.mkdir(parents=True, exist_ok=True)
    try:
        if not is_video(job.source.suffix):
            result = _copy(job, partial, COPIED_OTHER)
        else:
            result = _video(job, partial)
    except (av.FFmpegError, OSError, UnreadableVideo) as err:
        partial.unlink(missing_ok=True)
        disk = disk_error(err)   # full, over quota, read-only: writing failed; permission denied: maybe the source
        if disk is not None and (disk.errno != errno.EACCES or disk.filename != str(job.source)):
            raise
        return FileResult(job.relative, FAILED, reason=one_line(err).replace(str(job.source), "").strip(": "),
                          bytes_in=_size(job.source))
    except BaseException:          # interrupted: no partial file left behind where we can help it
        partial.unlink(missing_ok=True)
        raise
    os.replace(partial, job.target)
    result.bytes_out = job.target.stat().st_size
    return result


def _video(job: FileJob, partial: Path) -> FileResult:
    settings = job.settings
    with open_video(job.source) as source:
        size = output_size(source.width, source.height, settings.short_side)
        new_rate = settings.fps is not None and output_rate(Fraction(settings.fps)) != output_rate(source.rate)
        if size is None and not new_rate:
            return _copy(job, partial, COPIED)
        size = size or (source.width - source.width % 2, source.height - source.height % 2)
        frames_in, frames_out = reencode(source, partial, job.source.suffix, settings, size)
    return FileResult(job.relative, REENCODED, bytes_in=_size(job.source), frames_in=frames_in,
                      frames_out=frames_out)


def _copy(job: FileJob, partial: Path, action: str) -> FileResult:
    shutil.copy2(job.source, partial)          # the bytes and the modification time
    return FileResult(job.relative, action, bytes_in=_size(job.source))


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
