"""src/core/atomic.py: every writer leaves either the old file or the whole new one, and no temp files."""
import numpy as np
import pytest
from matplotlib.figure import Figure

from src.core.atomic import save_figure, save_numpy


def test_save_numpy_round_trip_keeps_the_name_and_leaves_no_temp_file(tmp_path):
    target = tmp_path / "sub" / "entry.npy"
    array = np.arange(12, dtype=np.float32).reshape(3, 4)
    assert save_numpy(target, array) == target
    assert np.array_equal(np.load(target, allow_pickle=False), array)
    assert sorted(p.name for p in target.parent.iterdir()) == ["entry.npy"]  # no ".tmp.npy" beside it


def test_a_failed_write_keeps_the_previous_file(tmp_path):
    target = tmp_path / "entry.npy"
    save_numpy(target, np.ones(3, dtype=np.float32))
    with pytest.raises(ValueError):  # object arrays need pickles, which are refused mid-write
        save_numpy(target, np.array([{"a": 1}], dtype=object))
    assert np.array_equal(np.load(target), np.ones(3, dtype=np.float32))
    assert [p.name for p in tmp_path.iterdir()] == ["entry.npy"]


def test_save_figure_writes_the_format_of_the_suffix_atomically(tmp_path):
    fig = Figure(figsize=(2, 2))
    fig.subplots().plot([0, 1], [1, 0])
    png, pdf = save_figure(fig, tmp_path / "curve.png", dpi=50), save_figure(fig, tmp_path / "curve.pdf")
    assert png.read_bytes().startswith(b"\x89PNG") and pdf.read_bytes().startswith(b"%PDF")
    with pytest.raises(ValueError):
        save_figure(fig, tmp_path / "curve.png", format="no-such-format")
    assert png.read_bytes().startswith(b"\x89PNG")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["curve.pdf", "curve.png"]


def test_written_files_get_the_mode_a_plain_open_would(tmp_path):
    """mkstemp's 0600 must not leak into artifacts: other users of a shared cluster read them."""
    import os

    from src.core.atomic import write_text

    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    atomic = write_text(tmp_path / "atomic.txt", "x")
    assert os.stat(atomic).st_mode & 0o777 == os.stat(plain).st_mode & 0o777


def test_a_full_disk_mid_write_keeps_the_old_file_names_the_target_and_leaves_no_temp(tmp_path, monkeypatch):
    import errno
    import os

    from src.core.atomic import write_bytes
    from tests.core.disk_faults import fill_disk_at

    target = write_bytes(tmp_path / "a.bin", b"old")
    fill_disk_at(monkeypatch, "a.bin", after_bytes=3)
    with pytest.raises(OSError) as failed:
        write_bytes(target, b"the new content")
    assert failed.value.errno == errno.ENOSPC and failed.value.filename == str(target)  # the kernel named no file
    assert target.read_bytes() == b"old" and os.listdir(tmp_path) == ["a.bin"]


def test_an_append_is_whole_or_not_at_all(tmp_path, monkeypatch):
    import os

    from src.core.atomic import append_bytes
    from tests.core.disk_faults import fill_disk_at

    path = tmp_path / "rows.csv"
    path.write_text("a\n1\n")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    fill_disk_at(monkeypatch, "rows.csv", after_bytes=2)  # "22" would get in, and the row be torn
    with pytest.raises(OSError):
        append_bytes(fd, b"22\n33\n", path)
    append_bytes(fd, b"44\n", path)  # space again
    os.close(fd)
    assert path.read_text() == "a\n1\n44\n"
