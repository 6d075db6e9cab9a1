"""Every installed command of pyproject.toml's [project.scripts] works as setuptools' console script runs it
(`sys.exit(main())`): --help exits 0 with its usage, bad input is one `error:` line and exit 2. Called in process
(installing would touch the shared environment); a new entry without a working main fails here."""
import importlib
import sys
from pathlib import Path

import pytest
import tomllib
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]


def run_console_script(name: str, args: list[str], monkeypatch, capsys) -> tuple[int, str, str]:
    """What the wrapper setuptools writes for `name` does: import module:function, sys.exit(function())."""
    module, function = SCRIPTS[name].split(":")
    entry = getattr(importlib.import_module(module), function)
    monkeypatch.setattr(sys, "argv", [name, *args])
    GlobalHydra.instance().clear()
    capsys.readouterr()
    try:
        sys.exit(entry())
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    finally:
        GlobalHydra.instance().clear()
        HydraConfig.instance().cfg = None
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_every_command_is_named_vp_and_points_at_a_main():
    assert len(SCRIPTS) == 14
    assert all(name.startswith("vp-") and target.endswith(":main") for name, target in SCRIPTS.items())
    assert SCRIPTS["vp-train"] == "src.train:main"


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_help_exits_0_with_its_usage(name, monkeypatch, capsys, tmp_path):
    monkeypatch.chdir(tmp_path)
    code, out, err = run_console_script(name, ["--help"], monkeypatch, capsys)
    assert code == 0, err[-2000:]
    assert "usage" in out.lower() or "== Configuration groups ==" in out, out[:500]
    assert list(tmp_path.iterdir()) == []  # --help creates nothing


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_bad_input_is_one_error_line_and_exit_2(name, monkeypatch, capsys, tmp_path):
    monkeypatch.chdir(tmp_path)
    code, out, err = run_console_script(name, ["--no-such-option"], monkeypatch, capsys)
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error:"), err[-2000:]
    assert "Traceback" not in err and out == ""  # (a tool with required options names those first)
    assert list(tmp_path.iterdir()) == []
