"""A grid's throughput with 1 and with N worker processes (``python -m lrlc.experiments
--workers N``), measured in one run as a ratio of wall-clock times.

The paper's small networks leave a GPU mostly idle while Python prepares each step (the
training benchmark found 2.8 ms of per-step overhead on an H200), so several processes
training different runs at once should finish a grid sooner. This measures it: the same
small grid (default: conv and LRLC rank 2 on CIFAR-10, one epoch, 8 seeds, no tuning) with
each worker count, every call from a fresh process (start-up and data loading included, as
in a real grid), each into a results file of its own in a temporary folder.

Run: ``python benchmarks/grid_workers.py --device cuda [--workers 1,4,8]``; it writes
``benchmarks/results/grid-workers-<device>.json``. ``--quick`` is a smoke test (numbers mean
nothing). Speed claims live here, not in tests.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lrlc.provenance import device_name, git_commit  # noqa: E402
from lrlc.train import auto_device  # noqa: E402


def grid_call(args: argparse.Namespace, workers: int, out: Path) -> dict:
    """One ``python -m lrlc.experiments`` call with ``workers``: wall seconds and its runs."""
    seeds = ",".join(str(s) for s in range(args.seeds))
    command = [sys.executable, "-m", "lrlc.experiments", args.dataset, "--layers", args.layers,
               "--epochs", str(args.epochs), "--seeds", seeds, "--no-tune", "--lrs", "0.1",
               "--weight-decays", "0", "--no-progress", "--device", args.device,
               "--workers", str(workers), "--out", str(out)]  # fmt: skip
    if args.quick:
        command += ["--quick", "--train-size", "256", "--valid-size", "200", "--batch-size", "64"]
    start = time.perf_counter()
    subprocess.run(command, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - start
    runs = json.loads(out.read_text())["runs"]
    return {
        "workers": workers,
        "wall_seconds": round(seconds, 2),
        "runs": len(runs),
        "runs_per_minute": round(60 * len(runs) / seconds, 2),
        "images_per_second_per_run": {
            f"{r['layer']}{'' if r['rank'] is None else r['rank']}-seed{r['seed']}": r[
                "images_per_second"
            ]
            for r in runs
        },
    }


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--device", default=None, help="cuda, mps or cpu (default: the best)")
    ap.add_argument("--dataset", default="cifar10")
    ap.add_argument("--layers", default="conv,lrlc:2", help="as the experiments' --layers")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--seeds", type=int, default=8, help="runs per layer (seeds 0..N-1)")
    ap.add_argument("--workers", default="1,4,8", help="the worker counts to compare")
    ap.add_argument("--quick", action="store_true", help="a smoke test: numbers mean nothing")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = ap.parse_args(argv)
    device = auto_device(args.device)
    args.device = device.type
    counts = [int(w) for w in args.workers.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        calls = [grid_call(args, w, Path(tmp) / f"workers-{w}.json") for w in counts]
    base = calls[0]["wall_seconds"]
    for call in calls:
        call["speedup_over_first"] = round(base / call["wall_seconds"], 2)
    result = {
        "device": device_name(device),
        "torch": torch.__version__,
        "commit": git_commit(),
        "date": datetime.date.today().isoformat(),
        "cpu_count": os.cpu_count(),
        "config": {
            "dataset": args.dataset,
            "layers": args.layers,
            "epochs": args.epochs,
            "seeds": args.seeds,
            "quick": args.quick,
        },  # fmt: skip
        "calls": calls,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    name = device_name(device).lower().replace(" ", "-")
    path = args.out / f"grid-workers-{name}{'-quick' if args.quick else ''}.json"
    path.write_text(json.dumps(result, indent=1) + "\n")
    for call in calls:
        print(f"workers {call['workers']}: {call['runs']} runs in {call['wall_seconds']} s, "
              f"{call['speedup_over_first']}x the first")  # fmt: skip
    return result


if __name__ == "__main__":
    main()
