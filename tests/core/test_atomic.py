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
