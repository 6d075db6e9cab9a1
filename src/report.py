"""`python -m src.report [roots=[…]] [output=…]`: every run of both tasks as one leaderboard (see conf/report.yaml).

Walks the roots for run folders (run.json, or a task's own files for runs from before it; src/tasks.py), asks each
run's task for its facts (Task.run_facts: identity, protocol, results, cost) and writes leaderboard.csv / .md /
.html into `output`. Read-only on the runs: a run folder that cannot be read (a damaged run.json or results file)
is one `warning:` line and is left out; the rest of the report is still written.
"""
import os
import sys
from pathlib import Path

import hydra
from omegaconf import DictConfig, OmegaConf

from src.core.cli_checks import CONF_DIR
from src.core.command_line import check_command_line
from src.core.errors import UserError, one_line_errors
from src.core.hydra_run import run_command
from src.core.leaderboard import leaderboard, result_rows, write_tables
from src.core.leaderboard_html import write_html
from src.core.override_checks import folder_problem
from src.core.run_facts import read_json_dict
from src.tasks import get_task, run_task


def check_inputs(cfg: DictConfig) -> None:
    """Every root and sweep folder exists; the output folder can be made and lies in no run folder."""
    for key in ("roots", "sweeps"):
        if not OmegaConf.is_list(cfg[key]):
            raise UserError(f"{key}={cfg[key]}: must be a list of folders, e.g. {key}=[models,report]")
        for folder in cfg[key]:
            if not Path(str(folder)).is_dir():
                raise UserError(f"{key}: {folder} is not a folder; give existing folders ({key}=[a,b])")
    output = Path(str(cfg.output)).absolute()
    if problem := folder_problem(output):
        raise UserError(f"output={cfg.output}: cannot create this folder ({problem}); pick a writable place")
    for folder in [output, *output.parents]:
        if folder.is_dir() and _is_run_folder(folder):
            raise UserError(f"output={cfg.output}: inside the run folder {folder}; the report never writes into a "
                            "run, pick a folder outside it")


def _is_run_folder(folder: Path) -> bool:
    try:
        return run_task(folder) is not None
    except UserError:  # a damaged run.json still marks a run folder
        return True


def find_runs(roots: list[Path]) -> tuple[list[tuple[str, Path]], list[str]]:
    """(task, run folder) for every run under the roots, and one warning per folder that cannot be read."""
    runs, warnings = [], []
    for root in roots:
        for folder, subfolders, _ in os.walk(root):
            try:
                task = run_task(Path(folder))
            except UserError as err:
                task, subfolders[:] = None, []
                warnings.append(f"{folder}: skipped ({err})")
            if task is not None:
                runs.append((task, Path(folder)))
                subfolders[:] = []  # a run folder holds no other run (eval/, checkpoints/, logs/)
            subfolders.sort()
    return runs, warnings


def sweep_of_runs(sweeps: list[Path], warnings: list[str]) -> dict[str, str]:
    """run folder -> the sweep that trained it (each job's job.json: src/core/sweep_resume.py); a job.json that
    cannot be read is a warning (its run is still reported, without its sweep)."""
    owner = {}
    for sweep in sweeps:
        for record in sorted(sweep.glob("*/job.json")):
            try:
                run_dir = read_json_dict(record).get("run_dir")
            except UserError as err:
                warnings.append(f"{record}: not read ({err})")
                continue
            if run_dir:
                owner[str(Path(run_dir).absolute())] = str(sweep)
    return owner


def report(config: dict) -> list[Path]:
    runs, warnings = find_runs([Path(r) for r in config["roots"]])
    sweeps = sweep_of_runs([Path(s) for s in config["sweeps"]], warnings)
    rows, reported = [], 0
    for task, run_dir in runs:
        try:
            facts = get_task(task).run_facts(run_dir)
        except UserError as err:
            warnings.append(f"{run_dir}: skipped ({err})")
            continue
        rows += result_rows(facts, sweeps.get(str(run_dir.absolute())))
        reported += 1
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    table = leaderboard(rows)
    out = Path(config["output"])
    written = [*write_tables(table, warnings, out), write_html(table, warnings, out / "leaderboard.html")]
    print(f"{reported} runs, {len(table)} results -> "
          f"{', '.join(str(p) for p in written)}")
    return written


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="report")
def hydra_main(cfg: DictConfig) -> None:
    with one_line_errors():
        report(OmegaConf.to_container(cfg, resolve=True))


def check_command(argv: list[str]) -> Path | None:
    """What report would refuse (a missing root, an output folder inside a run), before Hydra starts."""
    return check_command_line(argv, "report", after_resolve=[check_inputs])


def main() -> None:
    run_command(check_command, hydra_main)


if __name__ == "__main__":
    main()
