"""`dataset.index_cache`: the scanned dataset index kept on disk, so that a run (and every DDP rank) reads one file
instead of walking the folders and looking up every listed video again (Kinetics-400: 240,000 of them).

    <paths.cache_dir>/index/<key>.json        the index as columns (src/clip/data/index_file.py)

key: a hash of what the scan reads and how — the format, the root (as given and resolved), the reader's settings
(split, list file names…), every list / annotation file the reader reads (path, size, mtime_ns) and INDEX_FORMAT.
An edited list file has another size or mtime, hence another key: it is scanned again, never read stale. The file
also records what it was built from and the mtime of each folder its videos sit in; both are checked again on load,
so a video added, removed or renamed since (a Kinetics download that went on) means a new scan. Blind spots: a list
file rewritten to the same size within its file system's mtime resolution; a file system that keeps no folder
mtimes. `dataset.index_cache=rebuild` rescans whatever the file says.

The scan stores every listed video and the missing ones (as the checker needs); the reader's check (a missing
UCF-101 video, too many missing Kinetics clips: one error line) runs on every index, scanned or loaded, and an
index that fails it is not written. An unreadable or damaged file is rebuilt with a warning; a cache folder that
cannot be written is warned about and the run goes on with its scan.

When the file is written: a scan returns its IndexFile unwritten. A training or evaluation run reads its index while
it is built, before every check has passed (a checkpoint that does not fit, a protocol the model cannot run) and
before Lightning starts the DDP processes; bad input must leave nothing behind, so the datamodule writes the file
in `setup()`, on global rank 0 only (the process group is up then: one writer), once the run is under way. The
ranks of that first run scan for themselves (as before); every later run, and each of its ranks, reads the file.
The dataset checker and `src.predict` write it at once (src/clip/data/index.py: read_index).
"""
import hashlib
import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from src.clip.data.index_file import INDEX_FORMAT, changed_folder, decode, encode
from src.clip.data.readers import Reader
from src.clip.data.records import DatasetIndex
from src.core.atomic import write_text
from src.core.errors import UserError

log = logging.getLogger(__name__)

MODES = ("auto", "off", "rebuild")
Check = Callable[[DatasetIndex], DatasetIndex]   # the reader's check with the run's dataset section and strictness


def parse_index_cache(value) -> str:
    """The mode `dataset.index_cache` names; anything else is a UserError."""
    mode = "off" if value is False else value  # YAML 1.1 reads a bare `off` as false
    if mode not in MODES:
        raise UserError(f"dataset.index_cache={mode}: choose one of {', '.join(MODES)}")
    return mode


@dataclass
class IndexFile:
    """A scanned index not yet in the cache: its file's path and text (encoded when scanned, so the file records
    the list files and folders as the scan saw them). Plain data, so it travels with a pickled datamodule."""
    path: Path
    text: str

    def write(self) -> None:
        """Write it atomically; a cache folder that cannot be written is a warning (the run has its index)."""
        try:
            write_text(self.path, self.text)
        except OSError as err:
            log.warning("index cache: cannot write %s (%s); the dataset is scanned again next time (set "
                        "dataset.index_cache=off to skip the cache)", self.path, err)
            return
        log.info("dataset index: kept in %s", self.path)


def open_cached(reader: Reader, root: Path, dataset: dict, cache_dir: Path, rebuild: bool,
                check: Check) -> tuple[DatasetIndex, IndexFile | None]:
    """(index, None) from `cache_dir` when it is there and fresh (and not `rebuild`), else (scanned and checked
    index, its IndexFile to write). An index that fails its check raises before anything is encoded."""
    built_from = describe_scan(reader, root, dataset)
    path = Path(cache_dir) / "index" / f"{index_key(built_from)}.json"
    if not rebuild and (index := load_index(path, built_from, check)) is not None:
        return index, None
    began = time.perf_counter()
    index = check(reader.scan(root, dataset))
    log.info("dataset index: scanned %s in %.1f s", root, time.perf_counter() - began)
    # Compact separators: the file is read by programs, and indenting 240,000 rows would double it.
    return index, IndexFile(path, json.dumps(encode(index, root, built_from), separators=(",", ":")))


def describe_scan(reader: Reader, root: Path, dataset: dict) -> dict:
    """What the key hashes (JSON-normalised, so it compares equal to what a loaded file records)."""
    inputs = [_file_stat(Path(path)) for path in reader.inputs(root, dataset)]
    record = {"index_format": INDEX_FORMAT, "format": dataset["format"], "root": str(root),
              "resolved_root": str(Path(root).resolve()), "settings": {key: dataset[key] for key in reader.settings},
              "inputs": inputs}
    return json.loads(json.dumps(record, default=str))


def index_key(built_from: dict) -> str:
    return hashlib.sha1(json.dumps(built_from, sort_keys=True).encode()).hexdigest()[:20]


def load_index(path: Path, built_from: dict, check: Check) -> DatasetIndex | None:
    """The checked index in `path`, or None when there is none, or it is stale or unreadable (logged)."""
    began = time.perf_counter()
    try:
        data = json.loads(path.read_bytes())
        index = decode(data)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as err:  # IndexFileError and JSONDecodeError are ValueErrors
        log.warning("index cache: %s cannot be read (%s): scanning the dataset again", path, err)
        return None
    if data.get("index_format") != INDEX_FORMAT or data.get("built_from") != built_from:
        log.warning("index cache: %s records other inputs than its key says: scanning the dataset again", path)
        return None
    if not isinstance(data.get("folders"), dict):
        log.warning("index cache: %s cannot be read (no folder list): scanning the dataset again", path)
        return None
    if (folder := changed_folder(data["folders"])) is not None:
        log.info("index cache: %s changed since %s was written (videos added or removed): scanning again",
                 folder, path.name)
        return None
    index = check(index)
    log.info("dataset index: read %s in %.2f s (%d train, %s val, %d test videos)", path,
             time.perf_counter() - began, len(index.train), "no" if index.val is None else len(index.val),
             len(index.test))
    return index


def _file_stat(path: Path) -> list:
    """[absolute path, size, mtime_ns]; size and mtime None when the file is not there (the scan will say so)."""
    try:
        stat = path.stat()
    except OSError:
        return [os.path.abspath(path), None, None]
    return [os.path.abspath(path), stat.st_size, stat.st_mtime_ns]
