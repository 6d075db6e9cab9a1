"""`python -m src.profile [the overrides of a training run]`: what that run's model costs (src/core/cost.py), measured
without training it, reading its data or creating its run folder. See conf/profile.yaml.

    python -m src.profile experiment=demo
    python -m src.profile method=vita backbone.pretrained=null
    python -m src.profile task=header backbone.model_depth=50 output=cost.json
"""
from pathlib import Path

import hydra
import torch
from omegaconf import DictConfig, OmegaConf
from rich.console import Console
from rich.table import Table

from src.core import run_naming  # noqa: F401  (registers the run_tag resolver before Hydra composes)
from src.core.atomic import write_json
from src.core.cli_checks import CONF_DIR
from src.core.command_line import check_command_line
from src.core.cost import measure_cost
from src.core.errors import UserError, one_line_errors
from src.core.hydra_run import run_command
from src.core.override_checks import folder_problem
from src.core.prediction_io import resolve_device
from src.tasks import get_task


def check_profile(cfg: DictConfig) -> None:
    """The task offers a profile, the device exists, and output= (when set) is a file that can be written."""
    get_task(cfg.task.name)
    resolve_device(str(cfg.device))
    if cfg.output is None:
        return
    output = Path(str(cfg.output))
    if output.is_dir():
        raise UserError(f"output={output}: is a folder; give a file name such as {output / 'cost.json'}")
    if problem := folder_problem(output.parent):
        raise UserError(f"output={output}: cannot write there ({problem}); pick a writable place")


def profile(cfg: DictConfig) -> dict:
    """Build the model of `cfg`, measure it, print the table and write output= when set; returns the figures."""
    device = resolve_device(str(cfg.device))
    torch.manual_seed(cfg.seed)  # the random-init weights, as a training run with this seed would draw them
    task = get_task(cfg.task.name)
    subject = task.profile_subject(cfg)
    cost = measure_cost(subject, device=device, warmup=cfg.warmup_iters, iterations=cfg.timed_iters)
    described = task.describe_run(OmegaConf.to_container(cfg, resolve=True))
    Console().print(cost_table(cost, " ".join(f"{k}={v}" for k, v in described.items())))
    if cfg.output is not None:
        write_json(Path(str(cfg.output)), cost)
        print(f"wrote {cfg.output}")
    return cost


def cost_table(cost: dict, title: str) -> Table:
    """The figures as two columns; GMACs beside GFLOPs, since papers quote multiply-adds."""
    table = Table(title=f"cost per clip: {title}", show_header=False)
    rows = [("parameters", f"{cost['params_total']:,} ({cost['params_trainable']:,} trainable)"),
            ("input", f"{cost['input_shape']} ({cost['num_frames']} frames, {cost['image_size']}²)"),
            ("GFLOPs forward", _flops(cost["gflops_forward"])),
            ("GFLOPs forward + backward", _flops(cost["gflops_train"])),
            ("activation memory", f"{cost['activation_mb']:.1f} MiB ({cost['activation_measure']})"),
            ("throughput", f"{cost['throughput_clips_per_s']:.2f} clips/s forward on {cost['device']}"
                           + (f", {torch.get_num_threads()} threads" if cost["device"] == "cpu" else ""))]
    if cost["per_step"] is not None:
        shared = cost["per_step"]
        rows.append(("once per step", f"{shared['what']}: {_flops(shared['gflops_forward'])} forward, "
                                      f"{_flops(shared['gflops_train'])} forward + backward, "
                                      f"{shared['activation_mb']:.1f} MiB activations"))
    for name, value in rows:
        table.add_row(name, value)
    return table


def _flops(gflops: float | None) -> str:
    return "none (nothing to train)" if gflops is None else f"{gflops:.2f} (= {gflops / 2:.2f} GMACs)"


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="profile")  # absolute: works in-process
def hydra_main(cfg: DictConfig) -> None:
    with one_line_errors():
        profile(cfg)


def check_command(argv: list[str]) -> Path | None:
    """What profile would refuse, before Hydra starts (the composed training config, the device, output=)."""
    return check_command_line(argv, "profile", after_resolve=[check_profile])


def main() -> None:
    run_command(check_command, hydra_main)


if __name__ == "__main__":
    main()
