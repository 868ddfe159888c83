"""lrlc.explorers: the rank explorer over a grid's learned combining weights."""

from __future__ import annotations

import base64
import copy
import json
import re
import struct

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from lrlc import count_parameters, explorers, network_flops, results  # noqa: E402
from lrlc.explorers import (  # noqa: E402
    datasets_explorer,
    face_weights_explorer,
    face_weights_view,
    learned_weights_explorer,
    learned_weights_view,
    panel_grid,
    view_size,
)
from lrlc.models import paper_network  # noqa: E402
from lrlc.plotting import plot_logit_ownership  # noqa: E402


def run(rank, seed, test, logits=None, dataset="mnist"):
    params = count_parameters(paper_network("lrlc", rank, dataset))
    return {
        "layer": "lrlc", "rank": rank, "where": "all", "seed": seed, "epochs": 1, "lr": 0.05,
        "weight_decay": 0.0, "valid_accuracy": test, "test_accuracy": test, "params": params,
        "train_seconds": 1.0, "images_per_second": 1.0, "valid_curve": [test],
        "train_loss_curve": [1.0], **({"combining_logits": logits} if logits else {}),
    }  # fmt: skip


@pytest.fixture
def grid(tmp_path, results_only_in):
    """An MNIST grid: rank 1 (2 seeds), rank 2 with recorded last-layer logits, rank 4
    without any. The last layer's output grid on MNIST is 22 x 22."""
    torch.manual_seed(0)
    row, col = torch.randn(22, 2), torch.randn(22, 2)
    logits = {"features.6": {"row": row.tolist(), "col": col.tolist()}}
    raw = {
        "dataset": "mnist",
        "data": {"source": "idx", "train_size": 30, "valid_size": 10, "test_size": 10,
                 "is_subset": True, "note": ""},
        "device": "cpu", "torch": "2.x", "commit": "0123456789", "date": "2026-12-01",
        "config": {"epochs": 1, "batch_size": 8, "amp": "float32"}, "tuning": [],
        "chosen": {"lrlc-all": {"lr": 0.05, "weight_decay": 0.0}},
        "runs": [run(1, 0, 0.5), run(1, 1, 0.7), run(2, 0, 0.8, logits), run(4, 0, 0.9)],
    }  # fmt: skip
    folder = tmp_path / "results" / "cpu"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "mnist.json").write_text(json.dumps(raw))
    results_only_in(tmp_path / "results")
    return results.load("mnist"), torch.softmax(row[:, None] + col[None], dim=-1)


def test_view_draws_the_learned_weights_with_the_networks_numbers(grid):
    loaded, weights = grid
    fig, caption = learned_weights_view(loaded, 2)
    images = [ax.images[0] for ax in fig.axes if ax.images]
    assert len(images) == 2  # one panel per basis, on a fixed 2 x 4 grid
    # drawn minus 1/K on a scale centred on zero: near-uniform weights still show a pattern
    drawn = torch.tensor(images[1].get_array())
    torch.testing.assert_close(drawn, weights[:, :, 1].double() - 0.5)
    low, high = images[1].get_clim()
    assert low == -high == pytest.approx(-(weights - 0.5).abs().max().item())
    plt.close(fig)
    conv, lrlc2 = paper_network("conv", None, "mnist"), paper_network("lrlc", 2, "mnist")
    ratio = count_parameters(lrlc2) / count_parameters(conv)
    flops = sum(network_flops(lrlc2).values()) / sum(network_flops(conv).values())
    text = caption.data
    assert "test accuracy 80.00% (mean over 1 seed)" in text
    assert f"mean largest combining weight {weights.max(dim=-1).values.mean():.3f}" in text
    assert "(seed 0; uniform 1/2 = 0.5)" in text
    assert f"({ratio:.2f}× the convolutional network)" in text
    assert f"({flops:.2f}× its convolutions); CPU grid, 30 training images" in text
    fig, caption = learned_weights_view(loaded, 1)  # rank 1: one basis, weight 1
    assert "60.00% (mean over 2 seeds)" in caption.data and "uniform 1/1 = 1)" in caption.data
    plt.close(fig)


def test_views_fill_one_row_up_to_rank_4_and_keep_one_size(grid, tmp_path):
    """Rank 4 in one row (a 2 x 4 grid left an empty row beside a tall colour bar), two
    rows above; every view of one grid has the same size, so the slider's page does not
    jump, and a grid reaching rank 16 gets flatter views for its two rows of 8."""
    loaded, _ = grid
    assert [panel_grid(k) for k in (1, 2, 4, 8, 16)] == [(1, 1), (1, 2), (1, 4), (2, 4), (2, 8)]
    assert view_size(loaded) == (7.2, 3.0)
    logits = {"features.6": {"row": torch.randn(22, 16).tolist(),
                             "col": torch.randn(22, 16).tolist()}}  # fmt: skip
    raw = json.loads(json.dumps(loaded.raw))
    raw["runs"].append(run(16, 0, 0.9, logits))
    (tmp_path / "results" / "cpu" / "mnist.json").write_text(json.dumps(raw))
    bigger = results.load("mnist")
    assert view_size(bigger) == (7.2, 2.4)
    shapes = []
    for rank in (2, 16):
        fig, caption = learned_weights_view(bigger, rank)
        # 1/16 in full: rounded to 0.062 it read as below the uniform share
        assert rank == 2 or "(seed 0; uniform 1/16 = 0.0625)" in caption.data
        assert sum(1 for ax in fig.axes if ax.images) == rank
        shapes.append(tuple(fig.get_size_inches()))
        plt.close(fig)
    assert shapes == [(7.2, 2.4), (7.2, 2.4)]


def test_view_names_a_missing_run(grid):
    loaded, _ = grid
    with pytest.raises(KeyError, match="no LRLC rank 8 run"):
        learned_weights_view(loaded, 8)
    with pytest.raises(KeyError, match="no combining logits"):
        learned_weights_view(loaded, 4)


def test_explorer_opens_at_its_initial_rank_when_the_grid_has_it(grid, monkeypatch):
    loaded, _ = grid
    monkeypatch.setattr(explorers, "INITIAL_RANK", 1)  # the fixture draws ranks 1 and 2
    assert re.search(r'<input [^>]*value="1"', learned_weights_explorer(loaded).data)


def test_explorer_has_a_view_per_drawable_rank(grid):
    loaded, _ = grid
    page = learned_weights_explorer(loaded).data
    alts = re.findall(r'alt="([^"]*)"', page)
    assert alts == [
        f"Learned combining weights minus 1/{k} of the last layer at rank {k}, one panel "
        "per basis, on a red-blue scale centred on zero"
        for k in (1, 2)  # rank 4 recorded no weights
    ]
    # it opens at rank 4 where it can, else at the largest rank: rank 1 is one flat map
    assert re.search(r'<input [^>]*value="2"', page)
    note = learned_weights_explorer(loaded, layer="features.0").data
    assert "Run pending" in note and "results/cpu/mnist.json" in note


@pytest.fixture
def faces_grid(tmp_path, results_only_in):
    """A CelebA grid with every layer's logits at ranks 2 and 8 (the three output grids
    30, 28 and 26 pixels wide on 32x32 faces), and rank 4 without any; the weights."""
    torch.manual_seed(1)
    logits, weights = {}, {}
    for rank in (2, 8):
        logits[rank], weights[rank] = {}, {}
        for name, size in (("features.0", 30), ("features.3", 28), ("features.6", 26)):
            row, col = torch.randn(size, rank), torch.randn(size, rank)
            logits[rank][name] = {"row": row.tolist(), "col": col.tolist()}
            weights[rank][name] = torch.softmax(row[:, None] + col[None], dim=-1)
    raw = {
        "dataset": "celeba",
        "data": {"source": "celeba", "train_size": 40, "valid_size": 10, "test_size": 10,
                 "is_subset": True, "note": ""},
        "device": "cpu", "torch": "2.x", "commit": "0123456789", "date": "2026-12-01",
        "config": {"epochs": 1, "batch_size": 8, "amp": "float32"}, "tuning": [],
        "chosen": {"lrlc-all": {"lr": 0.05, "weight_decay": 0.0}},
        "runs": [run(2, 0, 0.8, logits[2], "celeba"), run(2, 1, 0.9, logits[2], "celeba"),
                 run(4, 0, 0.7, None, "celeba"), run(8, 0, 0.6, logits[8], "celeba")],
    }  # fmt: skip
    folder = tmp_path / "results" / "cpu"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "celeba.json").write_text(json.dumps(raw))
    results_only_in(tmp_path / "results")
    return results.load("celeba"), weights


def test_face_view_draws_every_layer_over_the_image_at_one_size(faces_grid):
    loaded, weights = faces_grid
    face = torch.rand(3, 32, 32)
    sizes = []
    for rank in (2, 8):
        fig, caption = face_weights_view(loaded, face, rank)
        sizes.append(tuple(fig.get_size_inches()))
        panels = [ax for ax in fig.axes if len(ax.images) == 2]  # maps over the face
        assert len(panels) == 3 * (rank + 1)  # per layer: the bases and the owner map
        limit = max((w - 1 / rank).abs().max().item() for w in weights[rank].values())
        for layer, w in enumerate(weights[rank].values()):
            for k in range(rank):
                im = panels[layer * (rank + 1) + k].images[1]
                torch.testing.assert_close(
                    torch.tensor(im.get_array()), (w[:, :, k] - 1 / rank).double()
                )
                assert im.get_clim() == pytest.approx((-limit, limit))
        tops = ", ".join(f"{w.max(dim=-1).values.mean():.3f}" for w in weights[rank].values())
        assert f"per layer, first to last: {tops} (seed 0; uniform 1/{rank} =" in caption.data
        assert "; CPU grid, 40 training images" in caption.data
        titles = [ax.get_title() for ax in fig.axes[1 : rank + 1]]
        if rank == 8:  # small panels: the basis numbers, and bases 5 to 8 on a second line
            assert titles == [str(k) for k in range(1, 9)]
            first, fifth = fig.axes[1].get_position(), fig.axes[5].get_position()
            assert first.x0 == pytest.approx(fifth.x0) and fifth.y1 < first.y0
        else:
            assert titles == ["$w_{ij1} - 1/2$", "$w_{ij2} - 1/2$"]
        plt.close(fig)
    assert sizes[0] == sizes[1]  # the page does not jump as the slider moves
    assert "test accuracy 85.00% (mean over 2 seeds)" in face_weights_view(loaded, face, 2)[1].data
    plt.close("all")
    with pytest.raises(KeyError, match="no combining logits"):
        face_weights_view(loaded, face, 4)
    with pytest.raises(KeyError, match="no LRLC rank 16 run"):
        face_weights_view(loaded, face, 16)


def test_face_explorer_has_a_view_per_rank_with_every_layer_drawn(faces_grid):
    loaded, _ = faces_grid
    face = torch.rand(3, 32, 32)
    page = face_weights_explorer(loaded, face).data
    alts = re.findall(r'alt="([^"]*)"', page)
    assert [re.search(r"at rank (\d+)", a).group(1) for a in alts] == ["2", "8"]
    assert re.search(r'<input [^>]*value="8"', page)  # rank 4 (no weights): the largest
    note = face_weights_explorer(loaded, face, layers=("features.0", "features.9")).data
    assert "Run pending" in note


def test_datasets_explorer_has_every_grid_at_every_rank_at_one_size(grid, faces_grid):
    (mnist, _), (celeba, _) = grid, faces_grid
    page = datasets_explorer({"MNIST": mnist, "CelebA": celeba}).data
    alts = re.findall(r'alt="([^"]*)"', page)
    # ranks above 1 that either grid drew: MNIST has 2, CelebA 2 and 8 (neither has 4)
    assert [re.match(r"(\w+): .*rank (\d+)", a).groups() for a in alts] == [
        ("MNIST", "2"), ("MNIST", "8"), ("CelebA", "2"), ("CelebA", "8")
    ]  # fmt: skip
    # MNIST's rank 8 is a note, not weights, and its alt text says so
    assert (
        alts[1]
        == "MNIST: no weights to draw; this grid did not run LRLC of rank 8 (all three layers)"
    )
    assert all("minus 1/" in a for a in (alts[0], *alts[2:]))
    # a run without recorded weights is told apart from no run at all
    fig, caption = explorers._no_run_view(celeba, 4, (7.2, 2.4))
    assert "LRLC rank 4 run recorded no combining weights" in caption.data
    assert tuple(fig.get_size_inches()) == (7.2, 2.4)
    sizes = {
        struct.unpack(">II", base64.b64decode(src)[16:24])
        for src in re.findall(r"data:image/png;base64,([A-Za-z0-9+/=]+)", page)
    }
    assert len(sizes) == 1  # one size: the page does not jump between grids or ranks
    assert re.search(r'<input [^>]*value="8"', page)  # no rank 4: it opens at the largest
    assert re.search(r'<option value="0" selected>MNIST</option>', page)
    note = datasets_explorer({"MNIST": mnist}, layer="features.0").data
    assert "Run pending" in note and "results/cpu/mnist.json" in note
    with pytest.raises(ValueError, match="at least one grid"):
        datasets_explorer({})


def test_logit_ownership_marks_the_basis_with_the_largest_logit_sum():
    row = torch.tensor([[0.0, 1.0], [2.0, 0.0], [0.0, 0.0]])  # (H_out 3, rank 2)
    col = torch.tensor([[0.0, 0.5], [0.0, -1.5]])  # (W_out 2, rank 2)
    fig = plot_logit_ownership(row, col)
    owner = fig.axes[0].images[0].get_array()
    # independent: basis 2 wins at (i, j) when r_i2 - r_i1 + c_j2 - c_j1 > 0
    expected = [[int(row[i, 1] - row[i, 0] + col[j, 1] - col[j, 0] > 0) for j in range(2)]
                for i in range(3)]  # fmt: skip
    assert owner.tolist() == expected
    centred = fig.axes[1].get_lines()[1].get_ydata()  # basis 2's row logits minus the mean
    assert list(centred) == pytest.approx([0.5, -1.0, 0.0])
    # the legend sits below the column panel, covering none of its curves, on the figure
    fig.canvas.draw()
    legend = fig.axes[2].get_legend().get_window_extent()
    assert legend.y1 <= fig.axes[2].get_window_extent().y0
    assert legend.y0 >= fig.bbox.y0 and legend.x1 <= fig.bbox.x1
    plt.close(fig)
    with pytest.raises(ValueError, match="same rank"):
        plot_logit_ownership(row, col[:, :1])


def test_explorer_works_without_jupyter(grid, monkeypatch):
    """lrlc installed alone (no IPython): the explorer is still a page of HTML."""
    import sys

    monkeypatch.setitem(sys.modules, "IPython", None)
    loaded, _ = grid
    page = learned_weights_explorer(loaded)
    assert page._repr_html_() == page.data and page.data.count("<img") == 2
    assert "test accuracy" in page.data  # the views' captions, no IPython.display.HTML


# From a mutation audit: each test fails where the code it guards is broken ----------


def test_explorer_caption_gives_the_test_accuracy_not_validation(grid):
    raw = copy.deepcopy(grid[0].raw)
    raw["runs"][2]["valid_accuracy"] = 0.7  # rank 2: test 0.8
    fig, caption = learned_weights_view(results.Results("mnist", raw, "results/cpu/mnist.json"), 2)
    assert "test accuracy 80.00%" in caption.data
    plt.close(fig)
