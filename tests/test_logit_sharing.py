"""lrlc.logit_sharing: shared (row plus column) against per-position combining logits."""

import json
import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from lrlc import logit_sharing  # noqa: E402
from lrlc.experiments import PER_POSITION_LOGITS  # noqa: E402
from lrlc.results import Results  # noqa: E402

LAYERS = ("features.0", "features.3", "features.6")


def run(seed: int, test: float, logits: dict, params: int) -> dict:
    return {
        "layer": "lrlc", "rank": 4, "where": "all", "seed": seed, "epochs": 8, "lr": 0.05,
        "weight_decay": 5e-4, "valid_accuracy": test, "test_accuracy": test, "params": params,
        "train_seconds": 1.0, "images_per_second": 1.0, "combining_logits": logits,
    }  # fmt: skip


def grid(scale: float, tests: tuple[float, ...], per_position: bool, first: float) -> Results:
    """3 x 2 positions, rank 4: basis 1's logit is ``first`` everywhere (shared: through the
    rows), per position as one logit each."""
    if per_position:
        logits = {layer: {"logits": [[[first, 0.0, 0.0, 0.0]] * 2] * 3} for layer in LAYERS}
    else:
        row, col = [[first, 0.0, 0.0, 0.0]] * 3, [[0.0] * 4] * 2
        logits = {layer: {"row": row, "col": col} for layer in LAYERS}
    config = {"epochs": 8, "batch_size": 64, "train_size": 3000, "amp": "float32",
              "combining_lr_scale": scale}  # fmt: skip
    if per_position:
        config["combining_logits"] = PER_POSITION_LOGITS
    params = 320 if per_position else 300
    raw = {
        "dataset": "mnist", "device": "cpu", "torch": "2.x", "commit": "0123456789",
        "date": "2026-12-07", "config": config, "tuning": [], "chosen": {},
        "data": {"source": "idx", "train_size": 3000, "valid_size": 1000, "test_size": 10000,
                 "is_subset": True, "note": "train: subset."},
        "runs": [run(seed, test, logits, params) for seed, test in enumerate(tests)],
    }  # fmt: skip
    kind = "pp" if per_position else "shared"
    return Results("mnist", raw, f"results/cpu/{kind}-{scale:g}.json")


def largest(first: float) -> float:
    return math.exp(first) / (math.exp(first) + 3)


def test_table_sets_each_per_position_grid_against_the_shared_one():
    shared = grid(100, (0.95, 0.97), False, 1.0)
    slow, fast = grid(100, (0.93, 0.93), True, 0.0), grid(1000, (0.96, 0.98), True, 2.0)
    text = logit_sharing.table(shared, [slow, fast]).data
    lines = [line for line in text.splitlines() if line.startswith("| LRLC")]
    assert [line.split(" | ")[0] for line in lines] == [
        "| LRLC rank 4, shared logits at 100×",
        "| LRLC rank 4, per-position logits at 100×",
        "| LRLC rank 4, per-position logits at 1000×",
    ]
    assert "| − shared logits at 100× |" in text
    cells = [line.split(" | ") for line in lines]
    assert cells[0][1] == "300" and cells[1][1] == "320"  # parameters as recorded
    assert cells[1][3].startswith("**-3.00") and cells[2][3].startswith("+1.00 (")
    weights = f"{largest(2.0):.3f} · {largest(2.0):.3f} · {largest(2.0):.3f}"
    assert cells[2][4].rstrip(" |") == weights
    assert cells[1][4].rstrip(" |") == "0.250 · 0.250 · 0.250"
    assert cells[0][3] == ""  # the shared grid is not set against itself
    assert "(uniform 0.25)" in text  # 1 / rank, the weights' starting value


def test_grids_of_other_settings_or_the_wrong_sharing_are_refused():
    shared, per_position = grid(100, (0.95,), False, 1.0), grid(100, (0.93,), True, 0.0)
    longer = grid(100, (0.93,), True, 0.0)
    longer.raw["config"]["epochs"] = 24
    with pytest.raises(ValueError, match=r"more than the combining logits' learning rate and "
                       r"the combining logits' sharing: epochs"):  # fmt: skip
        logit_sharing.table(shared, [longer])
    with pytest.raises(ValueError, match="give the shared grid first"):
        logit_sharing.table(per_position, [shared])
    with pytest.raises(ValueError, match="has shared logits"):
        logit_sharing.table(shared, [grid(1000, (0.9,), False, 0.0)])
    started = grid(1000, (0.9,), True, 0.0)
    started.raw["runs"] = []  # a file whose runs have not started yet
    assert (
        "per-position logits at 1000× |  | not run |" in logit_sharing.table(shared, [started]).data
    )


def test_the_logit_rate_comparisons_refuse_a_per_position_grid():
    from lrlc import logit_rate

    base = grid(1, (0.9, 0.9), False, 0.0)
    del base.raw["config"]["combining_lr_scale"]
    with pytest.raises(ValueError, match=r"learning rate: combining_logits"):
        logit_rate.table(base, [grid(100, (0.93, 0.93), True, 0.0)])


def test_plot_weights_draws_one_row_per_grid_labelled_by_its_logits():
    shared, fast = grid(100, (0.95,), False, 1.0), grid(1000, (0.96,), True, 2.0)
    fig = logit_sharing.plot_weights(shared, [fast], rank=4)
    maps = [ax for ax in fig.axes if ax.images and ax.get_label() != "<colorbar>"]
    assert len(maps) == 2 * 4
    assert [ax.get_ylabel() for ax in maps[::4]] == [
        "shared logits\nat 100×",
        "per-position logits\nat 1000×",
    ]
    first = torch.tensor(maps[4].images[0].get_array())
    assert torch.allclose(first, torch.full((3, 2), largest(2.0), dtype=first.dtype))
    plt.close(fig)


def write_grids(folder, grids: dict[str, Results]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, g in grids.items():
        (folder / f"{name}.json").write_text(json.dumps(g.raw))


def test_load_pairs_the_shared_grid_with_the_per_position_ones_there_are(tmp_path, results_only_in):
    write_grids(tmp_path / "results" / "cpu", {
        "mnist-combining-lr-100": grid(100, (0.9,), False, 0.0),
        "mnist-per-position-logits-combining-lr-1000": grid(1000, (0.9,), True, 0.0),
        "mnist-per-position-logits-combining-lr-100": grid(100, (0.9,), True, 0.0),
    })  # fmt: skip
    results_only_in(tmp_path / "results")
    shared, per_position = logit_sharing.load("mnist")
    assert shared.origin == "results/cpu/mnist-combining-lr-100.json"
    assert [g.combining_lr_scale for g in per_position] == [100.0, 1000.0]  # lowest first
    assert logit_sharing.load("cifar10") == (None, [])


def test_load_takes_both_kinds_of_grid_from_one_folder(tmp_path, results_only_in):
    """A reference shared grid without per-position ones gives way to a complete CPU pair;
    with no pair anywhere, the reference shared grid comes back alone."""
    write_grids(tmp_path / "results", {"mnist-combining-lr-100": grid(100, (0.9,), False, 0.0)})
    (tmp_path / "results" / "cpu").mkdir()
    results_only_in(tmp_path / "results")
    shared, per_position = logit_sharing.load("mnist")
    assert shared.origin == "results/mnist-combining-lr-100.json" and per_position == []
    write_grids(tmp_path / "results" / "cpu", {
        "mnist-combining-lr-100": grid(100, (0.8,), False, 0.0),
        "mnist-per-position-logits-combining-lr-1000": grid(1000, (0.9,), True, 0.0),
    })  # fmt: skip
    shared, per_position = logit_sharing.load("mnist")
    assert shared.origin == "results/cpu/mnist-combining-lr-100.json"
    assert [g.origin for g in per_position] == [
        "results/cpu/mnist-per-position-logits-combining-lr-1000.json"
    ]
