"""The cost of every CLIP method and Header Net backbone at its real size, as `python -m src.profile` measures it
(src/core/cost.py), all in this process; and our FLOP counter against the published figures of ViT-B/16, ir-CSN-50
and VideoMAE-B.

    python -m benchmarks.profile                        # every model, CPU -> benchmarks/results/profile.json
    python -m benchmarks.profile --only csn50 vmae_b --device cuda

Real sizes: task=clip methods on CLIP ViT-B/16 at 8 frames 224², one view, the prompts of 101 classes (UCF-101);
task=header CSN-50 and VideoMAE-B at 16 frames 224². Random init (backbone.pretrained=null, backbone.ckpt=null):
nothing is downloaded, and weights do not change a cost.
Throughput on a shared CPU is indicative only: other jobs take the cores. GFLOPs = 2 x multiply-adds; papers quote
multiply-adds (GMACs), so the published check compares gflops / 2.
"""
import argparse
import logging
from pathlib import Path

import open_clip
import torch
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig, OmegaConf

from benchmarks.common import REPO, RESULTS_DIR, environment, print_table, resolve_device, save_results
from src.core import run_naming  # noqa: F401  (registers the run_tag resolver the task configs use)
from src.core.cost import forward_flops, measure_cost
from src.header.models.net import build_header_net
from src.tasks import get_task

CLIP_B16 = ["backbone=clip_b16", "backbone.pretrained=null"]
MODELS = {   # name -> the overrides of `python -m src.profile` (and of the training run it stands for)
    **{method: [f"method={method}", *CLIP_B16]
       for method in ("zero_shot", "video_coop", "dual_coop", "stt", "vidop", "vilt", "vita")},
    "vifi_clip": ["method=vifi_clip", "dataset.num_frames=8", *CLIP_B16],   # its recipe trains on 32: 8 as the rest
    "csn50": ["task=header", "backbone.model_depth=50", "backbone.name=csn-r50"],
    "vmae_b": ["task=header", "backbone=vmae", "backbone.ckpt=null", "backbone.variant=base"],
}
TOLERANCE = 0.05   # the acceptance: within 5 % of the published figure

# Published multiply-adds per view, with where they come from and the input they were counted at.
PUBLISHED = {
    "vit_b16": {"gmacs": 17.6, "input": "1 image, 224²",
                "source": "timm README (huggingface/pytorch-image-models), CLIP fine-tune table: "
                          "vit_base_patch16_clip_224.openai_ft_in1k, 86.6 M params, 17.6 GMACs at 224²"},
    "csn50": {"gmacs": 55.90, "input": "32 frames, 256² (the test view: ThreeCrop crop_size=256)",
              "source": "mmaction2 configs/recognition/csn/README.md: ircsn_ig65m-pretrained-r50-bnfrozen "
                        "32x2x1, 55.90G FLOPs, 13.13M params (mmengine counts multiply-adds)"},
    "vmae_b": {"gmacs": 180.0, "input": "16 frames, 224²",
               "source": "VideoMAE (Tong et al., NeurIPS 2022), Kinetics-400 table: ViT-B 16x224², 180 GFLOPs, "
                         "87M params"},
}


def compose_profile(overrides: list[str]) -> DictConfig:
    """conf/profile.yaml + `overrides`, resolved (no Hydra run: paths.output_dir points at the results folder)."""
    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base="1.3"):
        cfg = compose("profile", overrides=[*overrides, f"paths.output_dir={RESULTS_DIR}"])
    OmegaConf.resolve(cfg)
    return cfg


def profile_model(name: str, device: torch.device, warmup: int, iterations: int) -> dict:
    cfg = compose_profile(MODELS[name])
    torch.manual_seed(cfg.seed)
    subject = get_task(cfg.task.name).profile_subject(cfg)
    return {"overrides": MODELS[name],
            **measure_cost(subject, device=device, warmup=warmup, iterations=iterations)}


def published_gmacs(name: str) -> float:
    """Our count (multiply-adds) of the model of PUBLISHED[name] at the input it was published for, on the meta
    device: shapes only, nothing computed, so it takes a second."""
    with torch.device("meta"):
        if name == "vit_b16":
            model, example = open_clip.create_model("ViT-B-16", device="meta").visual, torch.empty(1, 3, 224, 224)
        else:
            frames, size = (32, 256) if name == "csn50" else (16, 224)
            backbone = compose_profile(MODELS[name]).backbone
            model = build_header_net(OmegaConf.to_container(backbone), num_frames=frames, input_size=size)
            example = torch.empty(1, 3, frames, size, size)
    return forward_flops(model, example) / 2e9


def published_check(name: str) -> dict:
    ours, published = published_gmacs(name), PUBLISHED[name]["gmacs"]
    return {**PUBLISHED[name], "ours_gmacs": ours, "relative_difference": ours / published - 1,
            "within_tolerance": abs(ours / published - 1) <= TOLERANCE}


def markdown_table(results: dict) -> str:
    """The README's table: one row per model."""
    lines = ["| model | input (T, size) | params (trainable) | GFLOPs fwd | GFLOPs fwd+bwd | activations (MiB) "
             "| once per step: GFLOPs fwd+bwd, activations (MiB) | clips/s |", "|---|---|---|---|---|---|---|---|"]
    for name, cost in results.items():
        trains, shared = cost["gflops_train"] is not None, cost["per_step"]
        step = "–" if shared is None else f"{_number(shared['gflops_train'])}, {shared['activation_mb']:.0f}"
        memory = f"{cost['activation_mb']:.0f}" if trains else "–"   # nothing trains: no training step
        lines.append(f"| {name} | {cost['num_frames']}, {cost['image_size']}² | {cost['params_total'] / 1e6:.1f} M "
                     f"({cost['params_trainable'] / 1e6:.3g} M) | {cost['gflops_forward']:.1f} | "
                     f"{_number(cost['gflops_train'])} | {memory} | "
                     f"{step} | {cost['throughput_clips_per_s']:.2f} |")
    return "\n".join(lines)


def _number(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="+", choices=list(MODELS), default=list(MODELS), help="models to profile")
    parser.add_argument("--device", default="cpu", help="cpu | cuda")
    parser.add_argument("--warmup", type=int, default=1, help="untimed forward passes before the timed ones")
    parser.add_argument("--iterations", type=int, default=2, help="timed forward passes")
    parser.add_argument("--out-dir", type=Path, default=RESULTS_DIR)
    args = parser.parse_args(argv)
    logging.getLogger("src").setLevel(logging.WARNING)   # the methods' build notes are no part of the table
    device = resolve_device(args.device)
    checks = {name: published_check(name) for name in PUBLISHED}
    print_table("our count vs the published multiply-adds", ["model", "input", "ours GMACs", "published", "diff"],
                [[n, c["input"], c["ours_gmacs"], c["gmacs"], f"{c['relative_difference']:+.1%}"]
                 for n, c in checks.items()])
    results = {}
    for name in args.only:
        results[name] = profile_model(name, device, args.warmup, args.iterations)
        print(f"{name}: {results[name]['gflops_forward']:.1f} GFLOPs forward", flush=True)
    print(markdown_table(results))
    save_results("profile", {"environment": environment(device), "published_checks": checks, "models": results},
                 args.out_dir)
    return results


if __name__ == "__main__":
    main()
