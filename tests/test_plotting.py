"""The plotting helpers draw what they are given and return the Figure."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from lrlc import LowRankLocallyConnected2d, effective_filters  # noqa: E402
from lrlc.plotting import (  # noqa: E402
    plot_attribute_gains,
    plot_combining_weights,
    plot_filter_bank,
    plot_filters_at_positions,
    plot_images,
    plot_windows,
    variant_color,
)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def images_of(fig: Figure) -> list[np.ndarray]:
    return [np.asarray(im.get_array()) for ax in fig.axes for im in ax.get_images()]


def test_plot_images_shares_one_scale_and_accepts_tensors_that_require_grad():
    maps = torch.randn(3, 5, 6, requires_grad=True)
    fig = plot_images(maps, ["a", "b", "c"], symmetric=True, cmap="RdBu_r", colorbar=True)
    assert isinstance(fig, Figure)
    drawn = images_of(fig)
    assert len(drawn) == 3
    np.testing.assert_allclose(drawn[1], maps[1].detach().numpy(), rtol=1e-6)
    limits = {ax.get_images()[0].get_clim() for ax in fig.axes if ax.get_images()}
    ((low, high),) = limits
    assert low == -high and np.isclose(high, maps.abs().max().item())
    with pytest.raises(ValueError, match="titles"):
        plot_images(maps, ["a"])
    with pytest.raises(ValueError, match="2-D"):
        plot_images(torch.zeros(2, 1, 3, 3))


def test_plot_filter_bank_draws_out_by_in_filters():
    filters = torch.randn(10, 3, 3, 3)
    fig = plot_filter_bank(filters, max_out=4)
    drawn = images_of(fig)
    assert len(drawn) == 4 * 3
    np.testing.assert_allclose(drawn[3 * 2 + 1], filters[2, 1].numpy(), rtol=1e-6)
    with pytest.raises(ValueError, match="out, in, kh, kw"):
        plot_filter_bank(torch.zeros(3, 3, 3))


def test_plot_filters_at_positions_draws_the_effective_filters():
    layer = LowRankLocallyConnected2d(2, 5, 3, (8, 8), rank=3)
    filters = effective_filters(layer)
    positions = [(0, 0), (2, 3), (5, 5)]
    fig = plot_filters_at_positions(filters, positions, out_channels=(0, 4), in_channel=1)
    drawn = images_of(fig)
    assert len(drawn) == 3 * 2
    np.testing.assert_allclose(drawn[2 * 2 + 1], filters[5, 5, 4, 1].detach().numpy(), rtol=1e-6)
    with pytest.raises(ValueError, match="H_out, W_out"):
        plot_filters_at_positions(filters[0], positions)


@pytest.mark.parametrize("rank", [1, 3, 8])
def test_plot_combining_weights_one_panel_per_rank_on_a_fixed_grid(rank):
    weights = torch.softmax(torch.randn(6, 7, rank), dim=-1)
    fig = plot_combining_weights(weights, nrows=2, ncols=4)
    drawn = images_of(fig)
    assert len(drawn) == rank
    np.testing.assert_allclose(drawn[-1], weights[:, :, -1].numpy(), rtol=1e-6)
    assert all(ax.get_images()[0].get_clim() == (0.0, 1.0) for ax in fig.axes if ax.get_images())
    assert tuple(fig.get_size_inches()) == tuple(
        plot_combining_weights(weights[..., :1], nrows=2, ncols=4).get_size_inches()
    )


def test_plot_combining_weights_as_departures_from_uniform():
    weights = torch.full((3, 3, 4), 0.25)
    weights[0, 0] = torch.tensor([0.31, 0.23, 0.23, 0.23])
    fig = plot_combining_weights(weights, deviation=True)
    images = [ax.images[0] for ax in fig.axes if ax.images]
    assert images[0].get_array()[0, 0] == pytest.approx(0.06)
    assert images[1].get_array()[0, 0] == pytest.approx(-0.02)
    assert images[0].get_clim() == pytest.approx((-0.06, 0.06))  # centred, as wide as needed
    assert "1/4" in fig.axes[-1].get_ylabel()  # the colour bar says what is drawn
    plt.close(fig)
    # rank 1 (weight 1, exactly uniform) still draws, on a small scale around zero
    plt.close(plot_combining_weights(torch.ones(3, 3, 1), deviation=True))


def test_plot_combining_weights_rejects_a_grid_too_small():
    with pytest.raises(ValueError, match="no room"):
        plot_combining_weights(torch.ones(4, 4, 5) / 5, nrows=1, ncols=4)
    with pytest.raises(ValueError, match="H_out, W_out, rank"):
        plot_combining_weights(torch.ones(4, 4))


def test_plot_windows_draws_one_rectangle_per_window():
    image = torch.zeros(12, 12)
    fig = plot_windows(image, [(0, 0), (5, 7)], (3, 2), ["$W$", "$W$"], same_color=True)
    (ax,) = fig.axes
    rects = [p for p in ax.patches if isinstance(p, matplotlib.patches.Rectangle)]
    assert [(r.get_xy(), r.get_width(), r.get_height()) for r in rects] == [
        ((-0.5, -0.5), 2, 3),
        ((6.5, 4.5), 2, 3),
    ]
    assert len({r.get_edgecolor() for r in rects}) == 1
    assert [t.get_text() for t in ax.texts] == ["$W$", "$W$"]
    fig = plot_windows(image, [(0, 0), (5, 7)], 3)
    rects = [p for p in fig.axes[0].patches if isinstance(p, matplotlib.patches.Rectangle)]
    assert len({r.get_edgecolor() for r in rects}) == 2


def test_plot_attribute_gains_one_bar_per_attribute_and_variant_sorted_by_the_reference():
    names = [f"attribute {a}" for a in range(40)]
    conv = torch.randperm(40, generator=torch.Generator().manual_seed(0)).double() / 100 - 0.2
    lrlc = np.linspace(-0.1, 0.3, 40)  # a numpy array draws as well
    fig = plot_attribute_gains({"conv": conv, "LRLC": lrlc}, names)
    (ax,) = fig.axes
    assert tuple(fig.get_size_inches()) == (7, 9)
    assert [c.get_label() for c in ax.containers] == ["conv", "LRLC"]
    assert [len(c) for c in ax.containers] == [40, 40]
    by_conv = sorted(range(40), key=lambda a: conv[a].item())  # the first variant: default
    assert [t.get_text() for t in ax.get_yticklabels()] == [names[a] for a in by_conv]
    widths = [[bar.get_width() for bar in c] for c in ax.containers]
    assert widths[0] == pytest.approx([100 * conv[a].item() for a in by_conv])  # points
    assert widths[0] == sorted(widths[0])
    assert widths[1] == pytest.approx([100 * lrlc[a] for a in by_conv])
    lows = [[bar.get_y() for bar in c] for c in ax.containers]
    assert np.diff(lows[0]) == pytest.approx([1.0] * 39)  # one row per attribute
    assert np.subtract(lows[1], lows[0]) == pytest.approx([0.4] * 40)  # side by side
    assert ax.get_yticks() == pytest.approx(np.arange(40) + 0.2)  # a name mid-group
    (zero,) = [ln for ln in ax.get_lines() if list(ln.get_xdata()) == [0, 0]]
    assert zero.get_color() == "black"
    assert "majority-class baseline" in ax.get_xlabel()


def test_plot_attribute_gains_on_given_axes_by_another_reference():
    names = ["a", "b", "c"]
    gains = {"x": torch.tensor([0.3, 0.1, 0.2]), "y": torch.tensor([0.0, 0.2, -0.1])}
    fig, ax = plt.subplots()
    assert plot_attribute_gains(gains, names, reference="y", ax=ax) is fig
    assert [t.get_text() for t in ax.get_yticklabels()] == ["c", "a", "b"]
    assert [bar.get_width() for bar in ax.containers[0]] == pytest.approx([20.0, 30.0, 10.0])
    with pytest.raises(ValueError, match=r"shape \(3,\)"):
        plot_attribute_gains({"x": torch.zeros(4)}, names)


def test_plot_attribute_gains_draws_each_series_in_its_given_colour():
    names = ["a", "b"]
    gains = {n: torch.tensor([0.1, 0.2]) for n in ("convolution", "LRLC rank 4", "LRLC rank 2")}
    colours = [variant_color("conv"), variant_color("lrlc", 4), variant_color("lrlc", 2)]
    ax = plot_attribute_gains(gains, names, colors=colours).axes[0]
    drawn = [c.patches[0].get_facecolor() for c in ax.containers]
    assert drawn == [pytest.approx(c) for c in colours]
    # the book's colours: convolution green, LRLC blue and darker at a higher rank
    assert matplotlib.colors.to_hex(colours[0]) == matplotlib.colors.to_hex("C2")
    assert sum(colours[1][:3]) < sum(colours[2][:3]) and colours[1][2] > colours[1][0]
    assert variant_color("lrlc", 4, "last")[0] > variant_color("lrlc", 4, "last")[2]  # orange
    with pytest.raises(ValueError, match="one colour per series"):
        plot_attribute_gains(gains, names, colors=colours[:2])
    plt.close("all")


def test_combining_weights_colour_bar_sits_beside_the_drawn_panels_only():
    """Rank 4 on a fixed 2 x 4 grid: the bar spanned the empty second row too."""
    fig = plot_combining_weights(torch.full((5, 5, 4), 0.25), nrows=2, ncols=4)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    panels = [ax for ax in fig.axes if ax.images and ax.get_label() != "<colorbar>"]
    (bar,) = [ax for ax in fig.axes if ax.get_label() == "<colorbar>"]
    second_row_top = min(ax.get_window_extent(renderer).y0 for ax in panels)
    assert bar.get_window_extent(renderer).y0 >= second_row_top - 1
    assert tuple(plot_combining_weights(torch.rand(5, 5, 2), figsize=(6, 2)).get_size_inches()) == (
        6,
        2,
    )
    plt.close("all")


def test_a_grid_name_instead_of_its_results_gets_the_load_call():
    from lrlc.plotting import plot_accuracy_vs_params, plot_rank_sweep

    for plot in (plot_rank_sweep, plot_accuracy_vs_params):
        with pytest.raises(TypeError, match=r"got str 'mnist': load them first.*results.load"):
            plot("mnist")


def test_plot_images_lays_out_titles_scale_and_colour_bar_as_asked():
    maps = [np.full((2, 2), v) for v in (1.0, 3.0, 5.0, 7.0, 9.0)]
    fig = plot_images(maps, ["a", "b", "c", "d", "e"])
    panels = [ax for ax in fig.axes if ax.images]
    assert [ax.get_title() for ax in panels] == ["a", "b", "c", "d", "e"]
    assert fig.axes[0].get_gridspec().ncols == 4  # four to a row by default
    assert {ax.images[0].get_clim() for ax in panels} == {(1.0, 9.0)}  # every panel's range
    assert all(ax.images[0].get_interpolation() == "nearest" for ax in panels)  # no smoothing
    assert not any(ax.get_label() == "<colorbar>" for ax in fig.axes)
    fig = plot_images(maps, colorbar=True)
    assert sum(ax.get_label() == "<colorbar>" for ax in fig.axes) == 1
    fig = plot_images([np.zeros((2, 2))], symmetric=True)  # all zero: white, not a blank range
    assert fig.axes[0].images[0].get_clim() == (-1.0, 1.0)


def test_filter_grids_label_each_row_and_column_on_a_scale_centred_on_zero():
    filters = torch.rand(2, 3, 3, 3)  # positive only: the scale is still centred on zero
    fig = plot_filter_bank(filters)
    panels = np.array([ax for ax in fig.axes if ax.images]).reshape(2, 3)
    assert [ax.get_xlabel() for ax in panels[-1]] == ["in 0", "in 1", "in 2"]
    assert [ax.get_ylabel() for ax in panels[:, 0]] == ["out 0", "out 1"]
    limit = filters.abs().max().item()
    assert panels[0, 0].images[0].get_clim() == pytest.approx((-limit, limit))
    layer = LowRankLocallyConnected2d(2, 5, 3, (8, 8), rank=3)
    with torch.no_grad():
        layer.combining_row.copy_(torch.randn(6, 3))  # positions that differ
        layer.combining_col.copy_(torch.randn(6, 3))
    filters = effective_filters(layer)
    fig = plot_filters_at_positions(filters, [(2, 3), (4, 1)], out_channels=(0,))
    panels = [ax for ax in fig.axes if ax.images]
    assert [ax.get_ylabel() for ax in panels] == ["(2, 3)", "(4, 1)"]
    drawn = images_of(fig)[0]
    np.testing.assert_allclose(drawn, filters[2, 3, 0, 0].detach().numpy(), rtol=1e-6)
    assert not np.allclose(drawn, filters[3, 2, 0, 0].detach().numpy())  # row i, column j


def test_combining_weight_panels_are_titled_from_one_and_find_their_grid():
    fig = plot_combining_weights(torch.full((3, 3, 5), 0.2), nrows=2)
    panels = [ax for ax in fig.axes if ax.images and ax.get_label() != "<colorbar>"]
    assert [ax.get_title() for ax in panels] == [f"$w_{{ij{k}}}$" for k in range(1, 6)]
    assert fig.axes[0].get_gridspec().ncols == 3  # five panels in two rows
    assert not fig.get_layout_engine()._compress  # "constrained"
    fixed = plot_combining_weights(torch.full((3, 3, 2), 0.5), figsize=(6, 2))
    assert fixed.get_layout_engine()._compress  # "compressed": panels closed up in a set size


def test_rank_one_departures_from_uniform_get_a_readable_colour_bar():
    fig = plot_combining_weights(torch.ones(3, 3, 1), deviation=True)
    assert fig.axes[0].images[0].get_clim() == pytest.approx((-1e-3, 1e-3))
    (bar,) = [ax for ax in fig.axes if ax.get_label() == "<colorbar>"]
    assert [t.get_text() for t in bar.get_yticklabels()] == ["-0.001", "0", "+0.001"]
