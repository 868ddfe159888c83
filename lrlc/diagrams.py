"""Schematic diagrams of the book: how a layer computes, drawn with matplotlib patches.

Unlike :mod:`lrlc.plotting`, which draws tensors and results, these draw no data: each
function returns the ``Figure`` of one fixed picture, drawn at the width of the book's text
column (7 inches), so that its font sizes are the sizes a reader sees.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Circle, FancyArrowPatch, Rectangle

__all__ = ["plot_efficient_forward"]

LABEL_PT = 11  # the names of the maps
NOTE_PT = 10  # the notes under them


def _stack(
    ax: Axes,
    x0: float,
    y0: float,
    size: float,
    n: int,
    color: str,
    mark: tuple[int, int] | None = None,
    depth: int = 3,
) -> tuple[float, float] | None:
    """``depth`` n x n maps, one behind the other, their front one's lower left corner at
    (x0, y0); ``mark=(i, j)`` fills that cell of the front map. Returns the centre of the
    marked cell, or None."""
    step = size / n
    for d in reversed(range(depth)):
        ax.add_patch(Rectangle((x0 + 0.12 * d, y0 + 0.12 * d), size, size, fc="white", ec=color))
    for t in range(1, n):
        ax.plot([x0 + t * step] * 2, [y0, y0 + size], color=color, lw=0.4, alpha=0.6)
        ax.plot([x0, x0 + size], [y0 + t * step] * 2, color=color, lw=0.4, alpha=0.6)
    if mark is None:
        return None
    i, j = mark
    ax.add_patch(Rectangle((x0 + j * step, y0 + size - (i + 1) * step), step, step, fc=color))
    return x0 + (j + 0.5) * step, y0 + size - (i + 0.5) * step


def _arrow(ax: Axes, a: tuple[float, float], b: tuple[float, float], color: str = "0.3") -> None:
    ax.add_patch(FancyArrowPatch(a, b, arrowstyle="-|>", mutation_scale=12, color=color, lw=1.2))


def plot_efficient_forward() -> Figure:
    """The efficient forward pass of an LRLC layer of rank K = 3 (chapter 4): the input
    with the 3x3 window of one output position (i, j); one convolution with K * C_out
    filters, drawn as K groups of C_out channels W_k * x; at (i, j) their sum weighted by
    w_ijk; the output, plus the biases."""
    fig, ax = plt.subplots(figsize=(7, 3.3), layout="constrained")
    ax.set(xlim=(-0.2, 13.5), ylim=(-0.55, 5.85), aspect="equal")
    ax.axis("off")
    i, j = 1, 2  # the output position followed through the figure
    grey = {"fontsize": NOTE_PT, "color": "0.35"}

    # The input, with the 3 x 3 window of output (i, j).
    _stack(ax, 0, 1.3, 2.2, 7, "0.3", depth=4)
    step = 2.2 / 7
    ax.add_patch(
        Rectangle((j * step, 3.5 - (i + 3) * step), 3 * step, 3 * step, fc="0.75", ec="0.1")
    )
    ax.text(1.1, 4.15, "input $x$", ha="center", fontsize=LABEL_PT)
    ax.text(1.1, 1.15, "$C_\\mathrm{in}$ channels", ha="center", va="top", **grey)
    _arrow(ax, (2.75, 2.4), (4.85, 2.4))
    ax.text(3.8, 2.55, "one conv2d,\n$K\\,C_\\mathrm{out}$ filters", ha="center", fontsize=NOTE_PT)

    # K groups of C_out output channels: W_k * x for every k.
    colors = ["C0", "C1", "C2"]
    cells = []
    for k, color in enumerate(colors):
        y0 = 3.55 - 1.75 * k
        cells.append(_stack(ax, 6.1, y0, 1.45, 5, color, (i, j)))
        ax.text(
            5.95,
            y0 + 0.72,
            f"$W_{k + 1} \\star x$",
            ha="right",
            va="center",
            color=color,
            fontsize=LABEL_PT,
        )
    ax.text(6.9, 5.45, "$K$ groups of $C_\\mathrm{out}$ channels", ha="center", fontsize=LABEL_PT)
    ax.text(6.9, -0.1, "(here $K = 3$)", ha="center", va="top", **grey)

    # At (i, j): the weighted sum over the groups, then the biases.
    total = (9.6, 2.4)
    ax.add_patch(Circle(total, 0.32, fc="white", ec="0.2"))
    ax.text(*total, "$\\Sigma$", ha="center", va="center", fontsize=LABEL_PT)
    for k, ((cx, cy), color) in enumerate(zip(cells, colors, strict=True)):
        end = (total[0] - 0.3, total[1] + 0.15 * (1 - k))
        _arrow(ax, (cx, cy), end, color)
        above = k < 2  # the label on the free side of its arrow
        x_label, y_label = 0.45 * cx + 0.55 * end[0], 0.45 * cy + 0.55 * end[1]
        y_label += 0.1 if above else -0.1
        # left-aligned beside the sloping arrows, so the text runs away from them
        ax.text(
            x_label,
            y_label,
            f"$w_{{ij{k + 1}}}$",
            ha="center" if k == 1 else "left",
            va="bottom" if above else "top",
            color=color,
            fontsize=LABEL_PT,
        )
    _stack(ax, 10.8, 1.3, 2.2, 5, "0.2", (i, j))
    _arrow(ax, (total[0] + 0.33, total[1]), (10.7, total[1]))
    ax.text(11.9, 4.15, "output $y$", ha="center", fontsize=LABEL_PT)
    ax.text(
        11.9, 1.15, "$C_\\mathrm{out}$ channels,\n$+\\,b_{ij} + b_o$", ha="center", va="top", **grey
    )
    return fig
