"""The dataset index cache (`dataset.index_cache`, src/clip/data/index_cache.py): a second read comes from the file
and equals a fresh scan exactly; an edited list file, an added or removed video, a damaged file mean a new scan;
`off` writes nothing, `rebuild` overwrites; the reader's check runs on a cached index too; a run writes its scan
once, on global rank 0, when it is under way."""
import logging
import os
import pickle
from pathlib import Path
from types import SimpleNamespace

import pytest

import src.clip.data.index as index_module
from src.clip.data import index_cache
from src.clip.data.few_shot import group_holdout, k_per_class
from src.clip.data.index import read_index
from src.clip.data.index_cache import IndexFile
from src.clip.data.record_rows import RecordRows, as_rows
from src.core.errors import UserError
from tests.clip.index_layouts import UCF_CLASSES, make_hmdb, make_kinetics, make_list, make_ucf, touch, write
from tests.composed import section

FORMATS = ("ucf101", "hmdb51", "kinetics400", "list")


@pytest.fixture(scope="module")
def sections() -> dict[str, dict]:
    """The shipped dataset sections (conf/dataset/*.yaml: index_cache: auto)."""
    return {fmt: section("dataset", [f"dataset={fmt}", "dataset.root=/nowhere"]) for fmt in FORMATS}


MAKERS = {"ucf101": make_ucf, "hmdb51": make_hmdb, "kinetics400": make_kinetics, "list": make_list}


def dataset_of(sections: dict, fmt: str, root: Path, **overrides) -> dict:
    dataset = {**sections[fmt], "root": str(root), "max_missing_fraction": 0.5, **overrides}
    if fmt == "list":
        dataset.update(train_list=str(root / "train.txt"), val_list=str(root / "val.txt"))
    return dataset


@pytest.fixture
def scans(monkeypatch) -> list[str]:
    """Counts the scans: the formats scanned, in order."""
    calls = []
    for fmt, reader in dict(index_module.READERS).items():
        def counted(root, dataset, scan=reader.scan, fmt=fmt):
            calls.append(fmt)
            return scan(root, dataset)
        monkeypatch.setitem(index_module.READERS, fmt, reader.__class__(counted, reader.inputs, reader.settings,
                                                                          reader.check))
    return calls


def no_scan(monkeypatch) -> None:
    """From here on a scan fails the test: the index must come from the file."""
    for fmt, reader in dict(index_module.READERS).items():
        def refuse(root, dataset):
            raise AssertionError("the dataset was scanned")
        monkeypatch.setitem(index_module.READERS, fmt, reader.__class__(refuse, reader.inputs, reader.settings,
                                                                          reader.check))


def index_files(cache: Path) -> list[Path]:
    return sorted((cache / "index").glob("*.json"))


def as_plain(index) -> tuple:
    """Everything an index holds, as lists (a cached index's splits are RecordRows)."""
    return (list(index.train), None if index.val is None else list(index.val), list(index.test),
            list(index.class_names), index.layout, list(index.missing))


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_second_read_comes_from_the_file_and_equals_a_fresh_scan(fmt, sections, tmp_path, monkeypatch, scans):
    root, cache = MAKERS[fmt](tmp_path / "data"), tmp_path / "cache"
    dataset = dataset_of(sections, fmt, root)
    fresh = read_index(dataset, strict=False)                        # no cache_dir: a plain scan
    first = read_index(dataset, strict=False, cache_dir=cache)       # scans and writes
    assert scans == [fmt, fmt] and len(index_files(cache)) == 1
    no_scan(monkeypatch)
    cached = read_index(dataset, strict=False, cache_dir=cache)
    assert isinstance(cached.train, RecordRows)
    assert as_plain(cached) == as_plain(fresh) == as_plain(first)
    assert (cached.test is cached.val) == (fresh.test is fresh.val)  # Kinetics without test/: val doubles as test
    assert len(fresh.missing) == (1 if fmt == "kinetics400" else 0)


def test_an_edited_list_file_or_a_video_added_or_removed_means_a_new_scan(sections, tmp_path, scans):
    root, cache = make_ucf(tmp_path / "ucf"), tmp_path / "cache"
    dataset = dataset_of(sections, "ucf101", root)
    before = read_index(dataset, cache_dir=cache)
    train_list = root / "ucfTrainTestlist" / "trainlist01.txt"
    lines = train_list.read_text().splitlines()
    write(train_list, lines[:-1], newline="\r\n")                     # size changed: another key
    assert len(read_index(dataset, cache_dir=cache).train) == len(before.train) - 1
    stat = train_list.stat()
    os.utime(train_list, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))   # same size, another mtime
    read_index(dataset, cache_dir=cache)
    assert scans == ["ucf101"] * 3 and len(index_files(cache)) == 3
    read_index(dataset, cache_dir=cache)
    assert scans == ["ucf101"] * 3                                    # unchanged: from the file
    listed = before.test[0].path
    listed.unlink()                                                   # a listed video removed: its folder changed
    with pytest.raises(UserError, match=f"video {listed} does not exist"):
        read_index(dataset, cache_dir=cache)
    assert [m.path for m in read_index(dataset, strict=False, cache_dir=cache).missing] == [listed]
    assert scans == ["ucf101"] * 5


def test_a_kinetics_download_that_went_on_is_scanned_again(sections, tmp_path, scans):
    root, cache = make_kinetics(tmp_path / "k400"), tmp_path / "cache"
    dataset = dataset_of(sections, "kinetics400", root)
    assert len(read_index(dataset, cache_dir=cache).missing) == 1
    touch(root / "train" / "gone_000000_000010.mp4")                 # the missing clip arrived
    index = read_index(dataset, cache_dir=cache)
    assert index.missing == [] and len(index.train) == 4 and scans == ["kinetics400"] * 2


def test_off_never_writes_and_rebuild_overwrites(sections, tmp_path, scans):
    root, cache = make_ucf(tmp_path / "ucf"), tmp_path / "cache"
    read_index(dataset_of(sections, "ucf101", root, index_cache="off"), cache_dir=cache)
    read_index(dataset_of(sections, "ucf101", root, index_cache=False), cache_dir=cache)   # YAML's bare off
    assert not cache.exists() and scans == ["ucf101"] * 2
    read_index(dataset_of(sections, "ucf101", root), cache_dir=cache)
    [path] = index_files(cache)
    path.write_text(path.read_text().replace('"layout":"', '"layout":"edited '))   # still a valid index file
    assert read_index(dataset_of(sections, "ucf101", root), cache_dir=cache).layout.startswith("edited ")
    rebuilt = read_index(dataset_of(sections, "ucf101", root, index_cache="rebuild"), cache_dir=cache)
    assert not rebuilt.layout.startswith("edited ") and '"layout":"edited ' not in path.read_text()
    assert scans == ["ucf101"] * 4 and index_files(cache) == [path]


@pytest.mark.parametrize("damage", ["", '{"index_format": 1, "splits"', "[1, 2]", '{"index_format": 1}',
                                    "COLUMNS"])
def test_a_damaged_index_file_is_rebuilt_with_a_warning(damage, sections, tmp_path, scans, caplog):
    root, cache = make_ucf(tmp_path / "ucf"), tmp_path / "cache"
    dataset = dataset_of(sections, "ucf101", root)
    fresh = read_index(dataset, cache_dir=cache)
    [path] = index_files(cache)
    # COLUMNS: valid JSON of the right shape whose label column is one short
    path.write_text(path.read_text().replace('"label":[0,', '"label":[', 1) if damage == "COLUMNS" else damage)
    with caplog.at_level(logging.WARNING):
        again = read_index(dataset, cache_dir=cache)
    assert f"index cache: {path} cannot be read" in caplog.text and "scanning the dataset again" in caplog.text
    assert scans == ["ucf101"] * 2 and as_plain(again) == as_plain(fresh)
    caplog.clear()
    read_index(dataset, cache_dir=cache)                              # rewritten whole: read without a warning
    assert scans == ["ucf101"] * 2 and "index cache" not in caplog.text


def test_the_check_runs_on_a_cached_index_and_a_failing_index_is_not_written(sections, tmp_path, monkeypatch):
    root, cache = make_kinetics(tmp_path / "k400"), tmp_path / "cache"
    read_index(dataset_of(sections, "kinetics400", root, max_missing_fraction=0.5), cache_dir=cache)
    no_scan(monkeypatch)                 # max_missing_fraction is applied to the index, not part of its key
    with pytest.raises(UserError, match=r"1 of 4 listed train clips .* more than dataset.max_missing_fraction=0.1"):
        read_index(dataset_of(sections, "kinetics400", root, max_missing_fraction=0.1), cache_dir=cache)
    checker = read_index(dataset_of(sections, "kinetics400", root, max_missing_fraction=0.1), strict=False,
                         cache_dir=cache)
    assert [(m.path.name, m.split) for m in checker.missing] == [("gone_000000_000010.mp4", "train")]
    monkeypatch.undo()
    ucf, ucf_cache = make_ucf(tmp_path / "ucf"), tmp_path / "ucf_cache"
    (ucf / "YoYo" / "v_YoYo_g01_c01.avi").unlink()
    with pytest.raises(UserError, match="v_YoYo_g01_c01.avi does not exist"):
        read_index(dataset_of(sections, "ucf101", ucf), cache_dir=ucf_cache)
    assert index_files(ucf_cache) == []


def test_an_unwritable_cache_folder_is_a_warning_and_the_run_goes_on(sections, tmp_path, caplog):
    root, cache = make_ucf(tmp_path / "ucf"), tmp_path / "a_file"
    cache.write_text("not a folder")
    with caplog.at_level(logging.WARNING):
        index = read_index(dataset_of(sections, "ucf101", root), cache_dir=cache)
    assert len(index.train) == 18 and "index cache: cannot write" in caplog.text


def test_record_rows_are_lazy_picklable_and_draw_like_lists(tmp_path):
    root = make_ucf(tmp_path / "ucf", groups=5, clips=3)
    records = read_index({"root": str(root), "format": "ucf101", "split": 1, "get_it": ""}).train
    rows = as_rows("video", records, root)
    assert rows.base == f"{root}/" and rows.column("path")[0] == "ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi"
    assert list(rows) == records and list(rows[2:5]) == records[2:5] and rows[-1] == records[-1]
    assert list(pickle.loads(pickle.dumps(rows))) == records
    assert list(k_per_class(rows, 2, seed=3)) == k_per_class(records, 2, seed=3)
    assert [list(part) for part in group_holdout(rows, 0.3, seed=1)] == list(group_holdout(records, 0.3, seed=1))
    outside = as_rows("video", records + [records[0].__class__(tmp_path / "elsewhere.avi", 0, None)], root)
    assert outside.base == "" and outside[-1].path == tmp_path / "elsewhere.avi"


def test_bad_index_cache_value_is_a_user_error():
    with pytest.raises(UserError, match="dataset.index_cache=sometimes: choose one of auto, off, rebuild"):
        index_cache.parse_index_cache("sometimes")


BACKBONE = {"image_size": 32, "mean": [0.0, 0.0, 0.0], "std": [1.0, 1.0, 1.0]}


@pytest.mark.parametrize("mode", ["auto", "rebuild"])
def test_a_run_writes_its_scan_at_setup_on_global_rank_0_only(mode, sections, tmp_path, monkeypatch, scans):
    from src.clip.data.datamodule import VideoDataModule

    root, cache = make_ucf(tmp_path / "ucf"), tmp_path / "cache"
    dataset = dataset_of(sections, "ucf101", root, index_cache=mode)
    ranks = [VideoDataModule(dataset, BACKBONE, seed=0, cache_dir=cache) for _ in range(2)]
    for rank, datamodule in enumerate(ranks):
        datamodule.trainer = SimpleNamespace(is_global_zero=rank == 0)
        assert datamodule.class_names and index_files(cache) == []   # read while the run is built: nothing written
    writes = []
    monkeypatch.setattr(IndexFile, "write", lambda self, write=IndexFile.write: writes.append(self) or write(self))
    for datamodule in reversed(ranks):                                   # rank 1 first: it writes nothing
        datamodule.setup("fit")
    assert len(writes) == 1 and len(index_files(cache)) == 1 and scans == ["ucf101"] * 2
    ranks[0].setup("test")
    assert len(writes) == 1                                              # once per run
    next_run = VideoDataModule({**dataset, "index_cache": "auto"}, BACKBONE, seed=0, cache_dir=cache)
    assert list(next_run.train_records) == list(ranks[0].train_records)
    assert scans == ["ucf101"] * 2 and isinstance(next_run.splits.test, RecordRows)


@pytest.mark.parametrize("subset", [None, "novel"])
def test_the_datamodule_draws_the_same_splits_from_a_cached_index(subset, sections, tmp_path, monkeypatch):
    from src.clip.data.datamodule import VideoDataModule

    root, cache = make_ucf(tmp_path / "ucf", groups=5, clips=3), tmp_path / "cache"
    dataset = dataset_of(sections, "ucf101", root, k_train=4, class_subset=subset)
    first_run = VideoDataModule(dataset, BACKBONE, seed=7, cache_dir=cache)
    scanned = first_run.splits
    first_run.keep_index()
    no_scan(monkeypatch)
    cached = VideoDataModule(dataset, BACKBONE, seed=7, cache_dir=cache).splits
    assert isinstance(cached.train, RecordRows) and isinstance(cached.test, RecordRows)
    assert [list(getattr(cached, s)) for s in ("train", "val", "test")] == \
        [list(getattr(scanned, s)) for s in ("train", "val", "test")]
    assert cached.raw_class_names == scanned.raw_class_names == (UCF_CLASSES[1:] if subset else UCF_CLASSES)
