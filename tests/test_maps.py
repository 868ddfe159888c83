"""lrlc.maps: output positions are drawn over the input pixels they are centred on."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from torch import nn  # noqa: E402

from lrlc.maps import (  # noqa: E402
    align_to_input,
    aligned_extent,
    centre_offset,
    layer_offset,
    mean_image,
    overlay_layers,
    overlay_on_image,
    overlay_per_image,
    owner_colors,
    owner_map,
    plot_owner_maps,
)
from lrlc.models import paper_network  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def receptive_field_centre(layers: nn.Module, input_size, i: int, j: int) -> tuple[float, float]:
    """The centre of the input pixels that output (i, j) depends on, found by a gradient."""
    x = torch.randn(1, 1, *input_size, dtype=torch.float64, requires_grad=True)
    layers(x)[0, 0, i, j].backward()
    rows, cols = torch.nonzero(x.grad[0, 0]).T
    return (rows.min() + rows.max()).item() / 2, (cols.min() + cols.max()).item() / 2


@pytest.mark.parametrize("depth,kernel", [(1, 3), (2, 3), (3, 3), (2, 5)])
def test_centre_offset_is_the_receptive_field_centre(depth, kernel):
    layers = nn.Sequential(
        *(nn.Conv2d(1, 1, kernel, bias=False, dtype=torch.float64) for _ in range(depth))
    )
    with torch.no_grad():
        for conv in layers:
            conv.weight.uniform_(0.5, 1.0)  # no zero weights: the whole window counts
    size = (20, 23)  # not square: rows and columns must not be swapped
    offset = centre_offset(depth, kernel)
    for i, j in [(0, 0), (4, 9), (20 - depth * (kernel - 1) - 1, 23 - depth * (kernel - 1) - 1)]:
        assert receptive_field_centre(layers, size, i, j) == (i + offset, j + offset)


def test_the_paper_network_layers_offsets_and_grids():
    net = paper_network("lrlc", 2, dataset="celeba")
    assert [layer_offset(n) for n in ("features.0", "features.3", "features.6")] == [1, 2, 3]
    for name, module in net.named_modules():
        if name in ("features.0", "features.3", "features.6"):
            h_out, w_out = module.output_size
            assert h_out + 2 * layer_offset(name) == 32 and w_out + 2 * layer_offset(name) == 32
    with pytest.raises(ValueError, match="odd"):
        centre_offset(1, 4)
    with pytest.raises(KeyError, match="features.6"):
        layer_offset("features.1")


def test_owner_map_is_the_argmax_over_bases():
    weights = torch.softmax(torch.randn(2, 5, 7, 4), dim=-1)
    owners = owner_map(weights)
    assert owners.shape == (2, 5, 7) and owners.dtype == torch.int64
    for b in range(2):
        for i in range(5):
            for j in range(7):
                values = weights[b, i, j].tolist()
                assert owners[b, i, j] == values.index(max(values))
    assert torch.equal(owner_map(weights[0].numpy()), owners[0])
    ties = torch.full((3, 3, 4), 0.25)
    assert torch.equal(owner_map(ties), torch.zeros(3, 3, dtype=torch.int64))
    with pytest.raises(ValueError, match="rank"):
        owner_map(torch.zeros(4, 4))


def test_align_to_input_puts_output_ij_at_input_ij_plus_offset():
    values = np.arange(4 * 6 * 2, dtype=float).reshape(4, 6, 2)
    out = align_to_input(values, (10, 12), offset=3)
    assert out.shape == (10, 12, 2)
    for a in range(10):
        for b in range(12):
            i, j = a - 3, b - 3
            if 0 <= i < 4 and 0 <= j < 6:
                np.testing.assert_array_equal(out[a, b], values[i, j])
            else:
                assert np.isnan(out[a, b]).all()
    with pytest.raises(ValueError, match="does not fit"):
        align_to_input(values, (5, 12), offset=3)


def test_aligned_extent_draws_pixels_where_align_to_input_puts_them():
    left, right, bottom, top = aligned_extent((26, 24), offset=3)
    # imshow pixel (i, j) covers [left + j, left + j + 1] x [top + i, top + i + 1]: its centre
    # must be input pixel (i + 3, j + 3).
    assert (left + 0.5, top + 0.5) == (3, 3)
    assert (right - 0.5, bottom - 0.5) == (3 + 24 - 1, 3 + 26 - 1)


def test_overlay_on_image_draws_each_basis_and_the_owner_at_the_right_place():
    face = torch.rand(3, 32, 32)
    weights = torch.softmax(torch.randn(26, 26, 4), dim=-1).requires_grad_()
    fig = overlay_on_image(face, weights, offset=3)
    assert isinstance(fig, Figure)
    axes = [ax for ax in fig.axes if ax.get_images() and ax.get_label() != "<colorbar>"]
    assert len(axes) == 1 + 4 + 1
    np.testing.assert_allclose(axes[0].get_images()[0].get_array(), face.permute(1, 2, 0))
    for k in range(4):
        base, overlay = axes[k + 1].get_images()
        assert base.get_extent() == [-0.5, 31.5, 31.5, -0.5]
        assert overlay.get_extent() == [2.5, 28.5, 28.5, 2.5]
        np.testing.assert_allclose(overlay.get_array(), weights[:, :, k].detach(), rtol=1e-6)
        assert axes[k + 1].get_xlim() == (-0.5, 31.5)
        assert axes[k + 1].get_ylim() == (31.5, -0.5)
    owners = axes[5].get_images()[1]
    np.testing.assert_array_equal(np.asarray(owners.get_array()), owner_map(weights).numpy())
    for k, color in enumerate(owner_colors(4)):  # basis k drawn in the legend's colour
        assert owners.cmap(owners.norm(k))[:3] == pytest.approx(tuple(color)[:3])
    with pytest.raises(ValueError, match="offset"):
        overlay_on_image(face, weights, offset=2)


def test_overlay_on_image_scales_uint8_takes_luma_grey_and_non_square_images():
    face = (torch.rand(3, 32, 40) * 255).to(torch.uint8)
    weights = torch.softmax(torch.randn(26, 34, 2), dim=-1)  # a 32x40 image's grid
    fig = overlay_on_image(face, weights, offset=3, owner=False)
    axes = [ax for ax in fig.axes if ax.get_images() and ax.get_label() != "<colorbar>"]
    rgb = face.permute(1, 2, 0).double().numpy() / 255
    np.testing.assert_allclose(axes[0].get_images()[0].get_array(), rgb, rtol=1e-6)
    grey = axes[1].get_images()[0].get_array()
    np.testing.assert_allclose(grey, rgb @ [0.299, 0.587, 0.114], rtol=1e-5)


def test_overlay_layers_and_per_image_rows():
    face = (torch.rand(3, 32, 32) * 255).to(torch.uint8)
    maps = {
        name: torch.softmax(torch.randn(32 - 2 * d, 32 - 2 * d, 2), dim=-1)
        for name, d in (("features.0", 1), ("features.3", 2), ("features.6", 3))
    }
    fig = overlay_layers(face, maps)
    overlays = [ax.get_images()[1] for ax in fig.axes if len(ax.get_images()) == 2]
    assert [im.get_extent()[0] for im in overlays] == [0.5] * 3 + [1.5] * 3 + [2.5] * 3

    faces = torch.rand(3, 3, 48, 48)
    weights = torch.softmax(torch.randn(3, 42, 42, 2), dim=-1)
    fig = overlay_per_image(faces, weights, offset=3, labels=["a", "b", "c"], owner=False)
    rows = [ax for ax in fig.axes if len(ax.get_images()) == 2]
    assert len(rows) == 3 * 2
    np.testing.assert_allclose(rows[2].get_images()[1].get_array(), weights[1, :, :, 0])
    with pytest.raises(ValueError, match="images"):
        overlay_per_image(faces[:2], weights)


def test_mean_image_of_uint8_and_float_images():
    images = torch.randint(0, 256, (5, 3, 4, 4), dtype=torch.uint8)
    expected = images.double().sum(0) / (5 * 255)
    torch.testing.assert_close(mean_image(images), expected.float())
    torch.testing.assert_close(mean_image(images.float() / 255), expected.float())


def test_deviation_draws_weights_minus_one_over_rank_on_one_symmetric_scale():
    face = torch.rand(3, 32, 32)
    maps = {
        "features.3": torch.softmax(0.1 * torch.randn(28, 28, 3), dim=-1),
        "features.6": torch.softmax(0.3 * torch.randn(26, 26, 3), dim=-1),
    }
    fig = overlay_layers(face, maps, deviation=True, owner=False)
    overlays = [ax.get_images()[1] for ax in fig.axes if len(ax.get_images()) == 2]
    assert len(overlays) == 2 * 3
    limit = max((w - 1 / 3).abs().max().item() for w in maps.values())
    for im in overlays:
        np.testing.assert_allclose(im.get_clim(), (-limit, limit), rtol=1e-6)
    np.testing.assert_allclose(
        overlays[4].get_array(), maps["features.6"][:, :, 1] - 1 / 3, rtol=1e-5, atol=1e-7
    )
    bars = [ax for ax in fig.axes if ax.get_label() == "<colorbar>"]
    assert len(bars) == 1
    plt.close(fig)
    # each row on its own scale, with its own colour bar: a layer that moved little shows
    fig = overlay_layers(face, maps, deviation=True, owner=False, shared_scale=False)
    overlays = [ax.get_images()[1] for ax in fig.axes if len(ax.get_images()) == 2]
    for row, w in enumerate(maps.values()):
        own = (w - 1 / 3).abs().max().item()
        for im in overlays[3 * row : 3 * row + 3]:
            np.testing.assert_allclose(im.get_clim(), (-own, own), rtol=1e-6)
    assert len([ax for ax in fig.axes if ax.get_label() == "<colorbar>"]) == 2
    plt.close(fig)
    # a layer still at 1/K does not stretch the shared scale (nor get a zero-width one)
    maps["features.3"] = torch.full((28, 28, 3), 1 / 3, dtype=torch.float64)
    for shared in (True, False):
        fig = overlay_layers(face, maps, deviation=True, owner=False, shared_scale=shared)
        overlays = [ax.get_images()[1] for ax in fig.axes if len(ax.get_images()) == 2]
        moved = (maps["features.6"] - 1 / 3).abs().max().item()
        flat = moved if shared else 1.0
        np.testing.assert_allclose(overlays[0].get_clim(), (-flat, flat), rtol=1e-6)
        np.testing.assert_allclose(overlays[3].get_clim(), (-moved, moved), rtol=1e-6)
        plt.close(fig)


def test_plot_owner_maps_one_panel_per_layer_with_distinct_colours():
    face = torch.rand(3, 32, 32)
    maps = {
        name: torch.softmax(torch.randn(32 - 2 * d, 32 - 2 * d, 12), dim=-1)
        for name, d in (("features.0", 1), ("features.6", 3))
    }
    fig = plot_owner_maps(face, maps)
    panels = [ax for ax in fig.axes if len(ax.get_images()) == 2]
    assert len(panels) == 2
    owners = np.asarray(panels[1].get_images()[1].get_array())
    np.testing.assert_array_equal(owners, owner_map(maps["features.6"]).numpy())
    assert panels[1].get_images()[1].get_extent() == [2.5, 28.5, 28.5, 2.5]
    assert len(set(owner_colors(12))) == 12 and len(set(owner_colors(30))) == 30
    # no grey basis: on a grey face (or a grey map) it could not be told from the image
    for rank in (4, 8, 9, 12, 16, 18):
        assert all(max(c) - min(c) > 0.05 for c in owner_colors(rank)), rank
    with pytest.raises(ValueError, match="one rank"):
        plot_owner_maps(face, {**maps, "features.3": torch.full((28, 28, 3), 1 / 3)})


@pytest.mark.parametrize("rank", [2, 8, 16])
def test_owner_legend_names_every_basis_inside_the_figure(rank):
    """Chapter 7's explorer at rank 16: one legend row of 16 would be cut at both ends."""
    face = torch.rand(3, 32, 32)
    maps = {
        name: torch.softmax(torch.randn(32 - 2 * d, 32 - 2 * d, rank), dim=-1)
        for name, d in (("features.0", 1), ("features.3", 2), ("features.6", 3))
    }
    fig = plot_owner_maps(face, maps, size=2.0)
    fig.canvas.draw()
    (legend,) = fig.legends
    assert [t.get_text() for t in legend.get_texts()] == [f"basis {k + 1}" for k in range(rank)]
    box = legend.get_window_extent(fig.canvas.get_renderer())
    assert box.x0 >= 0 and box.x1 <= fig.bbox.width and box.y0 >= 0
    plt.close(fig)


def test_overlay_layers_wraps_the_bases_and_keeps_a_given_size():
    face = torch.rand(3, 32, 32)
    maps = {
        name: torch.softmax(torch.randn(32 - 2 * d, 32 - 2 * d, 5), dim=-1)
        for name, d in (("features.0", 1), ("features.6", 3))
    }
    fig = overlay_layers(face, maps, bases_per_row=2, figsize=(6.0, 5.0))
    assert tuple(fig.get_size_inches()) == (6.0, 5.0)  # a legend row more does not grow it
    fig.canvas.draw()
    boxes = [ax.get_position() for ax in fig.axes if ax.get_label() != "<colorbar>"]
    assert len(boxes) == 2 * (1 + 5 + 1)
    image, bases, owner = boxes[0], boxes[1:6], boxes[6]
    # bases 1-2 on the image's line, 3-4 below them, 5 below basis 3; the owner map last
    assert [b.x0 for b in bases] == pytest.approx([bases[0].x0, bases[1].x0] * 2 + [bases[0].x0])
    assert bases[0].y0 == pytest.approx(image.y0)
    assert owner.y0 == pytest.approx(image.y0)
    assert bases[4].y1 < bases[2].y0 < bases[2].y1 < bases[0].y0
    assert owner.x0 > bases[1].x1
    assert boxes[7].y1 < bases[4].y0  # the second layer starts below the first's last line
    plt.close(fig)
    with pytest.raises(ValueError, match="bases_per_row must be at least 1"):
        overlay_layers(face, maps, bases_per_row=0)
