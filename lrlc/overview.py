"""The grids of several datasets side by side: the tables and the figure of chapter 9::

    from lrlc import overview, results

    grids = {name: results.load_or_none(name) for name in overview.DATASETS}
    overview.headline_table(grids)        # one row per dataset (Markdown)
    overview.comparisons(grids)           # the best LRLC rank against conv and LC
    overview.plot_gains_over_conv(grids)  # the same as bars
    overview.copies_table(lossless, jpeg) # one grid on two copies of the same images

The cross-dataset functions take ``grids``, ``{dataset: Results or None}`` in the order to
show them, and ``names``, the dataset names to print (default :data:`DATASETS`); the
others take the grids, pairs or budgets their own docstrings describe. A grid of None has no
results file yet: the headline table and the figure show it as *pending*, the other tables
and lines leave it out. Accuracies are test accuracies in percent, mean over seeds; the
best LRLC rank is the one with the best *validation* accuracy (:meth:`.Results.best_lrlc`);
each difference is shown with its noise threshold (:func:`lrlc.results.format_difference`).
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from lrlc.plotting import BASELINE_COLORS, GRID_RATE_COLOR, PLACEMENTS
from lrlc.results import (
    NOISE_MULTIPLE,
    Results,
    by_logit_rate,
    counted,
    difference_noise,
    difference_note,
    format_difference,
    setting_differences,
    variant_name,
)
from lrlc.widgets import markdown_display, markdown_table

__all__ = [
    "DATASETS",
    "accuracy",
    "headline_rows",
    "headline_table",
    "comparisons",
    "plot_gains_over_conv",
    "rank_table",
    "with_controls",
    "controls_table",
    "control_verdicts",
    "steps_table",
    "provenance_list",
    "provenance_stack",
    "budget_table",
    "plot_budget_curves",
    "copies_table",
    "copies_differences",
]

DATASETS = {
    "mnist": "MNIST",
    "cifar10": "CIFAR-10",
    "celeba": "CelebA (aligned)",
    "trans_celeba48": "CelebA (misaligned, 48×48)",
}
"""The book's datasets in the order of its chapters (``mnist``, ``cifar10``, ``celeba``,
``trans_celeba48``), each with the name the tables print ("MNIST", "CIFAR-10", ...)."""

Grids = Mapping[str, Results | None]


def accuracy(row: dict | None) -> str:
    """A summary row's test accuracy in percent, ``"87.45 ± 1.01"`` (the ± part, one
    standard deviation over seeds, only with several seeds); ``"not run"`` for None."""
    if row is None:
        return "not run"
    text = f"{100 * row['test_mean']:.2f}"
    # no-break spaces: a narrow table column never separates the mean from its spread
    return text + (f"\u00a0±\u00a0{100 * row['test_std']:.2f}" if row["seeds"] > 1 else "")


def headline_rows(grid: Results) -> dict[str, dict | None]:
    """The summary rows a dataset is judged by, each None when the grid did not run it.

    Keys: ``conv`` (the convolution), ``lc`` (locally connected), ``lrlc`` (the LRLC rank in
    all three layers with the best validation accuracy, :meth:`.Results.best_lrlc`) and
    ``lrlc_input`` (input-dependent LRLC at its lowest rank).
    """
    dependent = grid.lrlc_rows("lrlc_input")  # by rank
    return {
        "conv": grid.row("conv"),
        "lc": grid.row("lc"),
        "lrlc": grid.best_lrlc(),
        "lrlc_input": dependent[0] if dependent else None,
    }


def _test_size(grid: Results) -> int:
    return grid.raw["data"]["test_size"]


def _with_rank(row: dict | None, text: str) -> str:
    """``"rank 4: <text>"`` for an LRLC row; ``text`` itself for None."""
    return text if row is None else f"rank {row['rank']}: {text}"


def _how_made(grid: Results) -> str:
    """``"CPU, subsets, 8 epochs, not tuned"``."""
    where = "CPU" if grid.on_cpu else "GPU"
    size = "subsets" if grid.is_subset else "full data"
    tuned = "tuned" if grid.tuned else "not tuned"
    return f"{where}, {size}, {counted(grid.raw['config']['epochs'], 'epoch')}, {tuned}"


def headline_table(grids: Grids, names: Mapping[str, str] = DATASETS) -> Any:
    """The cross-dataset table (:func:`.markdown_table`), one row per dataset.

    Columns: the dataset; the test accuracy (:func:`accuracy`) of the convolution, of LC, of
    the best LRLC rank on validation and of input-dependent LRLC (these two name their
    rank); the fewest and most seeds behind the row; how the grid was made (CPU or GPU,
    subsets or full data, epochs, tuned or not). A pending dataset (grid None) says
    "pending" and gives the command that makes its grid. When every dataset has a grid,
    all made alike, the last column is a line above the table instead.
    """
    table = []
    for name, grid in grids.items():
        if grid is None:
            command = f"`python -m lrlc.experiments {name}`"
            table.append([names[name], *["pending"] * 4, "–", command])
            continue
        rows = headline_rows(grid)
        best, dependent = rows["lrlc"], rows["lrlc_input"]
        seeds = [r["seeds"] for r in rows.values() if r is not None]
        table.append(
            [
                names[name],
                accuracy(rows["conv"]),
                accuracy(rows["lc"]),
                _with_rank(best, accuracy(best)),
                _with_rank(dependent, accuracy(dependent)),
                f"{min(seeds)}–{max(seeds)}" if min(seeds) != max(seeds) else str(seeds[0]),
                _how_made(grid),
            ]
        )
    header = ["dataset", "convolution", "LC", "best LRLC (rank on validation)"]
    header += ["input-dependent LRLC", "seeds", "grid"]
    made = {row[-1] for row in table}  # how each grid was made, or a pending one's command
    if len(made) == 1 and None not in grids.values():
        note = f"Every grid: {made.pop()}."
        return markdown_table(header[:-1], [row[:-1] for row in table], note=note)
    return markdown_table(header, table)


def comparisons(grids: Grids, names: Mapping[str, str] = DATASETS, full_note: bool = True) -> Any:
    """The headline differences as a table (:func:`.markdown_table`), one row per dataset
    with results: the best LRLC rank on validation, it minus the convolution and minus LC,
    and input-dependent LRLC minus the convolution; each cell as
    :func:`lrlc.results.format_difference` writes it (bold beyond its threshold), or
    "not run".

    full_note: False puts the short note above the table (:func:`.difference_note`), for
    the tables after the first on a page.
    """
    table = []
    for name, grid in grids.items():
        if grid is None:
            continue
        rows, n_test = headline_rows(grid), _test_size(grid)
        best = rows["lrlc"]
        table.append(
            [
                names[name],
                "–" if best is None else f"rank {best['rank']}",
                _difference(best, rows["conv"], n_test),
                _difference(best, rows["lc"], n_test),
                _difference(rows["lrlc_input"], rows["conv"], n_test),
            ]
        )
    if not table:
        return markdown_display("No results file yet: nothing to compare.")
    header = ["dataset", "best LRLC", "best − convolution", "best − LC"]
    return markdown_table(
        header + ["input-dependent − convolution"], table, note=difference_note(full_note)
    )


# What plot_gains_over_conv draws: headline_rows keys, with their labels.
_GAINS = {"lc": "LC", "lrlc": "best LRLC rank", "lrlc_input": "input-dependent LRLC"}
# each layer type in its colour of every other figure (LRLC: that of all three layers)
_GAIN_COLORS = {"lc": BASELINE_COLORS["lc"], "lrlc": PLACEMENTS["all"][0]}
_GAIN_COLORS |= {"lrlc_input": BASELINE_COLORS["lrlc_input"]}


def plot_gains_over_conv(
    grids: Grids, names: Mapping[str, str] = DATASETS, *, ax: Axes | None = None
) -> Figure:
    """Test accuracy minus the convolution's (points) of LC, the best LRLC rank and
    input-dependent LRLC, as grouped bars, one group per dataset.

    Each error bar spans :data:`.NOISE_MULTIPLE` times the noise scale of its difference
    (:func:`.difference_noise`) on either side: a bar whose error bar crosses zero is within
    the noise by the book's rule (:func:`.beyond_noise`), one whose error bar clears it is
    not. A variant the grid did not run is marked "not run"; a pending dataset (grid None),
    "pending".
    """
    if ax is None:
        fig, ax = plt.subplots(figsize=(7, 3.8), layout="constrained")
    fig = ax.figure
    width = 0.8 / len(_GAINS)
    for k, (key, label) in enumerate(_GAINS.items()):
        for i, grid in enumerate(grids.values()):
            if grid is None:
                continue
            x = i + (k - (len(_GAINS) - 1) / 2) * width
            rows = headline_rows(grid)
            a, conv = rows[key], rows["conv"]
            if a is None or conv is None:
                ax.text(x, 0, "not\nrun", ha="center", va="bottom", fontsize=9, color="0.25")
                continue
            height = 100 * (a["test_mean"] - conv["test_mean"])
            error = NOISE_MULTIPLE * difference_noise(a, conv, _test_size(grid))[0]
            ax.bar(x, height, width, yerr=error, capsize=3, color=_GAIN_COLORS[key])
        ax.bar(np.nan, np.nan, width, color=_GAIN_COLORS[key], label=label)  # legend entry
    for i, grid in enumerate(grids.values()):
        if grid is None:
            ax.text(i, 0, "pending", ha="center", va="bottom", fontsize=9, color="0.4")
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xlim(-0.6, len(grids) - 0.4)
    labels = [textwrap.fill(names[n], 16) for n in grids]  # "CelebA (misaligned, ...)"
    ax.set_xticks(np.arange(len(grids)), labels, fontsize=10)
    ax.set_ylabel("test accuracy − convolution\n(points)")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=9, loc="lower center", bbox_to_anchor=(0.5, 1.01), ncols=3)  # above
    return fig


def rank_table(grids: Grids, names: Mapping[str, str] = DATASETS, where: str = "all") -> Any:
    """The rank dial per dataset with results (:func:`.markdown_table`), one column per dataset
    and one row per rank, so that more ranks make the table longer, not wider: the
    convolution's test accuracy, then LRLC's at every rank any grid ran, "–" where a grid
    did not run that rank. ``where``: LRLC in ``"all"`` three layers, or in the ``"last"``
    or ``"first"`` one only (then a dataset with no such run is left out)."""
    by_rank = {  # each grid's LRLC rows at this placement, by rank
        name: {r["rank"]: r for r in grid.lrlc_rows(where=where)}
        for name, grid in grids.items()
        if grid is not None
    }
    if where != "all":
        by_rank = {name: rows for name, rows in by_rank.items() if rows}
    if not by_rank:
        return markdown_display("No results file yet.")
    label = "LRLC rank" if where == "all" else f"{where} layer, rank"
    table = [["convolution", *(accuracy(grids[name].row("conv")) for name in by_rank)]]
    for k in sorted({k for rows in by_rank.values() for k in rows}):
        cells = [accuracy(rows[k]) if k in rows else "–" for rows in by_rank.values()]
        table.append([f"{label} {k}", *cells])
    return markdown_table(["network", *(names[name] for name in by_rank)], table)


def _controls(grid: Results) -> tuple[dict | None, dict | None]:
    """The grid's CoordConv and wide convolution rows (all three layers), None if not run."""
    wide = next((r for r in grid.baselines() if r["layer"] == "wide_conv"), None)
    return grid.row("coordconv"), wide


def with_controls(grids: Grids) -> list[str]:
    """The datasets whose grid ran CoordConv or the wide convolution, in order."""
    return [
        name for name, grid in grids.items() if grid is not None and _controls(grid) != (None, None)
    ]


def _with_params(row: dict | None) -> str:
    """``accuracy`` then the network's parameters in thousands: ``"87.45 ± 1.01 (75k)"``."""
    return "not run" if row is None else f"{accuracy(row)} ({row['params'] / 1000:,.0f}k)"


def controls_table(grids: Grids, names: Mapping[str, str] = DATASETS) -> Any:
    """The control baselines per dataset of :func:`with_controls` (:func:`.markdown_table`): test
    accuracy and parameters of the convolution, CoordConv, the wide convolution and the best
    LRLC rank on validation."""
    table = []
    for name in with_controls(grids):
        grid = grids[name]
        coord, wide = _controls(grid)
        best = grid.best_lrlc()
        cells = [grid.row("conv"), coord, wide]
        table.append([names[name], *map(_with_params, cells), _with_rank(best, _with_params(best))])
    header = ["dataset", "convolution", "CoordConv", "wide convolution", "best LRLC"]
    return markdown_table(header, table)


def control_verdicts(
    grids: Grids, names: Mapping[str, str] = DATASETS, full_note: bool = True
) -> Any:
    """The controls as a table (:func:`.markdown_table`), one row per dataset of
    :func:`with_controls`: the best LRLC rank minus the wide convolution and minus
    CoordConv, CoordConv minus the convolution, and the best rank minus LRLC rank 1 (the
    spatial biases with shared filters; a dash when rank 1 is best); cells as
    :func:`lrlc.results.format_difference` writes them, or "not run".

    full_note: False puts the short note above the table (:func:`.difference_note`), for
    the tables after the first on a page.
    """
    table = []
    for name in with_controls(grids):
        grid = grids[name]
        coord, wide = _controls(grid)
        best, n_test = grid.best_lrlc(), _test_size(grid)
        one = grid.row("lrlc", 1)
        table.append(
            [
                names[name],
                "–" if best is None else f"rank {best['rank']}",
                _difference(best, wide, n_test),
                _difference(best, coord, n_test),
                _difference(coord, grid.row("conv"), n_test),
                "–" if best is None or best["rank"] == 1 else _difference(best, one, n_test),
            ]
        )
    header = ["dataset", "best LRLC", "best − wide conv", "best − CoordConv"]
    header += ["CoordConv − convolution", "best − rank 1"]
    return markdown_table(header, table, note=difference_note(full_note))


def _difference(a: dict | None, b: dict | None, test_size: int) -> str:
    """:func:`lrlc.results.format_difference`, or ``"not run"`` when either row is None."""
    return "not run" if a is None or b is None else format_difference(a, b, test_size)


def steps_table(grids: Grids, names: Mapping[str, str] = DATASETS, full_note: bool = True) -> Any:
    """The question of the paper in three steps per dataset with results
    (:func:`.markdown_table`): the best LRLC rank on validation minus the convolution, LRLC rank
    1 minus the convolution, and the best rank minus rank 1 (a dash when rank 1 is best),
    each difference in test points with whether it clears the noise.

    full_note: False puts the short note above the table (:func:`.difference_note`), for
    the tables after the first on a page.
    """
    table = []
    for name, grid in grids.items():
        if grid is None:
            continue
        conv, best, one, n_test = (
            grid.row("conv"),
            grid.best_lrlc(),
            grid.row("lrlc", 1),
            _test_size(grid),
        )
        table.append(
            [
                names[name],
                "–" if best is None else f"rank {best['rank']}",
                _difference(best, conv, n_test),
                _difference(one, conv, n_test),
                "–" if best is None or best["rank"] == 1 else _difference(best, one, n_test),
            ]
        )
    if not table:
        return markdown_display("No results file yet.")
    header = ["dataset", "best LRLC", "best − convolution", "rank 1 − convolution"]
    return markdown_table(header + ["best − rank 1"], table, note=difference_note(full_note))


_DIRTY = " (uncommitted changes in the checkout)"
_OWN = "; each run records its own"


def provenance_list(grids: Grids, names: Mapping[str, str] = DATASETS) -> Any:
    """Where each grid's numbers come from, as a Markdown list (one item per dataset).

    When every grid was made alike (the same device, seeds, budget and hyper-parameters:
    the training sentence of :meth:`.Results.provenance_parts`), that sentence is said once
    above the list, with what a ``-dirty`` commit means and that each run records its
    commit; each item then has its grid's data, commits and file. A pending dataset (grid
    None) says so, with the command that would make its grid.
    """
    parts = {name: grid.provenance_parts() for name, grid in grids.items() if grid is not None}
    heads = {", ".join(training) for training, _, _ in parts.values()}
    shared = len(parts) > 1 and len(heads) == 1
    lines = []
    for name, grid in grids.items():
        if grid is None:
            lines.append(
                f"- **{names[name]}**: pending, no results file yet. Run "
                f"`python -m lrlc.experiments {name}` for the reference grid (a GPU), or a "
                "CPU-scale grid as in Appendix A, then re-execute this chapter."
            )
        elif shared:
            _, data, record = parts[name]
            record = record.replace(_DIRTY, "").replace(_OWN, "")
            lines.append(f"- **{names[name]}**: {data} {record}")
        else:
            lines.append(f"- **{names[name]}**: {grid.provenance()}")
    if shared:
        (head,) = heads
        records = [record for _, _, record in parts.values()]
        common = f"Every grid below: {head[0].lower()}{head[1:]}."
        if any(_OWN in record for record in records):
            common += " Each run records the commit it ran from"
            if any(_DIRTY in record for record in records):
                common += "; a commit marked -dirty had uncommitted changes in the checkout"
            common += "."
        lines.insert(0, common + "\n")
    return markdown_display("\n".join(lines))


def provenance_stack(grids: Mapping[str, Results]) -> Any:
    """The provenance of grids shown together (``{label: grid}``), as Markdown, what they
    share said once.

    The clauses of the training sentence that every grid has (:meth:`.Results.provenance_parts`),
    and the data sentence when every grid has the same, open the text ("Every grid below:
    trained on the CPU ..."); then one item per grid, under its label, with the clauses
    and data only it has and its record sentence (commits, date, PyTorch, file). A single
    grid gets its whole :meth:`.Results.provenance`.
    """
    if not grids:
        raise ValueError("provenance_stack needs at least one grid, {label: Results}")
    if len(grids) == 1:
        (grid,) = grids.values()
        return markdown_display(grid.provenance())
    parts = {label: grid.provenance_parts() for label, grid in grids.items()}
    first, *others = [training for training, _, _ in parts.values()]
    shared = [c for c in first if all(c in training for training in others)]
    data_shared = len({data for _, data, _ in parts.values()}) == 1
    opening = ", ".join(shared)
    if opening[1:2].islower():  # "Trained on ..." -> "trained on ...", never "SGD" -> "sGD"
        opening = opening[:1].lower() + opening[1:]
    opening = f"Every grid below: {opening}." if shared else ""
    if data_shared:
        opening = f"{opening} {next(iter(parts.values()))[1]}".strip()
    lines = [opening, ""] if opening else []
    for label, (training, data, record) in parts.items():
        own = [c for c in training if c not in shared]
        text = f"{', '.join(own)}." if own else ""
        text = f"{text} {'' if data_shared else data} {record}"
        lines.append(f"- **{label}**: {' '.join(text.split())}")
    return markdown_display("\n".join(lines))


# One grid at several budgets -----------------------------------------------------------------

_BUDGET_SETTINGS = ("task", "train_size", "valid_size", "batch_size", "optimizer", "augmentation",
                    "amp", "combining_lr_scale", "lrs", "weight_decays", "selection")  # fmt: skip


Budget = Results | Sequence[Results]
"""One budget of :func:`budget_table`: a grid, or a grid and its grids with faster
combining logits (the same command but for ``--layers`` and ``--combining-lr-scale``)."""

BudgetNetwork = (
    tuple[str, int | None] | tuple[str, int | None, float] | tuple[str, int | None, float, str]
)
"""A network of :func:`budget_table`: ``(layer, rank)``, all three layers; ``(layer, rank,
rate)`` for LRLC with its combining logits at ``rate`` times the learning rate; ``(layer,
rank, rate, where)`` for LRLC in the ``"last"`` or ``"first"`` layer only (``rate`` 1: the
grids' rate)."""


def _budget_grids(budget: Budget) -> list[Results]:
    """The grids of one budget, checked to differ only in the combining logits' rate."""
    grids = [budget] if isinstance(budget, Results) else list(budget)
    if not grids:
        raise ValueError("a budget of budget_table needs at least one grid")
    return by_logit_rate(grids[0], grids[1:])


def _network_parts(network: BudgetNetwork) -> tuple[str, int | None, float, str]:
    """``(layer, rank, rate, where)`` of a network, with the defaults filled in."""
    layer, rank, *rest = network
    rate = float(rest[0]) if rest else 1.0
    where = rest[1] if len(rest) > 1 else "all"
    return layer, rank, rate, where


def _network_name(network: BudgetNetwork) -> str:
    layer, rank, rate, where = _network_parts(network)
    return variant_name(layer, rank, where) + ("" if rate == 1 else f", logits at {rate:g}×")


def _network_grid(grids: list[Results], network: BudgetNetwork) -> Results | None:
    """The grid of one budget that holds ``network``'s rate, None where none does."""
    rate = _network_parts(network)[2]
    return next((g for g in grids if g.combining_lr_scale == rate), None)


def _checked_budgets(
    budgets: Mapping[str, Budget], networks: Sequence[BudgetNetwork]
) -> list[list[Results]]:
    """Each budget's grids, checked: within a budget they differ only in the logits' rate,
    across budgets only in the epochs, and each network trained with one learning rate and
    weight decay at every budget (networks may differ from each other: tuned grids)."""
    if not budgets or not networks:
        raise ValueError("budget_table needs grids ({label: Results}) and networks [(layer, rank)]")
    per_budget = [_budget_grids(budget) for budget in budgets.values()]
    first, *later = per_budget
    for grids in later:
        differs = setting_differences(first[0], grids[0], _BUDGET_SETTINGS)
        for network in networks:
            layer, rank, _, where = _network_parts(network)
            hyper = {
                (r["lr"], r["weight_decay"])
                for g in (_network_grid(first, network), _network_grid(grids, network))
                if g is not None
                for r in g.variant_runs(layer, rank, where)
            }
            if len(hyper) > 1:
                differs.append(
                    f"the learning rate and weight decay of {_network_name(network)} "
                    f"({sorted(hyper)})"
                )
        if differs:
            raise ValueError(
                f"{grids[0].origin} differs from {first[0].origin} in more than the epochs: "
                f"{', '.join(differs)}. Compare grids made with the same command but for --epochs."
            )
    return per_budget


def budget_table(
    budgets: Mapping[str, Budget],
    networks: Sequence[BudgetNetwork],
    full_note: bool = True,
    differences: Sequence[tuple[BudgetNetwork, BudgetNetwork]] | None = None,
) -> Any:
    """The same networks trained for different numbers of epochs, ``{label: grid}`` (e.g.
    ``{"8 epochs": ..., "24 epochs": ...}``), as a Markdown table: one column per budget,
    one row per network of ``networks`` with its test accuracy (:func:`accuracy`), then
    one row per pair ``(a, b)`` of ``differences``, ``a`` minus ``b`` as
    :func:`lrlc.results.format_difference` writes it (default: each later network minus
    the first; both networks of a pair must be in ``networks``). A network is ``(layer,
    rank)``, all three layers, or ``(layer, rank, rate)`` for LRLC with its combining
    logits at ``rate`` times the learning rate: then a budget is a list, its grid and its
    grids with faster logits (``[grid, grid_100x]``).

    Raises ``ValueError`` where a budget's grids differ in more than the logits' rate,
    where a budget differs from the first in more than its epochs (data, batch,
    augmentation, ...), or where a network trained with another learning rate or weight
    decay at another budget.

    full_note: False puts the short note above the table, for the tables after the first
    on a page."""
    per_budget = _checked_budgets(budgets, networks)
    rows = {}
    for network in networks:
        layer, rank, _, where = _network_parts(network)
        cells = []
        for grids in per_budget:
            grid = _network_grid(grids, network)
            cells.append(None if grid is None else grid.row(layer, rank, where))
        rows[network] = cells
    table = [[_network_name(network), *map(accuracy, cells)] for network, cells in rows.items()]
    if differences is None:
        differences = [(network, networks[0]) for network in networks[1:]]
    for minuend, subtrahend in differences:
        missing = [n for n in (minuend, subtrahend) if n not in rows]
        if missing:
            raise ValueError(
                f"budget_table's differences name {missing[0]}, which is not one of its "
                f"networks {list(networks)}: add it to networks"
            )
        cells = [
            _difference(a, b, _test_size(grids[0]))
            for a, b, grids in zip(rows[minuend], rows[subtrahend], per_budget, strict=True)
        ]
        name = f"{_network_name(minuend)} − {_network_name(subtrahend)} (points)"
        table.append([name, *cells])
    header = ["network", *(f"{label} (%)" for label in budgets)]
    note = difference_note(full_note) if differences else None
    return markdown_table(header, table, align="l" + "r" * len(budgets), note=note)


def _network_color(layer: str) -> str:
    """One colour a layer type in the budget and augmentation figures, the gains figure's
    where it has one."""
    return _GAIN_COLORS.get(layer, BASELINE_COLORS.get(layer, "0.5"))


def _budget_color(network: BudgetNetwork, networks: Sequence[BudgetNetwork], n: int) -> str:
    """A layer type's own colour; where one type comes at two rates of its combining logits,
    the faster one keeps it and the grids' rate is grey; else one of matplotlib's cycle."""
    layer, _, rate, _ = _network_parts(network)
    rates = [_network_parts(other)[2] for other in networks if other[0] == layer]
    if len(rates) == 1:
        return _network_color(layer)
    if len(set(rates)) == len(rates) == 2 and 1.0 in rates:  # 1x and one other rate
        return GRID_RATE_COLOR if rate == 1 else _network_color(layer)
    return f"C{n}"


def plot_budget_curves(budgets: Mapping[str, Budget], networks: Sequence[BudgetNetwork]) -> Figure:
    """The training loss (left) and the validation accuracy (%, right) after every epoch,
    mean over seeds, of ``networks`` at every budget of ``budgets`` (both as
    :func:`budget_table` takes them, and checked as it checks them), one colour a network
    (spatial LRLC at the grids' rate grey beside the same LRLC with faster logits, as in the
    rank dials), one line style a budget (up to four; all but the second also marked at
    every epoch, so that a short budget's curve shows where it runs along a longer one's):
    whether a network still climbs where the shorter budget ends, and whether the longer
    one lets another network overtake."""
    styles = ["--", "-", ":", "-."]
    markers = ["o", None, "s", "^"]
    if not 0 < len(budgets) <= len(styles) or not networks:
        raise ValueError(
            f"plot_budget_curves draws 1 to {len(styles)} budgets of at least one network, "
            f"got {len(budgets)} budgets and {len(networks)} networks"
        )
    per_budget = _checked_budgets(budgets, networks)
    fig, (loss_ax, accuracy_ax) = plt.subplots(1, 2, figsize=(9, 3.8), layout="constrained")
    lines = []
    for n, network in enumerate(networks):
        layer, rank, _, where = _network_parts(network)
        color = _budget_color(network, networks, n)
        lines.append(Line2D([], [], color=color, label=_network_name(network)))
        for grids, style, marker in zip(per_budget, styles, markers, strict=False):
            grid = _network_grid(grids, network)
            for ax, field, scale in (
                (loss_ax, "train_loss_curve", 1.0),
                (accuracy_ax, "valid_curve", 100.0),
            ):
                mean = None if grid is None else grid.mean_curve(field, layer, rank, where)
                if mean is not None:
                    mean = scale * mean.numpy()
                    ax.plot(np.arange(1, len(mean) + 1), mean, color=color, ls=style,
                            marker=marker, ms=3.5, zorder=3 if marker else 2)  # fmt: skip
    lines += [
        Line2D([], [], color="0.4", ls=style, marker=marker, ms=3.5, label=label)
        for label, style, marker in zip(budgets, styles, markers, strict=False)
    ]
    loss_ax.set(xlabel="epoch", ylabel="training loss", title="training loss")
    accuracy_ax.set(xlabel="epoch", ylabel="validation accuracy (%)", title="validation accuracy")
    for ax in (loss_ax, accuracy_ax):
        ax.grid(alpha=0.3)
        ax.title.set_fontsize(10)
    fig.legend(handles=lines, fontsize=9, loc="outside upper center", ncols=min(len(lines), 4))
    return fig


# One grid on two copies of the same images ---------------------------------------------------


def _shared_variants(a: Results, b: Results) -> list[tuple]:
    """The (layer, rank, where) of every variant both grids ran, in ``summarize`` order."""
    keys = [(r["layer"], r["rank"], r["where"]) for r in a.summary()]
    theirs = {(r["layer"], r["rank"], r["where"]) for r in b.summary()}
    return [key for key in keys if key in theirs]


def _paired(a: Results, b: Results, key: tuple) -> list[float]:
    """Test accuracy of ``b`` minus ``a`` (points), seed by seed, for the seeds both ran."""
    mine = {r["seed"]: r["test_accuracy"] for r in a.variant_runs(*key)}
    theirs = {r["seed"]: r["test_accuracy"] for r in b.variant_runs(*key)}
    return [100 * (theirs[s] - mine[s]) for s in sorted(mine) if s in theirs]


def _paired_change(paired: list[float]) -> str:
    """Per-seed differences (points) as ``"+0.30 ± 0.78 (3 seeds)"``: their mean and
    standard deviation, or ``"no seed ran on both"``."""
    if not paired:
        return "no seed ran on both"
    spread = f"\u00a0±\u00a0{np.std(paired, ddof=1):.2f}" if len(paired) > 1 else ""
    return f"{np.mean(paired):+.2f}{spread} ({counted(len(paired), 'seed')})"


def copies_table(
    original: Results, copy: Results, names: tuple[str, str] = ("lossless", "JPEG")
) -> Any:
    """The variants both grids ran, one row each (:func:`.markdown_table`): the test accuracy
    on each copy of the same images (:func:`accuracy`) and the copy minus the original
    *paired by seed*: the mean and standard deviation over seeds of the per-seed differences
    (points). With the same images, splits and seeds, a seed's two runs start from the same
    weights and see the same batches, so a paired difference holds only what the copy
    changes and the chaos of training on it (no seed-to-seed spread of the networks)."""
    table = []
    for key in _shared_variants(original, copy):
        row = [variant_name(*key), accuracy(original.row(*key)), accuracy(copy.row(*key))]
        table.append([*row, _paired_change(_paired(original, copy, key))])
    header = ["variant", f"{names[0]} (%)", f"{names[1]} (%)"]
    return markdown_table(header + [f"{names[1]} − {names[0]}, paired by seed (points)"], table)


def copies_differences(
    original: Results,
    copy: Results,
    names: tuple[str, str] = ("lossless", "JPEG"),
    full_note: bool = True,
) -> Any:
    """Every pair of the variants both grids ran, later minus earlier in the order of
    :func:`lrlc.results.summarize` (e.g. LRLC rank 4 − convolution), on each copy
    (:func:`.markdown_table`), each cell as :func:`lrlc.results.format_difference` writes
    it: whether the copies agree on which variant wins, and by more than the noise."""
    keys = _shared_variants(original, copy)
    table = []
    for i, earlier in enumerate(keys):
        for later in keys[i + 1 :]:
            cells = [
                _difference(grid.row(*later), grid.row(*earlier), _test_size(grid))
                for grid in (original, copy)
            ]
            table.append([f"{variant_name(*later)} − {variant_name(*earlier)}", *cells])
    header = ["difference", *(f"on the {name} copy" for name in names)]
    return markdown_table(header, table, note=difference_note(full_note))


# Networks trained without and with augmentation ----------------------------------------------
