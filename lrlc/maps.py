"""Maps over images: combining weights drawn where they act, over the input they see.

A stride-1 layer without padding ('valid') and a ``k x k`` kernel shrinks its input by
``k - 1`` pixels: output position ``(i, j)`` looks at the window of input rows
``i .. i + k - 1`` and columns ``j .. j + k - 1``, centred on input pixel
``(i + (k - 1) / 2, j + (k - 1) / 2)``. Stacking ``depth`` such layers adds the offsets:
output ``(i, j)`` of the last layer is centred on input pixel
``(i + depth * (k - 1) / 2, j + depth * (k - 1) / 2)``. For the paper's network (three
'valid' 3x3 layers) on 32x32 faces the three output grids are 30x30, 28x28 and 26x26,
and output ``(i, j)`` of layer 1, 2, 3 is centred on input pixel ``(i + 1, j + 1)``,
``(i + 2, j + 2)``, ``(i + 3, j + 3)``. The helpers here place every map at those input
pixels, so a combining weight is drawn over the part of the face its filters see::

    from lrlc.maps import overlay_on_image, owner_map

    w = layer.combining_weights()        # (26, 26, rank), the last layer
    overlay_on_image(face, w, offset=3)  # face | w_1 .. w_K | owner map
    owner_map(w)                         # (26, 26): the strongest basis

Drawing functions return the ``Figure`` (call ``plt.show()`` in a notebook), as
``lrlc.plotting``. Tensors may live on any device and may require grad.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from torch import Tensor

from lrlc.plotting import DEVIATION_CMAP, OWNER_TITLE, WEIGHT_CMAP

__all__ = [
    "PAPER_LAYER_DEPTH",
    "centre_offset",
    "layer_offset",
    "owner_map",
    "align_to_input",
    "aligned_extent",
    "mean_image",
    "overlay_on_image",
    "overlay_layers",
    "overlay_per_image",
    "plot_owner_maps",
    "owner_colors",
]

Array = Tensor | np.ndarray

PAPER_LAYER_DEPTH = {"features.0": 1, "features.3": 2, "features.6": 3}
"""The depth (1 to 3) of each spatial layer of :func:`lrlc.models.paper_network`, by module
name."""


def owner_colors(rank: int) -> list[tuple[float, float, float]]:
    """One distinct colour per basis, never a grey (it would vanish on a grey face): tab10
    without its grey up to 9 bases, tab20 without its two greys up to 18, then a hue
    circle."""
    if rank <= 9:
        return [c for i, c in enumerate(plt.get_cmap("tab10").colors) if i != 7][:rank]
    if rank <= 18:
        tab20 = plt.get_cmap("tab20").colors
        return [c for i, c in enumerate(tab20) if i not in (14, 15)][:rank]
    hsv = plt.get_cmap("hsv")
    return [hsv(k / rank)[:3] for k in range(rank)]


def centre_offset(depth: int, kernel_size: int = 3) -> int:
    """Output ``(i, j)`` after ``depth`` stride-1 'valid' ``k x k`` layers is centred on
    input pixel ``(i + offset, j + offset)``; returns ``offset = depth * (k - 1) // 2``.

    ``centre_offset(3) == 3`` for the paper's network. Even kernels have no centre pixel.
    """
    if depth < 0:
        raise ValueError(f"depth must be >= 0, got {depth}")
    if kernel_size < 1 or kernel_size % 2 == 0:
        raise ValueError(f"kernel_size must be odd (a window with a centre), got {kernel_size}")
    return depth * (kernel_size - 1) // 2


def layer_offset(name: str, kernel_size: int = 3) -> int:
    """The centre offset of a paper-network module ("features.0", "features.3", "features.6")."""
    if name not in PAPER_LAYER_DEPTH:
        raise KeyError(f"unknown layer {name!r}: the paper network's are {list(PAPER_LAYER_DEPTH)}")
    return centre_offset(PAPER_LAYER_DEPTH[name], kernel_size)


def _numpy(a: Array) -> np.ndarray:
    if isinstance(a, Tensor):
        return a.detach().to("cpu", torch.float64).numpy()
    return np.asarray(a, dtype=np.float64)


def owner_map(weights: Array) -> Tensor:
    """The basis with the largest combining weight at every position (the first on ties).

    weights: (..., H_out, W_out, rank) -> (..., H_out, W_out) int64, values in 0 .. rank - 1.
    """
    if isinstance(weights, np.ndarray):
        weights = torch.from_numpy(weights)
    if weights.dim() < 3:
        raise ValueError(f"weights must be (..., H_out, W_out, rank), got {tuple(weights.shape)}")
    return weights.detach().argmax(dim=-1).cpu()


def align_to_input(values: Array, input_size: int | tuple[int, int], offset: int) -> np.ndarray:
    """Put a map over the output grid at the input pixels its positions are centred on.

    values: (H_out, W_out) or (H_out, W_out, rank); input_size: (H, W).
    Returns (H, W) or (H, W, rank) float64: ``out[i + offset, j + offset] = values[i, j]``,
    NaN at input pixels no output position is centred on (a border of ``offset`` pixels
    for 'valid' layers).
    """
    v = _numpy(values)
    h, w = (input_size, input_size) if isinstance(input_size, int) else tuple(input_size)
    if v.ndim not in (2, 3):
        raise ValueError(f"values must be (H_out, W_out[, rank]), got shape {v.shape}")
    h_out, w_out = v.shape[:2]
    if offset < 0 or h_out + offset > h or w_out + offset > w:
        raise ValueError(
            f"a {h_out}x{w_out} map at offset {offset} does not fit in a {h}x{w} input"
        )
    out = np.full((h, w, *v.shape[2:]), np.nan)
    out[offset : offset + h_out, offset : offset + w_out] = v
    return out


def aligned_extent(output_size: tuple[int, int], offset: int) -> tuple[float, float, float, float]:
    """The ``imshow`` extent (left, right, bottom, top) that draws an (H_out, W_out) map in
    input-pixel coordinates (pixel centres at integers): output ``(i, j)`` covers input
    pixel ``(i + offset, j + offset)``."""
    h_out, w_out = output_size
    return (offset - 0.5, offset + w_out - 0.5, offset + h_out - 0.5, offset - 0.5)


def _display_image(image: Array) -> np.ndarray:
    """(C, H, W) tensor or (H, W[, C]) array, uint8 or float -> (H, W) or (H, W, 3) in [0, 1]."""
    if isinstance(image, Tensor):
        is_uint8 = image.dtype == torch.uint8
        a = image.detach().to("cpu", torch.float64)
        if a.dim() == 3:
            a = a.permute(1, 2, 0)
        a = a.numpy()
    else:
        is_uint8 = np.asarray(image).dtype == np.uint8
        a = np.asarray(image, dtype=np.float64)
    if is_uint8:
        a = a / 255.0
    if a.ndim == 3 and a.shape[-1] == 1:
        a = a[..., 0]
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[-1] != 3):
        raise ValueError(
            "image must be a (C, H, W) tensor or an (H, W) / (H, W, 3) array, got shape "
            f"{tuple(image.shape)}"
        )
    return np.clip(a, 0.0, 1.0)


def _gray(image: np.ndarray) -> np.ndarray:
    return image if image.ndim == 2 else image @ np.array([0.299, 0.587, 0.114])


def mean_image(images: Tensor) -> Tensor:
    """The mean of a stack of images, in [0, 1].

    images: (N, C, H, W), uint8 (0 .. 255) or float (already in [0, 1]) -> (C, H, W) float32.
    """
    if images.dim() != 4:
        raise ValueError(f"images must be (N, C, H, W), got {tuple(images.shape)}")
    scale = 255.0 if images.dtype == torch.uint8 else 1.0
    return (images.double().mean(dim=0) / scale).float()


def _draw_base(ax, image: np.ndarray) -> None:
    """The image in gray, with the axes fixed to it (an overlay must not zoom them)."""
    h, w = image.shape[:2]
    ax.imshow(_gray(image), cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
    ax.set_autoscale_on(False)
    ax.set(xlim=(-0.5, w - 0.5), ylim=(h - 0.5, -0.5))


@dataclass(frozen=True)
class _Style:
    owner: bool
    alpha: float
    deviation: float | None  # None: weights on [0, 1]; else the limit of w - 1/K


def _draw_weight(ax, image: np.ndarray, values: np.ndarray, offset: int, style: _Style):
    _draw_base(ax, image)
    if style.deviation is None:
        cmap, low, high = WEIGHT_CMAP, 0.0, 1.0
    else:
        cmap, low, high = DEVIATION_CMAP, -style.deviation, style.deviation
    return ax.imshow(
        values,
        cmap=cmap,
        vmin=low,
        vmax=high,
        alpha=style.alpha,
        interpolation="nearest",
        extent=aligned_extent(values.shape, offset),
    )


def _draw_owner(ax, image: np.ndarray, owners: np.ndarray, rank: int, offset: int, alpha: float):
    _draw_base(ax, image)
    cmap = ListedColormap(owner_colors(rank))
    ax.imshow(
        owners,
        cmap=cmap,
        vmin=-0.5,
        vmax=rank - 0.5,
        alpha=alpha,
        interpolation="nearest",
        extent=aligned_extent(owners.shape, offset),
    )


def _check_weights(w: np.ndarray, image: np.ndarray, offset: int) -> None:
    if w.ndim != 3:
        raise ValueError(f"weights must be (H_out, W_out, rank), got shape {w.shape}")
    h, w_in = image.shape[:2]
    if w.shape[0] + 2 * offset != h or w.shape[1] + 2 * offset != w_in:
        raise ValueError(
            f"a {w.shape[0]}x{w.shape[1]} output grid centred at offset {offset} does not "
            f"match a {h}x{w_in} image ('valid' layers need H_out + 2 * offset == H); "
            "pass the offset of the layer (lrlc.maps.centre_offset)"
        )


def _draw_row(axes, image, w, offset, style: _Style, titles: bool) -> object:
    """image | w_1 .. w_K | owner on one row of axes; returns the last weight image."""
    rank = w.shape[-1]
    axes[0].imshow(image, cmap=None if image.ndim == 3 else "gray", vmin=0, vmax=1)
    im = None
    for k in range(rank):
        values = w[:, :, k] if style.deviation is None else w[:, :, k] - 1 / rank
        im = _draw_weight(axes[k + 1], image, values, offset, style)
        if titles:
            name = f"w_{{ij{k + 1}}}"
            name = name if style.deviation is None else f"{name} - 1/{rank}"
            axes[k + 1].set_title(f"${name}$", fontsize=12)
    if style.owner:
        _draw_owner(axes[rank + 1], image, w.argmax(axis=-1), rank, offset, style.alpha)
        if titles:
            axes[rank + 1].set_title(OWNER_TITLE, fontsize=11)
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    return im


def _owner_legend(fig: Figure, rank: int, grow: bool = True) -> None:
    """One patch per basis below the panels, in as few balanced rows (of at most 8) as keep
    the legend inside the figure's width: at rank 16 one row would be cut at both ends.
    ``grow``: make the figure taller by each legend row beyond the first."""
    colors = owner_colors(rank)
    handles = [Patch(color=colors[k], label=f"basis {k + 1}") for k in range(rank)]
    renderer = fig.canvas.get_renderer()
    rows = math.ceil(rank / 8)
    while True:
        ncols = math.ceil(rank / rows)
        legend = fig.legend(handles=handles, loc="outside lower center", ncols=ncols, fontsize=10)
        if ncols == 1 or legend.get_window_extent(renderer).width <= fig.bbox.width:
            break
        legend.remove()
        rows += 1
    # the figures leave room for one legend row; each further row gets 0.2 inch
    if grow:
        fig.set_figheight(fig.get_figheight() + 0.2 * (math.ceil(rank / ncols) - 1))


def _grid_figure(
    rows: list[tuple[np.ndarray, np.ndarray, int, str | None]],
    owner: bool,
    alpha: float,
    deviation: bool,
    size: float,
    title: str | None,
    colorbar: bool,
    shared_scale: bool = True,
    bases_per_row: int | None = None,
    figsize: tuple[float, float] | None = None,
) -> Figure:
    rank = rows[0][1].shape[-1]
    if any(w.shape[-1] != rank for _, w, _, _ in rows):
        raise ValueError("every row needs the same rank")
    per_row = rank if bases_per_row is None else min(rank, bases_per_row)
    if per_row < 1:
        raise ValueError(f"bases_per_row must be at least 1, got {bases_per_row}")
    lines = -(-rank // per_row)  # lines of panels per row: the bases wrap after per_row
    limits: list[float | None] = [None] * len(rows)
    if deviation:  # symmetric scales around 1/K, each row's own or (shared) the widest
        widest = [float(np.abs(w - 1 / rank).max()) for _, w, _, _ in rows]
        shared = max(widest) or 1.0  # 1.0: every map still uniform, nothing to scale
        limits = [shared if shared_scale else (w or 1.0) for w in widest]
    ncols = per_row + 1 + int(owner)
    nlines = len(rows) * lines
    grow = figsize is None  # a given size stays as given
    if figsize is None:
        figsize = (size * ncols + (0.8 if colorbar else 0), size * nlines + 0.9)
    fig = plt.figure(figsize=figsize, layout="constrained")
    spec = fig.add_gridspec(nlines, ncols)
    panels = []  # per row: image, the rank bases, then the owner map
    for r in range(len(rows)):
        top = r * lines
        bases = [spec[top + k // per_row, 1 + k % per_row] for k in range(rank)]
        cells = [spec[top, 0], *bases] + ([spec[top, ncols - 1]] if owner else [])
        panels.append([fig.add_subplot(cell) for cell in cells])
    images = []
    for r, (image, w, offset, label) in enumerate(rows):
        style = _Style(owner, alpha, limits[r])
        images.append(_draw_row(panels[r], image, w, offset, style, titles=r == 0))
        if label:
            panels[r][0].set_ylabel(label, fontsize=11)
    if colorbar and images:
        ticks = [0, 0.5, 1] if limits[0] is None else None
        if not deviation or shared_scale:  # one bar beside every row
            beside = [ax for row in panels for ax in row[1 : rank + 1]]
            bars = [(images[-1], beside, 0.8)]
        else:  # a bar for each row's own scale
            bars = [(im, panels[r][1 : rank + 1], 0.9) for r, im in enumerate(images)]
        for im, beside, shrink in bars:
            bar = fig.colorbar(im, ax=beside, shrink=shrink, ticks=ticks)
            bar.ax.tick_params(labelsize=10 if len(bars) == 1 else 8)
    if owner:
        _owner_legend(fig, rank, grow=grow)
    if title:
        fig.suptitle(title)
    return fig


def overlay_on_image(
    image: Array,
    weights: Array,
    offset: int = 3,
    *,
    owner: bool = True,
    alpha: float = 0.6,
    deviation: bool = False,
    size: float = 1.7,
    title: str | None = None,
    colorbar: bool = True,
) -> Figure:
    """Draw an image, then each basis's combining-weight map over it, then the owner map.

    Panel ``k + 1`` shows ``weights[:, :, k]`` (0 to 1, viridis) over the image in gray; the
    last panel (``owner=True``) colours each position by its largest weight
    (:func:`owner_map`).

    Args:
        image: ``(C, H, W)`` tensor or ``(H, W[, 3])`` array, uint8 or in [0, 1] (e.g. a
            mean face).
        weights: ``(H_out, W_out, rank)`` of a layer whose output ``(i, j)`` is centred on
            input pixel ``(i + offset, j + offset)``.
        offset: the layer's centre offset (:func:`centre_offset`: 3 for the last of three
            'valid' 3x3 layers); ``H_out + 2 * offset`` must equal the image's ``H``.
        owner: add the owner-map panel.
        alpha: the opacity of the maps drawn over the image.
        deviation: draw ``weights - 1 / rank`` instead, on a scale centred on zero (red:
            more than the uniform share, blue: less), which shows small departures from the
            initial ``1 / rank``; the limit is the largest departure.
        size: the side of one panel in inches.
        title: a title over the figure.
        colorbar: draw one colour bar for the weight panels.
    """
    img, w = _display_image(image), _numpy(weights)
    _check_weights(w, img, offset)
    return _grid_figure([(img, w, offset, None)], owner, alpha, deviation, size, title, colorbar)


def overlay_layers(
    image: Array,
    weights: Mapping[str, Array],
    offsets: Mapping[str, int] | None = None,
    *,
    owner: bool = True,
    alpha: float = 0.6,
    deviation: bool = False,
    size: float = 1.5,
    title: str | None = None,
    colorbar: bool = True,
    shared_scale: bool = True,
    bases_per_row: int | None = None,
    figsize: tuple[float, float] | None = None,
) -> Figure:
    """:func:`overlay_on_image` for several layers of one network: one row per layer.

    The other arguments are those of :func:`overlay_on_image` (but ``size``, each panel's
    side in inches, defaults to 1.5 here); with ``deviation`` every row shares one colour
    scale, so that the sizes of the departures compare across layers, or with
    ``shared_scale=False`` each row has its own (and its own colour bar), so that a layer
    whose weights moved little still shows where they moved.

    Args:
        image: the image the maps are drawn over, as in :func:`overlay_on_image`.
        weights: layer name -> ``(H_out, W_out, rank)``, all of one rank.
        offsets: layer name -> centre offset; default :func:`layer_offset` of the name
            (for the paper network's module names).
        bases_per_row: wrap a layer's basis panels after this many, onto further lines
            (the image and the owner map stay on the first); default all on one line.
        figsize: the figure's size in inches, instead of one grown from ``size`` (the
            panels then shrink to fit it).
    """
    img = _display_image(image)
    rows = []
    for name, w in weights.items():
        offset = layer_offset(name) if offsets is None else offsets[name]
        w = _numpy(w)
        _check_weights(w, img, offset)
        rows.append((img, w, offset, f"{name}\n{w.shape[0]}x{w.shape[1]}"))
    if not rows:
        raise ValueError("weights is empty: give at least one layer")
    return _grid_figure(
        rows, owner, alpha, deviation, size, title, colorbar, shared_scale, bases_per_row, figsize
    )


def overlay_per_image(
    images: Array | Sequence[Array],
    weights: Array,
    offset: int = 3,
    *,
    labels: Sequence[str] | None = None,
    owner: bool = True,
    alpha: float = 0.6,
    deviation: bool = False,
    size: float = 1.5,
    title: str | None = None,
    colorbar: bool = True,
) -> Figure:
    """:func:`overlay_on_image` for input-dependent combining weights: one row per image.

    The other arguments are those of :func:`overlay_on_image` (but ``size``, each panel's
    side in inches, defaults to 1.5 here); with ``deviation`` every row shares one colour
    scale.

    Args:
        images: ``(n, C, H, W)`` tensor or ``n`` images.
        weights: ``(n, H_out, W_out, rank)``, row ``m`` drawn over image ``m`` (as
            ``layer.combining_weights(x)`` returns for a batch).
        offset: the layer's centre offset, as in :func:`overlay_on_image`.
        labels: ``n`` row labels.
    """
    w = _numpy(weights)
    if w.ndim != 4:
        raise ValueError(f"weights must be (n, H_out, W_out, rank), got shape {w.shape}")
    imgs = [_display_image(im) for im in images]
    if len(imgs) != len(w):
        raise ValueError(f"got {len(imgs)} images for {len(w)} maps")
    if labels is not None and len(labels) != len(imgs):
        raise ValueError(f"got {len(labels)} labels for {len(imgs)} images")
    rows = []
    for m, (img, wm) in enumerate(zip(imgs, w, strict=True)):
        _check_weights(wm, img, offset)
        rows.append((img, wm, offset, None if labels is None else labels[m]))
    return _grid_figure(rows, owner, alpha, deviation, size, title, colorbar)


def plot_owner_maps(
    image: Array,
    weights: Mapping[str, Array],
    offsets: Mapping[str, int] | None = None,
    *,
    alpha: float = 0.6,
    size: float = 2.0,
    title: str | None = None,
) -> Figure:
    """The owner map (:func:`owner_map`) of several layers over one image, one panel per layer.

    Each position is coloured by the basis with the largest weight there; a legend names
    the bases. Unlike :func:`overlay_layers` the panels do not multiply with the rank: only
    the legend grows, by 0.2 inch per extra row of at most 8 bases.

    Args:
        image: as in :func:`overlay_on_image`.
        weights: panel title (a layer name) -> ``(H_out, W_out, rank)``, all of one rank.
        offsets: title -> centre offset; default :func:`layer_offset` of the title (for the
            paper network's module names).
        alpha: the opacity of the maps drawn over the image.
        size: the side of one panel in inches.
        title: a title over the figure.
    """
    img = _display_image(image)
    maps = {name: _numpy(w) for name, w in weights.items()}
    if not maps:
        raise ValueError("weights is empty: give at least one layer")
    ranks = {w.shape[-1] for w in maps.values() if w.ndim == 3}
    if len(ranks) != 1:
        raise ValueError(f"every map must be (H_out, W_out, rank) of one rank, got {ranks}")
    (rank,) = ranks
    fig, axes = plt.subplots(
        1,
        len(maps),
        figsize=(size * len(maps), size + 0.8 + (0.3 if title else 0)),
        squeeze=False,
        layout="constrained",
    )
    for ax, (name, w) in zip(axes[0], maps.items(), strict=True):
        offset = layer_offset(name) if offsets is None else offsets[name]
        _check_weights(w, img, offset)
        _draw_owner(ax, img, w.argmax(axis=-1), rank, offset, alpha)
        ax.set_title(f"{name} ({w.shape[0]}x{w.shape[1]})", fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    _owner_legend(fig, rank)
    if title:
        fig.suptitle(title)
    return fig
