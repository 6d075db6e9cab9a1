"""The one check of a command line before Hydra starts, for every entry point. Hydra creates its output folder
(hydra.run.dir) before our code runs, so bad input is found here, before anything is created:

    def main():
        with one_line_errors():
            output_dir = check_command_line(sys.argv[1:], "evaluate", after_resolve=[check_inputs])
        run_hydra(hydra_main, output_dir)

In order: group choices, a protocol sweep's seeds, Hydra's flags and the override syntax, composing conf/<root>.yaml
with Hydra's compose API (an unknown key names the closest ones), the backbone kind, the command's
`before_resolve` steps, Hydra's output folder, resolving as Hydra will, the value table of the root config
(src/core/value_checks.py), then the command's `after_resolve` checks (run folders, input files, checkpoints).
A sweep (-m) is checked once per value it will use.
"""
import copy
from collections.abc import Callable, Sequence
from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf, open_dict, read_write
from omegaconf.errors import OmegaConfBaseException

from src.core import run_naming  # noqa: F401  (registers the run_tag resolver before composing)
from src.core.cli_checks import check_group_choices
from src.core.config_checks import check_backbone_kind, config_error, resolve
from src.core.errors import UserError
from src.core.override_checks import compose_checked, folder_problem, override_variants, parse_command_line
from src.core.protocol_checks import check_seed_sweep
from src.core.value_checks import check_table

Step = Callable[[DictConfig], None]


def check_command_line(argv: list[str], config_name: str, *, before_resolve: Sequence[Step] = (),
                       after_resolve: Sequence[Step] = ()) -> Path | None:
    """UserError for the first problem; returns the folder Hydra will create (None when it runs no job)."""
    check_group_choices(argv)
    check_seed_sweep(argv)
    command = parse_command_line(argv, config_name)
    if command.runs_nothing:
        return None
    output_dir = None
    for overrides in override_variants(command):
        cfg = compose_checked(overrides, command.config_name)
        if command.prints_config:  # --cfg job: show what composes, even with values the checks below refuse
            return None
        if OmegaConf.select(cfg, "task.backbone_kinds") is not None and "backbone" in cfg:
            check_backbone_kind(cfg)
        for step in before_resolve:
            step(cfg)
        multirun = command.multirun or OmegaConf.select(cfg, "hydra.mode") == RunMode.MULTIRUN  # -m, or a config's
        output_dir = hydra_output_dir(cfg, multirun)
        cfg = resolved_as_in_hydra(cfg, output_dir, multirun)
        check_table(cfg, command.config_name)
        for check in after_resolve:
            check(cfg)
    return output_dir


def hydra_output_dir(cfg: DictConfig, multirun: bool) -> Path:
    """hydra.run.dir (hydra.sweep.dir under -m), resolved, and checked to be creatable."""
    key = "hydra.sweep.dir" if multirun else "hydra.run.dir"
    try:
        folder = Path(str(OmegaConf.select(cfg, key)))
    except OmegaConfBaseException as err:
        raise config_error(err) from None
    problem = folder_problem(folder)
    if problem:
        raise UserError(f"{key}={folder}: cannot create this folder ({problem}); pick a writable place")
    return folder


def resolved_as_in_hydra(cfg: DictConfig, output_dir: Path, multirun: bool) -> DictConfig:
    """The job's config (no `hydra` node) resolved as Hydra's (first) job would resolve it: `${hydra:runtime.
    output_dir}` (paths.output_dir) is the folder Hydra will create, a sweep's job number is 0."""
    with read_write(cfg.hydra), open_dict(cfg.hydra):
        if multirun:
            cfg.hydra.mode = RunMode.MULTIRUN
            cfg.hydra.job.num = 0
            output_dir = output_dir / str(cfg.hydra.sweep.subdir)
        cfg.hydra.runtime.output_dir = str(output_dir.absolute())
    hydra_config = HydraConfig.instance()
    previous = hydra_config.cfg
    hydra_config.set_config(cfg)
    try:
        job = copy.deepcopy(cfg)
        with read_write(job), open_dict(job):
            del job["hydra"]
        resolve(job)
        return job
    finally:
        hydra_config.cfg = previous
