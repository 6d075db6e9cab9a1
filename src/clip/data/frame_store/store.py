"""FrameStore: one namespace of the decoded-frame store, one entry file per video.

    <dataset.frame_store_dir>/<namespace key>/namespace.json               what the key hashes (for people)
    <dataset.frame_store_dir>/<namespace key>/<ab>/<entry key>.frames      one video's frames (entry.py)

namespace key — a hash of what decides the stored pixels: the short side, the JPEG quality, how frames are decoded,
                resized and encoded, and the store's format version (nothing about sampling, views or the model: one
                store serves every method, frame count and protocol).
entry key     — a hash of the video's resolved path, size and modification time (src/core/feature_cache/keys.py):
                an edited or replaced video misses its old entry. Entries sit in 256 sub-folders by the key's first
                two hex digits, so no folder lists 240k files.
Entries are written through src/core/atomic.py (temp file + rename): concurrent writers (loader workers, DDP ranks)
leave one complete entry, and a crash leaves none.
"""
import hashlib
import json
import logging
from contextlib import contextmanager
from functools import partial
from pathlib import Path

from src.clip.data.frame_store.build import encode_video
from src.clip.data.frame_store.entry import DamagedEntry, EntryFile
from src.core.atomic import write_bytes, write_json
from src.core.errors import BadVideoError
from src.core.feature_cache.keys import entry_key

log = logging.getLogger(__name__)

# Bump when the entry layout or how its pixels are made changes: old entries then miss (a new namespace).
FRAME_STORE_FORMAT = 1
SUFFIX = ".frames"


def frame_namespace(short_side: int, quality: int) -> dict:
    return {"format": FRAME_STORE_FORMAT, "short_side": short_side, "jpeg_quality": quality,
            "decode": "PyAV, swscale yuv -> rgb24 at full size; frame i = the first decoded frame with index >= i",
            "resize": "torchvision resize to the short side, bilinear, antialias, uint8; never upscaled",
            "encode": "torchvision.io.encode_jpeg"}


class FrameStore:
    """`read_only`: never build an entry (dataset.frame_store=read); a video without one is skipped and counted."""

    def __init__(self, root: Path, short_side: int, quality: int, read_only: bool):
        self.namespace = frame_namespace(short_side, quality)
        self.key = hashlib.sha1(json.dumps(self.namespace, sort_keys=True).encode()).hexdigest()[:20]
        self.dir = Path(root) / self.key
        self.short_side, self.quality, self.read_only = short_side, quality, read_only

    def entry(self, video: Path) -> Path:
        key = entry_key(video)
        return self.dir / key[:2] / f"{key}{SUFFIX}"

    def has(self, video: Path) -> bool:
        """Whether `video` has a complete entry (its header and size check out; the JPEGs are not decoded)."""
        try:
            with EntryFile(self.entry(video), video):
                return True
        except (OSError, BadVideoError):
            return False

    def build(self, video: Path) -> Path:
        """Decode `video` and write its entry (replacing any); BadVideoError when the video is unreadable."""
        try:
            entry = self.entry(video)
        except OSError as error:                                     # the video itself is gone
            raise BadVideoError(f"{video}: cannot open ({error.strerror or error})") from None
        data = encode_video(video, self.short_side, self.quality)
        if not (self.dir / "namespace.json").is_file():
            write_json(self.dir / "namespace.json", self.namespace)
        return write_bytes(entry, data)

    @contextmanager
    def open(self, video: Path):
        """`with store.open(video) as frames:` — like `with VideoReader(video)`: `frames.num_frames`,
        `frames.read(indices)`. A missing or damaged entry is built first, unless the store is read-only."""
        try:
            entry = self.entry(video)
        except OSError as error:
            raise BadVideoError(f"{video}: cannot open ({error.strerror or error})") from None
        rebuild = None if self.read_only else partial(self.build, video)    # for a frame that does not decode
        try:
            opened = EntryFile(entry, video, rebuild).__enter__()
        except (FileNotFoundError, DamagedEntry) as error:
            if self.read_only:
                raise BadVideoError(str(error) if isinstance(error, DamagedEntry) else
                                    f"{video}: not in the frame store {self.dir} (unreadable when it was filled)") \
                    from None
            if isinstance(error, DamagedEntry):
                log.warning("frame store: building a damaged entry again (%s)", error)
            opened = EntryFile(self.build(video), video).__enter__()
        try:
            yield opened
        finally:
            opened.close()
