"""The benchmarks in their quick modes on the CPU: the layer benchmark's correctness check,
and the grid-workers benchmark end to end (its numbers mean nothing here)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
BENCHMARK = BENCHMARKS / "layers.py"


def load(path: Path):
    spec = importlib.util.spec_from_file_location(f"benchmark_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_every_benchmarked_formulation_matches_float64():
    bench = load(BENCHMARK)
    args = ["--device", "cpu", "--quick", "--check-only", "--dtypes", "float32,bfloat16"]
    assert bench.main(args + ["--variants", "lrlc_einsum,lrlc_mulsum,lc_unfold"]) == 0


def test_the_grid_workers_benchmark_runs_each_worker_count(tmp_path, monkeypatch):
    import os

    if not os.environ.get("LRLC_DATA") and not os.environ.get("CI"):
        pytest.skip("LRLC_DATA is not set: no real data")
    monkeypatch.setenv("LRLC_CACHE", str(tmp_path / "cache"))
    bench = load(BENCHMARKS / "grid_workers.py")
    result = bench.main(["--device", "cpu", "--quick", "--dataset", "mnist", "--layers", "conv",
                         "--seeds", "2", "--workers", "1,2", "--out", str(tmp_path)])  # fmt: skip
    assert [c["workers"] for c in result["calls"]] == [1, 2]
    assert [c["runs"] for c in result["calls"]] == [2, 2]
    assert result["calls"][0]["speedup_over_first"] == 1.0
    assert (tmp_path / "grid-workers-cpu-quick.json").exists()
