"""The dataset checker's report: findings by kind, what makes a run fail or go silently wrong, one JSON file.

    report = DatasetReport(task="clip", dataset="ucf101")
    report.facts["layout"] = "…"
    report.problem("missing_files", "2 listed videos are not on disk", [{"path": …, "where": …}, …])
    report.warning("missing_files_below_threshold", "…", items)
    report.write(folder)          # <folder>/dataset_report.json, atomically
    report.print()                # rich summary; report.exit_code: 0 clean, 2 when there is a problem
"""
import statistics
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.table import Table

from src.core.atomic import write_json

REPORT_FILE = "dataset_report.json"
MAX_PRINTED_ITEMS = 5            # per finding, on the console (the JSON has them all)


def spread(values: list[float]) -> dict | None:
    """{min, median, max, count} of `values`, or None when there are none."""
    if not values:
        return None
    return {"min": min(values), "median": statistics.median(values), "max": max(values), "count": len(values)}


@dataclass
class Finding:
    kind: str                    # a stable key, e.g. "missing_files", "undecodable_videos"
    message: str                 # one line, says what is wrong and what to do
    items: list = field(default_factory=list)


@dataclass
class DatasetReport:
    task: str
    dataset: str
    facts: dict = field(default_factory=dict)          # layout, counts, distributions (no judgement)
    problems: list[Finding] = field(default_factory=list)   # a run would fail or be silently wrong
    warnings: list[Finding] = field(default_factory=list)   # worth knowing, harmless for a run

    def problem(self, kind: str, message: str, items: list | None = None) -> None:
        self.problems.append(Finding(kind, message, list(items or [])))

    def warning(self, kind: str, message: str, items: list | None = None) -> None:
        self.warnings.append(Finding(kind, message, list(items or [])))

    @property
    def exit_code(self) -> int:
        return 2 if self.problems else 0

    def as_dict(self) -> dict:
        findings = lambda found: [vars(f) for f in found]  # noqa: E731
        return {"task": self.task, "dataset": self.dataset, "ok": not self.problems, **self.facts,
                "problems": findings(self.problems), "warnings": findings(self.warnings)}

    def write(self, folder: Path) -> Path:
        return write_json(Path(folder) / REPORT_FILE, self.as_dict())

    def print(self, console: Console | None = None) -> None:
        console = console or Console()
        table = Table(title=f"dataset check: {self.dataset} (task={self.task})", show_header=False)
        for key, value in self.facts.items():
            if isinstance(value, (str, int, float)):
                table.add_row(key, str(value))
        console.print(table)
        for label, style, found in (("PROBLEM", "bold red", self.problems), ("warning", "yellow", self.warnings)):
            for finding in found:
                console.print(f"[{style}]{label}[/] {finding.kind}: {finding.message}", highlight=False)
                for item in finding.items[:MAX_PRINTED_ITEMS]:
                    console.print(f"    {item}", highlight=False, soft_wrap=True)
                if len(finding.items) > MAX_PRINTED_ITEMS:
                    console.print(f"    … and {len(finding.items) - MAX_PRINTED_ITEMS} more (see the report)")
        verdict = "clean" if not self.problems else f"{len(self.problems)} problem(s): a run would fail or be wrong"
        console.print(f"[bold]{verdict}[/]", highlight=False)
