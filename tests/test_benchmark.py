"""The layer benchmark's correctness check, in its quick mode on the CPU (no timing here)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

BENCHMARK = Path(__file__).resolve().parents[1] / "benchmarks" / "layers.py"


def test_every_benchmarked_formulation_matches_float64():
    spec = importlib.util.spec_from_file_location("benchmark_layers", BENCHMARK)
    bench = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = bench  # dataclasses look their module up there
    spec.loader.exec_module(bench)
    args = ["--device", "cpu", "--quick", "--check-only", "--dtypes", "float32,bfloat16"]
    assert bench.main(args + ["--variants", "lrlc_einsum,lrlc_mulsum,lc_unfold"]) == 0
