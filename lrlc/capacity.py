"""Position or capacity? LRLC with faster combining logits against convolutions widened to
its size, which have as many filters (about as many parameters) and no position
information, as section 9.3 shows them::

    from lrlc import capacity, logit_rate, results

    base, scaled = logit_rate.load_with_base("mnist")  # the grid, its faster logits
    capacity.table(base, scaled, rank=2)  # all three layers against wide convolutions
    with_faster = {"mnist": (base, scaled)}
    last_layer, first_layer, middle_layer = logit_rate.load_one_layer(with_faster)
    _, _, last = last_layer["mnist"]  # LRLC in the last layer only, logits at 100x
    first = first_layer["mnist"]  # the first layer only
    wide = results.load("mnist-wide-conv")  # one layer widened: wide_conv@last, ...
    capacity.last_layer_table(base, last, [wide])  # each rank of the last layer
    capacity.one_layer_table(base, [first, last], [wide])  # each layer, rank 4
    names = {"mnist": "MNIST"}  # the panels' titles
    capacity.plot_last_layer({"mnist": (base, last, [wide])}, names)  # drawn
    capacity.plot_one_layer({"mnist": (base, [first, last], [wide])}, names)
    parts = capacity.split(base, [first, last], [wide], scaled)  # (capacity, position)
    capacity.plot_split({"mnist": parts}, names)  # drawn

Every grid must share the base grid's data and training settings:
:func:`lrlc.results.check_comparable` says what differs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from lrlc.logit_rate import (
    ONE_LAYER,
    _baselines,
    _check_placements,
    _faster_grid,
    _legend_below,
    _panels,
    _rank_curve,
    _rate,
)
from lrlc.overview import accuracy
from lrlc.plotting import BASELINE_COLORS, PLACEMENTS, finish_rank_axes
from lrlc.results import (
    NOISE_MULTIPLE,
    Results,
    check_comparable,
    difference_noise,
    difference_note,
    format_difference,
    variant_name,
)
from lrlc.widgets import markdown_table

__all__ = [
    "table",
    "last_layer_table",
    "one_layer_table",
    "seeds_table",
    "plot_last_layer",
    "plot_one_layer",
    "split",
    "plot_split",
]


def _wide_convs(grids: Sequence[Results], where: str) -> list[dict]:
    """The summary rows of the wide convolutions in ``grids`` at one placement: widened in
    ``all`` three layers or in one layer only, ``first``, ``middle`` or ``last``
    (``--layers wide_conv@last``)."""
    return [
        r
        for grid in grids
        for r in grid.summary()
        if r["layer"] == "wide_conv" and r["where"] == where
    ]


def table(
    base: Results,
    scaled: Sequence[Results],
    controls: Sequence[Results] = (),
    rank: int = 2,
    rate: float = 100,
    full_note: bool = True,
) -> Any:
    """Position or capacity? LRLC ``rank`` (all three layers) with the logits at ``rate``
    against networks without position information: the convolution and every wide
    convolution of ``base`` and of ``controls`` (grids made with the base grid's command
    but other variants, e.g. ``--layers wide_conv:2``), fewest parameters first. A Markdown
    table (:func:`.markdown_table`): the network, its parameters, its test accuracy and
    the LRLC network minus it (:func:`lrlc.results.format_difference`). LRLC above a wide
    convolution of at least its size by more than the noise gains from where its filters
    apply, not only from having more of them.

    full_note: False puts the short note above the table (:func:`.difference_note`), for
    the tables after the first on a page.
    """
    fast = _faster_grid(base, scaled, rate)
    lrlc_row = fast.row("lrlc", rank)
    if lrlc_row is None:
        raise KeyError(f"no LRLC rank {rank} run in {fast.origin}")
    for grid in controls:
        check_comparable(base, grid)
    n_test = base.raw["data"]["test_size"]
    others = [(variant_name("conv"), base.row("conv"))]
    others += [
        (variant_name("wide_conv", r["rank"]), r) for r in _wide_convs((base, *controls), "all")
    ]
    others = sorted((o for o in others if o[1] is not None), key=lambda o: o[1]["params"])
    rows = [
        [
            f"{variant_name('lrlc', rank)}, logits at {_rate(fast)}",
            f"{lrlc_row['params']:,}",
            accuracy(lrlc_row),
            "",
        ]
    ]
    for name, row in others:
        diff = format_difference(lrlc_row, row, n_test)
        rows.append([name, f"{row['params']:,}", accuracy(row), diff])
    header = [
        "network",
        "parameters",
        "test accuracy (%)",
        f"{variant_name('lrlc', rank)} at {_rate(fast)} − this network",
    ]
    return markdown_table(header, rows, note=difference_note(full_note))


def _last_layer_pairs(
    base: Results, faster_last: Results, controls: Sequence[Results]
) -> list[tuple[dict, dict]]:
    """(LRLC in the last layer, the convolution widened there for its rank) summary rows,
    for every rank of ``faster_last`` that has such a convolution in ``base`` or
    ``controls`` (the first that ran), by increasing rank; every grid checked against
    ``base`` (:func:`lrlc.results.check_comparable`)."""
    for grid in (faster_last, *controls):
        check_comparable(base, grid)
    return _widened_pairs(base, [faster_last], controls, "last")


def _capacity_cells(base: Results, lrlc_row: dict, control: dict) -> list[str]:
    """The cells of a position-or-capacity row: the widened convolution's parameters, test
    accuracy and gain over ``base``'s convolution, then LRLC's test accuracy and LRLC
    minus the widened convolution (:func:`lrlc.results.format_difference`)."""
    conv = base.row("conv")
    n_test = base.raw["data"]["test_size"]
    return [
        f"{control['params']:,}",
        accuracy(control),
        "" if conv is None else format_difference(control, conv, n_test),
        accuracy(lrlc_row),
        format_difference(lrlc_row, control, n_test),
    ]


def _capacity_header(faster: Results) -> list[str]:
    """The headers of the cells :func:`_capacity_cells` writes, LRLC's at ``faster``'s rate."""
    return [
        "parameters (wide conv)",
        "wide conv",
        "wide conv − convolution",
        f"LRLC, {_rate(faster)}",
        "LRLC − wide conv",
    ]


def last_layer_table(
    base: Results, faster_last: Results, controls: Sequence[Results], full_note: bool = True
) -> Any:
    """Position or capacity, in the last layer? Each rank of LRLC in the last layer only
    with faster logits against the convolution widened in the last layer only for that
    rank (``--layers wide_conv@last:2/4``): rank ``r`` of LRLC has ``r`` filter banks there,
    the widened convolution ``r`` times the filters applied everywhere, up to 2% more
    parameters (its classifier and BatchNorm widen with it) and no position information.
    A Markdown table (:func:`.markdown_table`), one row per rank that both ran.

    faster_last: the runs of LRLC in the last layer only with faster logits (as for
    :func:`lrlc.logit_rate.placement_table`); controls: grids made with the base grid's
    command but other variants that hold the widened convolutions (the base grid's are
    used too). Every grid must share the base grid's settings
    (:func:`lrlc.results.check_comparable`).

    Columns: the rank; the widened convolution's parameters and test accuracy (mean ± std
    over seeds, %) and its gain over the base grid's convolution; LRLC's test accuracy;
    LRLC minus the widened convolution (differences as
    :func:`lrlc.results.format_difference` writes them). LRLC above the widened
    convolution by more than the noise gains from where its filters apply, not only from
    having more of them.

    full_note: False puts the short note above the table (:func:`.difference_note`), for
    the tables after the first on a page.
    """
    rows = [
        [str(last["rank"]), *_capacity_cells(base, last, control)]
        for last, control in _last_layer_pairs(base, faster_last, controls)
    ]
    if not rows:
        raise KeyError(
            "no convolution widened in the last layer for a rank of "
            f"{faster_last.origin}: run --layers wide_conv@last:RANKS with the base grid's "
            "command"
        )
    header = ["rank", *_capacity_header(faster_last)]
    return markdown_table(header, rows, note=difference_note(full_note))


def _widened_pairs(
    base: Results, one_layer: Sequence[Results], controls: Sequence[Results], where: str
) -> list[tuple[dict, dict]]:
    """(LRLC in layer ``where`` only, the convolution widened there for its rank) summary
    rows, by increasing rank, for every rank of LRLC there with such a convolution in
    ``base`` or ``controls`` (the first that ran); each rank's LRLC row from the first grid
    of ``one_layer`` that ran it. The grids are not checked here."""
    wide: dict[int, dict] = {}
    for r in _wide_convs((base, *controls), where):
        wide.setdefault(r["rank"], r)
    ranks = sorted({r["rank"] for grid in one_layer for r in grid.lrlc_rows(where=where)})
    pairs = []
    for rank in (r for r in ranks if r in wide):
        found = (grid.row("lrlc", rank, where) for grid in one_layer)
        pairs.append((next(r for r in found if r is not None), wide[rank]))
    return pairs


def _one_layer_pairs(
    base: Results, one_layer: Sequence[Results], controls: Sequence[Results], rank: int
) -> list[tuple[str, dict, dict]]:
    """(placement, LRLC ``rank`` there, the convolution widened there for ``rank``) summary
    rows, in the network's order, for every placement of ``ONE_LAYER`` that has both in
    ``one_layer`` (the first grid that has it) and in ``base`` or ``controls``; the grids
    checked as :func:`one_layer_table` says."""
    if not one_layer:
        raise ValueError("one_layer is empty: pass the grids of LRLC in one layer only")
    _check_placements(base, *one_layer)
    for grid in controls:
        check_comparable(base, grid)
    pairs = [
        (where, lrlc_row, wide)
        for where in ONE_LAYER
        for lrlc_row, wide in _widened_pairs(base, one_layer, controls, where)
        if lrlc_row["rank"] == rank
    ]
    if not pairs:
        raise KeyError(
            f"no LRLC rank {rank} run in one layer only with a convolution widened in that "
            f"layer for rank {rank}: run --layers wide_conv@middle:{rank} (or @first, @last) "
            "with the base grid's command"
        )
    return pairs


def one_layer_table(
    base: Results,
    one_layer: Sequence[Results],
    controls: Sequence[Results],
    rank: int = 4,
    full_note: bool = True,
) -> Any:
    """Position or capacity, in one layer? LRLC ``rank`` with faster logits in one layer
    only (the first, the middle or the last) against the convolution widened in that
    layer only for that rank (``--layers wide_conv@middle:4``: by the official formula,
    :func:`lrlc.models.wide_conv_width`, in the first or the middle layer, rank times the
    filters in the last), which has about LRLC's parameters there and no position
    information. A Markdown table (:func:`.markdown_table`), one row per placement that
    both ran, in the network's order.

    one_layer: grids whose runs of LRLC ``rank`` are in one layer only, at one faster rate
    of the logits (as for :func:`lrlc.logit_rate.one_layer_table`; a placement in several
    of them is taken from the first); controls: grids made with the base grid's command
    but other variants that hold the widened convolutions (the base grid's are used too).
    Every grid must share the base grid's settings (:func:`lrlc.results.check_comparable`).
    A ``KeyError`` where no placement has both runs.

    Columns: the layer, then as :func:`last_layer_table`: the widened convolution's
    parameters, test accuracy and gain over the convolution, LRLC's test accuracy, LRLC
    minus the widened convolution.
    """
    rows = [
        [where, *_capacity_cells(base, lrlc_row, control)]
        for where, lrlc_row, control in _one_layer_pairs(base, one_layer, controls, rank)
    ]
    header = ["layer", *_capacity_header(one_layer[0])]
    return markdown_table(header, rows, note=difference_note(full_note))


def seeds_table(
    base: Results,
    seed_sets: Mapping[str, tuple[Results, Results]],
    checks: Sequence[tuple[str, int]],
    full_note: bool = True,
) -> Any:
    """Does a comparison hold with other seeds? For each ``(where, rank)`` of ``checks``,
    LRLC of that rank in that placement (``"all"``, or one layer only) with faster logits
    against the convolution widened there for that rank, once per set of seeds (a Markdown
    table, :func:`.markdown_table`).

    seed_sets: ``{label: (lrlc, controls)}``, e.g. ``"0 to 2"`` for the first runs,
    ``"3 to 5"`` for new seeds made with the same commands (``--seeds 3,4,5``), and
    ``"0 to 5"`` for both (:func:`lrlc.results.pool`); ``lrlc`` holds the LRLC runs,
    ``controls`` the widened convolutions. Every grid must share the base grid's settings
    (:func:`lrlc.results.check_comparable`); a ``KeyError`` names a run a set lacks.

    Columns: the comparison, the seeds, the widened convolution's test accuracy (mean ±
    std over seeds, %), LRLC's, and LRLC minus the widened convolution
    (:func:`lrlc.results.format_difference`; each set's own seeds set its threshold).
    """
    for lrlc_grid, controls in seed_sets.values():
        check_comparable(base, lrlc_grid)
        check_comparable(base, controls)
    n_test = base.raw["data"]["test_size"]
    rows = []
    for where, rank in checks:
        for i, (label, (lrlc_grid, controls)) in enumerate(seed_sets.items()):
            lrlc_row = lrlc_grid.row("lrlc", rank, where)
            wide = controls.row("wide_conv", rank, where)
            for row, grid, layer in ((lrlc_row, lrlc_grid, "lrlc"), (wide, controls, "wide_conv")):
                if row is None:
                    raise KeyError(
                        f"no {variant_name(layer, rank, where)} run in {grid.origin} (seeds "
                        f"{label})"
                    )
            name = variant_name("lrlc", rank, where) if i == 0 else ""
            rows.append(
                [name, label, accuracy(wide), accuracy(lrlc_row),
                 format_difference(lrlc_row, wide, n_test)]
            )  # fmt: skip
    fast = _rate(next(iter(seed_sets.values()))[0])
    header = ["LRLC against the widened convolution", "seeds", "wide conv", f"LRLC, {fast}",
              "LRLC − wide conv"]  # fmt: skip
    return markdown_table(header, rows, note=difference_note(full_note))


def plot_last_layer(
    controlled: Mapping[str, tuple[Results, Results, Sequence[Results]]],
    names: Mapping[str, str],
    size: float = 3.6,
) -> Figure | None:
    """:func:`last_layer_table` as a picture, one panel per dataset of
    ``controlled`` (``{dataset: (base, faster_last, controls)}``, as that function takes
    them), side by side with one legend below: test accuracy (%) against rank on a log2
    axis, LRLC in the last layer only with faster logits (in the last layer's colour,
    ``PLACEMENTS``) and the convolution widened in the last layer for the same rank (the
    wide convolution's colour), means over seeds with error bars of one standard deviation,
    and the base grid's convolution as a line across with a band of one. None when
    ``controlled`` is empty."""
    if not controlled:
        return None
    fig, axes = _panels(len(controlled), size)
    for ax, (name, (base, last, controls)) in zip(axes.flat, controlled.items(), strict=True):
        pairs = _last_layer_pairs(base, last, controls)
        lrlc, wide = [p[0] for p in pairs], [p[1] for p in pairs]
        # every error bar and band: the y-axis holds them all
        shown = _rank_curve(ax, lrlc, "s--", PLACEMENTS["last"][0],
                            f"LRLC, last layer only, {_rate(last)}")  # fmt: skip
        shown += _rank_curve(ax, wide, "D:", BASELINE_COLORS["wide_conv"],
                             "convolution widened in the last layer")  # fmt: skip
        shown += _baselines(ax, base, [("conv", None)])
        finish_rank_axes(ax, [r["rank"] for r in lrlc], shown)
        ax.minorticks_off()
        ax.set_title(names[name])
    _legend_below(fig)
    return fig


def plot_one_layer(
    controlled: Mapping[str, tuple[Results, Sequence[Results], Sequence[Results]]],
    names: Mapping[str, str],
    rank: int = 4,
    size: float = 3.6,
) -> Figure | None:
    """:func:`one_layer_table` as a picture, one panel per dataset of
    ``controlled`` (``{dataset: (base, one_layer, controls)}``, as that function takes
    them), side by side with one legend below: test accuracy (%) for each layer that both
    ran, LRLC ``rank`` in that layer only with faster logits (squares in the placement's
    colour, ``PLACEMENTS``) beside the convolution widened in that layer (diamonds in the
    wide convolution's colour), means over seeds with error bars of one standard
    deviation, and the base grid's convolution as a line across with a band of one. None
    when ``controlled`` is empty."""
    if not controlled:
        return None
    fig, axes = _panels(len(controlled), size)
    for ax, (name, (base, one_layer, controls)) in zip(axes.flat, controlled.items(), strict=True):
        pairs = _one_layer_pairs(base, one_layer, controls, rank)
        shown = _baselines(ax, base, [("conv", None)])
        fast = _rate(one_layer[0])
        for x, (where, lrlc_row, wide) in enumerate(pairs):
            for row, dx, fmt, color, label in (
                (lrlc_row, -0.15, "s", PLACEMENTS[where][0], f"{PLACEMENTS[where][2]}, {fast}"),
                (wide, 0.15, "D", BASELINE_COLORS["wide_conv"], "convolution widened there"),
            ):
                mean, std = 100 * row["test_mean"], 100 * row["test_std"]
                ax.errorbar([x + dx], [mean], yerr=[std], fmt=fmt, color=color, capsize=3,
                            label=label, zorder=3)  # fmt: skip
                shown += [mean - std, mean + std]
        finish_rank_axes(ax, [], shown)
        ax.set_xticks(range(len(pairs)), [f"{where} layer" for where, _, _ in pairs])
        ax.set(xlim=(-0.5, len(pairs) - 0.5), xlabel=f"the one layer relaxed (rank {rank})")
        ax.set_title(names[name])
    _legend_below(fig)
    return fig


def split(
    base: Results,
    one_layer: Sequence[Results],
    controls: Sequence[Results],
    scaled: Sequence[Results] = (),
    all_rank: int = 2,
    rate: float = 100,
) -> list[dict]:
    """Every position-or-capacity comparison of one dataset, split in two: what a
    convolution widened to LRLC's size gains over the base grid's convolution
    (``capacity``), and what LRLC gains over that widened convolution (``position``), each
    in test points with its threshold (:data:`lrlc.results.NOISE_MULTIPLE` times
    :func:`lrlc.results.difference_noise`). Their sum is LRLC's gain over the convolution.

    One dict per comparison, with ``where``, ``rank``, ``capacity``,
    ``capacity_threshold``, ``position`` and ``position_threshold``: first LRLC
    ``all_rank`` in all three layers with the logits at ``rate`` (from the grid of
    ``scaled`` at that rate, when ``base`` or ``controls`` hold a convolution widened in all
    three layers for that rank), then, in the network's order, every rank of LRLC in one
    layer only (each from the first grid of ``one_layer`` that ran it) for which a
    convolution widened in the same layer ran (the first such run), as
    :func:`one_layer_table` picks them.

    one_layer: grids of LRLC in one layer only, all with the logits at ``rate``; controls:
    grids made with the base grid's command but other variants, as
    :func:`one_layer_table` takes them. Every grid is checked against ``base``
    (:func:`lrlc.results.check_comparable`). ValueError when a grid has the logits at
    another rate, or ``scaled`` has none at ``rate`` while a control for it ran; KeyError
    when ``base`` has no convolution."""
    conv = base.row("conv")
    if conv is None:
        raise KeyError(f"no convolution in {base.origin} to measure the gains from")
    if one_layer:
        _check_placements(base, *one_layer)
        if one_layer[0].combining_lr_scale != rate:
            raise ValueError(
                f"the one-layer grids have the logits at {_rate(one_layer[0])}, not at "
                f"{rate:g}×: pass the grids made with --combining-lr-scale {rate:g}"
            )
    for grid in controls:
        check_comparable(base, grid)
    pairs = []
    wide = [r for r in _wide_convs((base, *controls), "all") if r["rank"] == all_rank]
    if scaled and wide:
        lrlc_row = _faster_grid(base, scaled, rate).row("lrlc", all_rank)
        if lrlc_row is not None:
            pairs.append(("all", lrlc_row, wide[0]))
    for where in ONE_LAYER:
        pairs += [(where, *pair) for pair in _widened_pairs(base, one_layer, controls, where)]
    n_test = base.raw["data"]["test_size"]

    def difference(a: dict, b: dict) -> tuple[float, float]:
        """a minus b in test points, and its threshold."""
        scale, _ = difference_noise(a, b, n_test)
        return 100 * (a["test_mean"] - b["test_mean"]), NOISE_MULTIPLE * scale

    rows = []
    for where, lrlc_row, wide_row in pairs:
        capacity, capacity_threshold = difference(wide_row, conv)
        position, position_threshold = difference(lrlc_row, wide_row)
        rows.append({"where": where, "rank": lrlc_row["rank"], "capacity": capacity,
                     "capacity_threshold": capacity_threshold, "position": position,
                     "position_threshold": position_threshold})  # fmt: skip
    return rows


def plot_split(
    splits: Mapping[str, Sequence[dict]], names: Mapping[str, str], size: float = 3.6
) -> Figure | None:
    """:func:`split` as a picture, one panel per dataset of ``splits``
    (``{dataset: its rows}``) on shared axes, one legend below in the network's order: each
    comparison a point at (capacity, position) in its placement's colour
    (``PLACEMENTS``), labelled with its rank, with error bars that reach its two
    thresholds on either side. A point whose vertical bar stays above zero gains from
    position beyond the noise; one whose horizontal bar stays right of zero, from
    capacity. None when no dataset has a row."""
    splits = {name: rows for name, rows in splits.items() if rows}
    if not splits:
        return None
    fig, axes = plt.subplots(
        1,
        len(splits),
        figsize=(size * len(splits), size + 0.6),
        layout="constrained",
        squeeze=False,
        sharex=True,
        sharey=True,
    )
    handles = {}  # placement: a handle for the legend
    for ax, (name, rows) in zip(axes.flat, splits.items(), strict=True):
        ax.axhline(0, color="0.6", lw=0.8, zorder=1)
        ax.axvline(0, color="0.6", lw=0.8, zorder=1)
        for row in rows:
            color = PLACEMENTS[row["where"]][0]
            point = (row["capacity"], row["position"])
            handles[row["where"]] = ax.errorbar(
                *([p] for p in point), xerr=[row["capacity_threshold"]],
                yerr=[row["position_threshold"]], fmt="o", color=color, ms=5, capsize=2,
                elinewidth=0.8, zorder=3,
            )  # fmt: skip
            ax.annotate(str(row["rank"]), point, xytext=(4, 3), textcoords="offset points",
                        fontsize=8, color=color, zorder=4,
                        bbox={"boxstyle": "square,pad=0.05", "fc": "white", "ec": "none",
                              "alpha": 0.8})  # fmt: skip
        ax.set(title=names[name], xlabel="capacity: wide conv − conv (points)")
        ax.grid(alpha=0.3)
    axes[0, 0].set_ylabel("position: LRLC − wide conv (points)")
    order = [where for where in ("all", *ONE_LAYER) if where in handles]
    fig.legend([handles[w] for w in order], [PLACEMENTS[w][2] for w in order],
               loc="outside lower center", ncols=4, fontsize=9)  # fmt: skip
    return fig
