"""The benchmarks in their quick modes on the CPU: the layer benchmark's correctness check,
and the grid-workers benchmark end to end (its numbers mean nothing here); and their
arithmetic, with the timed work replaced by fakes of known speed."""

from __future__ import annotations

import importlib.util
import json
import sys
import types
from pathlib import Path

import pytest
import torch

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


def fake_clock(*readings: float) -> types.SimpleNamespace:
    """A stand-in for a benchmark's ``time`` module whose perf_counter reads ``readings``."""
    values = iter(readings)
    return types.SimpleNamespace(perf_counter=lambda: next(values))


def test_the_grid_workers_benchmark_reports_each_call_as_it_ran(tmp_path, monkeypatch):
    bench = load(BENCHMARKS / "grid_workers.py")
    commands = []

    def run(command, **kwargs):  # two layers, three seeds: six runs per call
        commands.append(command)
        runs = [{"layer": layer, "rank": rank, "seed": seed, "images_per_second": 10.0 * seed}
                for layer, rank in [("conv", None), ("lrlc", 2)] for seed in range(3)]  # fmt: skip
        Path(command[command.index("--out") + 1]).write_text(json.dumps({"runs": runs}))

    monkeypatch.setattr(bench.subprocess, "run", run)
    monkeypatch.setenv("LRLC_COMMIT", "abc1234")
    for quick in (False, True):
        commands.clear()
        monkeypatch.setattr(bench, "time", fake_clock(0.0, 10.0, 100.0, 105.0))
        argv = ["--device", "cpu", "--layers", "conv,lrlc:2", "--seeds", "3", "--workers", "1,4"]
        result = bench.main(argv + ["--out", str(tmp_path)] + ["--quick"] * quick)
        assert [c[c.index("--workers") + 1] for c in commands] == ["1", "4"]
        assert all(("--train-size" in c) is quick for c in commands)
        calls = result["calls"]
        assert [c["wall_seconds"] for c in calls] == [10.0, 5.0]
        assert [c["runs"] for c in calls] == [6, 6]
        assert [c["runs_per_minute"] for c in calls] == [36.0, 72.0]
        assert [c["speedup_over_first"] for c in calls] == [1.0, 2.0]
        assert list(calls[0]["images_per_second_per_run"])[:4] == [
            "conv-seed0", "conv-seed1", "conv-seed2", "lrlc2-seed0"
        ]  # fmt: skip
        assert result["commit"] == "abc1234" and result["device"] == "cpu"
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "grid-workers-cpu-quick.json", "grid-workers-cpu.json"
    ]  # fmt: skip


def test_the_training_benchmark_takes_medians_after_the_warm_up(tmp_path, monkeypatch):
    from lrlc import data

    bench = load(BENCHMARKS / "training.py")
    images = torch.zeros(8, 3, 32, 32, dtype=torch.uint8)
    split = data.ImageDataset("cifar10", "train", images, torch.arange(8), data.cifar10.CLASSES,
                              "pickle", "", True, "")  # fmt: skip
    monkeypatch.setattr(bench.data, "load", lambda *args, **kwargs: split)
    fits = []

    def fit(model, loader, epochs, device, progress, compile):  # the warm-up epoch first
        fits.append((epochs, compile))
        rates = [1000.0, 30.0, 10.0, 20.0][:epochs]
        return types.SimpleNamespace(images_per_second=[r * (2 if compile else 1) for r in rates])

    plain = iter([900.0, 2.0, 6.0, 4.0])
    monkeypatch.setattr(bench, "fit", fit)
    monkeypatch.setattr(bench, "dataloader_epoch", lambda *args: next(plain))
    result = bench.main(["--device", "cpu", "--epochs", "3", "--workers", "0",
                         "--compile", "default", "--out", str(tmp_path)])  # fmt: skip
    assert fits == [(4, False), (4, "default")]
    assert result["device_loader_images_per_second"] == 20.0  # median of 30, 10, 20
    assert result["dataloader_images_per_second"] == 4.0  # median of 2, 6, 4
    assert result["speedup"] == 5.0
    assert result["compiled_images_per_second"] == {"default": 40.0}
    assert result["compiled_vs_eager"] == {"default": 2.0}
    assert json.loads((tmp_path / "training-cpu.json").read_text()) == result


def test_the_plain_loop_counts_images_not_batches(monkeypatch):
    bench = load(BENCHMARKS / "training.py")
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(12, 3))
    batches = [(torch.randn(n, 3, 2, 2), torch.randint(0, 3, (n,))) for n in (4, 4, 2)]
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    monkeypatch.setattr(bench, "time", fake_clock(0.0, 2.0))
    rate = bench.dataloader_epoch(model, batches, optimizer, torch.device("cpu"), amp=False)
    assert rate == 5.0  # 10 images in 2 s


def test_a_formulation_wrong_by_more_than_its_tolerance_or_in_a_gradient_fails_its_check():
    bench = load(BENCHMARK)
    lrlc, kconv, einsum = bench.members_of((8, 8), 4, 2, [], ["lrlc_einsum"])

    def off(module, x):  # 5e-5 relative error: over float32's 1e-5, under ten times it
        return bench.lrlc_einsum(module, x) * (1 + 5e-5)

    def wrong_gradient(module, x):  # the right output, its gradient 1.5 times too large
        y = bench.lrlc_einsum(module, x)
        return y.detach() + 1.5 * (y - y.detach())

    group = [lrlc, kconv, einsum]
    group += [bench.Member(name, 2, lrlc.make, call, lrlc.flops)
              for name, call in [("off", off), ("wrong_gradient", wrong_gradient)]]  # fmt: skip
    checks = bench.check_group(group, (8, 8), 4, 2, [bench.PRECISIONS["float32"]],
                               torch.device("cpu"), 0, torch.contiguous_format)  # fmt: skip
    passed = {c["layer"]: c["passed"] for c in checks}
    assert passed == {"lrlc": True, "kconv": True, "lrlc_einsum": True, "off": False,
                      "wrong_gradient": False}  # fmt: skip
    assert [m.name for m in bench.members_of((8, 8), 4, 0, [], ["lc_unfold"])] == [
        "conv", "lc", "lc_unfold"
    ]  # fmt: skip


def test_a_failed_reference_self_test_fails_the_benchmark(monkeypatch):
    bench = load(BENCHMARK)
    monkeypatch.setattr(bench, "reference_self_test", lambda: {"passed": False})
    monkeypatch.setattr(bench, "check_group", lambda *args: [])
    assert bench.main(["--device", "cpu", "--quick", "--check-only"]) == 1


def test_time_group_times_each_call_after_the_warm_up_rotating_the_inputs(monkeypatch):
    bench = load(BENCHMARK)
    clock = types.SimpleNamespace(now=0.0)
    clock.perf_counter = clock.process_time = lambda: clock.now
    monkeypatch.setattr(bench, "time", clock)
    inputs = {"a": [], "b": []}

    def step(name, milliseconds):
        def call(i):
            inputs[name].append(i)
            clock.now += milliseconds.pop(0) / 1e3

        return call

    steps = {"a": step("a", [100.0, 100.0, 1.0, 2.0, 9.0]), "b": step("b", [50.0] * 5)}
    times = bench.time_group(steps, 3, 2, 3, torch.device("cpu"), None)  # 2 warm-up, 3 timed
    assert times["a"]["median_ms"] == pytest.approx(2.0)  # not the mean, 4
    assert times["a"]["min_ms"] == pytest.approx(1.0) and times["a"]["n"] == 3
    assert times["b"]["median_ms"] == pytest.approx(50.0)
    assert inputs == {"a": [0, 2, 1, 0, 2], "b": [1, 0, 2, 1, 0]}  # interleaved, rotated


def test_the_benchmarks_ratios_and_rates_come_from_its_medians(tmp_path, monkeypatch):
    bench = load(BENCHMARK)
    medians = {"conv": 2.0, "lc": 8.0, "kconv": 4.0, "lrlc": 6.0, "lrlc_einsum": 12.0,
               "lrlc_id": 9.0}  # fmt: skip

    def time_group(steps, *args):
        if set(steps) <= {"mm", "copy"}:  # the machine: 2 ms a matmul, 4 ms a copy
            return {n: {"median_ms": 2.0 if n == "mm" else 4.0} for n in steps}
        return {n: {"median_ms": medians[n], "min_ms": medians[n] / 2} for n in steps}

    monkeypatch.setattr(bench, "time_group", time_group)
    monkeypatch.setattr(bench, "check_group", lambda *args: [])
    monkeypatch.setenv("LRLC_COMMIT", "abc1234-dirty")
    assert bench.main(["--device", "cpu", "--quick", "--out", str(tmp_path)]) == 0
    record = json.loads((tmp_path / "cpu-quick.json").read_text())
    assert record["git"] == {"commit": "abc1234", "dirty": True}
    machine = record["machine"]
    assert machine["matmul"]["float32"]["tflops"] == pytest.approx(2 * 2048**3 / 2e-3 / 1e12)
    assert machine["copy_bandwidth_gbs"] == pytest.approx(2 * 2**25 * 4 / 4e-3 / 1e9)
    ratios = record["ratios"]
    for mode in ("fwd", "fwd_bwd"):
        assert ratios["lrlc_vs_kconv"]["16x16"]["float32"][mode] == {"1": 1.5, "2": 1.5, "4": 1.5}
        assert ratios["lrlc_einsum_vs_kconv"]["16x16"]["float32"][mode] == {"2": 3.0, "4": 3.0}
        assert ratios["lrlc_id_overhead"]["16x16"]["float32"][mode] == {"2": 0.5}
        assert ratios["lc_vs_conv"]["16x16"]["float32"][mode] == 4.0
        lc = ratios["lc_vs_roofline"]["16x16"]["float32"][mode]
        assert lc["ratio"] == pytest.approx(8.0 / lc["bound_ms"])
    lc = {r["mode"]: r for r in record["results"] if r["layer"] == "lc"}
    assert lc["fwd_bwd"]["gflop"] == pytest.approx(3 * lc["fwd"]["gflop"])  # backward: 2 more
    assert lc["fwd"]["gflop"] == pytest.approx(bench.lc2d_flops(16, 16, 3, (16, 16)) * 4 / 1e9)
    assert lc["fwd"]["tflops"] == pytest.approx(lc["fwd"]["gflop"] / 8.0)  # GFLOP / ms
    p, machine = bench.PRECISIONS["float32"], record["machine"]
    both = bench.lc_roofline((16, 16), 16, 4, p, "fwd_bwd", machine)
    assert both["flops"] == 3 * bench.lc_roofline((16, 16), 16, 4, p, "fwd", machine)["flops"]
