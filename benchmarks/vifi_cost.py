"""What full fine-tuning costs: a training step of vifi_clip (both CLIP towers train) vs video_coop (frozen CLIP,
learned text context), same backbone, frames, batch and classes, measured side by side in one run.

    python -m benchmarks.vifi_cost                                   # ViT-B/16 random init, 8 frames, batch 4, CPU
    python -m benchmarks.vifi_cost --device cuda --threads 8         # the same on a GPU

Each variant runs in its own child process (spawned one after the other, never at once), so its memory figures
are its own: a bare PyTorch step (forward, cross-entropy, backward, gradient-norm clipping at 1, AdamW step) on
a fixed random batch (B, 1 view, T, 3, 224, 224) with `--classes` class names (their prompts go through the text
tower every step in both methods).
Time: the median step after `--warmup` steps; CPU with one thread: the process's CPU time (benchmarks/common.py).
Memory, CPU: peak resident set size (getrusage ru_maxrss: the process's whole life, model building included) and
its growth over the resident size just before the first step (activations, gradients, AdamW's two moments);
CUDA: torch.cuda.max_memory_allocated over the steps.
"""
import argparse
import multiprocessing
import resource
from pathlib import Path

import torch
import torch.nn.functional as F

from benchmarks.common import (
    RESULTS_DIR,
    StepTimer,
    backbone_overrides,
    class_names,
    clock_name,
    compose_config,
    environment,
    print_table,
    resolve_device,
    save_results,
)
from src.clip.models.backbone import load_clip
from src.clip.models.registry import build_method

VARIANTS = {   # label -> overrides
    "video_coop": ["method=video_coop"],
    "vifi_clip": ["method=vifi_clip"],
    "vifi_clip + grad_checkpointing": ["method=vifi_clip", "method.grad_checkpointing=true"],
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backbone", default="clip_b16", help="conf/backbone/<name>, always random init")
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--classes", type=int, default=101, help="class prompts encoded per step (UCF-101: 101)")
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--steps", type=int, default=3, help="timed steps per variant")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads of each child")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--out-dir", type=Path, default=RESULTS_DIR)
    parser.add_argument("--same-process", action="store_true",
                        help="measure in this process (fast smoke run; peak RSS then includes earlier variants)")
    return parser.parse_args(argv)


def _rss_mb() -> float:
    """This process's resident set size now (Linux /proc), MB."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def measure(label: str, args: argparse.Namespace) -> dict:
    """One variant's step time and memory (run in a fresh child process)."""
    torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    cfg = compose_config([*VARIANTS[label], *backbone_overrides(args.backbone, random_init=True),
                          f"dataset.num_frames={args.frames}"])
    torch.manual_seed(0)
    clip, tokenizer = load_clip(cfg["backbone"])
    model = build_method(cfg["method"], clip, tokenizer, class_names(args.classes), args.frames).to(device).train()
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=1e-6)
    size = cfg["backbone"]["image_size"]
    video = torch.randn(args.batch, 1, args.frames, 3, size, size, device=device)
    labels = torch.arange(args.batch, device=device) % args.classes
    rss_before = _rss_mb()
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    timer = StepTimer(device)
    for step in range(args.warmup + args.steps):
        loss = F.cross_entropy(model(video), labels) + model.extra_loss()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if step >= args.warmup - 1:
            timer.mark(last=step == args.warmup + args.steps - 1)
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024          # Linux: KB -> MB
    # Growth 0: the process's peak predates the steps (--same-process, where earlier work set ru_maxrss).
    result = {"step_s": 1.0 / timer.steps_per_s(), "trainable_params": sum(p.numel() for p in params),
              "peak_rss_mb": peak_rss, "step_rss_growth_mb": max(peak_rss - rss_before, 0.0),
              "clock": clock_name(device)}
    if device.type == "cuda":
        result["peak_cuda_mb"] = torch.cuda.max_memory_allocated(device) / 2**20
    return result


def _child(label: str, args: argparse.Namespace, queue) -> None:
    queue.put(measure(label, args))


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    context = multiprocessing.get_context("spawn")   # a fresh process: its peak memory is this variant's alone
    figures = {}
    for label in VARIANTS:
        if args.same_process:
            figures[label] = measure(label, args)
            continue
        queue = context.Queue()
        child = context.Process(target=_child, args=(label, args, queue))
        child.start()
        figures[label] = queue.get()
        child.join()
    base = figures["video_coop"]
    memory = "peak_cuda_mb" if args.device == "cuda" else "peak_rss_mb"
    ratios = {label: {"step_time": f["step_s"] / base["step_s"], "peak_memory": f[memory] / base[memory]}
              for label, f in figures.items()}
    print_table(f"training step, {args.backbone} random init, {args.frames} frames, batch {args.batch}, "
                f"{args.classes} classes, {args.device}, {args.threads} thread(s)",
                ["variant", "trainable params (M)", "step (s)", f"{memory}", "step RSS growth (MB)",
                 "x step time", "x peak memory"],
                [[label, f["trainable_params"] / 1e6, f["step_s"], f[memory], f["step_rss_growth_mb"],
                  ratios[label]["step_time"], ratios[label]["peak_memory"]] for label, f in figures.items()])
    results = {"settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
               "environment": environment(torch.device(args.device)), "variants": figures,
               "ratio_to_video_coop": ratios}
    results["environment"]["cpu_threads"] = args.threads
    save_results("vifi_cost", results, args.out_dir)
    return results


if __name__ == "__main__":
    main()
