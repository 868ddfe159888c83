"""Do the combining logits learn too slowly? Grids that differ from a base grid only in the
learning rate of the spatial combining logits (``--combining-lr-scale``), side by side, as
chapter 9 shows them::

    from lrlc import logit_rate, results

    # the grid (every parameter at one rate) and its runs at 10x, 100x, 1000x
    # (mnist-combining-lr-<rate>.json), both reference or both CPU-scale
    base, scaled = logit_rate.load_with_base("mnist")
    logit_rate.table(base, scaled, rank=4)  # accuracy and weights per rate
    logit_rate.plot_weights(base, scaled, rank=4)  # layer 1's weights per rate
    logit_rate.plot_rank_dial(base, scaled)  # accuracy by rank, at 1× and 100×
    (fast,) = logit_rate.load("mnist", rates=[100])  # all three layers, logits at 100x
    last = results.load("mnist-last-layer-combining-lr-100")  # the last layer only
    logit_rate.placement_table(base, fast, last, rank=4)  # where the faster logits pay
    first = results.load("mnist-first-layer-combining-lr-100")  # the first layer only
    logit_rate.one_layer_table(base, fast, [first, last])  # which one layer carries it
    logit_rate.last_layer_dial(base, fast, last)  # the last layer's ranks, at 100x

Every grid must share the base grid's data and training settings (the comparison would
mean nothing otherwise): :func:`lrlc.results.check_comparable` says what differs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from lrlc.models import PLACEMENT_LAYERS
from lrlc.overview import accuracy
from lrlc.plotting import (
    GRID_RATE_COLOR,
    WEIGHT_CMAP,
    draw_baseline,
    finish_rank_axes,
)
from lrlc.results import (
    KINDS,
    Results,
    by_logit_rate,
    check_comparable,
    difference_note,
    format_difference,
    load_or_none,
    variant_name,
)
from lrlc.widgets import markdown_table

__all__ = [
    "LAYERS",
    "ONE_LAYER",
    "RATES",
    "REFERENCES",
    "load",
    "load_with_base",
    "load_one_layer",
    "check_comparable",
    "mean_largest_weight",
    "table",
    "rank_table",
    "placement_table",
    "one_layer_table",
    "last_layer_dial",
    "plot_weights",
    "plot_weight_rows",
    "plot_rank_dial",
    "plot_rank_dials",
]

LAYERS = ("features.0", "features.3", "features.6")
"""The paper network's three LRLC modules, first to last."""

ONE_LAYER = ("first", "middle", "last")
"""The placements of LRLC in one layer only, in the network's order."""

RATES = (10, 100, 1000)
"""The factors on the learning rate the book's runs gave the combining logits."""

REFERENCES = (("conv", None), ("lrlc", 1), ("lc", None), ("coordconv", None), ("wide_conv", 4))
"""The base grid's networks a :func:`table` ends with, as (layer, rank), where it ran them."""


def load(
    dataset: str, rates: Sequence[float] = RATES, kinds: Sequence[str] = KINDS
) -> list[Results]:
    """The results files ``<dataset>-combining-lr-<rate>`` there are (as
    :func:`lrlc.results.load_or_none` finds them in ``kinds``), lowest rate first; those of
    rates never run are left out."""
    found = (load_or_none(f"{dataset}-combining-lr-{rate:g}", kinds) for rate in sorted(rates))
    return [grid for grid in found if grid is not None]


def load_with_base(
    dataset: str, rates: Sequence[float] = RATES
) -> tuple[Results | None, list[Results]]:
    """The grid of ``dataset`` and its grids with faster logits (:func:`load`), both from
    one kind of results: the reference grids (``results/``) where the grid and at least one
    faster grid exist there, else the CPU-scale ones (``results/cpu/``), so that a reference
    grid never meets runs made with the CPU grids' settings. ``(None, [])``, or a grid and
    ``[]``, while the runs are missing."""
    first_base = None
    for kind in KINDS:
        base, scaled = load_or_none(dataset, (kind,)), load(dataset, rates, (kind,))
        if base is not None and scaled:
            return base, scaled
        first_base = first_base if first_base is not None else base
    return first_base, []


def load_one_layer(
    with_faster: Mapping[str, tuple[Results | None, Sequence[Results]]],
) -> tuple[dict[str, tuple[Results, Results, Results]], dict[str, Results], dict[str, Results]]:
    """The runs of LRLC in one layer only with the logits at 100×, for each dataset of
    ``with_faster`` (``{name: load_with_base(name)}``) whose grid and runs in all three
    layers at 100× are there: the files ``<name>-last-layer-combining-lr-100``,
    ``<name>-first-layer-combining-lr-100`` and ``<name>-middle-layer-combining-lr-100``,
    of the grid's kind (reference or CPU-scale, :func:`lrlc.results.load_or_none`).

    Returns ``(last, first, middle)``: ``last[name]`` is ``(the grid, all three layers at
    100×, the last layer at 100×)`` where the last layer's runs are there; ``first[name]``
    and ``middle[name]`` are the runs in that layer, where all three placements' are."""
    last: dict[str, tuple[Results, Results, Results]] = {}
    first: dict[str, Results] = {}
    middle: dict[str, Results] = {}
    for name, (base, faster) in with_faster.items():
        fast = [g for g in faster if g.combining_lr_scale == 100]
        if base is None or not fast:
            continue
        found = {
            where: load_or_none(f"{name}-{where}-layer-combining-lr-100", base.kinds)
            for where in ONE_LAYER
        }
        if found["last"] is not None:
            last[name] = (base, fast[0], found["last"])
        if None not in found.values():
            first[name], middle[name] = found["first"], found["middle"]
    return last, first, middle


def mean_largest_weight(grid: Results, rank: int, layer: str) -> float:
    """The largest combining weight at a position, averaged over the positions of ``layer``
    and over the grid's seeds of LRLC ``rank`` (all three layers): ``1 / rank`` for weights
    that never left their uniform start, 1 where each position picked one basis
    (:meth:`.Results.mean_largest_weight`)."""
    return grid.mean_largest_weight(rank, layer)


def _rate(grid: Results) -> str:
    return f"{grid.combining_lr_scale:g}×"


def _largest_weights(grid: Results, rank: int) -> str:
    """:func:`mean_largest_weight` of every layer of ``LAYERS``: ``"0.426 · 0.502 · 0.371"``."""
    return " · ".join(f"{mean_largest_weight(grid, rank, layer):.3f}" for layer in LAYERS)


def table(
    base: Results,
    scaled: Sequence[Results],
    rank: int = 4,
    references: Sequence[tuple[str, int | None]] = REFERENCES,
    full_note: bool = True,
) -> Any:
    """One row per combining-logit rate, LRLC ``rank`` in all three layers (a Markdown table,
    :func:`.markdown_table`), then the base grid's ``references`` (layer, rank) where it ran
    them: by default the convolution, LRLC of rank 1 (no combining weights: shared filters
    and spatial biases), LC, CoordConv and the convolution widened for LRLC rank 4 (larger than it).

    Columns: the network; its test accuracy (mean ± std over seeds, %); minus the base
    grid's LRLC (the plain rate) and minus the base grid's LC (where it ran LC), each as
    :func:`lrlc.results.format_difference` writes it; and the mean largest combining
    weight (:func:`mean_largest_weight`) of layers 1, 2 and 3.

    full_note: False puts the short note above the table (:func:`.difference_note`), for
    the tables after the first on a page.
    """
    grids = by_logit_rate(base, scaled)
    plain, lc = base.row("lrlc", rank), base.row("lc")
    n_test = base.raw["data"]["test_size"]
    rows = []
    for grid in grids:
        row = grid.row("lrlc", rank)
        rows.append(
            [
                f"{variant_name('lrlc', rank)}, logits at {_rate(grid)}"
                + (" (the grid)" if grid is base else ""),
                accuracy(row),
                "" if grid is base else format_difference(row, plain, n_test),
                *([] if lc is None else [format_difference(row, lc, n_test)]),
                _largest_weights(grid, rank),
            ]
        )
    header = [
        "network",
        "test accuracy (%)",
        f"− logits at {_rate(base)}",
        *([] if lc is None else ["− LC"]),
        f"mean largest weight, layers 1 · 2 · 3 (uniform {1 / rank:g})",
    ]
    for layer, rank_ in references:
        row = base.row(layer, rank_)
        if row is not None:
            blank = [""] * (len(header) - 2)  # no differences, no weights
            rows.append([variant_name(layer, rank_), accuracy(row), *blank])
    return markdown_table(header, rows, note=difference_note(full_note))


def rank_table(
    base: Results, scaled: Sequence[Results], rate: float = 100, full_note: bool = True
) -> Any:
    """The rank dial at two rates (a Markdown table, :func:`.markdown_table`): one row per
    rank of LRLC in all three layers that either grid ran, with its parameters, its test
    accuracy with the logits at the base grid's rate and at ``rate`` (the grid of
    ``scaled`` made at that rate), their difference (:func:`lrlc.results.format_difference`)
    and the mean largest weight per layer at ``rate``. Rank 1 has no combining logits, so
    the rate does not apply to it.

    full_note: False puts the short note above the table (:func:`.difference_note`), for
    the tables after the first on a page.
    """
    fast = _faster_grid(base, scaled, rate)
    n_test = base.raw["data"]["test_size"]
    ranks = sorted({r["rank"] for g in (base, fast) for r in g.lrlc_rows()})
    rows = []
    for rank in ranks:
        slow_row, fast_row = base.row("lrlc", rank), fast.row("lrlc", rank)
        known = slow_row or fast_row
        if rank == 1:
            rows.append([rank, f"{known['params']:,}", accuracy(slow_row), "no logits", "", ""])
            continue
        weights = "" if fast_row is None else _largest_weights(fast, rank)
        both = slow_row is not None and fast_row is not None
        rows.append(
            [
                rank,
                f"{known['params']:,}",
                accuracy(slow_row),
                accuracy(fast_row),
                format_difference(fast_row, slow_row, n_test) if both else "",
                weights,
            ]
        )
    header = [
        "rank",
        "parameters",
        f"logits at {_rate(base)} (the grid)",
        f"logits at {_rate(fast)}",
        f"{_rate(fast)} − {_rate(base)}",
        f"mean largest weight at {_rate(fast)}, layers 1 · 2 · 3 (uniform: 1 / rank)",
    ]
    return markdown_table(header, rows, note=difference_note(full_note))


def _check_placements(base: Results, faster: Results, *others: Results) -> None:
    """The faster grids share the base grid's settings and one rate, not the base grid's."""
    for grid in (faster, *others):
        check_comparable(base, grid)
        if grid.combining_lr_scale != faster.combining_lr_scale:
            raise ValueError(
                f"the faster grids have the logits at different rates ({_rate(faster)} and "
                f"{_rate(grid)}): pass grids made with one --combining-lr-scale"
            )
    if faster.combining_lr_scale == base.combining_lr_scale:
        raise ValueError(
            f"the faster grids have the base grid's rate ({_rate(base)}): pass the grids made "
            "with --combining-lr-scale"
        )


def placement_table(
    base: Results, faster: Results, faster_last: Results, rank: int = 4, full_note: bool = True
) -> Any:
    """Where do faster logits pay? LRLC ``rank`` in all three layers and in the last layer
    only, each at the base grid's rate and with the logits faster (a Markdown table,
    :func:`.markdown_table`), then the base grid's convolution and LRLC of rank 1 in both
    placements (shared filters and spatial biases: no logits).

    faster: the runs of LRLC ``rank`` in all three layers with faster logits (e.g.
    ``mnist-combining-lr-100``); faster_last: those in the last layer only, at the same
    rate (e.g. ``mnist-last-layer-combining-lr-100``). Both must share the base grid's
    settings (:func:`lrlc.results.check_comparable`).

    Columns: the network; its parameters; its test accuracy (mean ± std over seeds, %);
    minus the convolution and minus the same placement at the base grid's rate, each as
    :func:`lrlc.results.format_difference` writes it; and the mean largest combining weight
    of the last layer, the one layer both placements have (``1 / rank``: uniform).

    full_note: False puts the short note above the table (:func:`.difference_note`), for
    the tables after the first on a page.
    """
    _check_placements(base, faster, faster_last)
    conv = base.row("conv")
    n_test = base.raw["data"]["test_size"]
    rows = []
    for where, fast in (("all", faster), ("last", faster_last)):
        plain = base.row("lrlc", rank, where)  # checked below: the base grid comes first
        for grid in (base, fast):
            row = grid.row("lrlc", rank, where)
            if row is None:
                raise KeyError(f"no {variant_name('lrlc', rank, where)} run in {grid.origin}")
            rows.append(
                [
                    f"{variant_name('lrlc', rank, where)}, logits at {_rate(grid)}"
                    + (" (the grid)" if grid is base else ""),
                    f"{row['params']:,}",
                    accuracy(row),
                    "" if conv is None else format_difference(row, conv, n_test),
                    "" if grid is base else format_difference(row, plain, n_test),
                    f"{grid.mean_largest_weight(rank, LAYERS[-1], where):.3f}",
                ]
            )
    for layer, r, where in (("conv", None, "all"), ("lrlc", 1, "all"), ("lrlc", 1, "last")):
        row = base.row(layer, r, where)
        if row is not None:
            diff = "" if conv is None or layer == "conv" else format_difference(row, conv, n_test)
            name = variant_name(layer, r, where)
            rows.append([name, f"{row['params']:,}", accuracy(row), diff, "", ""])
    header = [
        "network",
        "parameters",
        "test accuracy (%)",
        "− convolution",
        f"− logits at {_rate(base)}",
        f"mean largest weight, last layer (uniform: {1 / rank:g})",
    ]
    return markdown_table(header, rows, note=difference_note(full_note))


def one_layer_table(
    base: Results,
    faster: Results,
    one_layer: Sequence[Results],
    rank: int = 4,
    full_note: bool = True,
) -> Any:
    """Which layer carries the gain? LRLC ``rank`` with faster logits in all three layers
    and in one layer only, the first, the middle or the last (a Markdown table,
    :func:`.markdown_table`), then LRLC of rank 1 in the same layers (a spatial bias, no
    logits) and the convolution.

    faster: the runs in all three layers with faster logits (e.g.
    ``celeba-combining-lr-100``); one_layer: grids at the same rate whose runs of LRLC
    ``rank`` are in one layer only (e.g.
    ``celeba-first-layer-combining-lr-100``, ``celeba-last-layer-combining-lr-100``), in the
    order of the rows. LRLC of rank 1 in a placement comes from the base grid, or else from
    that placement's grid. All must share the base grid's settings
    (:func:`lrlc.results.check_comparable`).

    Columns: the network; its parameters; its test accuracy (mean ± std over seeds, %);
    minus the convolution and minus LRLC of rank 1 in the same layers, each as
    :func:`lrlc.results.format_difference` writes it; and the mean largest combining weight
    of its first LRLC layer (``1 / rank``: uniform).
    """
    if rank < 2:
        raise ValueError(f"rank={rank}: LRLC of rank 1 has no combining logits to learn faster")
    _check_placements(base, faster, *one_layer)
    placements = [("all", faster)]
    for grid in one_layer:
        found = [w for w in ONE_LAYER if grid.row("lrlc", rank, w) is not None]
        if not found:
            raise KeyError(
                f"no LRLC rank {rank} run in one layer only (first, middle or last) in "
                f"{grid.origin}"
            )
        placements += [(where, grid) for where in found]
    twice = [w for w in ONE_LAYER if [p for p, _ in placements].count(w) > 1]
    if twice:
        raise ValueError(
            f"LRLC rank {rank} in the {twice[0]} layer only is in more than one of the grids "
            "passed: pass each placement once"
        )
    conv = base.row("conv")
    n_test = base.raw["data"]["test_size"]
    rows, rank_one = [], []
    for where, grid in placements:
        row = grid.row("lrlc", rank, where)
        if row is None:
            raise KeyError(f"no {variant_name('lrlc', rank, where)} run in {grid.origin}")
        one = base.row("lrlc", 1, where) or grid.row("lrlc", 1, where)
        rows.append(
            [
                f"{variant_name('lrlc', rank, where)}, logits at {_rate(grid)}",
                f"{row['params']:,}",
                accuracy(row),
                "" if conv is None else format_difference(row, conv, n_test),
                "" if one is None else format_difference(row, one, n_test),
                # the first of the layers this placement replaces
                f"{grid.mean_largest_weight(rank, LAYERS[PLACEMENT_LAYERS[where][0]], where):.3f}",
            ]
        )
        if one is not None:
            diff = "" if conv is None else format_difference(one, conv, n_test)
            name = variant_name("lrlc", 1, where)
            rank_one.append([name, f"{one['params']:,}", accuracy(one), diff, "", ""])
    if conv is not None:
        rank_one.append(["convolution", f"{conv['params']:,}", accuracy(conv), "", "", ""])
    header = [
        "network",
        "parameters",
        "test accuracy (%)",
        "− convolution",
        "− rank 1, same layers",
        f"mean largest weight, its first LRLC layer (uniform: {1 / rank:g})",
    ]
    return markdown_table(header, rows + rank_one, note=difference_note(full_note))


def last_layer_dial(
    base: Results, faster: Results, faster_last: Results, full_note: bool = True
) -> Any:
    """The last layer's rank dial with faster logits, against the dial of all three layers
    at that rate (which :func:`rank_table` shows): a Markdown table
    (:func:`.markdown_table`), one row per rank of LRLC in the last layer only that
    ``faster_last`` ran, after the base grid's rank 1 there (no logits, so no rate applies
    to it).

    faster, faster_last: the runs of LRLC in all three layers and in the last layer only
    with faster logits, at one rate (as for :func:`placement_table`).

    Columns: the rank; the last-layer network's parameters; its test accuracy (mean ± std
    over seeds, %) with the logits at the base grid's rate and at the faster one, and
    their difference; the last layer minus LRLC of that rank in all three layers at the
    faster rate (the differences as :func:`lrlc.results.format_difference` writes them); and
    the last layer's mean largest combining weight at the faster rate (``1 / rank``:
    uniform).

    full_note: False puts the short note above the table (:func:`.difference_note`), for
    the tables after the first on a page.
    """
    _check_placements(base, faster, faster_last)
    n_test = base.raw["data"]["test_size"]
    rows = []
    rank1 = base.row("lrlc", 1, "last")
    if rank1 is not None:
        rows.append(["1", f"{rank1['params']:,}", accuracy(rank1), "no logits", "", "", ""])
    for last in faster_last.lrlc_rows(where="last"):
        rank = last["rank"]
        if rank == 1:  # no logits: the grid's row above is the same network
            continue
        slow, everywhere = base.row("lrlc", rank, "last"), faster.row("lrlc", rank)
        rows.append(
            [
                str(rank),
                f"{last['params']:,}",
                accuracy(slow),
                accuracy(last),
                "" if slow is None else format_difference(last, slow, n_test),
                "" if everywhere is None else format_difference(last, everywhere, n_test),
                f"{faster_last.mean_largest_weight(rank, LAYERS[-1], 'last'):.3f}",
            ]
        )
    fast = _rate(faster_last)
    header = [
        "rank",
        "parameters",
        f"last layer, {_rate(base)} (the grid)",
        f"last layer, {fast}",
        f"{fast} − {_rate(base)}",
        f"− all three layers, {fast}",
        f"largest weight, {fast}",
    ]
    return markdown_table(header, rows, note=difference_note(full_note))


def plot_weights(
    base: Results,
    scaled: Sequence[Results],
    rank: int = 4,
    layer: str = "features.0",
    seed: int = 0,
    size: float = 1.5,
) -> Figure:
    """The combining weights of one LRLC layer (``(H_out, W_out)`` maps, one column per
    basis) of one seed's network, one row per combining-logit rate, on one colour scale from
    0 to 1: weights that stayed near their uniform start are one flat colour."""
    rows = [(f"logits at {_rate(grid)}", grid) for grid in by_logit_rate(base, scaled)]
    return plot_weight_rows(rows, rank, layer, seed, size)


def plot_weight_rows(
    rows: Sequence[tuple[str, Results]],
    rank: int = 4,
    layer: str = "features.0",
    seed: int = 0,
    size: float = 1.5,
) -> Figure:
    """:func:`plot_weights` for any grids: one row per ``(label, grid)``, the weights of
    ``layer`` of its LRLC network of ``rank`` (all three layers), seed ``seed``."""
    fig, axes = plt.subplots(
        len(rows), rank, figsize=(size * rank + 0.9, size * len(rows) + 0.4),
        squeeze=False, layout="constrained",
    )  # fmt: skip
    image = None
    for r, (label, grid) in enumerate(rows):
        w = grid.combining_weights(rank, layer, seed=seed).numpy()
        for k in range(rank):
            ax = axes[r, k]
            image = ax.imshow(w[:, :, k], cmap=WEIGHT_CMAP, vmin=0, vmax=1, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(f"$w_{{ij{k + 1}}}$", fontsize=12)
        axes[r, 0].set_ylabel(label, fontsize=10)
    bar = fig.colorbar(image, ax=axes.ravel().tolist(), shrink=0.8, ticks=[0, 1 / rank, 0.5, 1])
    bar.set_label("$w_{ijk}$", fontsize=11)
    bar.ax.tick_params(labelsize=9)
    return fig


def _faster_grid(base: Results, scaled: Sequence[Results], rate: float) -> Results:
    """The grid of ``scaled`` made with the logits at ``rate``, checked against ``base``."""
    grids = by_logit_rate(base, scaled)
    faster = [g for g in grids[1:] if g.combining_lr_scale == rate]
    if not faster:
        have = ", ".join(_rate(g) for g in grids[1:]) or "none"
        raise ValueError(f"no grid with the logits at {rate:g}× (have: {have})")
    return faster[0]


def _rank_curve(ax, rows: Sequence[dict], fmt: str, color: str, label: str) -> list[float]:
    """One curve of test accuracy (%) against rank on ``ax``: the rows' means over seeds
    with error bars of one standard deviation. Returns the bars' ends, for the y-axis."""
    mean = [100 * r["test_mean"] for r in rows]
    std = [100 * r["test_std"] for r in rows]
    ax.errorbar([r["rank"] for r in rows], mean, yerr=std, fmt=fmt, color=color,
                capsize=3, label=label, zorder=3)  # fmt: skip
    return [m + s * d for m, d in zip(mean, std, strict=True) for s in (-1, 1)]


def _baselines(ax, base: Results, baselines: Sequence[tuple[str, int | None]]) -> list[float]:
    """The base grid's ``baselines`` (layer, rank) it ran, as lines across ``ax`` with a
    band of one standard deviation (:func:`.draw_baseline`). Returns the bands' ends."""
    shown = []
    for layer, rank in baselines:
        row = base.row(layer, rank)
        if row is None:
            continue
        mean, std = 100 * row["test_mean"], 100 * row["test_std"]
        draw_baseline(ax, layer, mean, std, variant_name(layer, rank))
        shown += [mean - std, mean + std]
    return shown


def _panels(n: int, size: float) -> tuple[Figure, Any]:
    """A figure of ``n`` square panels side by side, room below them for one legend."""
    return plt.subplots(1, n, figsize=(size * n, size + 0.6), layout="constrained", squeeze=False)


def _legend_below(fig: Figure) -> None:
    """One legend below the panels of ``fig``, each label once."""
    legend = {}  # label: handle, every panel's
    for ax in fig.axes:
        legend |= dict(zip(*reversed(ax.get_legend_handles_labels()), strict=True))
    fig.legend(legend.values(), legend.keys(), loc="outside lower center", ncols=3, fontsize=9)


def plot_rank_dial(
    base: Results,
    scaled: Sequence[Results],
    rate: float = 100,
    *,
    ax=None,
    title: str | None = None,
    baselines: Sequence[tuple[str, int | None]] = (
        ("conv", None),
        ("lc", None),
        ("coordconv", None),
        ("wide_conv", 4),
    ),
) -> Figure:
    """Test accuracy (%) against rank, LRLC in all three layers, at the base grid's rate
    and with the spatial combining logits at ``rate`` times it (the grid of ``scaled``
    made so): means over seeds with error bars of one standard deviation, ranks on a log2
    axis. Rank 1 has no combining logits, so both curves start from the base grid's rank 1.
    The base grid's ``baselines`` (layer, rank), where it ran them, are horizontal lines
    with a band of one standard deviation. Every curve and line is labelled for a legend
    (``ax.legend()``) by its network alone, the same in every panel."""
    fast = _faster_grid(base, scaled, rate)
    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 4.2), layout="constrained")
    shown: list[float] = []  # every error bar and band: the y-axis holds them all
    ranks: list[int] = []
    rank1 = base.row("lrlc", 1)
    curves = ((base, GRID_RATE_COLOR, "o--", f"LRLC, logits at {_rate(base)} (the grid)"),
              (fast, "C0", "o-", f"LRLC, logits at {_rate(fast)}"))  # fmt: skip
    for grid, color, fmt, label in curves:
        rows = [r for r in grid.lrlc_rows() if r["rank"] != 1]
        if rank1 is not None:
            rows.insert(0, rank1)  # the same network at every rate
        ranks += [r["rank"] for r in rows]
        shown += _rank_curve(ax, rows, fmt, color, label)
    shown += _baselines(ax, base, baselines)
    finish_rank_axes(ax, ranks, shown)
    ax.minorticks_off()
    ax.set_title(title if title is not None else base.raw["dataset"])
    return ax.figure


def plot_rank_dials(
    with_faster: Mapping[str, tuple[Results | None, Sequence[Results]]],
    names: Mapping[str, str],
    rate: float = 100,
    size: float = 3.6,
) -> Figure | None:
    """:func:`plot_rank_dial` for every dataset of ``with_faster`` (``{dataset: (base,
    scaled)}``, as :func:`load_with_base` gives them) whose runs at ``rate`` cover more
    than one rank, side by side, each titled by ``names[dataset]``, with one legend below
    them all. None when no dataset has such runs."""
    dials = [
        name
        for name, (base, scaled) in with_faster.items()
        if base is not None
        and any(g.combining_lr_scale == rate and len(g.lrlc_rows()) > 1 for g in scaled)
    ]
    if not dials:
        return None
    fig, axes = _panels(len(dials), size)
    for ax, name in zip(axes.flat, dials, strict=True):
        plot_rank_dial(*with_faster[name], rate=rate, ax=ax, title=names[name])
    _legend_below(fig)
    return fig
