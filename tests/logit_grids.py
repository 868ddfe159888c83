"""Small results files for the tests of lrlc.logit_rate and lrlc.capacity: a grid of runs
made by hand, with combining logits whose weights are known in closed form."""

from __future__ import annotations

import math

from lrlc.results import Results

LAYERS = ("features.0", "features.3", "features.6")


def logits(first: float, rank: int = 4) -> dict:
    """Row and column logits of every layer, 3 x 2 positions: basis 1 of ``rank`` gets
    ``first`` from the rows at every position, the columns add nothing."""
    row = [[first] + [0.0] * (rank - 1)] * 3
    col = [[0.0] * rank] * 2
    return {layer: {"row": row, "col": col} for layer in LAYERS}


def lrlc_run(seed: int, test: float, first: float) -> dict:
    return {
        "layer": "lrlc", "rank": 4, "where": "all", "seed": seed, "epochs": 8, "lr": 0.05,
        "weight_decay": 5e-4, "valid_accuracy": test, "test_accuracy": test, "params": 300,
        "train_seconds": 1.0, "images_per_second": 1.0, "combining_logits": logits(first),
    }  # fmt: skip


def grid(scale: float | None, tests: tuple[float, float], first: float) -> Results:
    runs = [lrlc_run(seed, test, first) for seed, test in enumerate(tests)]
    config = {"epochs": 8, "batch_size": 64, "train_size": 3000, "amp": "float32"}
    if scale is not None:
        config["combining_lr_scale"] = scale
    else:  # the base grid: its baselines too
        for layer, test in (("conv", 0.88), ("lc", 0.96)):
            runs += [{**lrlc_run(s, test, 0.0), "layer": layer, "rank": None} for s in (0, 1)]
        runs += [{**lrlc_run(s, 0.91, 0.0), "rank": 1} for s in (0, 1)]
    raw = {
        "dataset": "mnist", "device": "cpu", "torch": "2.x", "commit": "0123456789",
        "date": "2026-12-03", "config": config, "tuning": [], "chosen": {},
        "data": {"source": "idx", "train_size": 3000, "valid_size": 1000, "test_size": 10000,
                 "is_subset": True, "note": "train: subset."},
        "runs": runs,
    }  # fmt: skip
    return Results("mnist", raw, f"results/cpu/{scale}.json")


def table_cells(text: str) -> list[list[str]]:
    """The rows of a Markdown table in ``text`` (header first), each split into its cells
    (the first keeps its leading ``"| "``, the last its trailing ``" |"``)."""
    return [ln.split(" | ") for ln in text.splitlines() if ln.startswith("| ")]


def largest(first: float) -> float:
    """The largest of softmax([first, 0, 0, 0])."""
    return math.exp(first) / (math.exp(first) + 3)


def wide_runs(rank: int, tests: tuple[float, ...], params: int) -> list[dict]:
    return [{**lrlc_run(s, t, 0.0), "layer": "wide_conv", "rank": rank, "params": params}
            for s, t in enumerate(tests)]  # fmt: skip


def last_layer_runs(tests: tuple[float, ...], first: float, params: int = 150) -> list[dict]:
    """LRLC of rank 4 in the last layer only: logits for ``features.6`` alone."""
    last = {"features.6": logits(first)["features.6"]}
    return [
        {**lrlc_run(s, t, 0.0), "where": "last", "params": params, "combining_logits": last}
        for s, t in enumerate(tests)
    ]


def first_layer_runs(tests: tuple[float, ...], first: float, rank: int = 4) -> list[dict]:
    """LRLC in the first layer only: logits for ``features.0`` alone (none at rank 1)."""
    logged = {"features.0": logits(first)["features.0"]} if rank > 1 else {}
    return [
        {**lrlc_run(s, t, 0.0), "where": "first", "rank": rank, "params": 80,
         "combining_logits": logged}
        for s, t in enumerate(tests)
    ]  # fmt: skip


def layered(scale: float | None, tests: tuple[float, float], firsts: tuple[float, ...]) -> Results:
    """:func:`grid` whose LRLC rank 4 runs' layers 1, 2, 3 have the logits' lead ``firsts``."""
    g = grid(scale, tests, 0.0)
    per_layer = {layer: logits(first)[layer] for layer, first in zip(LAYERS, firsts, strict=True)}
    for r in g.raw["runs"]:
        if r["layer"] == "lrlc" and r["rank"] == 4:
            r["combining_logits"] = per_layer
    return g
