"""The shape the code must keep (read from the source with `ast`, nothing is imported): no import cycles, the two
task packages never import each other, nothing under src/ imports data_tools, benchmarks or tests, and no file
over 250 lines or function over 60 lines under src/."""
import ast
import re
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
SRC = REPO / "src"
MAX_FILE_LINES, MAX_FUNCTION_LINES = 250, 60


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """Every module this file imports, at any depth (function-level imports count: they hide cycles)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}  # `from pkg import module`
    return found


def import_graph(root: Path) -> dict[str, set[str]]:
    files = {module_name(p): p for p in root.rglob("*.py")}
    return {name: {m for m in imports_of(path) if m in files and m != name} for name, path in files.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt] if nxt in path else [node, nxt]
            if nxt not in state and (cycle := visit(nxt, path + [nxt])):
                return cycle
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start, [start])):
            return cycle
    return None


def test_find_cycle_finds_one_and_only_one():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_no_import_cycles_under_src():
    assert find_cycle(import_graph(SRC)) is None, "import cycle"


@pytest.mark.parametrize("package, forbidden", [("src.clip", "src.header"), ("src.header", "src.clip"),
                                                ("src.core", "src.clip"), ("src.core", "src.header"),
                                                ("src.synthetic", "src.clip"), ("src.synthetic", "src.header")])
def test_packages_do_not_reach_across(package, forbidden):
    offenders = [f"{p.relative_to(REPO)} imports {m}" for p in SRC.rglob("*.py") if module_name(p).startswith(package)
                 for m in imports_of(p) if m == forbidden or m.startswith(forbidden + ".")]
    assert offenders == []


def test_src_never_imports_the_tools_benchmarks_or_tests():
    offenders = [f"{p.relative_to(REPO)} imports {m}" for p in SRC.rglob("*.py") for m in imports_of(p)
                 if m.split(".")[0] in ("data_tools", "benchmarks", "tests")]
    assert offenders == []


def test_tests_import_no_test_module_or_conftest():
    offenders = [f"{p.relative_to(REPO)} imports {m}" for p in (REPO / "tests").rglob("*.py") for m in imports_of(p)
                 if m.startswith("tests.") and (m.split(".")[-1].startswith("test_") or m.endswith("conftest"))]
    assert offenders == []


def test_files_and_functions_stay_small():
    too_long = []
    for path in SRC.rglob("*.py"):
        text = path.read_text()
        if len(text.splitlines()) > MAX_FILE_LINES:
            too_long.append(f"{path.relative_to(REPO)}: {len(text.splitlines())} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    too_long.append(f"{path.relative_to(REPO)}:{node.lineno} {node.name}: {length} lines")
    assert too_long == []


# The commands that serve every task (task=… on their command line, or the task of the run folder they are given).
ENTRY_POINTS = ["src/train.py", "src/evaluate.py", "src/predict.py", "src/detect.py", "src/report.py",
                "src/export.py", "data_tools/check_dataset.py", "data_tools/cache_features.py",
                "data_tools/cache_frames.py"]
TASK_PACKAGES = ("src.clip", "src.header")


def test_entry_points_reach_a_task_only_through_the_registry():
    offenders = [f"{p} imports {m}" for p in ENTRY_POINTS for m in imports_of(REPO / p)
                 if m.startswith(TASK_PACKAGES)]
    assert offenders == []
    assert "src.tasks" in set.union(*(imports_of(REPO / p) for p in ENTRY_POINTS))


def readers(key: str) -> set[str]:
    """Where the code reads top-level config key `key` (cfg.key, cfg["key"], cfg.get("key")): "core" for src/core
    and the entry points, else the task package."""
    pattern = re.compile(rf"""(\.{key}\b(?!\()|\[["']{key}["']\]|get\(["']{key}["'])""")
    found = set()
    for path in [*SRC.rglob("*.py"), *(REPO / "data_tools").glob("*.py")]:
        if pattern.search(path.read_text()):
            parts = path.relative_to(REPO).parts
            found.add(parts[1] if parts[0] == "src" and parts[1] in ("clip", "header") else "core")
    return found


@pytest.mark.parametrize("root", ["train", "evaluate", "predict", "export", "check_dataset", "report"])
def test_root_configs_hold_no_key_that_only_one_task_reads(root):
    """A key only one task reads belongs to that task's config (conf/task/<task>.yaml, conf/<command>/<task>.yaml)."""
    keys = [k for k in yaml.safe_load((REPO / "conf" / f"{root}.yaml").read_text()) if k != "defaults"]
    one_task = [f"{key}: read only by src/{readers(key).pop()}" for key in keys if len(readers(key)) == 1
                and readers(key) <= {"clip", "header"}]
    assert one_task == []


def test_the_key_reader_finds_one_task_keys():
    assert readers("top_k") == {"clip"} and readers("zero_shot_dir") == {"clip"}
    assert "core" in readers("run_dir")
