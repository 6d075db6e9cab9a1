"""Smoke run of benchmarks/inference.py at a tiny size: torch and onnxruntime score the same windows, their logits
agree within 1e-4, the rates and ratios are consistent with the rounds, and the JSON is written."""
import json
import statistics

import pytest

from benchmarks import inference


@pytest.mark.slow   # a benchmark smoke run, like the other benchmarks'
def test_inference_benchmark_compares_torch_and_onnxruntime_on_the_same_windows(tmp_path):
    results = inference.main(["--input-size", "32", "--num-frames", "4", "--windows", "3", "--batch-size", "2",
                              "--rounds", "2", "--bf16", "--out-dir", str(tmp_path)])
    assert json.loads((tmp_path / "inference.json").read_text()) == results
    assert set(results["windows_per_s"]) == {"torch", "onnxruntime", "torch_bf16"}
    assert results["logits_agree"] and results["max_abs_diff_vs_torch"]["onnxruntime"] <= 1e-4
    assert 0 < results["max_abs_diff_vs_torch"]["torch_bf16"] < 1e-1  # bf16 ran: near, not equal
    assert all(len(rates) == 2 and min(rates) > 0 for rates in results["rounds"].values())
    torch_rounds, onnx_rounds = results["rounds"]["torch"], results["rounds"]["onnxruntime"]
    assert results["ratio_vs_torch"]["onnxruntime"] == pytest.approx(
        statistics.median(o / t for o, t in zip(onnx_rounds, torch_rounds)))
