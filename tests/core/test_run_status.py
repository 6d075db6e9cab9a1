"""A run that fails after its folder exists is marked failed (with the error line); a later success clears it."""
import json

import pytest

from src.core.errors import UserError
from src.core.run_status import recorded


def test_failure_is_recorded_in_the_run_files_and_cleared_by_a_later_success(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"run_id": "r"}))
    (tmp_path / "best_metrics.json").write_text(json.dumps({"epoch": 2, "val_f1": 0.5}))
    with pytest.raises(UserError):
        with recorded(tmp_path):
            raise UserError("9 of 10 train videos could not be decoded (> dataset.max_bad_fraction=0.2)")
    for name in ("config.json", "best_metrics.json", "status.json"):
        record = json.loads((tmp_path / name).read_text())
        assert record["status"] == "failed" and record["error"].startswith("error: 9 of 10 train videos"), name
    assert json.loads((tmp_path / "config.json").read_text())["run_id"] == "r"  # the rest is kept

    with recorded(tmp_path):
        pass
    for name in ("config.json", "best_metrics.json", "status.json"):
        record = json.loads((tmp_path / name).read_text())
        assert record["status"] == "finished" and not record.get("error"), name


def test_a_successful_run_keeps_its_files_as_written(tmp_path):
    (tmp_path / "config.json").write_text('{"run_id": "r"}')
    with recorded(tmp_path):
        pass
    assert (tmp_path / "config.json").read_text() == '{"run_id": "r"}'
    assert json.loads((tmp_path / "status.json").read_text())["status"] == "finished"


def test_a_disk_that_refuses_status_json_too_does_not_hide_the_first_error(tmp_path, monkeypatch):
    import errno

    from tests.core.disk_faults import fill_disk_at

    fill_disk_at(monkeypatch, "status.json", after_bytes=0)
    with pytest.raises(OSError) as failed:
        with recorded(tmp_path):
            raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "best.ckpt"))
    assert failed.value.filename.endswith("best.ckpt")  # the error that stopped the run, not the status write's
    assert list(tmp_path.iterdir()) == []  # no status.json, no temp file


def test_an_interrupted_run_is_marked_interrupted_not_failed(tmp_path):
    from src.core.interrupt import Interrupted

    (tmp_path / "config.json").write_text('{"run_id": "r"}')
    with pytest.raises(Interrupted) as stopped:
        with recorded(tmp_path):
            raise Interrupted(15, "interrupted by SIGTERM at step 7: last.ckpt written")
    assert stopped.value.code == 143
    assert json.loads((tmp_path / "status.json").read_text())["status"] == "interrupted"
    assert (tmp_path / "config.json").read_text() == '{"run_id": "r"}'
