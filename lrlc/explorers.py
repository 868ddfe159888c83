"""The rank explorer of the experiment chapters: a grid's learned combining weights, by rank.

For example::

    from lrlc import results
    from lrlc.explorers import learned_weights_explorer, learned_weights_view
    from lrlc.widgets import live_slider

    grid = results.load("mnist")
    learned_weights_explorer(grid)  # a static slider: works in the book too
    # a live slider, each view made on demand (needs a running kernel):
    live_slider(lambda k: learned_weights_view(grid, k), grid.drawable_ranks())

Every view is the grid's LRLC network of one rank with LRLC in all three layers (its
lowest seed): the combining weights of one layer, one panel per basis, and a caption with
the network's test accuracy, how far the weights are from uniform, and its parameters and
FLOPs against the convolutional network of the same dataset.

For images whose parts sit at fixed places (CelebA's aligned faces), the face explorer
draws every layer's weights over an image, such as the mean face::

    from lrlc.explorers import face_weights_explorer

    face_weights_explorer(grid, mean_face)  # mean_face: (3, 32, 32)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from matplotlib.figure import Figure

from lrlc.maps import PAPER_LAYER_DEPTH, overlay_layers
from lrlc.models import CONV, network_costs
from lrlc.plotting import plot_combining_weights
from lrlc.results import Results, counted, pending
from lrlc.widgets import figure_to_png, html_display, static_explorer, static_slider

__all__ = [
    "LAST",
    "LAYERS",
    "learned_weights_view",
    "learned_weights_explorer",
    "datasets_explorer",
    "face_weights_view",
    "face_weights_explorer",
    "panel_grid",
    "view_size",
]

LAST = "features.6"
"""The module name of the last of the paper network's three layers (modules 0, 3 and 6)."""
LAYERS = tuple(PAPER_LAYER_DEPTH)
"""The module names of the paper network's three layers, first to last."""
FACE_VIEW_SIZE = (10.4, 6.4)  # inches: every rank's face view, rank 16 on two lines a layer
LAYER_NAMES = {"features.0": "the first layer", "features.3": "the second layer"}
LAYER_NAMES |= {LAST: "the last layer"}
INITIAL_RANK = 4  # the slider opens here when the grid has it


def panel_grid(rank: int) -> tuple[int, int]:
    """(nrows, ncols) of one explorer view: one row up to rank 4, then two rows."""
    nrows = 1 if rank <= 4 else 2
    return nrows, -(-rank // nrows)


def view_size(grid: Results, layer: str = LAST) -> tuple[float, float]:
    """The figure size (inches) of every view of ``grid``'s explorer: one size for all
    ranks, so the page does not jump as the slider moves; lower for a grid whose largest
    rank needs two rows of 8 small panels."""
    largest = max(grid.drawable_ranks((layer,)), default=1)
    return (7.2, 3.0) if largest <= 8 else (7.2, 2.4)


def _lrlc_row(grid: Results, rank: int) -> dict:
    """The grid's summary row of LRLC ``rank`` in all three layers, or a ``KeyError``."""
    row = grid.row("lrlc", rank)
    if row is None:
        raise KeyError(f"{grid.origin} has no LRLC rank {rank} run (all three layers)")
    return row


def learned_weights_view(
    grid: Results, rank: int, layer: str = LAST, figsize: tuple[float, float] | None = None
) -> tuple[Figure, Any]:
    """One view of the explorer: (figure, caption as ``IPython.display.HTML``).

    The figure draws how far the learned combining weights (H_out, W_out, rank) of
    ``layer`` (a module name: "features.0", "features.3", "features.6") depart from
    uniform, ``w - 1/rank`` on a red-blue scale centred on zero, one row of panels up to
    rank 4 and two above (:func:`panel_grid`), in a figure of one size for every rank of the
    grid (:func:`view_size`, or ``figsize`` when given), so the page does not jump as the
    slider moves; at rank 1 (one basis with weight 1 everywhere) it is zero everywhere. The
    weights, and the mean largest weight in the caption, are the grid's lowest seed's.
    Raises ``KeyError`` naming the missing run when the grid has no LRLC run of this rank,
    or one that recorded no combining weights.
    """
    row = _lrlc_row(grid, rank)
    dataset = grid.raw["dataset"]
    weights = grid.combining_weights(rank, layer=layer)  # rank 1: weight 1 everywhere
    nrows, ncols = panel_grid(rank)
    # minus 1/K, centred on zero: learned weights that stay near uniform would all look
    # alike on the 0-1 scale
    fig = plot_combining_weights(
        weights, nrows=nrows, ncols=ncols, deviation=True, figsize=figsize or view_size(grid, layer)
    )
    costs = network_costs(dataset, [("lrlc", rank, "all"), CONV])
    (_, flops), (conv_params, conv_flops) = costs["lrlc", rank, "all"], costs[CONV]
    params = row["params"]  # as the results file recorded it
    largest = weights.max(dim=-1).values.mean()
    caption = (
        f"<b>rank {rank}</b>: test accuracy {100 * row['test_mean']:.2f}% (mean over "
        f"{counted(row['seeds'], 'seed')}); mean largest combining weight {largest:.3f} (seed "
        f"{grid.seeds()[0]}; uniform 1/{rank} = {1 / rank:.4g}); {params:,} parameters "
        f"({params / conv_params:.2f}× the convolutional network); LRLC layers "
        f"{flops / 1e6:.1f} MFLOPs per example ({flops / conv_flops:.2f}× its convolutions); "
        f"{grid.grid_kind()}"
    )
    return fig, html_display(caption)


def learned_weights_explorer(grid: Results, layer: str = LAST, dpi: float = 100) -> Any:
    """A static slider (:func:`lrlc.widgets.static_slider`) over every rank of the grid whose
    weights of ``layer`` can be drawn (:meth:`.Results.drawable_ranks`), one
    :func:`learned_weights_view` per rank, opening at ``INITIAL_RANK`` (the rank the chapters
    draw; rank 1 would open on one flat map); a "run pending" note when none above rank 1
    is."""
    ranks = grid.drawable_ranks((layer,))
    if not any(k > 1 for k in ranks):
        return pending(grid.name, "The learned LRLC weights", grid)
    where = LAYER_NAMES.get(layer, layer)
    return static_slider(
        {k: learned_weights_view(grid, k, layer) for k in ranks},
        label="rank",
        initial=INITIAL_RANK if INITIAL_RANK in ranks else ranks[-1],
        alt=lambda k: f"Learned {_weights_alt(where, k)}",
        dpi=dpi,
    )


def _weights_alt(where: str, rank: int) -> str:
    """What a :func:`learned_weights_view` draws, for its alt text (after "learned")."""
    return (
        f"combining weights minus 1/{rank} of {where} at rank {rank}, one panel per basis, "
        "on a red-blue scale centred on zero"
    )


def _nothing_to_draw(grid: Results, rank: int) -> str:
    """Why the grid has no weights to draw at this rank: no such run, or a run that
    recorded no combining weights."""
    if grid.row("lrlc", rank) is None:
        return f"this grid did not run LRLC of rank {rank} (all three layers)"
    return f"this grid's LRLC rank {rank} run recorded no combining weights"


def _no_run_view(grid: Results, rank: int, figsize: tuple[float, float]) -> tuple[Figure, Any]:
    """A view of ``figsize`` saying why the grid has nothing to draw at this rank
    (:func:`_nothing_to_draw`)."""
    why = _nothing_to_draw(grid, rank)
    fig = Figure(figsize=figsize)  # not pyplot's: never shown on its own
    fig.text(0.5, 0.5, why, ha="center", va="center", fontsize=12, color="0.4")
    return fig, html_display(f"<b>rank {rank}</b>: {why}; {grid.grid_kind()}")


def datasets_explorer(grids: Mapping[str, Results], layer: str = LAST, dpi: float = 80) -> Any:
    """A menu over grids and a slider over ranks (:func:`lrlc.widgets.static_explorer`):
    a :func:`learned_weights_view` of ``layer`` for every grid (menu label -> grid, in
    menu order) at every rank above 1 that any of them can draw (rank 1's one weight never
    moves), all of one size, and a view saying so where a grid has no such run; a "run
    pending" note (for the first grid) when none can draw any."""
    if not grids:
        raise ValueError("datasets_explorer needs at least one grid")
    drawable = {name: grid.drawable_ranks((layer,)) for name, grid in grids.items()}
    ranks = sorted({k for found in drawable.values() for k in found if k > 1})
    first = next(iter(grids))
    if not ranks:
        return pending(grids[first].name, "The learned LRLC weights", grids[first])
    size = min((view_size(grid, layer) for grid in grids.values()), key=lambda s: s[1])
    views = {}
    for name, grid in grids.items():
        for k in ranks:
            if k in drawable[name]:
                fig, caption = learned_weights_view(grid, k, layer, figsize=size)
            else:
                fig, caption = _no_run_view(grid, k, size)
            views[name, k] = (figure_to_png(fig, dpi), caption)  # closed: one open at a time
    where = LAYER_NAMES.get(layer, layer)
    return static_explorer(
        views,
        labels=("grid", "rank"),
        initial=(first, INITIAL_RANK if INITIAL_RANK in ranks else ranks[-1]),
        alt=lambda name, k: (
            f"{name}: learned {_weights_alt(where, k)}"
            if k in drawable[name]
            else f"{name}: no weights to draw; {_nothing_to_draw(grids[name], k)}"
        ),
    )


def face_weights_view(
    grid: Results, image: Any, rank: int, layers: tuple[str, ...] = LAYERS
) -> tuple[Figure, Any]:
    """One view of the face explorer: (figure, caption as ``IPython.display.HTML``).

    The figure draws, over ``image`` (``(3, H, W)``, e.g. the mean training face), the
    learned combining weights of each of ``layers`` (one row each) of the grid's LRLC
    network of this rank (all three layers LRLC, lowest seed) minus the uniform
    ``1/rank``, on one red-blue scale, with each layer's owner map last
    (:func:`lrlc.maps.overlay_layers`). Every rank gets one figure size, so the page does
    not jump as the slider moves; above rank 4 the bases wrap onto two lines per layer
    (:func:`panel_grid`) and carry only their number. At rank 1 (one basis, weight 1
    everywhere) nothing departs from uniform. The caption gives the test accuracy (mean
    over seeds), the parameters and each layer's mean largest weight. Raises ``KeyError``
    naming the missing run when the grid has no LRLC run of this rank, or one that
    recorded no combining weights.
    """
    row = _lrlc_row(grid, rank)
    maps = {layer: grid.combining_weights(rank, layer) for layer in layers}
    _, per_line = panel_grid(rank)
    fig = overlay_layers(
        image, maps, deviation=True, bases_per_row=per_line, figsize=FACE_VIEW_SIZE
    )
    panels = fig.axes[: rank + 2]  # the first layer's: image, bases, owner
    panels[-1].set_title("owner", fontsize=10)  # the full title is wider than a panel
    if rank > 4:  # small panels: the basis number above each, the formula once
        for k, ax in enumerate(panels[1:-1]):
            ax.set_title(f"{k + 1}", fontsize=9)
        fig.suptitle(f"$w_{{ijk}} - 1/{rank}$ for basis $k$ = 1 to {rank}", fontsize=11)
    tops = ", ".join(f"{w.max(dim=-1).values.mean():.3f}" for w in maps.values())
    caption = (
        f"<b>rank {rank}</b>: test accuracy {100 * row['test_mean']:.2f}% (mean over "
        f"{counted(row['seeds'], 'seed')}); {row['params']:,} parameters; mean largest "
        f"combining weight per layer, first to last: {tops} (seed {grid.seeds()[0]}; uniform "
        f"1/{rank} = {1 / rank:.4g}); {grid.grid_kind()}"
    )
    return fig, html_display(caption)


def face_weights_explorer(
    grid: Results, image: Any, layers: tuple[str, ...] = LAYERS, dpi: float = 80
) -> Any:
    """A static slider over every rank of the grid whose weights of all ``layers`` can be
    drawn (:meth:`.Results.drawable_ranks`), one :func:`face_weights_view` per rank,
    opening at ``INITIAL_RANK``; a "run pending" note when none above rank 1 is."""
    ranks = grid.drawable_ranks(layers)
    if not any(k > 1 for k in ranks):
        return pending(grid.name, "The learned LRLC weights", grid)
    return static_slider(
        {k: face_weights_view(grid, image, k, layers) for k in ranks},
        label="rank",
        initial=INITIAL_RANK if INITIAL_RANK in ranks else ranks[-1],
        alt=lambda k: (
            f"The image, then for each of {len(layers)} layers every basis's combining "
            f"weights minus 1/{k} in red and blue and the basis owning each position, at "
            f"rank {k}"
        ),
        dpi=dpi,
    )
