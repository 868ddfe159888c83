"""Shared or per-position combining logits? Grids of spatial LRLC that differ from a grid of
shared logits (a row plus a column logit per basis, the default) only in learning one logit
per position and basis (``--per-position-logits``), and perhaps in the logits' rate, side
by side, as section 9.1 shows them::

    from lrlc import logit_sharing

    # celeba-combining-lr-100 (shared logits) and the per-position grids
    # celeba-per-position-logits-combining-lr-<rate>
    shared, per_position = logit_sharing.load("celeba")
    logit_sharing.table(shared, per_position, rank=4)  # accuracy, parameters, weights
    logit_sharing.plot_weights(shared, per_position, rank=4)  # layer 1's maps, seed 0

Why the rate may differ: a shared row logit sums the gradients of a whole row of
positions (and a column logit those of a column), a per-position logit gets one
position's, so at the same rate per-position logits move far less.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from matplotlib.figure import Figure

from lrlc.logit_rate import _largest_weights, plot_weight_rows
from lrlc.overview import accuracy
from lrlc.results import (
    KINDS,
    Results,
    check_comparable,
    difference_note,
    format_difference,
    load_or_none,
    variant_name,
)
from lrlc.widgets import markdown_table

__all__ = ["SHARED_RATE", "RATES", "load", "label", "table", "plot_weights"]

SHARED_RATE = 100
"""The logits' rate of the shared grid compared with (``<dataset>-combining-lr-100``)."""

RATES = (100, 1000)
"""The rates of the per-position runs stored with the book."""


def load(dataset: str, rates: Sequence[float] = RATES) -> tuple[Results | None, list[Results]]:
    """The shared grid with the logits at ``SHARED_RATE`` and the per-position grids of
    ``rates`` there are (``<dataset>-per-position-logits-combining-lr-<rate>``), lowest rate
    first, both from one kind of results (reference, else CPU-scale); ``(None, [])``, or a
    grid and ``[]``, while runs are missing."""
    first = None
    for kind in KINDS:
        shared = load_or_none(f"{dataset}-combining-lr-{SHARED_RATE}", (kind,))
        found = (
            load_or_none(f"{dataset}-per-position-logits-combining-lr-{rate:g}", (kind,))
            for rate in sorted(rates)
        )
        per_position = [grid for grid in found if grid is not None]
        if shared is not None and per_position:
            return shared, per_position
        first = first if first is not None else shared
    return first, []


def _checked(shared: Results, per_position: Sequence[Results]) -> None:
    if shared.per_position_logits:
        raise ValueError(f"{shared.origin} has per-position logits: give the shared grid first")
    for grid in per_position:
        if not grid.per_position_logits:
            raise ValueError(f"{grid.origin} has shared logits, not one per position")
        check_comparable(shared, grid, varying=("combining_lr_scale", "combining_logits"))


def label(grid: Results) -> str:
    """``"shared logits at 100×"`` or ``"per-position logits at 1000×"``."""
    kind = "per-position" if grid.per_position_logits else "shared"
    return f"{kind} logits at {grid.combining_lr_scale:g}×"


def table(
    shared: Results, per_position: Sequence[Results], rank: int = 4, full_note: bool = True
) -> Any:
    """One row per grid, LRLC ``rank`` in all three layers (a Markdown table): the network,
    its parameters, its test accuracy (mean ± std over seeds, %), minus the shared grid's
    (:func:`lrlc.results.format_difference`), and the mean largest combining weight
    (:func:`lrlc.logit_rate.mean_largest_weight`) of layers 1, 2 and 3, as
    :func:`lrlc.logit_rate.table` writes it. ``ValueError``
    where a grid differs from the shared one in more than the logits' sharing and rate.
    full_note: False puts the short note above the table (:func:`.difference_note`)."""
    _checked(shared, per_position)
    base = shared.row("lrlc", rank)
    n_test = shared.raw["data"]["test_size"]
    rows = []
    for grid in (shared, *per_position):
        row, name = grid.row("lrlc", rank), f"{variant_name('lrlc', rank)}, {label(grid)}"
        if row is None:  # a file whose runs have not started: "not run"
            rows.append([name, "", accuracy(row), "", ""])
            continue
        rows.append(
            [
                name,
                f"{row['params']:,}",
                accuracy(row),
                "" if grid is shared or base is None else format_difference(row, base, n_test),
                _largest_weights(grid, rank),
            ]
        )
    header = [
        "network",
        "parameters",
        "test accuracy (%)",
        f"− {label(shared)}",
        f"mean largest weight, layers 1 · 2 · 3 (uniform {1 / rank:g})",
    ]
    return markdown_table(header, rows, note=difference_note(full_note))


def plot_weights(
    shared: Results,
    per_position: Sequence[Results],
    rank: int = 4,
    layer: str = "features.0",
    seed: int = 0,
    size: float = 1.5,
) -> Figure:
    """The combining weights of ``layer`` (one map per basis) of the seed's network of each
    grid, one row per grid labelled by :func:`label` on two lines, on one scale from 0 to 1
    (:func:`lrlc.logit_rate.plot_weight_rows`)."""
    _checked(shared, per_position)
    rows = [(label(grid).replace(" at ", "\nat "), grid) for grid in (shared, *per_position)]
    return plot_weight_rows(rows, rank, layer, seed, size)
