"""Does a spatial prior survive augmented training images? Grids trained with random crops
(and flips) set beside the same grids trained without, as section 9.2 shows them::

    from lrlc import augmented

    pairs = augmented.pairs("celeba")  # (without, with crops and flips), per rate
    augmented.table({"celeba": pairs})  # the networks' accuracy both ways
    augmented.plot_gains({"celeba": pairs})  # their leads over the convolution
    crops = augmented.pairs("celeba", "augmented-crop")  # the crops alone
    parts = {"crops and flips": pairs, "crops only": crops}
    augmented.parts_table(parts)  # which part of the augmentation does it

A pair's two grids must differ in the augmentation alone
(:func:`check_only_augmentation_differs`). Accuracies are test accuracies in percent,
mean over seeds; each difference is shown with its noise threshold
(:func:`lrlc.results.format_difference`).
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
from matplotlib.patches import Patch

from lrlc.explorers import LAYER_NAMES
from lrlc.overview import (
    DATASETS,
    _difference,
    _network_color,
    _paired,
    _paired_change,
    _shared_variants,
    _test_size,
    accuracy,
)
from lrlc.results import (
    NOISE_MULTIPLE,
    Results,
    check_comparable,
    difference_noise,
    difference_note,
    load_or_none,
    setting_differences,
    variant_name,
)
from lrlc.widgets import markdown_table

__all__ = [
    "pairs",
    "check_only_augmentation_differs",
    "table",
    "differences",
    "plot_gains",
    "plot_curves",
    "weights_table",
    "parts_table",
    "parts_differences",
    "plot_parts",
    "plot_sweep",
]

AugmentationPairs = Mapping[str, "list[tuple[Results, Results]]"]
"""``{dataset: [(grid without augmentation, the same grid with it), ...]}``: several pairs
per dataset where its networks come from several files (e.g. the grid and its grid with
faster combining logits)."""


def pairs(
    dataset: str, augmented: str = "augmented", rates: tuple[str, ...] = ("", "-combining-lr-100")
) -> list[tuple[Results, Results]]:
    """The CPU grids of ``dataset`` paired with the same grids trained with augmented images,
    one pair per rate of the combining logits: ``results/cpu/<dataset><rate>.json`` with
    ``results/cpu/<dataset>-<augmented><rate>.json`` (e.g. ``celeba-augmented-crop``). A
    pair with a file missing is left out: an empty list while no augmented grid exists.
    Raises ``ValueError`` (:func:`lrlc.results.check_comparable`) where a grid of a later
    rate differs from the first rate's grid, without or with augmentation, in more than the
    logits' rate."""
    found = [
        (load_or_none(f"{dataset}{rate}", ("cpu",)),
         load_or_none(f"{dataset}-{augmented}{rate}", ("cpu",)))
        for rate in rates
    ]  # fmt: skip
    for later in found[1:]:
        for first, grid in zip(found[0], later, strict=True):
            if first is not None and grid is not None:
                check_comparable(first, grid)
    return [(plain, with_) for plain, with_ in found if plain is not None and with_ is not None]


def check_only_augmentation_differs(plain: Results, augmented: Results) -> None:
    """Raise ``ValueError`` naming what ``augmented`` does differently from ``plain``
    besides augmenting its training images: the dataset, the data (split sizes, source,
    data note), another setting of its command, or no augmentation at all."""
    config = {**plain.raw["config"], **augmented.raw["config"]}
    differs = setting_differences(plain, augmented, [k for k in config if k != "augmentation"])
    if plain.augmentation == augmented.augmentation:
        differs.append("nothing: both have the same augmentation")
    if differs:
        raise ValueError(
            f"{augmented.origin} differs from {plain.origin} in more than the augmentation: "
            f"{', '.join(differs)}. Compare grids made with the same command but for --augment."
        )


def _named(grid: Results, key: tuple) -> str:
    """The variant's name, with the combining logits' rate where its grid changed it."""
    name = variant_name(*key)
    scale = grid.combining_lr_scale
    return name + (f", logits at {scale:g}×" if scale != 1 and key[0].startswith("lrlc") else "")


def _augmentation_rows(plain: Results, augmented: Results) -> list[tuple]:
    """(key, name, row without, row with, per-seed changes) of every variant both grids ran."""
    check_only_augmentation_differs(plain, augmented)
    return [
        (key, _named(plain, key), plain.row(*key), augmented.row(*key),
         _paired(plain, augmented, key))
        for key in _shared_variants(plain, augmented)
    ]  # fmt: skip


def _dataset_rows(grids: list[tuple[Results, Results]]) -> list[tuple]:
    """:func:`_augmentation_rows` of every pair of one dataset, in order."""
    return [row for plain, augmented in grids for row in _augmentation_rows(plain, augmented)]


def table(
    pairs: AugmentationPairs, names: Mapping[str, str] = DATASETS, column: str = "dataset"
) -> Any:
    """One row per dataset and network trained both without and with augmentation
    (:func:`.markdown_table`): the test accuracy each way (:func:`lrlc.overview.accuracy`)
    and the change, *paired by seed* (a seed's two runs start from the same weights; the
    augmented one then sees other crops of its images): mean and standard deviation over
    seeds (points). Each pair is checked to differ in the augmentation alone
    (:func:`check_only_augmentation_differs`). ``column``: the first column's title, e.g.
    "budget" for one dataset's pairs keyed by their epochs."""
    table = [
        [
            names.get(dataset, dataset),
            name,
            accuracy(without),
            accuracy(with_),
            _paired_change(change),
        ]
        for dataset, grids in pairs.items()
        for _, name, without, with_, change in _dataset_rows(grids)
    ]
    header = [column, "network", "without (%)", "with augmentation (%)",
              "with − without, paired by seed (points)"]  # fmt: skip
    return markdown_table(header, table, align="llrrr")


def _leads(entries: list[tuple], test_size: int) -> list[list[str]]:
    """For every two of ``entries``, ``(name, row without, [row with, ...])`` (a row None
    where the network did not run), later minus earlier: its name, then the difference
    without augmentation and with each, as :func:`lrlc.results.format_difference` writes it."""
    return [
        [
            f"{later} − {earlier}",
            _difference(without_b, without_a, test_size),
            *(_difference(b, a, test_size) for a, b in zip(with_a, with_b, strict=True)),
        ]
        for i, (earlier, without_a, with_a) in enumerate(entries)
        for later, without_b, with_b in entries[i + 1 :]
    ]


def differences(
    pairs: AugmentationPairs,
    names: Mapping[str, str] = DATASETS,
    full_note: bool = True,
    column: str = "dataset",
) -> Any:
    """Every pair of a dataset's networks (later minus earlier, in the order of ``pairs``'
    grids and of :func:`lrlc.results.summarize` in each), without and with augmentation
    (:func:`.markdown_table`), each cell as :func:`lrlc.results.format_difference` writes it:
    whether a network's lead over another survives the augmentation. ``column``: the first
    column's title, as in :func:`table`."""
    table = []
    for dataset, grids in pairs.items():
        entries = [(name, without, [with_]) for _, name, without, with_, _ in _dataset_rows(grids)]
        table += [
            [names.get(dataset, dataset), *lead]
            for lead in _leads(entries, _test_size(grids[0][0]))
        ]
    header = [column, "difference", "without augmentation", "with augmentation"]
    return markdown_table(header, table, align="llrr", note=difference_note(full_note))


def plot_gains(
    pairs: AugmentationPairs, names: Mapping[str, str] = DATASETS, *, ax: Axes | None = None
) -> Figure:
    """Test accuracy minus the convolution's (points) of every other network of ``pairs``,
    without augmentation (solid bars) and with it (hatched), one group per dataset: whether
    a network's lead over the convolution survives augmented training images. Each error
    bar spans :data:`.NOISE_MULTIPLE` times the noise scale of its difference
    (:func:`.difference_noise`) on either side, as in :func:`lrlc.overview.plot_gains_over_conv`. A
    dataset needs its convolution trained both ways."""
    groups = {}
    for dataset, grids in pairs.items():
        rows = _dataset_rows(grids)
        conv = next((r for r in rows if r[0] == ("conv", None, "all")), None)
        if conv is None:
            raise ValueError(f"{dataset}: no convolution trained without and with augmentation")
        groups[dataset] = (conv, [r for r in rows if r is not conv], _test_size(grids[0][0]))
    if ax is None:
        fig, ax = plt.subplots(figsize=(7, 3.8), layout="constrained")
    fig = ax.figure
    widest = max(len(others) for _, others, _ in groups.values())
    width = 0.8 / (2 * max(widest, 1))
    legend: dict[str, str] = {}
    for i, (conv, others, test_size) in enumerate(groups.values()):
        for k, (key, name, *both, _) in enumerate(others):
            color = _network_color(key[0])
            legend.setdefault(name, color)
            for j, row in enumerate(both):  # j 0: without augmentation, 1: with it
                x = i + (2 * k + j - (2 * len(others) - 1) / 2) * width
                height = 100 * (row["test_mean"] - conv[2 + j]["test_mean"])
                error = NOISE_MULTIPLE * difference_noise(row, conv[2 + j], test_size)[0]
                style = {"hatch": "///", "alpha": 0.55, "edgecolor": color} if j else {}
                ax.bar(x, height, width, yerr=error, capsize=3, color=color, **style)
    handles = [Patch(color=color, label=name) for name, color in legend.items()]
    handles += [
        Patch(facecolor="0.6", label="without augmentation"),
        Patch(facecolor="0.6", alpha=0.55, hatch="///", edgecolor="0.6", label="with augmentation"),
    ]
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xlim(-0.6, len(groups) - 0.4)
    labels = [textwrap.fill(names.get(n, n), 16) for n in groups]
    ax.set_xticks(np.arange(len(groups)), labels, fontsize=10)
    ax.set_ylabel("test accuracy − convolution\n(points)")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(handles=handles, fontsize=9, loc="lower center", bbox_to_anchor=(0.5, 1.01), ncols=2)
    return fig


def plot_curves(budgets: Mapping[str, list[tuple[Results, Results]]]) -> Figure:
    """The training loss (left) and the validation accuracy (%, right) after every epoch,
    mean over seeds, of every network of one dataset's pairs (as :func:`pairs`
    returns them), without augmentation (solid) and with it (dashed), one colour a network:
    whether the augmented network catches up as training goes on. One row per entry of
    ``budgets``, ``{title: pairs}`` (e.g. ``{"8 epochs": ..., "24 epochs": ...}``), the
    axes of a column shared. The training loss is the one of the images as trained, augmented
    ones for the augmented runs, so a gap in it is the harder task; one in validation
    accuracy is what that costs on unchanged images."""
    fig, axes = plt.subplots(
        len(budgets), 2, figsize=(9, 0.5 + 3.3 * len(budgets)), squeeze=False,
        sharey="col", layout="constrained",
    )  # fmt: skip
    handles: dict[str, Line2D] = {}
    for (loss_ax, accuracy_ax), (title, pairs) in zip(axes, budgets.items(), strict=True):
        for plain, augmented in pairs:
            for key, name, *_ in _augmentation_rows(plain, augmented):
                color = _network_color(key[0])
                handles.setdefault(name, Line2D([], [], color=color, label=name))
                for grid, style in ((plain, "-"), (augmented, "--")):
                    for ax, field, scale in (
                        (loss_ax, "train_loss_curve", 1.0),
                        (accuracy_ax, "valid_curve", 100.0),
                    ):
                        mean = scale * grid.mean_curve(field, *key).numpy()
                        ax.plot(np.arange(1, len(mean) + 1), mean, color=color, ls=style)
        loss_ax.set(xlabel="epoch", ylabel="training loss", title=f"{title}: training loss")
        accuracy_ax.set(xlabel="epoch", ylabel="validation accuracy (%)",
                        title=f"{title}: validation accuracy")  # fmt: skip
        for ax in (loss_ax, accuracy_ax):
            ax.grid(alpha=0.3)
            ax.title.set_fontsize(10)
    lines = [
        *handles.values(),
        Line2D([], [], color="0.4", ls="-", label="without augmentation"),
        Line2D([], [], color="0.4", ls="--", label="with augmentation"),
    ]
    fig.legend(handles=lines, fontsize=9, loc="outside upper center", ncols=min(len(lines), 5))
    return fig


def weights_table(
    pairs: AugmentationPairs,
    rank: int = 4,
    names: Mapping[str, str] = DATASETS,
    column: str = "dataset",
) -> Any:
    """How far LRLC ``rank``'s learned combining weights (all three layers) left their
    uniform start without and with augmentation (:func:`.markdown_table`): per dataset and
    layer, the mean largest weight (:meth:`.Results.mean_largest_weight`; ``1 / rank``
    uniform, 1 one basis per position) of the runs without → with augmentation. Pairs
    without that LRLC network are left out. ``column``: the first column's title, e.g.
    "augmentation" for one dataset's pairs keyed by augmentation, as
    :func:`parts_table` takes them."""
    table = []
    for dataset, grids in pairs.items():
        for plain, augmented in grids:
            check_only_augmentation_differs(plain, augmented)
            if plain.row("lrlc", rank) is None or augmented.row("lrlc", rank) is None:
                continue
            cells = [
                f"{plain.mean_largest_weight(rank, layer):.3f} → "
                f"{augmented.mean_largest_weight(rank, layer):.3f}"
                for layer in LAYER_NAMES
            ]
            name = _named(plain, ("lrlc", rank, "all"))
            table.append([names.get(dataset, dataset), name, *cells])
    header = [column, "network", *(f"{n.split()[-2]} layer" for n in LAYER_NAMES.values())]
    return markdown_table(header, table, align="llrrr")


# One dataset, parts of the augmentation -------------------------------------------------------

AugmentationParts = Mapping[str, "list[tuple[Results, Results]]"]
"""``{augmentation: [(grid without, the same grid with that augmentation), ...]}`` of one
dataset, e.g. ``{"crops and flips": ..., "crops only": ..., "flips only": ...}``: the same
networks trained with each augmentation, each paired with its grid without any."""


def _parts_rows(parts: AugmentationParts) -> list[tuple]:
    """(name, row without, [(row with, per-seed changes) per augmentation, None where it
    did not run]) of every network of ``parts``, in order; a network is known by its name,
    which tells the logits' rates apart. Raises ``ValueError`` when two augmentations pair
    a network with different runs without augmentation."""
    networks: dict[str, dict] = {}
    changes: dict[str, dict[str, tuple]] = {}
    for label, pairs in parts.items():
        for _, name, without, with_, change in _dataset_rows(pairs):
            if networks.setdefault(name, without) != without:
                raise ValueError(
                    f"{name}: {label} is paired with other runs without augmentation than "
                    "the augmentations before it; pair every augmentation with the same grids"
                )
            changes.setdefault(name, {})[label] = (with_, change)
    return [
        (name, without, [changes[name].get(label) for label in parts])
        for name, without in networks.items()
    ]


def parts_table(parts: AugmentationParts) -> Any:
    """One row per network of one dataset, one column per augmentation of ``parts``
    (:func:`.markdown_table`): the test accuracy without augmentation and with each
    (:func:`lrlc.overview.accuracy`), the latter followed by its change paired by seed
    (mean over seeds, points). Each pair is checked to differ in the augmentation alone
    (:func:`check_only_augmentation_differs`)."""
    table = [
        [name, accuracy(without)]
        + [
            "not run" if cell is None else f"{accuracy(cell[0])} ({np.mean(cell[1]):+.2f})"
            for cell in cells
        ]
        for name, without, cells in _parts_rows(parts)
    ]
    header = ["network", "without (%)", *(f"{label} (%)" for label in parts)]
    return markdown_table(header, table, note="In brackets: the change, paired by seed (points).")


def plot_sweep(
    parts: AugmentationParts,
    strengths: Sequence[float],
    xlabel: str,
    *,
    ax: Axes | None = None,
) -> Figure:
    """The test accuracy (%, mean over seeds; error bars: one standard deviation over seeds)
    of every network of ``parts`` against the strength of its augmentation, one line per
    network: ``strengths[j]`` for the ``j``-th augmentation of ``parts`` (e.g. the crops'
    largest move in pixels, ``xlabel`` saying so) and 0 for the runs without. Whether a
    network's accuracy falls steadily as the augmentation grows, or at once."""
    if len(strengths) != len(parts):
        raise ValueError(
            f"one strength per augmentation: {len(parts)} augmentations ({', '.join(parts)}) "
            f"but {len(strengths)} strengths"
        )
    if ax is None:
        fig, ax = plt.subplots(figsize=(6, 3.8), layout="constrained")
    fig = ax.figure
    for name, without, cells in _parts_rows(parts):
        points = sorted(
            [(0.0, without)]
            + [(x, cell[0]) for x, cell in zip(strengths, cells, strict=True) if cell is not None],
            key=lambda point: point[0],
        )
        ax.errorbar(
            [x for x, _ in points],
            [100 * row["test_mean"] for _, row in points],
            yerr=[100 * row["test_std"] for _, row in points],
            marker="o", capsize=3, color=_network_color(without["layer"]), label=name,
        )  # fmt: skip
    ax.set_xticks(sorted({0.0, *strengths}))
    ax.set(xlabel=xlabel, ylabel="test accuracy (%)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=9)
    return fig


def parts_differences(parts: AugmentationParts, full_note: bool = True) -> Any:
    """Every pair of the networks of ``parts`` (later minus earlier), without augmentation
    and with each augmentation of ``parts`` (:func:`.markdown_table`), each cell as
    :func:`lrlc.results.format_difference` writes it: which part of the augmentation takes
    a network's lead over another away."""
    entries = [
        (name, without, [cell and cell[0] for cell in cells])
        for name, without, cells in _parts_rows(parts)
    ]
    table = _leads(entries, _test_size(next(iter(parts.values()))[0][0]))
    header = ["difference", "without augmentation", *parts]
    return markdown_table(header, table, note=difference_note(full_note))


def plot_parts(
    parts: AugmentationParts,
    *,
    ax: Axes | None = None,
    colors: Mapping[str, str] | None = None,
) -> Figure:
    """The change in test accuracy (points, with augmentation minus without, mean over
    seeds) of every network of ``parts``, one group per network and one bar per
    augmentation. Each error bar spans :data:`.NOISE_MULTIPLE` times the noise scale of the
    two accuracies' difference (:func:`.difference_noise`) on either side: a bar whose error
    bar crosses zero is a change within the noise. ``colors`` gives each augmentation of
    ``parts`` its colour, so that one augmentation looks the same in several figures
    (default: matplotlib's cycle, in the order of ``parts``)."""
    rows = _parts_rows(parts)
    test_size = _test_size(next(iter(parts.values()))[0][0])
    if ax is None:
        fig, ax = plt.subplots(figsize=(7, 3.6), layout="constrained")
    fig = ax.figure
    width = 0.8 / len(parts)
    if colors is not None and set(parts) - set(colors):
        raise ValueError(f"no colour for {sorted(set(parts) - set(colors))} in colors")
    bar_colors = [f"C{i}" if colors is None else colors[label] for i, label in enumerate(parts)]
    for i, (_, without, cells) in enumerate(rows):
        for j, cell in enumerate(cells):
            if cell is None:
                continue
            x = i + (j - (len(parts) - 1) / 2) * width
            error = NOISE_MULTIPLE * difference_noise(cell[0], without, test_size)[0]
            ax.bar(x, np.mean(cell[1]), width, yerr=error, capsize=3, color=bar_colors[j])
    ax.axhline(0, color="black", lw=0.8)
    labels = [textwrap.fill(name, 18) for name, _, _ in rows]
    ax.set_xticks(np.arange(len(rows)), labels, fontsize=10)
    ax.set_ylabel("test accuracy change\n(points, paired by seed)")
    ax.grid(axis="y", alpha=0.3)
    handles = [Patch(color=c, label=label) for c, label in zip(bar_colors, parts, strict=True)]
    ax.legend(handles=handles, fontsize=9, loc="lower center", bbox_to_anchor=(0.5, 1.01),
              ncols=len(parts))  # fmt: skip
    return fig
