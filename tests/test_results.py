"""lrlc.results: finding, summarising and describing grids; learned combining weights."""

from __future__ import annotations

import json
import math
import statistics
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.colors import to_hex  # noqa: E402

from lrlc import LowRankLocallyConnected2d, results  # noqa: E402
from lrlc.datasets.cifar10 import JPEG_NOTE  # noqa: E402
from lrlc.experiments import learned_combining_logits  # noqa: E402
from lrlc.plotting import (  # noqa: E402
    _count_label,
    _far_from,
    draw_baseline,
    plot_accuracy_vs_params,
    plot_rank_sweep,
    plot_valid_curve_panels,
    plot_valid_curves,
    variant_color,
)


def run(layer, rank, seed, test, where="all", params=100, **extra):
    return {
        "layer": layer, "rank": rank, "where": where, "seed": seed, "epochs": 2, "lr": 0.05,
        "weight_decay": 5e-4, "valid_accuracy": test - 0.01, "test_accuracy": test,
        "params": params, "train_seconds": 1.0, "images_per_second": 10.0 * (seed + 1),
        "valid_curve": [test - 0.1, test - 0.01], "train_loss_curve": [1.0, 0.5], **extra,
    }  # fmt: skip


def grid(device="cpu", tuned=False, train_size=3000) -> dict:
    return {
        "dataset": "mnist",
        "data": {"source": "idx: $LRLC_DATA/MNIST/raw", "train_size": 3000, "valid_size": 1000,
                 "test_size": 10000, "is_subset": True,
                 "note": "train: A class-balanced subset: the first 300 images of each class. "
                         "test: The complete official split."},
        "device": device, "torch": "2.x", "commit": "0123456789abcdef", "date": "2026-11-23",
        "config": {"epochs": 2, "batch_size": 64, "amp": "float32", "task": "the 10 classes",
                   "train_size": train_size},
        "tuning": [{"family": "conv-all", "lr": 0.05}] if tuned else [],
        "chosen": {"conv-all": {"lr": 0.05, "weight_decay": 5e-4}},
        "runs": [run("conv", None, 0, 0.90), run("conv", None, 1, 0.94),
                 run("lrlc", 2, 0, 0.95, params=200), run("lrlc", 4, 0, 0.96, params=300),
                 run("lrlc", 4, 1, 0.98, params=300), run("lrlc", 4, 0, 0.91, "last")],
    }  # fmt: skip


@pytest.fixture
def results_dir(tmp_path, monkeypatch, results_only_in):
    folder = tmp_path / "results"
    folder.mkdir()
    monkeypatch.setenv("LRLC_RESULTS", str(folder))
    monkeypatch.chdir(tmp_path)
    results_only_in(folder)
    return folder


def write(path, raw):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(raw))


def test_summary_reads_validation_and_speed_from_their_own_fields():
    """A run best on test and worst on validation: the best rank is chosen on validation,
    the summary's validation mean is of validation accuracies, its speed the median."""
    raw = grid()
    raw["runs"].append(run("lrlc", 8, 0, 0.99, valid_accuracy=0.80))
    rows = {(r["layer"], r["rank"], r["where"]): r for r in results.summarize(raw)}
    assert rows["lrlc", 8, "all"]["valid_mean"] == pytest.approx(0.80)
    conv = rows["conv", None, "all"]
    speeds = sorted(r["images_per_second"] for r in raw["runs"] if r["layer"] == "conv")
    assert conv["images_per_second"] == pytest.approx(statistics.median(speeds))
    best = results.Results("mnist", raw, "results/cpu/mnist.json").best_lrlc()
    assert best["rank"] == 4  # 0.96 on validation, where rank 8 has 0.80


def test_summary_means_and_standard_deviations():
    rows = results.summarize(grid())
    assert [(r["layer"], r["rank"], r["where"]) for r in rows] == [
        ("conv", None, "all"), ("lrlc", 2, "all"), ("lrlc", 4, "all"), ("lrlc", 4, "last"),
    ]  # fmt: skip
    conv, _, rank4, _ = rows
    assert conv["seeds"] == 2 and conv["test_mean"] == pytest.approx(0.92)
    assert conv["test_std"] == pytest.approx(statistics.stdev([0.90, 0.94]))
    assert rank4["test_mean"] == pytest.approx(0.97) and rank4["params"] == 300
    assert rows[1]["test_std"] == 0.0  # one seed: no spread claimed


def test_load_prefers_the_reference_grid_over_the_cpu_grid(results_dir):
    write(results_dir / "cpu" / "mnist.json", grid())
    assert results.load("mnist").on_cpu
    assert results.load("mnist").origin == "results/cpu/mnist.json"
    write(results_dir / "mnist.json", grid(device="NVIDIA H100"))
    loaded = results.load("mnist")
    assert not loaded.on_cpu and loaded.origin == "results/mnist.json"


def test_load_reads_only_the_kinds_asked_for(results_dir):
    write(results_dir / "mnist.json", grid(device="NVIDIA H100"))
    with pytest.raises(FileNotFoundError, match="results/cpu/mnist.json"):
        results.load("mnist", kinds=("cpu",))  # the reference grid is not the CPU grid
    assert results.load_or_none("mnist", kinds=("cpu",)) is None
    write(results_dir / "cpu" / "mnist.json", grid())
    assert results.load("mnist", kinds=("cpu",)).origin == "results/cpu/mnist.json"
    assert results.load("mnist").origin == "results/mnist.json"
    with pytest.raises(ValueError, match="kinds must be some of"):
        results.load("mnist", kinds=("gpu",))
    # a grid says its kind, so that another dataset's grid of the same kind can be read
    assert results.load("mnist").kinds == ("",)
    assert results.load("mnist", kinds=("cpu",)).kinds == ("cpu",)
    assert results.load("mnist", path=results_dir / "mnist.json").kinds == results.KINDS


def test_kind_comes_from_the_folder_read_not_from_its_name(tmp_path, results_only_in):
    folder = tmp_path / "my-grids"  # $LRLC_RESULTS may have any name
    write(folder / "mnist.json", grid(device="NVIDIA H100"))
    results_only_in(folder)
    assert results.load("mnist").kinds == ("",)


def test_missing_results_name_the_command(results_dir):
    assert results.find("cifar10") is None
    with pytest.raises(FileNotFoundError, match="python -m lrlc.experiments cifar10"):
        results.load("cifar10")
    with pytest.raises(FileNotFoundError, match="python -m lrlc.experiments celeba"):
        results.load("celeba-attributes")


def test_missing_results_say_whether_the_book_site_was_asked(results_dir, monkeypatch):
    monkeypatch.setenv("LRLC_OFFLINE", "1")
    with pytest.raises(FileNotFoundError, match=r"not at https://\S+ \(LRLC_OFFLINE=1\)"):
        results.load("cifar10")
    monkeypatch.delenv("LRLC_OFFLINE")
    with pytest.raises(FileNotFoundError, match=r"parents, and at https://"):
        results.load("cifar10")


def test_missing_results_say_why_the_book_site_gave_none(tmp_path, monkeypatch):
    import urllib.error

    monkeypatch.setattr(results, "_search_dirs", lambda: [tmp_path])
    monkeypatch.delenv("LRLC_OFFLINE", raising=False)
    asked = []

    def no_network(url, timeout):
        asked.append(url)
        raise urllib.error.URLError("Name or service not known")

    monkeypatch.setattr(results.urllib.request, "urlopen", no_network)
    with pytest.raises(FileNotFoundError) as raised:
        results.load("mnist")
    message = str(raised.value)
    assert f"could not reach {results.RESULTS_URL}/mnist.json (Name or service not known)" in (
        message
    )
    assert "set LRLC_RESULTS to its results/ folder" in message
    assert asked == [f"{results.RESULTS_URL}/mnist.json"]  # no second wait for results/cpu/
    assert results.load_or_none("mnist") is None  # a chapter shows its note instead

    def not_there(url, timeout):
        asked.append(url)
        raise urllib.error.HTTPError(url, 404, "Not Found", {}, None)

    monkeypatch.setattr(results.urllib.request, "urlopen", not_there)
    with pytest.raises(FileNotFoundError) as raised:
        results.load("mnist")
    message = str(raised.value)  # the repository has no such grid: how to make it
    assert "parents, and at https://" in message and "Run the grid with" in message
    assert "clone" not in message
    assert asked[-2:] == [
        f"{results.RESULTS_URL}/mnist.json",
        f"{results.RESULTS_URL}/cpu/mnist.json",
    ]


def test_provenance_reads_each_split_from_its_data_note(results_dir):
    raw = grid()
    raw["dataset"], raw["data"]["test_size"] = "celeba", 1000
    own = "list_eval_partition.txt is not the official partition (10,000 rows): not comparable."
    raw["data"]["note"] = (
        f"train: A class-balanced subset: the first 1,500 images of each class. {own} "
        f"valid: A subset: 1,000 of the 19,867 images of this split. {own} "
        f"test: A subset: 1,000 of the 19,962 images of this split. {own}"
    )
    write(results_dir / "cpu" / "celeba.json", raw)
    text = results.load("celeba").provenance()
    # the copy's own partition is not "a subset of the official 19,962", and a validation
    # split that --valid-size left whole is not "class-balanced"
    assert "3,000 training images (a class-balanced subset of the data copy's own split)" in text
    assert "1,000 validation (the data copy's own split, not the official one)" in text
    assert "1,000 test (the data copy's own split, not the official one)" in text
    raw = grid()
    raw["dataset"] = "cifar10"
    jpeg = JPEG_NOTE[0].upper() + JPEG_NOTE[1:]  # as the note of a split starts with it
    raw["data"]["note"] = (
        f"train: A class-balanced subset: the first 300 images of each class. {jpeg}. "
        f"valid: {jpeg}. test: {jpeg}."
    )
    raw["data"]["valid_size"] = 5000
    write(results_dir / "cpu" / "cifar10.json", raw)
    text = results.load("cifar10").provenance()
    assert "3,000 training images (a class-balanced subset, JPEG copy)" in text
    assert "5,000 validation (the whole official split, JPEG copy)" in text


def test_provenance_says_device_subset_seeds_and_tuning(results_dir):
    write(results_dir / "cpu" / "mnist.json", grid())
    text = results.load("mnist").provenance()
    for phrase in ("the CPU", "1 to 2 seeds (of 0, 1) per variant", "not tuned",
                   "3,000 training images (a class-balanced subset)", "Commit 0123456789",
                   "2026-11-23"):  # fmt: skip
        assert phrase in text, phrase
    # each split says what it is: cut by --valid-size (not here), short of the official
    # 4,800 validation images, or the whole official test split
    assert "1,000 validation (a subset of the official 4,800)" in text
    assert "10,000 test (the whole official split)" in text
    full = grid(device="NVIDIA H100", tuned=True, train_size=None)
    full["data"]["note"] = "train: The complete official split."
    write(results_dir / "mnist.json", full)
    text = results.load("mnist").provenance()
    assert "NVIDIA H100 GPU" in text and "picked per layer type on the validation" in text
    assert "not tuned" not in text and "class-balanced" not in text
    assert "per variant, 2 epochs, batch 64" in text
    one_epoch = grid()
    one_epoch["config"]["epochs"] = 1
    write(results_dir / "mnist.json", one_epoch)
    assert "per variant, 1 epoch, batch 64" in results.load("mnist").provenance()
    assert "combining logits" not in results.load("mnist").provenance()
    one_epoch["config"]["combining_lr_scale"] = 10.0
    write(results_dir / "mnist.json", one_epoch)
    assert "the spatial combining logits at 10× the learning rate" in (
        results.load("mnist").provenance()
    )
    assert "augmented" not in results.load("mnist").provenance()  # no key: a file made before
    for plain in ("none (as the paper)", "none"):
        one_epoch["config"]["augmentation"] = plain
        write(results_dir / "mnist.json", one_epoch)
        assert "augmented" not in results.load("mnist").provenance()
    one_epoch["config"]["augmentation"] = "random crop after zero padding of 4 pixels"
    write(results_dir / "mnist.json", one_epoch)
    assert "the training images augmented (random crop after zero padding of 4 pixels)." in (
        results.load("mnist").provenance()
    )


def test_table_rows_and_difference_to_conv(results_dir):
    write(results_dir / "cpu" / "mnist.json", grid())
    table = results.load("mnist").table().data
    lines = table.splitlines()
    assert lines[0] == (
        "| variant | parameters | test accuracy (%), mean ± s.d. over seeds | vs conv (points) "
        "| seeds |"
    )
    assert "| convolution | 100 | 92.00 ± 2.83 | +0.00 | 2 |" in lines
    assert "| LRLC rank 2 | 200 | 95.00 | +3.00 | 1 |" in lines  # one seed: no ±
    assert "| LRLC rank 4 (last layer) | 100 | 91.00 | -1.00 | 1 |" in lines


def test_learned_combining_weights_round_trip_through_the_json(results_dir):
    torch.manual_seed(0)
    layer = LowRankLocallyConnected2d(2, 3, kernel_size=3, input_size=(8, 7), rank=4)
    with torch.no_grad():
        layer.combining_row.normal_()
        layer.combining_col.normal_()
    model = torch.nn.Sequential(torch.nn.Identity(), layer)
    maps = learned_combining_logits(model)
    assert list(maps) == ["1"]
    raw = grid()
    raw["runs"].append(run("lrlc", 4, 5, 0.9, combining_logits=json.loads(json.dumps(maps))))
    write(results_dir / "cpu" / "mnist.json", raw)
    loaded = results.load("mnist")
    weights = loaded.combining_weights(4, layer="1", seed=5)
    assert weights.shape == (6, 5, 4)
    # independent formula: softmax over ranks of row_i + col_j, element by element
    row, col = layer.combining_row.detach(), layer.combining_col.detach()
    i, j = 4, 2
    logits = row[i] + col[j]
    expected = logits.exp() / logits.exp().sum()
    torch.testing.assert_close(weights[i, j], expected, atol=2e-4, rtol=0)
    torch.testing.assert_close(weights, layer.combining_weights().detach(), atol=2e-4, rtol=0)
    with pytest.raises(KeyError, match="no combining logits"):
        loaded.combining_weights(4, layer="features.6", seed=5)
    with pytest.raises(KeyError, match="no LRLC rank 8"):
        loaded.combining_weights(8)


def test_rank_one_combining_weights_are_one_on_each_layers_output_grid(results_dir):
    raw = grid()
    raw["runs"].append(run("lrlc", 1, 0, 0.9))  # recorded no logits: there is nothing to learn
    write(results_dir / "cpu" / "mnist.json", raw)
    loaded = results.load("mnist")
    # 28x28 MNIST, 3x3 valid layers: output grids 26, 24, 22
    for layer, size in (("features.0", 26), ("features.3", 24), ("features.6", 22)):
        weights = loaded.combining_weights(1, layer=layer)
        assert weights.shape == (size, size, 1)
        assert torch.equal(weights, torch.ones(size, size, 1))
    with pytest.raises(KeyError, match="not an LRLC layer"):
        loaded.combining_weights(1, layer="classifier")
    with pytest.raises(KeyError, match="no LRLC rank 1 .* seed 7"):
        loaded.combining_weights(1, seed=7)


def test_variant_names():
    assert results.variant_name("lrlc", 4, "last") == "LRLC rank 4 (last layer)"
    assert (
        results.variant_name("lrlc_input", 4, "first")
        == "input-dependent LRLC rank 4 (first layer)"
    )
    assert results.variant_name("conv") == "convolution"
    assert results.variant_name("lrlc_input", 4) == "input-dependent LRLC rank 4"


def test_rank_sweep_and_curves_draw_every_variant(results_dir):
    write(results_dir / "cpu" / "mnist.json", grid())
    loaded = results.load("mnist")
    fig = plot_rank_sweep(loaded, title="MNIST")
    ax = fig.axes[0]
    assert ax.get_title() == "MNIST\n(CPU grid, 3,000 training images)"  # said even alone
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert sorted(labels) == [
        "LRLC, all three layers", "LRLC, last layer only", "convolution (92.0%)"
    ]  # fmt: skip
    assert [t.get_text() for t in ax.get_xticklabels()] == ["2", "4"]
    conv_line = [ln for ln in ax.get_lines() if ln.get_label() == "convolution (92.0%)"][0]
    assert conv_line.get_ydata()[0] == pytest.approx(92.0)
    fig.canvas.draw()  # the legend sits below the axes: it can hide no point
    renderer = fig.canvas.get_renderer()
    assert ax.get_legend().get_window_extent(renderer).y1 < ax.get_window_extent(renderer).y0
    plt.close(fig)
    fig = plot_valid_curves(loaded, [("conv", None, "all"), ("lrlc", 4, "all")])
    lines = fig.axes[0].get_lines()
    assert [ln.get_label() for ln in lines] == ["convolution", "LRLC rank 4"]
    assert list(lines[1].get_ydata()) == pytest.approx([87.0, 96.0])  # mean of two seeds
    plt.close(fig)


def test_rank_sweep_draws_means_and_one_standard_deviation_in_points(results_dir):
    raw = grid()
    raw["runs"] += [run("wide_conv", 4, s, acc, params=600) for s, acc in ((0, 0.96), (1, 1.0))]
    write(results_dir / "cpu" / "mnist.json", raw)
    loaded = results.load("mnist")
    std = {(r["layer"], r["rank"], r["where"]): 100 * r["test_std"] for r in loaded.summary()}
    ax = plot_rank_sweep(loaded).axes[0]
    sweeps = {c.get_label(): c for c in ax.containers}
    every, last = sweeps["LRLC, all three layers"], sweeps["LRLC, last layer only"]
    assert (every.lines[0].get_marker(), last.lines[0].get_marker()) == ("o", "s")
    assert list(every.lines[0].get_ydata()) == pytest.approx([95.0, 97.0])  # in points
    (_, low), (_, high) = every.lines[2][0].get_segments()[-1]  # rank 4's bar: mean +- std
    assert (high - low) / 2 == pytest.approx(std["lrlc", 4, "all"])
    assert ax.get_ylim()[1] >= 98.0 + std["wide_conv", 4, "all"]  # a band above LRLC shown
    assert ax.get_xscale() == "log" and ax.xaxis.get_transform().base == 2
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("rank $K$", "test accuracy (%)")
    plt.close("all")


def test_a_baseline_is_a_dashed_line_with_a_band_of_one_standard_deviation():
    fig, ax = plt.subplots()
    draw_baseline(ax, "conv", 92.0, 2.0, "convolution")
    draw_baseline(ax, "lc", 80.0, 0.0, "locally connected")  # one seed: no band
    (band,) = ax.patches
    assert (band.get_bbox().y0, band.get_bbox().y1) == (90.0, 94.0)
    styles = {"conv": "--", "lc": "-.", "wide_conv": "--", "coordconv": ":"}
    for layer, style in styles.items():
        draw_baseline(ax, layer, 50.0, 0.0, layer)
        assert ax.get_lines()[-1].get_linestyle() == style  # never LRLC's solid line
    plt.close(fig)
    assert not _far_from(95.0, [96.0, 96.5])  # within 2 points of a narrow range
    assert _far_from(93.9, [96.0, 96.5]) and not _far_from(50.0, [])
    assert (_count_label(50_000), _count_label(2_000_000)) == ("50k", "2M")


def test_rank_sweep_keeps_its_axis_on_lrlc_when_a_baseline_is_far_below(results_dir):
    """An LC at 20% would squash LRLC's 91-98% into a sliver: it is drawn off the axis, and
    its legend entry says where it is. A baseline far above stays on the axis: the best
    variant of a grid is never hidden."""
    raw = grid()
    raw["runs"] += [run("lc", None, 0, 0.20), run("coordconv", None, 0, 0.70)]
    raw["runs"] += [run("wide_conv", 4, 0, 0.9999)]
    for r in raw["runs"]:  # LRLC within a point: "far" is then anything 2 points away
        r["test_accuracy"] = 0.97 if r["layer"] == "lrlc" else r["test_accuracy"]
    write(results_dir / "cpu" / "mnist.json", raw)
    fig = plot_rank_sweep(results.load("mnist"))
    ax = fig.axes[0]
    low, high = ax.get_ylim()
    assert 92 < low < 97 and high > 99.99  # conv, CoordConv and LC below; wide conv on it
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "locally connected: 20.0%, below the axis" in labels
    assert "CoordConv: 70.0%, below the axis" in labels
    assert "convolution: 92.0%, below the axis" in labels
    assert "wide convolution (widened for rank 4) (100.0%)" in labels
    # every baseline its own colour and dash
    baselines = [ln for ln in ax.get_lines() if "%" in ln.get_label()]
    assert len({(ln.get_color(), str(ln.get_linestyle())) for ln in baselines}) == 4
    plt.close(fig)


def test_valid_curves_tell_placements_ranks_and_baselines_apart(results_dir):
    """Fifteen curves stay readable: LRLC blue and solid in all three layers, orange and
    dashed in the last one, darker with the rank; a baseline has its rank-sweep colour."""
    write(results_dir / "cpu" / "mnist.json", grid())
    loaded = results.load("mnist")
    shown = [("conv", None, "all"), ("lrlc", 2, "all"), ("lrlc", 4, "all"), ("lrlc", 4, "last")]
    fig = plot_valid_curves(loaded, shown)
    conv, low, high, last = fig.axes[0].get_lines()
    sweep = plot_rank_sweep(loaded)
    lines = sweep.axes[0].get_lines()
    (conv_level,) = [ln for ln in lines if ln.get_label().startswith("convolution")]
    assert to_hex(conv.get_color()) == to_hex(conv_level.get_color())
    assert low.get_linestyle() == high.get_linestyle() == "-" and last.get_linestyle() == "--"
    assert conv.get_linestyle() == "-" and conv.get_marker() == "."
    assert low.get_marker() != high.get_marker()  # a marker per rank: shades alone are close
    assert list(conv.get_xdata()) == [1, 2]  # epochs count from 1
    assert fig.axes[0].get_ylabel() == "validation accuracy (%)"
    assert variant_color("lrlc", 8) != variant_color("lrlc", 16)  # a shade per rank to 16
    assert sum(high.get_color()[:3]) < sum(low.get_color()[:3])  # higher rank, darker blue
    assert high.get_color()[2] > high.get_color()[0] and last.get_color()[0] > last.get_color()[2]
    # a rank has one shade in every figure, whichever ranks it is drawn with (chapter 8
    # draws ranks 1, 2 and 4; the gains figures draw 4 and 2)
    for line, variant in zip((conv, low, high, last), shown, strict=True):
        assert to_hex(line.get_color()) == to_hex(variant_color(*variant))
    plt.close(fig)
    plt.close(sweep)


def test_valid_curve_panels_split_a_whole_grid_in_three(results_dir):
    """Fifteen curves on one axes were a tangle: the baselines, LRLC in all layers and LRLC
    in the last layer get a panel each, with the convolution in every one."""
    raw = grid()
    raw["runs"] += [run("lc", None, 0, 0.7)]
    write(results_dir / "cpu" / "mnist.json", raw)
    fig = plot_valid_curve_panels(results.load("mnist"), title="MNIST")
    axes = fig.axes
    assert [ax.get_title() for ax in axes] == [
        "baselines", "LRLC, all three layers", "LRLC, last layer only"
    ]  # fmt: skip
    labels = [[ln.get_label() for ln in ax.get_lines()] for ax in axes]
    assert labels == [
        ["convolution", "locally connected"],
        ["convolution", "LRLC rank 2", "LRLC rank 4"],
        ["convolution", "LRLC rank 4 (last layer)"],
    ]
    assert axes[1].get_ylim() == axes[2].get_ylim()  # the two LRLC panels compare directly
    assert fig.get_suptitle() == "MNIST\n(CPU grid, 3,000 training images)"
    plt.close(fig)
    raw["runs"] = [r for r in raw["runs"] if r.get("where") != "last"]  # no last-layer runs
    write(results_dir / "cpu" / "mnist.json", raw)
    fig = plot_valid_curve_panels(results.load("mnist"))
    assert [ax.get_title() for ax in fig.axes] == ["baselines", "LRLC, all three layers"]
    plt.close(fig)


def test_first_layer_runs_get_a_colour_line_and_panel_of_their_own(results_dir):
    """``--layers lrlc@first:4`` (section 9.1's one layer alone): the figures drew only the
    placements "all" and "last" and failed on a third."""
    raw = grid()
    raw["runs"] += [run("lrlc", r, 0, 0.9 + 0.01 * r, "first", params=150) for r in (2, 4)]
    raw["runs"] += [run("lrlc_input", 4, 0, 0.9, "first", params=120)]
    write(results_dir / "cpu" / "mnist.json", raw)
    loaded = results.load("mnist")
    ax = plot_accuracy_vs_params(loaded).axes[0]
    assert "input-dep. 4, first" in [t.get_text() for t in ax.texts]  # not the all-layer one
    (first,) = [ln for ln in ax.get_lines() if ln.get_linestyle() == "-."]
    assert list(first.get_xdata()) == [150, 150] and first.get_color() == "C5"
    assert "LRLC, first layer only" in [t.get_text() for t in ax.get_legend().get_texts()]
    panels = plot_valid_curve_panels(loaded).axes
    assert panels[-1].get_title() == "LRLC, first layer only"
    assert [ln.get_label() for ln in panels[-1].get_lines()] == [
        "convolution", "LRLC rank 2 (first layer)", "LRLC rank 4 (first layer)"
    ]  # fmt: skip
    assert panels[-1].get_lines()[1].get_linestyle() == "-."
    sweep = plot_rank_sweep(loaded, wheres=("all", "first")).axes[0]
    assert "LRLC, first layer only" in [t.get_text() for t in sweep.get_legend().get_texts()]
    shades = {to_hex(variant_color("lrlc", 4, w)) for w in ("all", "last", "first")}
    assert len(shades) == 3  # one colour per placement
    plt.close("all")


def test_accuracy_vs_params_puts_each_variant_at_its_size(results_dir):
    raw = grid()
    raw["runs"] += [run("wide_conv", 4, 0, 0.93, params=600), run("lrlc_input", 4, 0, 0.9),
                    run("lc", None, 0, 0.7, params=40_000_000)]  # fmt: skip
    write(results_dir / "cpu" / "mnist.json", raw)
    fig = plot_accuracy_vs_params(results.load("mnist"))
    ax = fig.axes[0]
    (note,) = [t.get_text() for t in ax.texts if not hasattr(t, "xy")]
    assert note == "LC: 70.0% at 40.0M parameters (off the chart)"
    points = sorted((t.get_text(), t.xy) for t in ax.texts if hasattr(t, "xy"))
    assert points == [  # LRLC points are labelled with their rank
        ("2", (200, pytest.approx(95.0))),
        ("4", (100, pytest.approx(91.0))),  # the last layer only
        ("4", (300, pytest.approx(97.0))),
        ("conv", (100, pytest.approx(92.0))),  # mean of two seeds
        ("input-dep. 4", (100, pytest.approx(90.0))),
        ("wide conv (4)", (600, pytest.approx(93.0))),
    ]
    (line,) = [ln for ln in ax.get_lines() if ln.get_linestyle() == "-"]
    assert list(line.get_xdata()) == [200, 300]  # the LRLC ranks, all three layers
    assert list(line.get_ydata()) == pytest.approx([95.0, 97.0])  # through its points
    conv = next(c for c in ax.containers if c.lines[0].get_xdata()[0] == 100
                and c.lines[0].get_ydata()[0] == pytest.approx(92.0))  # fmt: skip
    ((_, low), (_, high)) = conv.lines[2][0].get_segments()[0]
    assert (high - low) / 2 == pytest.approx(100 * statistics.stdev([0.90, 0.94]))
    (dashed,) = [ln for ln in ax.get_lines() if ln.get_linestyle() == "--"]
    assert list(dashed.get_xdata()) == [100] and dashed.get_color() == "C1"
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["LRLC, all three layers", "LRLC, last layer only"]
    assert ax.get_xscale() == "log"
    plt.close(fig)


def test_accuracy_vs_params_labels_overlap_nothing_and_stay_inside(results_dir):
    """The convolution and CoordConv share a parameter count: their names were printed on
    top of each other, and the rightmost name ran out of the axes."""
    raw = grid()
    raw["runs"] += [run("coordconv", None, s, 0.92 + 0.001 * s, params=100) for s in (0, 1)]
    raw["runs"] += [run("wide_conv", 4, 0, 0.93, params=600)]
    write(results_dir / "cpu" / "mnist.json", raw)
    fig = plot_accuracy_vs_params(results.load("mnist"))
    ax = fig.axes[0]
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    boxes = [t.get_window_extent(renderer) for t in ax.texts if hasattr(t, "xy")]
    assert len(boxes) == 6
    frame = ax.get_window_extent(renderer)
    for n, box in enumerate(boxes):
        assert frame.x0 <= box.x0 and box.x1 <= frame.x1, ax.texts[n].get_text()
        assert not any(box.overlaps(other) for other in boxes[n + 1 :])
    plt.close(fig)


def test_accuracy_vs_params_labels_sit_by_their_own_point(results_dir):
    """Chapter 9's crowded panel of the misaligned faces (the committed CPU grid, at the
    chapter's panel size): "input-dep. 4" sat beside LRLC rank 2 and "wide conv (4)" under
    the input-dependent point. Each name must be nearer its own point than any other, or
    be joined to it by a line; and names take their point's colour."""
    committed = Path(__file__).resolve().parents[1] / "results" / "cpu" / "trans_celeba48.json"
    write(results_dir / "cpu" / "trans_celeba48.json", json.loads(committed.read_text()))
    fig, ax = plt.subplots(figsize=(3.9, 3.9), layout="constrained")
    plot_accuracy_vs_params(results.load("trans_celeba48"), ax=ax, legend=False)
    renderer = fig.canvas.get_renderer()
    names = [t for t in ax.texts if hasattr(t, "xy")]
    assert len(names) == 7
    points = [ax.transData.transform(t.xy) for t in names]
    for t, own in zip(names, points, strict=True):
        box = t.get_window_extent(renderer)

        def distance(p, box=box):
            return math.hypot(max(box.x0 - p[0], 0, p[0] - box.x1),
                              max(box.y0 - p[1], 0, p[1] - box.y1))  # fmt: skip

        nearest = min(distance(p) for p in points if tuple(p) != tuple(own))
        assert distance(own) < nearest or t.arrow_patch is not None, t.get_text()
    colors = {t.get_text(): t.get_color() for t in names}
    assert colors["input-dep. 4"] != colors["wide conv (4)"]
    plt.close(fig)


def test_load_or_none_pending_and_source_line(results_dir):
    assert results.load_or_none("mnist") is None
    note = results.pending("celeba-attributes", "Per-attribute results").data
    assert "Run pending" in note and "python -m lrlc.experiments celeba</code>" in note
    assert "results/cpu/celeba-attributes.json" in note
    write(results_dir / "cpu" / "mnist.json", grid())
    loaded = results.load_or_none("mnist")
    assert "results/cpu/mnist.json" in results.pending("mnist", "Maps", loaded).data
    line = loaded.source_line()
    assert line.startswith("From results/cpu/mnist.json: CPU, 1 to 2 seeds (of 0, 1) per variant")
    assert "not tuned" in line


def test_learned_logits(results_dir):
    raw = grid()
    maps = {"features.6": {"row": [[0.5, -0.5]], "col": [[1.0, 2.0], [3.0, 4.0]]}}
    raw["runs"].append(run("lrlc", 2, 0, 0.9, combining_logits=maps))
    write(results_dir / "cpu" / "mnist.json", raw)
    loaded = results.load("mnist")
    row, col = loaded.learned_logits(2)
    assert row.tolist() == [[0.5, -0.5]] and col.shape == (2, 2)
    assert loaded.learned_logits(2, "features.0") is None
    assert loaded.learned_logits(4) is None  # the rank-4 runs recorded no logits


def test_summary_order_does_not_depend_on_the_order_runs_were_made():
    raw = grid()
    raw["runs"] = [run("lrlc_input", 4, 0, 0.9), run("lrlc", 4, 0, 0.9, "first"),
                   run("lrlc", 4, 0, 0.9, "last"), run("lrlc", 2, 0, 0.9, "first"),
                   run("lrlc", 2, 0, 0.9), run("lc", None, 0, 0.8), run("lrlc", 1, 0, 0.9),
                   run("lrlc", 2, 0, 0.9, "last"), run("conv", None, 0, 0.9)]  # fmt: skip
    keys = [(r["layer"], r["rank"], r["where"]) for r in results.summarize(raw)]
    # each placement's ranks together: all three layers, the last, the first
    assert keys == [("conv", None, "all"), ("lc", None, "all"), ("lrlc", 1, "all"),
                    ("lrlc", 2, "all"), ("lrlc", 2, "last"), ("lrlc", 4, "last"),
                    ("lrlc", 2, "first"), ("lrlc", 4, "first"),
                    ("lrlc_input", 4, "all")]  # fmt: skip


def test_provenance_with_every_seed_and_with_runs_from_several_commits(results_dir):
    raw = grid()
    raw["runs"] = [r for r in raw["runs"] if r["layer"] == "conv"]  # two seeds, one variant
    write(results_dir / "cpu" / "mnist.json", raw)
    loaded = results.load("mnist")
    assert "2 seeds (0, 1) per variant" in loaded.provenance()
    assert "Commit 0123456789, 2026-11-23" in loaded.provenance()
    assert "2 seeds (0, 1) per variant" in loaded.source_line()
    raw["runs"][1]["commit"] = "fedcba9876543210"
    write(results_dir / "cpu" / "mnist.json", raw)
    text = results.load("mnist").provenance()
    # the file's date is that of its last run, not of every run
    assert (
        "Commits 0123456789, fedcba9876 (each run records its own), the last run 2026-11-23" in text
    )
    raw["runs"].append(run("lc", None, 0, 0.7, commit="fedcba9876543210-dirty"))
    write(results_dir / "cpu" / "mnist.json", raw)
    text = results.load("mnist").provenance()
    assert "Commits 0123456789, fedcba9876, fedcba9876-dirty (each run" in text
    # more than three: the first, the last and how many were dirty, not a wall of hashes
    for i, commit in enumerate(("aaaaaaaaaa11", "bbbbbbbbbb22-dirty")):
        raw["runs"].append(run("lc", None, 1 + i, 0.7, commit=commit))
    write(results_dir / "cpu" / "mnist.json", raw)
    text = results.load("mnist").provenance()
    assert (
        "Runs from 5 commits, 0123456789 first and bbbbbbbbbb-dirty last, 2 marked -dirty" in text
    )
    assert "fedcba9876" not in text


def test_provenance_of_a_grid_resumed_on_another_gpu(results_dir):
    """A reference grid grows over GPU sessions, which may lend different GPUs: the
    provenance names each device with its number of runs, not only the file's last one."""
    raw = grid(device="NVIDIA H200", tuned=True)
    raw["config"]["amp"] = "bf16 autocast"
    write(results_dir / "mnist.json", raw)
    assert "an NVIDIA H200 GPU (bf16 autocast)" in results.load("mnist").provenance()
    for r in raw["runs"][:2]:
        r["device"] = "NVIDIA H100 80GB HBM3"
    raw["runs"][2]["device"] = "NVIDIA H200"  # the others name none: the file's device
    write(results_dir / "mnist.json", raw)
    text = results.load("mnist").provenance()
    n = len(raw["runs"])
    assert f"several devices: NVIDIA H100 80GB HBM3 (2 runs), NVIDIA H200 ({n - 2} runs)" in text
    assert "PyTorch 2.x;" in text  # one version: the file's


def test_provenance_names_each_pytorch_version_of_a_resumed_grid(results_dir):
    """A grid resumed on a machine with another PyTorch names both versions, each with
    its number of runs (runs that record none count as the file's version)."""
    raw = grid()
    raw["runs"][0]["torch"] = "2.11.0+cu130"
    write(results_dir / "mnist.json", raw)
    text = results.load("mnist").provenance()
    n = len(raw["runs"])
    assert f"PyTorch 2.11.0+cu130 (1 run), 2.x ({n - 1} runs);" in text


def test_difference_noise_is_the_larger_of_test_and_seed_noise():
    one = {"test_mean": 0.9, "test_std": 0.0, "seeds": 1}
    scale, how = results.difference_noise(one, one, 1000)
    assert scale == pytest.approx(100 * (2 * 0.9 * 0.1 / 1000) ** 0.5)  # 1.34 points
    assert "seed noise unknown" in how
    noisy = {"test_mean": 0.9, "test_std": 0.03, "seeds": 3}
    assert results.difference_noise(noisy, noisy, 1000)[0] == pytest.approx(3.0)
    assert results.difference_noise(noisy, noisy, 10**9)[0] == pytest.approx(3.0)
    assert results.difference_noise(noisy, one, 1000)[0] == pytest.approx(scale)


def test_noise_note_gives_the_test_set_and_the_seed_noise(results_dir):
    write(results_dir / "cpu" / "mnist.json", grid())
    note = results.load("mnist").noise_note().splitlines()
    # variants at 92 (conv), 95, 97 and 91 (last layer): 91% is nearest 50%, largest error
    se = 100 * (0.91 * 0.09 / 10000) ** 0.5
    assert note[0].startswith(f"test-set standard error at 91.0% on 10,000 test images: {se:.2f}")
    assert f"below about {2 * 2**0.5 * se:.1f} points between accuracies near it" in note[0]
    assert "each comparison is judged at its own pair's accuracy" in note[0]
    spread = 100 * (statistics.stdev([0.90, 0.94]) + statistics.stdev([0.96, 0.98])) / 2
    assert f"mean over the 2 variants with several seeds: {spread:.2f} points" in note[1]
    assert note[1].endswith("(2 variants have one seed)")
    raw = grid()
    raw["runs"].append(run("lrlc", 2, 1, 0.95))  # rank 2 now has two seeds too
    write(results_dir / "cpu" / "mnist.json", raw)
    assert results.load("mnist").noise_note().endswith("(1 variant has one seed)")
    raw = grid()
    raw["runs"] = [r for r in raw["runs"] if r["seed"] == 0]
    write(results_dir / "cpu" / "mnist.json", raw)
    note = results.load("mnist").noise_note(accuracy=0.5)
    assert "at 50.0%" in note and "one seed per variant" in note


def test_comparison_puts_every_lrlc_variant_against_every_baseline_run(results_dir):
    raw = grid()
    raw["runs"] += [run("lc", None, 0, 0.70), run("wide_conv", 4, 0, 0.93),
                    run("coordconv", None, 0, 0.915), run("lrlc_input", 4, 0, 0.90)]  # fmt: skip
    write(results_dir / "cpu" / "mnist.json", raw)
    loaded = results.load("mnist")
    assert [r["layer"] for r in loaded.baselines()] == ["conv", "coordconv", "wide_conv", "lc"]
    lines = loaded.comparison().data.splitlines()
    assert lines[0].startswith("Best variant: LRLC rank 4, 97.00% test accuracy.")
    assert lines[2] == "| LRLC variant, minus: | conv | CoordConv | wide conv (rank 4) | LC |"
    # rank 2 scored 95% with one seed, so each threshold is the test set's noise at the
    # pair's mean accuracy, 2 x 100 sqrt(2 p (1 - p) / 10,000): conv 92 (mean of 90, 94),
    # CoordConv 91.5, wide 93, LC 70
    t = [2 * 100 * math.sqrt(2 * p * (1 - p) / 10_000) for p in (0.935, 0.9325, 0.94, 0.825)]
    assert lines[4] == (
        f"| LRLC rank 2 | **+3.00 (±{t[0]:.2f})** | **+3.50 (±{t[1]:.2f})** "
        f"| **+2.00 (±{t[2]:.2f})** | **+25.00 (±{t[3]:.2f})** |"
    )
    # rank 4 (97, 2 seeds, std 1.41) vs conv (2 seeds, std 2.83): +5.00 within 2 x 2.83
    assert lines[5].startswith("| LRLC rank 4 | +5.00 (±5.66) |")
    # 91 vs CoordConv 91.5: -0.50 is within the test set's noise at 91.25%
    assert "| -0.50 (±0.80) |" in lines[6]
    assert lines[7].startswith("| input-dependent LRLC rank 4 | **-2.00 (±")
    raw["runs"] = [r for r in raw["runs"] if r["layer"] == "lrlc"]
    write(results_dir / "cpu" / "mnist.json", raw)
    assert "No baseline run yet." in results.load("mnist").comparison().data


def test_lrlc_rows_by_kind_and_placement_in_rank_order(results_dir):
    raw = grid()
    raw["runs"] += [run("lrlc", 1, 0, 0.93), run("lrlc_input", 4, 0, 0.9)]
    write(results_dir / "cpu" / "mnist.json", raw)
    loaded = results.load("mnist")
    assert [r["rank"] for r in loaded.lrlc_rows()] == [1, 2, 4]
    assert [(r["rank"], r["test_mean"]) for r in loaded.lrlc_rows(where="last")] == [(4, 0.91)]
    assert [r["layer"] for r in loaded.lrlc_rows("lrlc_input")] == ["lrlc_input"]
    # validation = test - 1: rank 1 at 92, rank 2 at 94, rank 4 at 96 (mean of two seeds)
    assert loaded.best_lrlc()["rank"] == 4
    with pytest.raises(ValueError, match="'lrlc' or 'lrlc_input'"):
        loaded.lrlc_rows("conv")


def test_best_lrlc_gives_a_tie_to_the_lower_rank(results_dir):
    raw = grid()  # rank 2 validates at 94%, rank 4 at 96% (mean of two seeds)
    raw["runs"] += [run("lrlc", 8, 0, 0.96), run("lrlc", 8, 1, 0.98)]  # rank 8 ties rank 4
    raw["runs"] = raw["runs"][::-1]  # whatever the order of the file
    write(results_dir / "cpu" / "mnist.json", raw)
    assert results.load("mnist").best_lrlc()["rank"] == 4


def test_drawable_ranks_need_recorded_logits_for_every_layer(results_dir):
    logits = {"row": [[0.0, 1.0]] * 3, "col": [[1.0, 0.0]] * 3}
    raw = grid()  # ranks 2 and 4 in all layers, without recorded logits
    raw["runs"] += [run("lrlc", 1, 0, 0.93), run("lrlc", 8, 0, 0.9)]
    raw["runs"][2]["combining_logits"] = {"features.6": logits}  # rank 2, seed 0
    raw["runs"][-1]["combining_logits"] = {"features.0": logits, "features.6": logits}
    write(results_dir / "cpu" / "mnist.json", raw)
    loaded = results.load("mnist")
    assert loaded.drawable_ranks() == [1, 2, 8]  # rank 1 needs no maps; rank 4 has none
    assert loaded.drawable_ranks(("features.0", "features.6")) == [1, 8]


def test_judge_states_the_difference_its_verdict_and_threshold():
    a = {"test_mean": 0.95, "test_std": 0.01, "seeds": 3}
    b = {"test_mean": 0.92, "test_std": 0.005, "seeds": 3}
    # threshold: twice max(seed std 1.0, test 100 * sqrt(2 * 0.935 * 0.065 / 10000) = 0.35)
    assert results.judge(a, b, 10_000) == (
        "+3.00 points (larger than the noise: beyond ±2.00, 2× the larger of seed std 1.00 "
        "and test 0.35)"
    )
    assert results.judge(b, a, 10_000).startswith("-3.00 points (larger than the noise")
    close = {**a, "test_mean": 0.935}  # 1.5 points: less than twice the scale of 1.0
    assert results.judge(close, b, 10_000).startswith("+1.50 points (within the noise: ±2.00")
    one = {**a, "seeds": 1}
    assert results.judge(one, b, 10_000).endswith(
        "2× the test set's 0.35; one seed, so no seed noise)"
    )


def test_format_difference_bold_beyond_its_threshold_and_never_equal_to_it():
    a = {"test_mean": 0.95, "test_std": 0.01, "seeds": 3}
    b = {"test_mean": 0.92, "test_std": 0.005, "seeds": 3}
    assert results.format_difference(a, b, 10_000) == "**+3.00 (±2.00)**"
    assert results.format_difference({**a, "test_mean": 0.935}, b, 10_000) == "+1.50 (±2.00)"
    # 1.999 points against a threshold of 2.000: to two decimals both read 2.00
    near = {**a, "test_mean": 0.93999}
    assert results.format_difference(near, b, 10_000) == "+1.999 (±2.000)"
    # closer still: as many decimals as it takes, either side of the threshold
    assert results._as_text(1.9996, 2.00004) == ("+1.9996", "2.0000")
    assert results._as_text(-2.0004, 2.0) == ("-2.0004", "2.0000")


def test_last_gain_is_the_mean_gain_over_the_last_two_epochs(results_dir):
    raw = grid()
    raw["runs"] = [run("conv", None, 0, 0.9, valid_curve=[0.5, 0.6, 0.7, 0.9]),
                   run("conv", None, 1, 0.9, valid_curve=[0.5, 0.8, 0.8, 0.8])]  # fmt: skip
    write(results_dir / "cpu" / "mnist.json", raw)
    loaded = results.load("mnist")
    assert loaded.last_gain("conv") == pytest.approx((30 + 0) / 2)  # 0.6 -> 0.9, 0.8 -> 0.8
    with pytest.raises(KeyError, match="no LRLC rank 2 run"):
        loaded.last_gain("lrlc", 2)


def test_mean_curve_is_the_mean_over_the_seeds_epoch_by_epoch(results_dir):
    raw = grid()
    raw["runs"] = [run("conv", None, 0, 0.9, train_loss_curve=[0.75, 0.5, 0.25]),
                   run("conv", None, 1, 0.9, train_loss_curve=[0.25, 0.5, 0.25])]  # fmt: skip
    write(results_dir / "cpu" / "mnist.json", raw)
    loaded = results.load("mnist")
    mean = loaded.mean_curve("train_loss_curve", "conv")
    assert mean.dtype == torch.float64 and mean.tolist() == [0.5, 0.5, 0.25]
    assert loaded.mean_curve("valid_curve", "conv").tolist() == pytest.approx([0.8, 0.89])
    assert loaded.mean_curve("valid_curve", "lrlc", 2) is None  # no such run


def test_findings_put_the_grid_in_words(results_dir):
    raw = grid()
    raw["runs"] += [run("lrlc", 1, 0, 0.93), run("lrlc", 1, 1, 0.93), run("lc", None, 0, 0.70),
                    run("lrlc_input", 4, 0, 0.99)]  # fmt: skip
    write(results_dir / "cpu" / "mnist.json", raw)
    text = results.load("mnist").findings()
    lines = text.splitlines()
    assert lines[0] == "- Best test accuracy: input-dependent LRLC rank 4, 99.00%."
    # validation = test - 1 point: rank 4 (96, 98 -> 97) beats rank 2 (95) and rank 1 (93)
    assert lines[1] == "- LRLC rank 4, the best LRLC rank on validation, minus each baseline:"
    assert lines[2].startswith("  - convolution: +5.00 points (")
    assert lines[3].startswith("  - locally connected: +27.00 points (larger than the noise")
    assert (
        "LRLC rank 1, the convolution plus a learned bias per row and column, minus the "
        "convolution: +1.00 points (within the noise" in text
    )
    assert "needs no position-dependent filters" not in text  # said only of a real gain
    assert (
        "- LRLC rank 4 minus LRLC rank 1, what filters that vary with the position add to "
        "the spatial biases: +4.00 points" in text
    )
    assert (
        "- LRLC in the last layer only minus LRLC in all three layers, rank by rank:\n"
        "  - rank 4: -6.00 points (" in text
    )
    assert "the best last-layer rank" not in text  # the last layer ran no rank 1
    assert "- input-dependent LRLC rank 4 minus spatial LRLC rank 4: +2.00 points" in text
    assert "combining weights" not in text  # no run recorded them
    assert "gained over the last two epochs" in text and "median +9.00" in text
    # rank 4's lowest seed recorded its last layer's logits: row 0 favours basis 0
    row = [[2.0, 0.0, 0.0, 0.0]] + [[0.0] * 4] * 21
    logits = {"features.6": {"row": row, "col": [[0.0] * 4] * 22}}
    raw["runs"][3]["combining_logits"] = logits
    assert (raw["runs"][3]["rank"], raw["runs"][3]["seed"]) == (4, 0)
    write(results_dir / "cpu" / "mnist.json", raw)
    # validation = test - 1: in the last layer, rank 2 at 93 beats rank 4 at 90 and rank 1
    raw["runs"] += [run("lrlc", 1, 0, 0.90, "last"), run("lrlc", 2, 0, 0.94, "last")]
    write(results_dir / "cpu" / "mnist.json", raw)
    text = results.load("mnist").findings()
    assert "  - rank 1: -3.00 points (" in text and "  - rank 2: -1.00 points (" in text
    assert (
        "- LRLC rank 2 (last layer), the best last-layer rank on validation, minus LRLC rank 1 "
        "(last layer), what position-dependent filters add in the last layer: +4.00 points"
    ) in text
    top = math.exp(2) / (math.exp(2) + 3)  # in row 0; 1/4 in the other 21 rows
    largest = (top + 21 * 0.25) / 22
    assert f"last layer: mean largest weight {largest:.3f}, against 0.250 for uniform" in (
        results.load("mnist").findings()
    )


def test_per_label_is_the_mean_over_the_seeds_of_one_variant(results_dir):
    raw = grid()
    raw["runs"] = [run("conv", None, 0, 0.9, test_per_label=[0.5, 1.0, 0.75]),
                   run("conv", None, 1, 0.9, test_per_label=[0.7, 0.8, 0.25]),
                   run("lrlc", 4, 0, 0.9, test_per_label=[0.1, 0.2, 0.3]),
                   run("lrlc", 4, 0, 0.9, "last", test_per_label=[0.9, 0.9, 0.9]),
                   run("lrlc", 2, 0, 0.9)]  # fmt: skip
    write(results_dir / "cpu" / "celeba-attributes.json", raw)
    loaded = results.load("celeba-attributes")
    conv = loaded.per_label("conv")
    assert conv.dtype == torch.float64 and conv.shape == (3,)
    assert conv.tolist() == pytest.approx([(0.5 + 0.7) / 2, (1.0 + 0.8) / 2, (0.75 + 0.25) / 2])
    assert loaded.per_label("lrlc", 4).tolist() == pytest.approx([0.1, 0.2, 0.3])  # all layers
    assert loaded.per_label("lrlc", 4, "last").tolist() == pytest.approx([0.9, 0.9, 0.9])
    assert loaded.per_label("lrlc", 2) is None  # ran, but recorded no per-label accuracies
    assert loaded.per_label("lc") is None  # not run


def test_variant_runs_are_every_seed_of_one_variant_in_file_order(results_dir):
    write(results_dir / "cpu" / "mnist.json", grid())
    loaded = results.load("mnist")
    runs = loaded.variant_runs("lrlc", 4)
    assert [(r["seed"], r["test_accuracy"]) for r in runs] == [(0, 0.96), (1, 0.98)]
    assert [r["test_accuracy"] for r in loaded.variant_runs("lrlc", 4, "last")] == [0.91]
    assert [r["seed"] for r in loaded.variant_runs("conv")] == [0, 1]
    assert loaded.variant_runs("lc") == []


def test_beyond_noise_is_judges_verdict():
    a = {"test_mean": 0.93, "test_std": 0.0, "seeds": 1}
    b = {"test_mean": 0.90, "test_std": 0.0, "seeds": 1}
    close = {"test_mean": 0.915, "test_std": 0.0, "seeds": 1}
    # test noise of a difference on 1,000 images: 100 * sqrt(2 p (1 - p) / 1000), about
    # 1.25 points at p = 0.915 and 1.30 at 0.9075: 3 points clear twice it, 1.5 do not
    assert results.beyond_noise(a, b, 1_000) and results.beyond_noise(b, a, 1_000)
    assert not results.beyond_noise(close, b, 1_000)
    for x, y in ((a, b), (close, b)):
        verdict = results.judge(x, y, 1_000)
        assert ("larger than the noise" in verdict) == results.beyond_noise(x, y, 1_000)


def test_rank_sweep_sets_the_placements_side_by_side_and_curve_panels_share_one_axis(
    results_dir,
):
    write(results_dir / "cpu" / "mnist.json", grid())
    loaded = results.load("mnist")
    ax = plot_rank_sweep(loaded).axes[0]
    xs = [list(c.lines[0].get_xdata()) for c in ax.containers]  # one per placement
    # rank 4 exists in both placements: the markers sit apart, on either side of 4
    points = [x for values in xs for x in values if 3.5 < x < 4.5]
    assert len(points) == 2 and points[0] != points[1]
    assert min(points) < 4 < max(points)
    plt.close("all")
    fig = plot_valid_curve_panels(loaded)
    limits = {ax.get_ylim() for ax in fig.axes if ax.get_lines()}
    assert len(limits) == 1  # one y-axis for every panel
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    for ax in fig.axes:  # each legend below its own panel
        assert ax.get_legend().get_window_extent(renderer).y1 < ax.get_window_extent(renderer).y0
    plt.close(fig)


def test_setting_differences_names_dataset_config_and_data_in_order():
    a = results.Results("mnist", grid(), "a.json")
    same = results.Results("mnist", grid(), "b.json")
    assert results.setting_differences(a, same, ["epochs", "amp"]) == []
    raw = grid(train_size=1000)
    raw["dataset"] = "cifar10"
    raw["config"]["epochs"] = 24
    del raw["config"]["amp"]  # a file made before the entry: None, not equal
    raw["data"]["test_size"] = 5000
    b = results.Results("cifar10", raw, "b.json")
    keys = ["epochs", "amp", "batch_size", "train_size"]
    assert results.setting_differences(a, b, keys) == [
        "dataset", "epochs", "amp", "train_size", "data test_size",
    ]  # fmt: skip
    assert results.setting_differences(a, b, []) == ["dataset", "data test_size"]


def test_a_misspelt_grid_gets_the_close_names_and_no_wrong_command(results_dir, monkeypatch):
    monkeypatch.setenv("LRLC_OFFLINE", "1")
    write(results_dir / "cpu" / "cifar10.json", grid())
    with pytest.raises(FileNotFoundError) as info:
        results.load("cifar-10")
    message = str(info.value)
    assert "Did you mean 'cifar10'?" in message and "lrlc.experiments cifar " not in message
    assert "named after their dataset" in message
    with pytest.raises(FileNotFoundError, match=r"Did you mean 'cifar10'"):
        results.load("CIFAR10")
    with pytest.raises(FileNotFoundError, match=r"`python -m lrlc.experiments mnist \.\.\.`"):
        results.load("mnist-24-epochs")


def test_pool_makes_one_grid_of_files_of_other_seeds_or_variants():
    first = results.Results("mnist", grid(), "results/cpu/mnist.json", "cpu")
    more_raw = {**grid(), "date": "2026-12-07"}
    more_raw["runs"] = [run("conv", None, 2, 0.86), run("lrlc", 4, 2, 0.94, params=300),
                        run("lrlc", 2, 0, 0.93, "middle")]  # fmt: skip
    more = results.Results("mnist", more_raw, "results/cpu/mnist-seed-2.json", "cpu")
    pooled = results.pool(first, more)
    assert pooled.origin == "results/cpu/mnist.json + results/cpu/mnist-seed-2.json"
    assert pooled.raw["date"] == "2026-12-07" and pooled.kind == "cpu"
    assert len(pooled.runs) == len(first.runs) + 3
    conv = pooled.row("conv")  # seeds 0, 1 and 2: 0.90, 0.94, 0.86
    assert conv["seeds"] == 3 and conv["test_mean"] == pytest.approx(0.90)
    assert conv["test_std"] == pytest.approx(statistics.stdev([0.90, 0.94, 0.86]))
    assert pooled.row("lrlc", 2, "middle")["seeds"] == 1  # a variant of its own
    assert len(first.runs) == 6  # the files themselves are left as they were
    assert "results/cpu/mnist-seed-2.json`." in pooled.provenance()
    # a run both files hold is refused, naming it
    again_raw = {**more_raw, "runs": [run("lrlc", 4, 1, 0.97, params=300)]}
    again = results.Results("mnist", again_raw, "again.json")
    with pytest.raises(ValueError, match=r"mnist.json and again.json both hold LRLC rank 4 seed 1"):
        results.pool(first, again)
    # so is a file made with other settings, the logits' rate included
    other = results.Results("mnist", {**more_raw, "config": {**more_raw["config"],
                            "combining_lr_scale": 100.0}}, "fast.json")  # fmt: skip
    with pytest.raises(ValueError, match=r"fast.json differs from .*mnist.json in: combining_lr"):
        results.pool(first, other)


def test_best_rank_is_chosen_on_the_validation_mean_over_seeds():
    """Rank 8's first seed leads on validation, its mean does not: rank 4 is the best."""
    raw = grid()
    raw["runs"] += [run("lrlc", 8, 0, 0.90, valid_accuracy=0.99),
                    run("lrlc", 8, 1, 0.90, valid_accuracy=0.50)]  # fmt: skip
    loaded = results.Results("mnist", raw, "results/cpu/mnist.json", "cpu")
    assert loaded.row("lrlc", 8)["valid_mean"] == pytest.approx(0.745)
    assert loaded.best_lrlc()["rank"] == 4


def test_comparison_names_the_best_variant_on_test():
    raw = grid()
    raw["runs"].append(run("lc", None, 0, 0.99, valid_accuracy=0.50))
    lines = results.Results("mnist", raw, "m.json").comparison().data.splitlines()
    assert lines[0].startswith("Best variant: locally connected, 99.00% test accuracy.")


def test_findings_claim_no_gain_for_a_rank_one_network_that_lost():
    raw = grid()
    raw["runs"] += [run("lrlc", 1, 0, 0.80), run("lrlc", 1, 1, 0.80)]
    text = results.Results("mnist", raw, "m.json").findings()
    assert "minus the convolution: -12.00 points (larger than the noise" in text
    assert "needs no position-dependent filters" not in text


def test_a_difference_equal_to_its_threshold_is_within_the_noise():
    a = {"test_mean": 0.75, "test_std": 0.125, "seeds": 3}
    b = {"test_mean": 0.5, "test_std": 0.125, "seeds": 3}
    # 25 points against twice the seeds' 12.5; the test set's noise is negligible
    assert "(within the noise: ±25.0" in results.judge(a, b, 10**15)
    assert not results.beyond_noise(a, b, 10**15)


def test_load_needs_a_kind_to_look_in(results_dir):
    with pytest.raises(ValueError, match="kinds must be some of"):
        results.load("mnist", kinds=())


@pytest.mark.parametrize(
    "change, named",
    [
        (lambda raw: raw["config"].update(batch_size=128), "batch_size"),
        (lambda raw: raw["config"].update(augmentation="random crops"), "augmentation"),
        (lambda raw: raw["config"].update(combining_logits="one per position"), "combining_logits"),
        (lambda raw: raw["data"].update(source="pickle: $LRLC_DATA/c"), "data source"),
        (lambda raw: raw["data"].update(note="test: decoded from JPEG"), "data note"),
        (lambda raw: [r.update(weight_decay=0.0) for r in raw["runs"]], "LRLC's learning rate "
         "and weight decay"),
    ],
)  # fmt: skip
def test_grids_are_comparable_only_with_the_same_settings(change, named):
    base = results.Results("mnist", grid(), "base.json")
    raw = grid()
    change(raw)
    other = results.Results("mnist", raw, "other.json")
    with pytest.raises(ValueError, match=rf"other.json differs from base.json in .*{named}"):
        results.check_comparable(base, other)
    with pytest.raises(ValueError, match=rf"in: .*{named}"):
        results.pool(base, other)


def test_pool_checks_every_file_and_never_the_same_one_twice():
    first = results.Results("mnist", grid(), "first.json")
    seeds_2 = {**grid(), "runs": [run("conv", None, 2, 0.9)]}
    longer = {**grid(), "runs": [run("conv", None, 3, 0.9)]}
    longer["config"] = {**longer["config"], "epochs": 24}
    more = [results.Results("mnist", seeds_2, "two.json"),
            results.Results("mnist", longer, "longer.json")]  # fmt: skip
    with pytest.raises(ValueError, match=r"longer.json differs from first.json in: epochs"):
        results.pool(first, *more)
    with pytest.raises(ValueError, match=r"first.json and first.json both hold convolution seed 0"):
        results.pool(first, first)
