"""The schematic of chapter 4 draws what its caption says."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.colors import to_rgba  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

from lrlc.diagrams import plot_efficient_forward  # noqa: E402


def _cell_of(fill: Rectangle, maps: list[Rectangle], cells_per_side: int) -> tuple[int, int]:
    """(row, column) of the filled rectangle's top-left cell on the front map holding it,
    whose side is ``cells_per_side`` cells of the fill's own cell size."""
    x, y, w, h = fill.get_x(), fill.get_y(), fill.get_width(), fill.get_height()
    holders = [
        m
        for m in maps
        if m.get_x() - 1e-9 <= x
        and x + w <= m.get_x() + m.get_width() + 1e-9
        and m.get_y() - 1e-9 <= y
        and y + h <= m.get_y() + m.get_height() + 1e-9
    ]
    assert holders, "a filled cell lies on no map"
    front = min(holders, key=lambda m: m.get_x())
    step = front.get_width() / cells_per_side
    top = front.get_y() + front.get_height()
    return round((top - (y + h)) / step), round((x - front.get_x()) / step)


def test_every_map_marks_the_same_output_position_and_the_input_its_window():
    fig = plot_efficient_forward()
    ax = fig.axes[0]
    rects = [p for p in ax.patches if isinstance(p, Rectangle)]
    white = to_rgba("white")
    maps = [r for r in rects if r.get_facecolor() == white]
    fills = [r for r in rects if r.get_facecolor() != white]
    # three groups W_k * x and the output, each with its cell (i, j) filled, plus the
    # input's 3 x 3 window: all at the same output position
    window = max(fills, key=lambda r: r.get_width())
    cells = [r for r in fills if r is not window]
    assert len(cells) == 4
    positions = {_cell_of(r, maps, cells_per_side=5) for r in cells}
    assert len(positions) == 1
    (i, j) = positions.pop()
    # the window is 3 input cells wide on the 7 x 7 input and starts at input (i, j)
    input_step = window.get_width() / 3
    input_map = min(maps, key=lambda m: m.get_x())
    assert abs(input_map.get_width() - 7 * input_step) < 1e-9
    assert _cell_of(window, maps, cells_per_side=7) == (i, j)
    texts = {t.get_text() for t in ax.texts}
    for k in (1, 2, 3):
        assert f"$W_{k} \\star x$" in texts and f"$w_{{ij{k}}}$" in texts
    plt.close(fig)


def test_each_weight_leaves_its_own_groups_cell_and_the_sum_reaches_the_output():
    from matplotlib.patches import FancyArrowPatch

    fig = plot_efficient_forward()
    ax = fig.axes[0]
    white = to_rgba("white")
    rects = [p for p in ax.patches if isinstance(p, Rectangle)]
    maps = [r for r in rects if r.get_facecolor() == white]
    groups = [r for r in rects if r.get_facecolor() != white and r.get_width() < 0.5][:3]
    assert len({r.get_facecolor() for r in groups}) == 3  # a colour per group
    arrows = [p for p in ax.patches if isinstance(p, FancyArrowPatch)]
    assert len(arrows) == 5  # input -> groups, three weights, sum -> output
    for cell in groups:  # the weight's arrow starts inside the group's marked cell
        starts = [a._posA_posB[0] for a in arrows if a.get_facecolor() == cell.get_facecolor()]
        ((x, y),) = starts
        assert cell.get_x() < x < cell.get_x() + cell.get_width()
        assert cell.get_y() < y < cell.get_y() + cell.get_height()
    back = max(m.get_x() for m in maps)  # the output's maps, 0.12 apart: its front one
    output = min((m for m in maps if m.get_x() > back - 0.5), key=lambda m: m.get_x())
    assert any(abs(a._posA_posB[1][0] - output.get_x()) < 0.2 for a in arrows)
    texts = list(ax.texts)
    assert "(here $K = 3$)" in [t.get_text() for t in texts]
    assert min(t.get_fontsize() for t in texts) >= 10  # readable at the column's width
    plt.close(fig)
