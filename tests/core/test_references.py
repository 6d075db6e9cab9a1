"""Every file a docstring, comment, config comment or the README names exists, and nothing points at documents that
live outside the repository (a reader who follows a reference must find it)."""
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# "src/core/atomic.py", "conf/method/_base.yaml", "docs/reliability.md" … (a path under one of the repo's folders)
PATH = re.compile(r"(?<![\w/.-])((?:src|conf|data_tools|benchmarks|tests|docs)/[\w./-]*\w)")
PLACEHOLDER = re.compile(r"[*<>{}]|/x\.py$|/nope\.yaml$")   # globs, <run dir>/… and README's examples
GENERATED = ("benchmarks/results",)                          # written by the benchmarks, not committed
BARE_MODULE = re.compile(r"(?<![\w/.-])(\w+\.py)\b")          # "videomae_convert.py": a file named without its folder
SEED_SCRIPT = re.compile(r"seed's (\w+\.py)")                  # the original scripts: outside the repository
OUTSIDE = re.compile(r"\b(DESIGN|METHODS)\.md\b|shared/seeds")


def sources() -> list[Path]:
    files = [p for folder in ("src", "conf", "data_tools", "benchmarks", "tests", "docs") for p in (REPO / folder).rglob("*")
             if p.suffix in (".py", ".yaml", ".md") and p.is_file()]
    return files + [REPO / "README.md", REPO / "Makefile"]


def dangling(text: str) -> list[str]:
    found = []
    for match in PATH.finditer(text):
        path = match.group(1).rstrip(".")
        end = match.end(1)
        if PLACEHOLDER.search(path) or text[end:end + 1] in "*<{" or path.startswith(GENERATED):
            continue
        if not (REPO / path).exists():
            found.append(path)
    return found


def test_the_checker_finds_a_dangling_path_and_accepts_real_ones():
    assert dangling("see src/core/atomic.py and conf/train.yaml") == []
    assert dangling("see src/tasks/frame_feature_caching.py (old)") == ["src/tasks/frame_feature_caching.py"]
    assert dangling("outputs under benchmarks/results/loader.json, globs like tests/*.py") == []


def test_every_referenced_path_exists():
    offenders = [f"{p.relative_to(REPO)}: {path}" for p in sources() if p != Path(__file__)
                 for path in dangling(p.read_text())]
    assert offenders == []


def test_nothing_points_outside_the_repository():
    offenders = [f"{p.relative_to(REPO)}:{n}" for p in sources() if p != Path(__file__)
                 for n, line in enumerate(p.read_text().splitlines(), 1) if OUTSIDE.search(line)]
    assert offenders == []


def test_every_python_file_a_config_comment_names_without_a_folder_exists():
    """conf/ comments name modules by their path (src/…/x.py); a bare name must still be a file of the repository."""
    ours = {p.name for folder in ("src", "data_tools", "benchmarks") for p in (REPO / folder).rglob("*.py")}
    offenders = []
    for path in (REPO / "conf").rglob("*.yaml"):
        text = path.read_text()
        seed = set(SEED_SCRIPT.findall(text))
        offenders += [f"{path.relative_to(REPO)}: {name}" for name in BARE_MODULE.findall(text)
                      if name not in ours and name not in seed]
    assert offenders == []
