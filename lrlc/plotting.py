"""Matplotlib helpers the chapters share: images, filters, combining weights, results.

Every function draws with ``matplotlib.pyplot`` (so ``plt.show()`` displays it in a notebook
or a script) and returns the ``Figure``. Tensors may live on any device and may require
grad; they are detached and copied to the CPU for drawing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib import ticker
from matplotlib.axes import Axes
from matplotlib.colors import LinearSegmentedColormap, ListedColormap, to_rgba
from matplotlib.figure import Figure
from matplotlib.transforms import Bbox
from torch import Tensor

from lrlc.results import SHORT_NAMES, Results, variant_name

__all__ = [
    "plot_images",
    "plot_windows",
    "plot_filter_bank",
    "plot_filters_at_positions",
    "plot_combining_weights",
    "plot_logit_ownership",
    "plot_rank_sweep",
    "draw_baseline",
    "finish_rank_axes",
    "plot_valid_curves",
    "plot_valid_curve_panels",
    "plot_accuracy_vs_params",
    "plot_attribute_gains",
    "plot_pending",
    "variant_color",
    "BASELINE_COLORS",
    "BASELINE_LINES",
    "PLACEMENTS",
    "RANK_CMAPS",
    "DEVIATION_CMAP",
]

Array = Tensor | np.ndarray

FILTER_CMAP = "RdBu_r"  # diverging: red positive, blue negative, white zero
WEIGHT_CMAP = "viridis"  # combining weights lie in [0, 1]
OWNER_TITLE = "owner (largest weight)"  # the panel that colours each position by its basis
#: The colour map of combining weights minus their uniform share.
DEVIATION_CMAP = "RdBu_r"  # w - 1/K: red above the uniform share, blue below
#: The colour of each layer type other than spatial LRLC, the same in every plot.
BASELINE_COLORS = {"conv": "C2", "lc": "C3", "wide_conv": "C4", "coordconv": "C9"}
BASELINE_COLORS |= {"lrlc_input": "C6"}  # the same colour for a layer type in every plot
#: The line style of each of those layer types in the rank sweeps.
BASELINE_LINES = {"conv": (0, (6, 2)), "lc": "-.", "wide_conv": (0, (2, 1)), "coordconv": ":"}
BASELINE_LINES |= {"lrlc_input": (0, (3, 1, 1, 1, 1, 1))}  # and its own line in the rank sweep
RANK_MARKERS = ("o", "s", "^", "D", "v", "P")  # LRLC ranks, lowest first, in the curves
#: The colour, line and label of spatial LRLC in each placement, "all", "last", "first" or "middle".
PLACEMENTS = {"all": ("C0", "-", "LRLC, all three layers")}
PLACEMENTS |= {"last": ("C1", "--", "LRLC, last layer only")}  # colour, line, label per where
PLACEMENTS |= {"first": ("C5", "-.", "LRLC, first layer only")}
PLACEMENTS |= {"middle": ("C8", ":", "LRLC, middle layer only")}
#: The colour map of LRLC's ranks in each placement (:func:`variant_color`), its colour's.
RANK_CMAPS = {"all": "Blues", "last": "Oranges"}
RANK_CMAPS |= {"first": LinearSegmentedColormap.from_list("lrlc_first", ["white", "C5"])}
RANK_CMAPS |= {"middle": LinearSegmentedColormap.from_list("lrlc_middle", ["white", "C8"])}
#: The colour of spatial LRLC at the grids' rate beside the same LRLC with faster logits
#: (which keeps its placement's colour): the rank dials and the budget curves.
GRID_RATE_COLOR = "0.55"


def _numpy(a: Array) -> np.ndarray:
    if isinstance(a, Tensor):
        return a.detach().to("cpu", torch.float64).numpy()
    return np.asarray(a, dtype=np.float64)


def _symmetric_limit(*arrays: np.ndarray) -> float:
    """The largest absolute value, so that zero sits in the middle of a diverging colormap."""
    limit = max(float(np.abs(a).max()) for a in arrays)
    return limit if limit > 0 else 1.0


def _grid(n: int, ncols: int | None, nrows: int | None) -> tuple[int, int]:
    if ncols is None and nrows is None:
        ncols = min(n, 4)
    if ncols is None:
        ncols = math.ceil(n / nrows)
    if nrows is None:
        nrows = math.ceil(n / ncols)
    if nrows * ncols < n:
        raise ValueError(f"a {nrows} x {ncols} grid has no room for {n} panels")
    return nrows, ncols


def plot_images(
    images: Array | Sequence[Array],
    titles: Sequence[str] | None = None,
    *,
    cmap: str = "gray",
    symmetric: bool = False,
    vmin: float | None = None,
    vmax: float | None = None,
    ncols: int | None = None,
    size: float = 2.2,
    colorbar: bool = False,
    suptitle: str | None = None,
) -> Figure:
    """Draw 2-D maps side by side, on one shared colour scale.

    Args:
        images: ``(n, height, width)``, or a sequence of ``n`` arrays of shape
            ``(height, width)``; the sizes may differ between panels.
        titles: ``n`` panel titles.
        cmap: the matplotlib colormap.
        symmetric: centre the colour scale on zero (use with a diverging ``cmap``);
            ``vmin`` and ``vmax`` are then ignored.
        vmin: the bottom of the colour scale; default the smallest value of all maps.
        vmax: the top of the colour scale; default the largest value of all maps.
        ncols: panels per row; default ``min(n, 4)``.
        size: the side of one panel in inches.
        colorbar: draw one colour bar for all panels.
        suptitle: a title over the whole figure.
    """
    maps = [_numpy(m) for m in images]
    if any(m.ndim != 2 for m in maps):
        raise ValueError(f"images must be 2-D maps, got shapes {[m.shape for m in maps]}")
    if titles is not None and len(titles) != len(maps):
        raise ValueError(f"got {len(titles)} titles for {len(maps)} images")
    if symmetric:
        limit = _symmetric_limit(*maps)
        vmin, vmax = -limit, limit
    else:
        vmin = min(float(m.min()) for m in maps) if vmin is None else vmin
        vmax = max(float(m.max()) for m in maps) if vmax is None else vmax
    nrows, ncols = _grid(len(maps), ncols, None)
    fig, axes = plt.subplots(
        nrows,
        ncols,
        figsize=(size * ncols, size * nrows + (0.3 if suptitle else 0)),
        squeeze=False,
        layout="constrained",
    )
    for ax in axes.flat:
        ax.set_axis_off()
    for n, (ax, m) in enumerate(zip(axes.flat, maps, strict=False)):
        im = ax.imshow(m, cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
        if titles is not None:
            ax.set_title(titles[n], fontsize=10)
    if colorbar:
        fig.colorbar(im, ax=axes.ravel().tolist(), shrink=0.8)
    if suptitle:
        fig.suptitle(suptitle)
    return fig


def plot_windows(
    image: Array,
    positions: Sequence[tuple[int, int]],
    kernel_size: int | tuple[int, int],
    labels: Sequence[str] | None = None,
    *,
    same_color: bool = False,
    size: float = 3.2,
    title: str | None = None,
    cmap: str = "gray",
) -> Figure:
    """Draw an image with the input window that some output positions of a layer look at.

    Args:
        image: ``(H, W)``.
        positions: output positions ``(i, j)`` of a stride-1, unpadded layer, whose window
            covers rows ``i .. i + kh - 1`` and columns ``j .. j + kw - 1``.
        kernel_size: ``kh`` or ``(kh, kw)``.
        labels: one text per window (for example ``"$W$"`` for a shared filter bank), on a
            white box above the window, or below it for a window at the top edge.
        same_color: draw every window in one colour (shared weights) instead of one colour
            each.
        size: the side of the figure in inches.
        title: the axes' title.
        cmap: the matplotlib colormap of the image.
    """
    kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    fig, ax = plt.subplots(figsize=(size, size), layout="constrained")
    ax.imshow(_numpy(image), cmap=cmap, interpolation="nearest")
    colors = plt.get_cmap("tab10").colors
    for n, (i, j) in enumerate(positions):
        color = colors[0 if same_color else n % len(colors)]
        ax.add_patch(
            plt.Rectangle((j - 0.5, i - 0.5), kw, kh, fill=False, edgecolor=color, linewidth=2)
        )
        if labels is not None:  # above the window, or below it where the image ends
            above = i - 1.2 >= 0
            y, va = (i - 1.2, "bottom") if above else (i + kh - 0.3, "top")
            box = {"facecolor": "white", "edgecolor": color, "linewidth": 1, "pad": 1.5}
            ax.text(j + kw / 2 - 0.5, y, labels[n], color=color, ha="center", va=va, bbox=box)
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title)
    return fig


def plot_filter_bank(
    filters: Array,
    *,
    max_out: int = 8,
    max_in: int = 8,
    title: str | None = None,
    size: float = 0.8,
) -> Figure:
    """Draw a filter bank as a grid: one row per output channel, one column per input channel.

    Red is positive, blue negative, on one colour scale centred on zero.

    Args:
        filters: ``(out_channels, in_channels, kh, kw)``, as ``nn.Conv2d.weight``.
        max_out: draw at most this many rows (the first output channels).
        max_in: draw at most this many columns (the first input channels).
        title: a title over the figure.
        size: the side of one panel in inches.
    """
    w = _numpy(filters)
    if w.ndim != 4:
        raise ValueError(f"filters must be (out, in, kh, kw), got shape {w.shape}")
    w = w[:max_out, :max_in]
    return _filter_grid(
        w,
        row_labels=[f"out {o}" for o in range(w.shape[0])],
        col_labels=[f"in {c}" for c in range(w.shape[1])],
        col_labels_on_top=False,
        size=size,
        margins=(0.6, 0.4),
        fontsize=8,
        title=title,
    )


def plot_filters_at_positions(
    filters: Array,
    positions: Sequence[tuple[int, int]],
    *,
    out_channels: Sequence[int] = (0, 1, 2, 3),
    in_channel: int = 0,
    size: float = 1.0,
    title: str | None = None,
) -> Figure:
    """Draw the filters a layer applies at a few output positions.

    All panels share one colour scale centred on zero.

    Args:
        filters: ``(H_out, W_out, out_channels, in_channels, kh, kw)``, as returned by
            :func:`lrlc.effective_filters`.
        positions: the output positions ``(i, j)`` to draw, one row each.
        out_channels: which filters ``filters[i, j, o, in_channel]`` to draw, one column
            per ``o``.
        in_channel: the input channel drawn.
        size: the side of one panel in inches.
        title: a title over the figure.
    """
    w = _numpy(filters)
    if w.ndim != 6:
        raise ValueError(f"filters must be (H_out, W_out, out, in, kh, kw), got shape {w.shape}")
    panels = np.stack([w[i, j][list(out_channels), in_channel] for i, j in positions])
    return _filter_grid(
        panels,
        row_labels=[f"({i}, {j})" for i, j in positions],
        col_labels=[f"out {o}" for o in out_channels],
        col_labels_on_top=True,
        size=size,
        margins=(0.9, 0.5),
        fontsize=9,
        title=title,
    )


def _filter_grid(
    panels: np.ndarray,
    *,
    row_labels: Sequence[str],
    col_labels: Sequence[str],
    col_labels_on_top: bool,
    size: float,
    margins: tuple[float, float],
    fontsize: float,
    title: str | None,
) -> Figure:
    """One small image per ``panels[r, c]`` (panels: (rows, cols, kh, kw)) on one colour
    scale centred on zero, with row labels on the left and column labels on the top or
    bottom edge."""
    n_rows, n_cols = panels.shape[:2]
    limit = _symmetric_limit(panels)
    fig, axes = plt.subplots(
        n_rows,
        n_cols,
        figsize=(size * n_cols + margins[0], size * n_rows + margins[1]),
        squeeze=False,
        layout="constrained",
    )
    for r in range(n_rows):
        for c in range(n_cols):
            ax = axes[r, c]
            ax.imshow(
                panels[r, c], cmap=FILTER_CMAP, vmin=-limit, vmax=limit, interpolation="nearest"
            )
            ax.set_xticks([])
            ax.set_yticks([])
            if col_labels_on_top and r == 0:
                ax.set_title(col_labels[c], fontsize=fontsize)
            if not col_labels_on_top and r == n_rows - 1:
                ax.set_xlabel(col_labels[c], fontsize=fontsize)
            if c == 0:
                ax.set_ylabel(row_labels[r], fontsize=fontsize)
    if title:
        fig.suptitle(title)
    return fig


def plot_combining_weights(
    weights: Array,
    *,
    ncols: int | None = None,
    nrows: int | None = None,
    size: float = 1.6,
    title: str | None = None,
    colorbar: bool = True,
    deviation: bool = False,
    figsize: tuple[float, float] | None = None,
) -> Figure:
    """Draw combining weights as images over the output grid, one panel per basis.

    Args:
        weights: ``(H_out, W_out, rank)``, as
            :meth:`.LowRankLocallyConnected2d.combining_weights` returns; panel ``k`` shows
            ``weights[:, :, k]`` on a fixed colour scale from 0 to 1.
        ncols: panels per row of the grid; default ``min(rank, 4)``, or as many as
            ``nrows`` rows need. Give both ``ncols`` and ``nrows`` to keep the figure size
            fixed whatever the rank (panels beyond the rank are left blank).
        nrows: rows of the grid; default as many as the rank needs.
        size: the side of one panel in inches.
        title: a title over the figure.
        colorbar: draw one colour bar for all panels.
        deviation: draw ``weights - 1/rank`` instead, on a red-blue scale centred on zero
            and as wide as the largest departure (red: more than the uniform share, blue:
            less), which shows the pattern of weights that stayed near uniform.
        figsize: the figure's size in inches, instead of one from ``size`` (views of a
            slider that must all be the same size).
    """
    w = _numpy(weights)
    if w.ndim != 3:
        raise ValueError(f"weights must be (H_out, W_out, rank), got shape {w.shape}")
    rank = w.shape[-1]
    nrows, ncols = _grid(rank, ncols, nrows)
    fig, axes = plt.subplots(
        nrows,
        ncols,
        figsize=figsize
        or (size * ncols + (0.8 if colorbar else 0), size * nrows + (0.4 if title else 0)),
        squeeze=False,
        # a given figsize leaves room around the square panels: "compressed" closes it
        # up and sizes the colour bar to the panels
        layout="compressed" if figsize else "constrained",
    )
    for ax in axes.flat:
        ax.set_axis_off()
    if deviation:
        w = w - 1.0 / rank
        scale = max(float(np.abs(w).max()), 1e-3)  # rank 1 is exactly uniform: no scale
        cmap, low, high, ticks = DEVIATION_CMAP, -scale, scale, [-scale, 0.0, scale]
    else:
        cmap, low, high, ticks = WEIGHT_CMAP, 0.0, 1.0, [0, 0.5, 1]
    for k, ax in zip(range(rank), axes.flat, strict=False):
        im = ax.imshow(w[:, :, k], cmap=cmap, vmin=low, vmax=high, interpolation="nearest")
        ax.set_title(f"$w_{{ij{k + 1}}}$", fontsize=12)
    if colorbar:
        drawn = axes.ravel().tolist()[:rank]  # beside the panels, not the blank slots
        bar = fig.colorbar(im, ax=drawn, shrink=0.8, ticks=ticks)
        bar.ax.tick_params(labelsize=10)
        label = "$w_{ijk}$" if not deviation else f"$w_{{ijk}} - 1/{rank}$"
        bar.set_label(label, fontsize=11)
        if deviation:
            bar.ax.set_yticklabels([f"{t:+.3g}" if t else "0" for t in ticks])
    if title:
        fig.suptitle(title)
    return fig


def plot_logit_ownership(row_logits: Array, col_logits: Array) -> Figure:
    """The basis with the largest combining weight at every position, and the logits behind it.

    row_logits: (H_out, rank), col_logits: (W_out, rank), the learned ``r_ik`` and ``c_jk``
    of an LRLC layer (its ``combining_row`` and ``combining_col``). Left: the argmax over k
    of ``r_ik + c_jk`` (the softmax keeps the argmax), one colour per basis. Right, one
    above the other: each row's and each column's logits minus their mean over k, which
    the softmax ignores, one line per basis.
    """
    row, col = torch.as_tensor(_numpy(row_logits)), torch.as_tensor(_numpy(col_logits))
    if row.ndim != 2 or col.ndim != 2 or row.shape[1] != col.shape[1]:
        raise ValueError(
            "row_logits and col_logits must be (H_out, rank) and (W_out, rank) with the same "
            f"rank, got shapes {tuple(row.shape)} and {tuple(col.shape)}"
        )
    k = row.shape[1]
    owner = (row[:, None, :] + col[None, :, :]).argmax(dim=-1).numpy()
    # the map on the left, the two logit plots stacked on its right: three panels in a
    # row were too small to read at the width of a page
    fig, named = plt.subplot_mosaic(
        [["owner", "row"], ["owner", "col"]], figsize=(7.5, 4.6), layout="constrained"
    )
    axes = [named["owner"], named["row"], named["col"]]
    im = axes[0].imshow(
        owner, cmap=ListedColormap([f"C{b}" for b in range(k)]), vmin=-0.5, vmax=k - 0.5
    )
    bar = fig.colorbar(
        im, ax=axes[0], ticks=range(k), format=lambda v, _: f"basis {int(v) + 1}",
        location="bottom", shrink=0.9,
    )  # fmt: skip
    bar.ax.tick_params(labelsize=9, rotation=0)
    axes[0].set(title=OWNER_TITLE, xlabel="column $j$", ylabel="row $i$")
    for ax, logits, axis in ((axes[1], row, "row $i$"), (axes[2], col, "column $j$")):
        centred = logits - logits.mean(dim=1, keepdim=True)
        for b in range(k):
            ax.plot(centred[:, b].numpy(), color=f"C{b}", label=f"basis {b + 1}")
        ax.set(xlabel=axis, ylabel="logit − mean\nover $k$")
        ax.grid(alpha=0.3)
    axes[1].set_title("row logits $r_{ik}$")
    axes[2].set_title("column logits $c_{jk}$")
    # below the panels, not on them: inside, it covered a basis's curve
    axes[2].legend(fontsize=9, loc="upper center", bbox_to_anchor=(0.5, -0.3), ncols=min(k, 4))
    return fig


def _with_grid_kind(title: str | None, results) -> str:
    """The title with what kind of grid drew it (``Results.grid_kind``), so a figure seen
    alone still says it: ``"MNIST\\n(CPU grid, 3,000 training images)"``."""
    kind = results.grid_kind()
    return f"{title}\n({kind})" if title else kind


def _check_results(results: object, function: str) -> None:
    """A grid's name passed where its results belong gets the call that loads them."""
    if not isinstance(results, Results):
        raise TypeError(
            f"{function} takes the results of a grid, got {type(results).__name__} "
            f"{results!r:.40}: load them first, e.g. {function}(results.load('mnist')) "
            "(from lrlc import results)"
        )


def plot_rank_sweep(
    results: Results,
    *,
    ax: Axes | None = None,
    wheres: Sequence[str] = tuple(PLACEMENTS),
    baselines: Sequence[str] = ("conv", "lc", "wide_conv", "coordconv", "lrlc_input"),
    title: str | None = None,
) -> Figure:
    """Test accuracy (%) against rank for LRLC, with the baselines as horizontal lines.

    results: an :class:`lrlc.results.Results`. LRLC points are means over seeds with error bars
    of one standard deviation (none for a single seed); each baseline the grid ran is a
    line of its own colour and dash (``BASELINE_COLORS``, ``BASELINE_LINES``) with a band of
    +- one standard deviation, its accuracy in the legend. The y-axis holds every point
    and every baseline except one far below the LRLC points (the legend says so). Ranks
    are on a log2 axis; the legend sits below the axes, where it hides no point.
    """
    _check_results(results, "plot_rank_sweep")
    rows = results.summary()
    if ax is None:
        fig, ax = plt.subplots(figsize=(7.5, 4.8), layout="constrained")
    fig = ax.figure
    ranks_seen: list[int] = []
    placements = {w: found for w in wheres if (found := results.lrlc_rows(where=w))}
    for n, (where, lrlc_rows) in enumerate(placements.items()):
        marker = {"all": "o", "last": "s"}.get(where, "D") + PLACEMENTS[where][1]
        points = [(r["rank"], r) for r in lrlc_rows]
        ranks_seen += [k for k, _ in points]
        # the placements side by side at each rank (a few % on the log axis), so that
        # equal accuracies do not hide one marker behind the other; one alone on its tick
        ranks = [k * 2 ** (0.06 * (n - (len(placements) - 1) / 2)) for k, _ in points]
        mean = [100 * r["test_mean"] for _, r in points]
        std = [100 * r["test_std"] for _, r in points]
        label = PLACEMENTS[where][2]
        ax.errorbar(ranks, mean, yerr=std, fmt=marker, capsize=3, label=label, zorder=3)
    lrlc = [r for r in rows if r["layer"] == "lrlc"]
    lrlc_values = [100 * r["test_mean"] for r in lrlc]
    # the accuracies the y-axis must hold: every LRLC error bar, and every baseline but
    # one far below them (an LC that hardly trained would squash the rest flat)
    shown = [100 * (r["test_mean"] + s * r["test_std"]) for r in lrlc for s in (-1, 1)]
    for i, layer in enumerate(baselines):
        matches = [r for r in rows if r["layer"] == layer and r["where"] == "all"]
        if not matches:
            continue
        r = matches[0]
        mean, std = 100 * r["test_mean"], 100 * r["test_std"]
        color = BASELINE_COLORS.get(layer, f"C{i + 2}")
        label = f"{variant_name(r['layer'], r['rank'])} ({mean:.1f}%)"
        if _far_from(mean, lrlc_values) and mean < min(lrlc_values):
            label = f"{variant_name(r['layer'], r['rank'])}: {mean:.1f}%, below the axis"
        else:
            shown += [mean - std, mean + std]
        draw_baseline(ax, layer, mean, std, label, color)
    finish_rank_axes(ax, ranks_seen, shown)
    # below the axes, in two columns: the full width stays for the points
    ax.legend(fontsize=9, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncols=2)
    ax.set_title(_with_grid_kind(title, results))
    return fig


def draw_baseline(
    ax: Axes, layer: str, mean: float, std: float, label: str, color: str | None = None
) -> None:
    """A baseline's test accuracy (%) across the axes ``ax``: a horizontal line in its colour
    and dash (``BASELINE_COLORS``, ``BASELINE_LINES``; ``color`` overrides the colour) with a
    band of +- ``std`` (none when it is 0, a single seed)."""
    color = color or BASELINE_COLORS.get(layer, "C7")
    ax.axhline(mean, color=color, ls=BASELINE_LINES.get(layer, ":"), lw=1.6, label=label)
    if std > 0:
        ax.axhspan(mean - std, mean + std, color=color, alpha=0.07, lw=0)


def finish_rank_axes(ax: Axes, ranks: Sequence[int], shown: Sequence[float]) -> None:
    """Finish axes of test accuracy (%) against rank: a y-range holding every value of
    ``shown`` with a little room, ``ranks`` ticked on a log2 x-axis, axis labels and a light
    grid. Either sequence may be empty: that axis keeps matplotlib's choice."""
    if shown:
        low, high = min(shown), max(shown)
        pad = 0.08 * (high - low) + 0.1
        ax.set_ylim(low - pad, high + pad)
    if ranks:
        ax.set_xscale("log", base=2)
        ticks = sorted(set(ranks))
        ax.set_xticks(ticks, [str(k) for k in ticks])
    ax.set(xlabel="rank $K$", ylabel="test accuracy (%)")
    ax.grid(alpha=0.3)


def _far_from(value: float, values: Sequence[float]) -> bool:
    """Whether ``value`` lies further from the range of ``values`` than that range is wide
    (at least 2 points): a baseline the rank sweep draws off its axis."""
    if not values:
        return False
    low, high = min(values), max(values)
    span = max(high - low, 2.0)
    return value < low - span or value > high + span


def _curve_style(layer: str, rank: int | None, where: str, ranks: list[int]) -> dict:
    """Line style of one variant in ``plot_valid_curves``: its :func:`variant_color` (LRLC
    blue in all three layers, solid, orange in the last layer, dashed, or brown in the
    first, dash-dotted, darker for higher ranks: ``PLACEMENTS``), and for LRLC a marker per
    rank, by its place in ``ranks`` (``RANK_MARKERS``: shades alone are hard to tell
    apart)."""
    color = variant_color(layer, rank, where)
    if layer != "lrlc":
        return {"color": color, "ls": "-", "marker": "."}
    marker = RANK_MARKERS[ranks.index(rank) % len(RANK_MARKERS)]
    return {"color": color, "ls": PLACEMENTS[where][1], "marker": marker}


def plot_valid_curves(
    results: Results,
    variants: Sequence[tuple],
    *,
    ax: Axes | None = None,
    title: str | None = None,
    legend: str = "right",
) -> Figure:
    """Validation accuracy (%) after every epoch, mean over seeds, one line per variant.

    variants: (layer, rank, where) triples, e.g. [("conv", None, "all"), ("lrlc", 4, "all")].
    LRLC lines are blue (all three layers), orange and dashed (last layer only) or brown and
    dash-dotted (first layer only), darker for higher ranks; the legend sits ``"right"`` of
    the axes or ``"below"`` them, clear of the curves' ends. A curve still rising at the
    last epoch says the budget, not the layer, limits it.
    """
    if ax is None:
        fig, ax = plt.subplots(figsize=(7.5, 3.8), layout="constrained")
    fig = ax.figure
    ranks = sorted({rank for layer, rank, _ in variants if layer == "lrlc"})
    for layer, rank, where in variants:
        mean = results.mean_curve("valid_curve", layer, rank, where)
        if mean is None:
            continue
        mean = 100 * mean.numpy()
        style = _curve_style(layer, rank, where, ranks)
        epochs = np.arange(1, len(mean) + 1)
        ax.plot(epochs, mean, ms=5, label=variant_name(layer, rank, where), **style)
    ax.set(xlabel="epoch", ylabel="validation accuracy (%)")
    ax.grid(alpha=0.3)
    if legend == "below":
        ax.legend(fontsize=9, loc="upper center", bbox_to_anchor=(0.5, -0.22), ncols=3)
    else:
        ax.legend(fontsize=9, loc="upper left", bbox_to_anchor=(1.02, 1), borderaxespad=0)
    ax.set_title(_with_grid_kind(title, results))
    return fig


def plot_valid_curve_panels(results: Results, *, title: str | None = None) -> Figure:
    """:func:`plot_valid_curves` for a whole grid, in panels one above the other (each
    the width of the page, its legend at its right) that stay readable with 15 variants:
    the baselines; LRLC in all three layers, one line per rank; LRLC in the last layer
    only; LRLC in the first layer only. Each panel repeats the convolution as the common
    reference. A panel the grid has no variant for is left out."""
    rows = [(r["layer"], r["rank"], r["where"]) for r in results.summary()]
    conv = [v for v in rows if v[0] == "conv"]
    panels = {
        "baselines": [v for v in rows if v[0] != "lrlc"],
    }
    for where, (_, _, label) in PLACEMENTS.items():
        panels[label] = conv + [v for v in rows if v[0] == "lrlc" and v[2] == where]
    panels = {name: shown for name, shown in panels.items() if len(shown) > len(conv)}
    fig, axes = plt.subplots(
        len(panels), 1, figsize=(7.5, 3.7 * len(panels) + 0.4), squeeze=False,
        sharex=True, sharey=True, layout="constrained",
    )  # fmt: skip
    for ax, (name, shown) in zip(axes[:, 0], panels.items(), strict=True):
        plot_valid_curves(results, shown, ax=ax, legend="below")
        ax.set_title(name, fontsize=11)
        ax.xaxis.set_tick_params(labelbottom=True)  # every panel keeps its epochs
    fig.suptitle(_with_grid_kind(title, results))
    return fig


def _count_label(n: float, _position=None) -> str:
    """A parameter count for an axis: ``50k``, ``2M``."""
    return f"{n / 1e6:g}M" if n >= 1e6 else f"{n / 1e3:g}k"


def _point_label(row: dict) -> str:
    """A short label for a point: ``conv``, ``LRLC 4``, ``LRLC 4, last``, ``wide conv (4)``
    (``, first`` for the first layer only)."""
    rank, placed = row["rank"], "" if row["where"] == "all" else f", {row['where']}"
    name = SHORT_NAMES.get(row["layer"], row["layer"])
    if rank is None:
        return name + placed
    return (f"{name} ({rank})" if row["layer"] == "wide_conv" else f"{name} {rank}") + placed


def plot_accuracy_vs_params(
    results: Results,
    *,
    ax: Axes | None = None,
    off_chart: Sequence[str] = ("lc",),
    title: str | None = None,
    legend: bool = True,
) -> Figure:
    """Test accuracy (%) of every variant against its parameter count (log axis).

    results: an :class:`lrlc.results.Results`. Each variant is a point (mean over seeds, error bar
    of one standard deviation). The LRLC ranks are joined by a line, blue and solid in all
    three layers, orange and dashed in the last layer only, brown and dash-dotted in the
    first only (as in :func:`plot_rank_sweep`), and labelled with their rank; every other
    point is labelled with its name. So a reader sees whether accuracy follows the
    parameters (the wide convolution) or the position dependence (CoordConv, LRLC) at
    equal size. Layers in ``off_chart`` (LC, hundreds of
    times larger) are named in a corner note instead of stretching both axes.
    ``legend=False`` leaves the legend out (panels of one figure that share one legend,
    ``fig.legend(*ax.get_legend_handles_labels())``).
    """
    _check_results(results, "plot_accuracy_vs_params")
    rows = results.summary()
    notes = [
        f"{_point_label(r)}: {100 * r['test_mean']:.1f}% at {r['params'] / 1e6:.1f}M parameters"
        for r in rows
        if r["layer"] in off_chart
    ]
    rows = [r for r in rows if r["layer"] not in off_chart]
    labels: list[tuple] = []  # x, y, error bar, text, colour
    if ax is None:
        fig, ax = plt.subplots(figsize=(6, 4.2), layout="constrained")
    fig = ax.figure
    for where, (color, style, label) in PLACEMENTS.items():
        lrlc = [] if "lrlc" in off_chart else results.lrlc_rows(where=where)
        if lrlc:
            x, y = [r["params"] for r in lrlc], [100 * r["test_mean"] for r in lrlc]
            ax.plot(x, y, style, color=color, alpha=0.6, zorder=2, label=label)
    for r in rows:
        x, y = r["params"], 100 * r["test_mean"]
        if r["layer"] == "lrlc":
            color, text = PLACEMENTS[r["where"]][0], str(r["rank"])
        else:
            color, text = BASELINE_COLORS.get(r["layer"], "C7"), _point_label(r)
        ax.errorbar(x, y, yerr=100 * r["test_std"], fmt="o", color=color, capsize=3, zorder=3)
        labels.append((x, y, 100 * r["test_std"], text, color))
    if notes:
        note = "\n".join(notes) + " (off the chart)"
        ax.text(0.98, 0.03, note, transform=ax.transAxes, ha="right", va="bottom", fontsize=8)
    if legend and ax.get_legend_handles_labels()[0]:
        ax.legend(
            fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncols=2, frameon=False,
            title="LRLC points are labelled with their rank", title_fontsize=8,
        )  # fmt: skip
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(ticker.LogLocator(subs=(1, 2, 5)))
    ax.xaxis.set_major_formatter(ticker.FuncFormatter(_count_label))
    ax.xaxis.set_minor_formatter(ticker.NullFormatter())
    ax.margins(x=0.25, y=0.15)
    ax.set(xlabel="parameters (log scale)", ylabel="test accuracy (%)")
    ax.grid(alpha=0.3)
    ax.set_title(_with_grid_kind(title, results))
    _place_labels(ax, labels)
    return fig


# where a point's label may go, in points from the point: the four corners close by
# first, then further out, then beside, above and below it further still
_LABEL_OFFSETS = [
    (5, 4), (5, -11), (-5, 4), (-5, -11),
    (5, 12), (5, -19), (-5, 12), (-5, -19),
    (12, -4), (-12, -4), (0, 14), (0, -24),
    (18, 18), (18, -28), (-18, 18), (-18, -28),
]  # fmt: skip


def _label_alignment(dx: float) -> str:
    """A label set ``dx`` points right of its point starts there, one set left ends there."""
    return "center" if dx == 0 else "left" if dx > 0 else "right"


def _distance(box: Bbox, x: float, y: float) -> float:
    """Display distance from the point (x, y) to the nearest edge of ``box`` (0 inside)."""
    dx = max(box.x0 - x, 0.0, x - box.x1)
    dy = max(box.y0 - y, 0.0, y - box.y1)
    return math.hypot(dx, dy)


def _place_labels(ax: Axes, labels: Sequence[tuple[float, float, float, str, object]]) -> None:
    """Annotate each point ``(x, y, error bar, text, colour)`` in its colour, at the first
    offset of ``_LABEL_OFFSETS`` where the text stays inside the axes, overlaps no label
    placed before it and no point's error bar, and is nearer its own point than any other
    (points sharing a parameter count, such as the convolution and CoordConv, would
    otherwise print their names on top of each other, or a name beside the wrong point).
    Where no offset does all that, the one that breaks the fewest of these rules, with a
    thin line from the name to its point; a name set further out than the first four
    corners gets that line too."""
    fig = ax.figure
    fig.canvas.draw()  # fixes the limits and the layout the positions depend on
    renderer = fig.canvas.get_renderer()
    frame = ax.get_window_extent(renderer)
    centres = [tuple(ax.transData.transform((x, y))) for x, y, *_ in labels]
    bars = []  # every error bar (and its marker) as a box in display coordinates
    for x, y, err, *_ in labels:
        (x0, y0), (x1, y1) = ax.transData.transform([(x, y - err), (x, y + err)])
        bars.append(Bbox.from_extents(x0 - 4, y0 - 4, x1 + 4, y1 + 4))
    placed: list[Bbox] = []
    for n, (x, y, _, text, color) in enumerate(labels):
        best = None  # (rules broken, offset index, box)
        for i, (dx, dy) in enumerate(_LABEL_OFFSETS):
            probe = ax.annotate(text, (x, y), xytext=(dx, dy), textcoords="offset points",
                                fontsize=8.5, ha=_label_alignment(dx))  # fmt: skip
            box = probe.get_window_extent(renderer)
            probe.remove()
            inside = frame.x0 <= box.x0 and box.x1 <= frame.x1
            inside = inside and frame.y0 <= box.y0 and box.y1 <= frame.y1
            overlaps = sum(box.overlaps(other) for other in placed + bars)
            own = _distance(box, *centres[n])
            nearer = sum(_distance(box, *c) < own for m, c in enumerate(centres) if m != n)
            broken = (not inside, overlaps, nearer)
            if best is None or broken < best[0]:
                best = (broken, i, box)
            if broken == (False, 0, 0):
                break
        broken, i, box = best
        dx, dy = _LABEL_OFFSETS[i]
        line = i >= 4 or broken != (False, 0, 0)
        ax.annotate(
            text, (x, y), xytext=(dx, dy), textcoords="offset points", fontsize=8.5,
            ha=_label_alignment(dx), color=color,
            arrowprops={"arrowstyle": "-", "color": color, "lw": 0.6, "shrinkA": 0,
                        "shrinkB": 4, "alpha": 0.8} if line else None,
        )  # fmt: skip
        placed.append(box)


def variant_color(layer: str, rank: int | None = None, where: str = "all") -> tuple:
    """The colour (RGBA) of a variant as the book's figures draw it: a baseline in its
    ``BASELINE_COLORS`` colour; LRLC blue in all three layers, orange in the last layer
    only, brown in the first only (``RANK_CMAPS``), darker for higher ranks (by log2 of the
    rank, 1 to 16): the same rank has the same shade in every figure, whichever other ranks
    it shares a figure with."""
    if layer != "lrlc":
        return to_rgba(BASELINE_COLORS.get(layer, "C7"))
    cmap = plt.get_cmap(RANK_CMAPS[where])
    shade = 0.35 + 0.65 * min(math.log2(rank or 1), 4) / 4
    return cmap(shade)


def plot_attribute_gains(
    gains: dict[str, Array],
    names: Sequence[str],
    *,
    reference: str | None = None,
    ax: Axes | None = None,
    colors: Sequence | None = None,
) -> Figure:
    """Test accuracy minus the majority-class baseline (points) of every attribute, as
    horizontal bars, one per variant, the attributes sorted by one variant's gain.

    Args:
        gains: ``{variant name: (n_attributes,)}`` accuracy minus baseline as fractions,
            e.g. ``grid.per_label("conv") - split.attribute_baselines()``; the names label
            the bars (to colour them as the other figures do, pass ``colors``).
        names: the ``n_attributes`` attribute names (``ImageDataset.attribute_names``).
        reference: the variant whose gain orders the attributes, smallest at the bottom;
            default the first of ``gains``.
        ax: the axes to draw on; default a new 7x9-inch figure.
        colors: one colour per series of ``gains``, in order (e.g. :func:`variant_color`
            of each variant); default the colour cycle's.
    """
    drawn = {name: _numpy(gain) for name, gain in gains.items()}
    if any(g.shape != (len(names),) for g in drawn.values()):
        shapes = {name: g.shape for name, g in drawn.items()}
        raise ValueError(f"every gain must have shape ({len(names)},), got {shapes}")
    reference = next(iter(drawn)) if reference is None else reference
    order = torch.argsort(torch.from_numpy(drawn[reference])).numpy()
    if ax is None:
        fig, ax = plt.subplots(figsize=(7, 9), layout="constrained")
    fig = ax.figure
    y = np.arange(len(order))
    height = 0.8 / len(drawn)
    colors = list(colors) if colors is not None else [f"C{n}" for n in range(len(drawn))]
    if len(colors) != len(drawn):
        raise ValueError(f"colors needs one colour per series ({len(drawn)}), got {len(colors)}")
    for n, ((name, gain), color) in enumerate(zip(drawn.items(), colors, strict=True)):
        ax.barh(y + n * height, 100 * gain[order], height=height, label=name, color=color)
    ax.set_yticks(y + 0.4 - height / 2, [names[i] for i in order], fontsize=8)
    ax.axvline(0, color="black", lw=0.8)
    ax.grid(axis="x", alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    ax.set_xlabel("test accuracy minus the majority-class baseline (points)")
    return fig


def plot_pending(name: str, what: str) -> Figure:
    """A placeholder figure for a figure of results that are not there yet."""
    fig, ax = plt.subplots(figsize=(6, 1.0), layout="constrained")
    ax.set_axis_off()
    text = f"{what}: not in the results yet\nrun pending: python -m lrlc.experiments {name}"
    ax.text(0.5, 0.5, text, ha="center", va="center", family="monospace")
    return fig
