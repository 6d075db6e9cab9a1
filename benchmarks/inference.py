"""Detection windows/s at real size: the Header Net (CSN-50, 16 frames, 224 x 224, random init) run by eager PyTorch
fp32 and by onnxruntime fp32 on the same windows, side by side (src/core/inference_engine.py: the engines
`src.detect detect.engine=…` uses).

    python -m benchmarks.inference                              # 16 windows, batches of 4, 1 thread, CPU
    python -m benchmarks.inference --threads 2 --bf16           # all cores (wall clock); adds torch bf16 autocast

The model is exported to ONNX in a temporary folder (the format src.export writes), both engines score the same
windows, and their logits must agree within 1e-4 (max |Δ| is printed). Rates are windows / time of a whole pass
over the windows, median over rounds; each round rotates which engine runs first, and the headline ratio
(onnxruntime / torch) is the median of the per-round ratios. With one thread the clock is this process's CPU time,
which other jobs on a shared machine barely disturb (benchmarks/common.py). Target (the issue): onnxruntime
≥ 1.5 × eager torch on CPU. Writes benchmarks/results/inference.json.
"""
import argparse
import tempfile
from pathlib import Path

import torch

from benchmarks.common import (
    RESULTS_DIR,
    clock_name,
    compose_config,
    environment,
    median,
    now,
    print_table,
    save_results,
)
from src.core.export_formats import write_model
from src.core.inference_engine import OnnxEngine, TorchEngine
from src.header.models.net import build_header_net

TARGET_RATIO = 1.5
TOLERANCE = 1e-4


def _args(argv):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.inference", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--windows", type=int, default=16, help="windows scored per pass")
    parser.add_argument("--batch-size", type=int, default=4, help="windows per forward pass (detect.batch_size)")
    parser.add_argument("--num-frames", type=int, default=16)
    parser.add_argument("--input-size", type=int, default=224)
    parser.add_argument("--depth", type=int, default=50, help="CSN depth (50 | 101 | 152)")
    parser.add_argument("--threads", type=int, default=1, help="torch and onnxruntime intra-op threads")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--bf16", action="store_true", help="also time torch with bf16 autocast")
    parser.add_argument("--out-dir", type=Path, default=RESULTS_DIR)
    return parser.parse_args(argv)


def score_all(engine, windows: torch.Tensor, batch_size: int) -> torch.Tensor:
    """Every window's logits, batch by batch, as src.detect scores them."""
    return torch.cat([engine(windows[i:i + batch_size]) for i in range(0, len(windows), batch_size)])


def main(argv=None) -> dict:
    args = _args(argv)
    torch.set_num_threads(args.threads)
    device = torch.device("cpu")
    cfg = compose_config(["task=header", "backbone=csn", f"backbone.model_depth={args.depth}",
                          f"dataset.input_size={args.input_size}", f"dataset.num_frames={args.num_frames}"])
    torch.manual_seed(0)
    net = build_header_net({**cfg["backbone"], "ckpt": None}, num_frames=args.num_frames,
                           input_size=args.input_size).eval()
    shape = (args.windows, 3, args.num_frames, args.input_size, args.input_size)
    windows = torch.randn(shape, generator=torch.Generator().manual_seed(0))  # normalised clips, as detect feeds
    with tempfile.TemporaryDirectory(prefix="inference-bench-") as tmp:
        model_file = Path(tmp) / "model.onnx"
        exporter = write_model(net, windows[:2], model_file, "onnx", opset=18)   # as src.export writes it
        engines = {"torch": TorchEngine(net, "fp32", device), "onnxruntime": OnnxEngine(str(model_file), device)}
        if args.bf16:
            engines["torch_bf16"] = TorchEngine(net, "bf16", device)
        logits = {name: score_all(engine, windows, args.batch_size) for name, engine in engines.items()}  # warm-up
        rates: dict[str, list[float]] = {name: [] for name in engines}
        names = list(engines)
        for round_ in range(args.rounds):
            for name in names[round_ % len(names):] + names[:round_ % len(names)]:
                began = now(device)
                score_all(engines[name], windows, args.batch_size)
                rates[name].append(args.windows / (now(device) - began))
    differences = {name: float((logits[name] - logits["torch"]).abs().max()) for name in engines if name != "torch"}
    ratios = {name: median([r / t for r, t in zip(rates[name], rates["torch"])]) for name in engines}
    print_table(f"Header Net csn-{args.depth}, {args.num_frames} x {args.input_size}², batch {args.batch_size}, "
                f"{args.threads} thread(s), clock {clock_name(device)}",
                ["engine", "windows/s", "x torch fp32", "max |Δ logits| vs torch"],
                [[name, median(rates[name]), ratios[name], differences.get(name, 0.0)] for name in engines])
    agree = differences["onnxruntime"] <= TOLERANCE
    print(f"onnxruntime / torch = {ratios['onnxruntime']:.2f}x (target >= {TARGET_RATIO}x); logits "
          f"{'agree' if agree else 'DIFFER'} within {TOLERANCE:g} (max |Δ| {differences['onnxruntime']:.2e})")
    results = {"settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
               "environment": {**environment(device), "clock": clock_name(device),
                               "onnxruntime": _onnxruntime_version(), "onnx_exporter": exporter},
               "windows_per_s": {name: median(values) for name, values in rates.items()}, "rounds": rates,
               "ratio_vs_torch": ratios, "max_abs_diff_vs_torch": differences, "logits_agree": agree,
               "target_ratio": TARGET_RATIO}
    save_results("inference", results, args.out_dir)
    return results


def _onnxruntime_version() -> str:
    import onnxruntime

    return onnxruntime.__version__


if __name__ == "__main__":
    main()
