"""lrlc.logit_rate: grids that differ only in the combining logits' learning rate."""

import copy
import json
import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from logit_grids import (  # noqa: E402
    first_layer_runs,
    grid,
    largest,
    last_layer_runs,
    layered,
    logits,
    lrlc_run,
    table_cells,
)

from lrlc import logit_rate  # noqa: E402
from lrlc.results import (  # noqa: E402
    DIFFERENCE_NOTE,
    SHORT_DIFFERENCE_NOTE,
    Results,
    format_difference,
)


def test_combining_lr_scale_reads_the_config_and_defaults_to_one():
    assert grid(None, (0.9, 0.9), 0.0).combining_lr_scale == 1.0
    assert grid(100, (0.9, 0.9), 0.0).combining_lr_scale == 100.0


def test_mean_largest_weight_is_uniform_at_zero_logits_and_follows_the_softmax():
    assert logit_rate.mean_largest_weight(grid(None, (0.9, 0.9), 0.0), 4, "features.0") == (
        pytest.approx(0.25)
    )
    g = grid(10, (0.9, 0.9), 2.0)
    g.raw["runs"][1]["combining_logits"] = logits(1.0)  # seed 1: a smaller lead
    expected = (largest(2.0) + largest(1.0)) / 2  # the mean over seeds
    assert logit_rate.mean_largest_weight(g, 4, "features.6") == pytest.approx(expected)
    with pytest.raises(KeyError, match="no LRLC rank 2 run"):
        logit_rate.mean_largest_weight(g, 2, "features.6")


def test_table_one_row_per_rate_in_order_then_the_baselines():
    base = grid(None, (0.90, 0.92), 0.0)
    fast, faster = grid(10, (0.93, 0.95), 1.0), grid(100, (0.95, 0.97), 2.0)
    text = logit_rate.table(base, [faster, fast]).data
    lines = [ln for ln in text.splitlines() if ln.startswith("| ")]
    assert lines[0].split(" | ")[2:4] == ["− logits at 1×", "− LC"]
    names = [ln.split(" | ")[0].lstrip("| ") for ln in lines[1:]]
    assert names == [
        "LRLC rank 4, logits at 1× (the grid)",
        "LRLC rank 4, logits at 10×",
        "LRLC rank 4, logits at 100×",
        "convolution",
        "LRLC rank 1",
        "locally connected",
    ]
    base_row, _, top = (ln.split(" | ") for ln in lines[1:4])
    assert base_row[2] == "" and top[1] == "96.00\u00a0±\u00a01.41"
    assert top[2] == "**+5.00 (±2.83)**"  # 96.0 - 91.0, 2 × the seed std 1.41
    assert top[3] == "+0.00 (±2.83)"  # level with LC (96.0)
    assert top[4].rstrip(" |") == " · ".join([f"{largest(2.0):.3f}"] * 3)
    assert base_row[4].rstrip(" |") == "0.250 · 0.250 · 0.250"


def test_table_ends_with_the_references_asked_for_in_their_order():
    base = grid(None, (0.90, 0.92), 0.0)
    text = logit_rate.table(
        base, [grid(100, (0.95, 0.97), 2.0)], references=[("lc", None), ("coordconv", None)]
    ).data
    lines = [ln for ln in text.splitlines() if ln.startswith("| ")]
    names = [ln.split(" | ")[0].lstrip("| ") for ln in lines[1:]]
    # CoordConv never ran in the base grid: left out, not an empty row
    assert names[2:] == ["locally connected"]


def test_table_without_lc_in_the_base_grid_has_no_lc_column():
    base = grid(None, (0.90, 0.92), 0.0)
    base.raw["runs"] = [r for r in base.raw["runs"] if r["layer"] != "lc"]
    lines = [
        ln
        for ln in logit_rate.table(base, [grid(100, (0.95, 0.97), 2.0)]).data.splitlines()
        if ln.startswith("| ")
    ]
    assert "− LC" not in lines[0]
    assert {ln.count(" | ") for ln in lines} == {3}  # four columns in every row


def test_grids_of_other_settings_or_the_same_rate_are_refused():
    base = grid(None, (0.90, 0.92), 0.0)
    longer = grid(10, (0.93, 0.95), 1.0)
    longer.raw["config"]["epochs"] = 24
    with pytest.raises(ValueError, match=r"more than the combining logits' learning rate: epochs"):
        logit_rate.table(base, [longer])
    other_data = grid(10, (0.93, 0.95), 1.0)
    other_data.raw["data"]["train_size"] = 6000
    with pytest.raises(ValueError, match="data train_size"):
        logit_rate.table(base, [other_data])
    other_lr = copy.deepcopy(grid(10, (0.93, 0.95), 1.0))
    for r in other_lr.raw["runs"]:
        r["lr"] = 0.1
    with pytest.raises(ValueError, match="LRLC's learning rate and weight decay"):
        logit_rate.plot_weights(base, [other_lr])
    other_rank = grid(10, (0.93, 0.95), 1.0)  # one family: every rank trained alike
    other_rank.raw["runs"].append({**lrlc_run(0, 0.9, 1.0), "rank": 2, "lr": 0.1})
    with pytest.raises(ValueError, match="LRLC's learning rate and weight decay"):
        logit_rate.table(base, [other_rank])
    with pytest.raises(ValueError, match="the same combining-logit rate"):
        logit_rate.table(base, [grid(10, (0.9, 0.9), 1.0), grid(10, (0.9, 0.9), 1.0)])


def test_plot_weights_one_row_per_rate_on_one_scale():
    base, fast = grid(None, (0.90, 0.92), 0.0), grid(100, (0.95, 0.97), 2.0)
    fig = logit_rate.plot_weights(base, [fast], layer="features.3")
    panels = [ax for ax in fig.axes if ax.images]
    assert len(panels) == 2 * 4
    assert [ax.get_ylabel() for ax in panels[::4]] == ["logits at 1×", "logits at 100×"]
    assert all(ax.images[0].get_clim() == (0, 1) for ax in panels)
    assert panels[0].images[0].get_array().max() == pytest.approx(0.25)
    assert panels[4].images[0].get_array().min() == pytest.approx(largest(2.0))  # basis 1
    plt.close(fig)


def test_load_finds_the_rates_there_are_lowest_first(tmp_path, results_only_in):
    folder = tmp_path / "results"
    (folder / "cpu").mkdir(parents=True)
    results_only_in(folder)
    for rate in (1000, 10):
        raw = grid(rate, (0.9, 0.9), 1.0).raw
        (folder / "cpu" / f"mnist-combining-lr-{rate}.json").write_text(json.dumps(raw))
    found = logit_rate.load("mnist")
    assert [g.combining_lr_scale for g in found] == [10.0, 1000.0]  # no 100: not run
    assert found[0].origin == "results/cpu/mnist-combining-lr-10.json"
    assert logit_rate.load("celeba") == []


def test_load_with_base_never_mixes_a_reference_grid_with_cpu_runs(tmp_path, results_only_in):
    folder = tmp_path / "results"
    (folder / "cpu").mkdir(parents=True)
    results_only_in(folder)
    assert logit_rate.load_with_base("mnist") == (None, [])
    (folder / "cpu" / "mnist.json").write_text(json.dumps(grid(None, (0.9, 0.9), 0.0).raw))
    (folder / "cpu" / "mnist-combining-lr-100.json").write_text(
        json.dumps(grid(100, (0.95, 0.95), 2.0).raw)
    )
    # a reference grid arrives, without faster-logit runs of its own: the CPU pair stays
    (folder / "mnist.json").write_text(json.dumps(grid(None, (0.97, 0.97), 0.0).raw))
    base, scaled = logit_rate.load_with_base("mnist")
    assert base.origin == "results/cpu/mnist.json"
    assert [g.origin for g in scaled] == ["results/cpu/mnist-combining-lr-100.json"]
    # and once it has some, the reference pair
    (folder / "mnist-combining-lr-100.json").write_text(
        json.dumps(grid(100, (0.98, 0.98), 2.0).raw)
    )
    base, scaled = logit_rate.load_with_base("mnist")
    assert base.origin == "results/mnist.json"
    assert [g.origin for g in scaled] == ["results/mnist-combining-lr-100.json"]


def test_load_one_layer_finds_each_placement_of_the_grids_kind(tmp_path, results_only_in):
    folder = tmp_path / "results"
    (folder / "cpu").mkdir(parents=True)
    results_only_in(folder)
    raw = {rate: grid(rate, (0.9, 0.9), 1.0).raw for rate in (None, 10, 100)}
    for name in ("mnist", "celeba", "cifar10"):
        (folder / "cpu" / f"{name}.json").write_text(json.dumps(raw[None]))
    for name in ("mnist", "celeba"):  # CIFAR-10 has no runs at 100x
        (folder / "cpu" / f"{name}-combining-lr-100.json").write_text(json.dumps(raw[100]))
    (folder / "cpu" / "cifar10-combining-lr-10.json").write_text(json.dumps(raw[10]))
    for name, places in (
        ("mnist", logit_rate.ONE_LAYER),
        ("celeba", ("last", "first")),
        ("cifar10", logit_rate.ONE_LAYER),
    ):
        for where in places:
            path = folder / "cpu" / f"{name}-{where}-layer-combining-lr-100.json"
            path.write_text(json.dumps(raw[100]))
    # a reference file of the last layer alone: another kind than the CPU grid's, unused
    (folder / "mnist-last-layer-combining-lr-100.json").write_text(json.dumps(raw[100]))
    with_faster = {name: logit_rate.load_with_base(name) for name in ("mnist", "celeba", "cifar10")}
    last, first, middle = logit_rate.load_one_layer(with_faster)
    assert list(last) == ["mnist", "celeba"]  # CIFAR-10: no grid at 100x to stand beside
    base, fast, last_mnist = last["mnist"]
    assert base.origin == "results/cpu/mnist.json"
    assert fast.origin == "results/cpu/mnist-combining-lr-100.json"
    assert last_mnist.origin == "results/cpu/mnist-last-layer-combining-lr-100.json"
    assert list(first) == list(middle) == ["mnist"]  # CelebA lacks the middle layer's runs
    assert middle["mnist"].origin == "results/cpu/mnist-middle-layer-combining-lr-100.json"
    assert logit_rate.load_one_layer({"mnist": (None, [])}) == ({}, {}, {})


def test_rank_table_sets_the_dial_at_two_rates_side_by_side():
    base = grid(None, (0.90, 0.92), 0.0)
    base.raw["runs"] += [{**lrlc_run(s, 0.89, 0.0), "rank": 2, "params": 200} for s in (0, 1)]
    fast = grid(100, (0.95, 0.97), 2.0)
    for rank, test in ((2, 0.93), (8, 0.97)):
        fast.raw["runs"] += [
            {**lrlc_run(s, test, 1.0), "rank": rank, "params": 100 * rank,
             "combining_logits": logits(1.0, rank)}
            for s in (0, 1)
        ]  # fmt: skip
    text = logit_rate.rank_table(base, [fast], rate=100).data
    lines = table_cells(text)
    assert lines[0][2:5] == ["logits at 1× (the grid)", "logits at 100×", "100× − 1×"]
    rows = {ln[0].lstrip("| "): ln for ln in lines[1:]}
    assert list(rows) == ["1", "2", "4", "8"]
    assert rows["1"][3] == "no logits"
    # 93 - 89; seeds alike, so the test set sets it: 2 x 100 x sqrt(2 x .91 x .09 / 10,000)
    assert rows["2"][1] == "200" and rows["2"][4] == "**+4.00 (±0.81)**"
    assert rows["8"][2] == "not run" and rows["8"][4] == ""
    two = math.exp(1.0) / (math.exp(1.0) + 1)  # the larger of softmax([1, 0])
    assert rows["2"][5].rstrip(" |") == " · ".join([f"{two:.3f}"] * 3)
    with pytest.raises(ValueError, match=r"no grid with the logits at 10× \(have: 100×\)"):
        logit_rate.rank_table(base, [fast], rate=10)
    # the note says how the threshold is made; later tables on the page say it briefly
    assert text.startswith(DIFFERENCE_NOTE)
    short = logit_rate.rank_table(base, [fast], rate=100, full_note=False).data
    assert short == text.replace(DIFFERENCE_NOTE, SHORT_DIFFERENCE_NOTE)


def dial_grids() -> tuple[Results, Results]:
    """A base grid with ranks 1, 2 and 4, and its runs at 100x with ranks 4 and 8."""
    base = grid(None, (0.90, 0.92), 0.0)
    base.raw["runs"] += [{**lrlc_run(s, 0.89, 0.0), "rank": 2} for s in (0, 1)]
    fast = grid(100, (0.95, 0.97), 2.0)
    fast.raw["runs"] += [{**lrlc_run(s, 0.98, 1.0), "rank": 8} for s in (0, 1)]
    return base, fast


def test_plot_rank_dial_draws_both_rates_from_the_same_rank_1_and_the_baselines():
    base, fast = dial_grids()
    fig = logit_rate.plot_rank_dial(base, [fast], rate=100)
    ax = fig.axes[0]
    curves = {bars.get_label(): bars.lines[0] for bars in ax.containers}  # errorbar's data
    grid_curve = curves["LRLC, logits at 1× (the grid)"].get_data()
    fast_curve = curves["LRLC, logits at 100×"].get_data()
    assert list(grid_curve[0]) == [1, 2, 4] and list(fast_curve[0]) == [1, 4, 8]
    # rank 1 (no logits) is the grid's at both rates; the rest are each grid's own means
    assert list(grid_curve[1]) == pytest.approx([91, 89, 91])
    assert list(fast_curve[1]) == pytest.approx([91, 96, 98])
    (conv,) = [line for line in ax.lines if line.get_label().startswith("convolution")]
    assert conv.get_ydata()[0] == pytest.approx(88)
    assert not [line for line in ax.lines if line.get_label() == "CoordConv"]  # not run
    plt.close(fig)
    base.raw["runs"] += [{**lrlc_run(s, 0.93, 0.0), "layer": "coordconv", "rank": None}
                         for s in (0, 1)]  # fmt: skip
    fig = logit_rate.plot_rank_dial(base, [fast], rate=100)
    (coord,) = [line for line in fig.axes[0].lines if line.get_label() == "CoordConv"]
    assert coord.get_ydata()[0] == pytest.approx(93)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1", "2", "4", "8"]
    plt.close(fig)
    with pytest.raises(ValueError, match=r"no grid with the logits at 10×"):
        logit_rate.plot_rank_dial(base, [fast], rate=10)


def test_plot_rank_dials_draws_a_panel_only_where_the_faster_runs_turn_the_dial():
    base, fast = dial_grids()
    one_rank = grid(100, (0.95, 0.97), 2.0)  # rank 4 alone: no dial to draw
    names = {"mnist": "MNIST", "celeba": "CelebA", "cifar10": "CIFAR-10"}
    with_faster = {"mnist": (base, [fast]), "celeba": (base, [one_rank]), "cifar10": (None, [])}
    fig = logit_rate.plot_rank_dials(with_faster, names)
    assert [ax.get_title() for ax in fig.axes] == ["MNIST"]
    (legend,) = fig.legends  # one, below the panels
    assert [t.get_text() for t in legend.get_texts()] == [
        "convolution",
        "locally connected",
        "LRLC, logits at 1× (the grid)",
        "LRLC, logits at 100×",
    ]
    plt.close(fig)
    assert logit_rate.plot_rank_dials({"celeba": (base, [one_rank])}, names) is None


def test_placement_table_sets_both_placements_at_both_rates_then_the_baselines():
    base = grid(None, (0.90, 0.92), 0.0)
    base.raw["runs"] += last_layer_runs((0.89, 0.89), 0.0)
    base.raw["runs"] += [{**r, "rank": 1} for r in last_layer_runs((0.885, 0.885), 0.0)]
    fast = grid(100, (0.95, 0.97), 2.0)
    fast_last = grid(100, (0.93, 0.93), 0.0)
    fast_last.raw["runs"] = last_layer_runs((0.93, 0.93), 1.0)
    text = logit_rate.placement_table(base, fast, fast_last, rank=4).data
    lines = table_cells(text)
    assert lines[0][3:5] == ["− convolution", "− logits at 1×"]
    rows = {ln[0].lstrip("| "): ln for ln in lines[1:]}
    assert list(rows) == [
        "LRLC rank 4, logits at 1× (the grid)",
        "LRLC rank 4, logits at 100×",
        "LRLC rank 4 (last layer), logits at 1× (the grid)",
        "LRLC rank 4 (last layer), logits at 100×",
        "convolution",
        "LRLC rank 1",
        "LRLC rank 1 (last layer)",
    ]
    last_fast = rows["LRLC rank 4 (last layer), logits at 100×"]
    assert last_fast[1] == "150" and last_fast[2] == "93.00\u00a0±\u00a00.00"
    # 93 - 88 against the convolution; seeds alike, so the test set sets the threshold:
    # 2 x 100 x sqrt(2 x .905 x .095 / 10,000), at the two accuracies' mean
    assert last_fast[3] == "**+5.00 (±0.83)**"
    assert last_fast[4] == "**+4.00 (±0.81)**"  # 93 - 89, the last layer at 1x
    assert last_fast[5].rstrip(" |") == f"{math.exp(1.0) / (math.exp(1.0) + 3):.3f}"
    assert rows["LRLC rank 4 (last layer), logits at 1× (the grid)"][4] == ""
    assert rows["LRLC rank 4, logits at 100×"][5].rstrip(" |") == f"{largest(2.0):.3f}"
    assert rows["convolution"][3] == "" and rows["LRLC rank 1 (last layer)"][3] == "+0.50 (±0.91)"


def test_placement_table_refuses_grids_at_other_rates_or_settings():
    base = grid(None, (0.90, 0.92), 0.0)
    base.raw["runs"] += last_layer_runs((0.89, 0.89), 0.0)
    fast, fast_last = grid(100, (0.95, 0.97), 2.0), grid(10, (0.93, 0.93), 0.0)
    fast_last.raw["runs"] = last_layer_runs((0.93, 0.93), 1.0)
    with pytest.raises(ValueError, match=r"different rates \(100× and 10×\)"):
        logit_rate.placement_table(base, fast, fast_last)
    with pytest.raises(ValueError, match="the base grid's rate"):
        logit_rate.placement_table(base, base, base)
    fast_last.raw["config"]["combining_lr_scale"] = 100
    fast_last.raw["config"]["epochs"] = 24
    with pytest.raises(ValueError, match="epochs"):
        logit_rate.placement_table(base, fast, fast_last)
    with pytest.raises(KeyError, match=r"no LRLC rank 4 \(last layer\) run"):
        logit_rate.placement_table(base, fast, fast)


def test_one_layer_table_sets_each_placement_against_its_rank_one_then_the_baselines():
    base = grid(None, (0.90, 0.92), 0.0)
    base.raw["runs"] += [{**r, "rank": 1} for r in last_layer_runs((0.885, 0.885), 0.0)]
    fast = grid(100, (0.95, 0.97), 2.0)
    fast_first = grid(100, (0.94, 0.94), 0.0)
    fast_first.raw["runs"] = first_layer_runs((0.94, 0.94), 1.0)
    fast_first.raw["runs"] += first_layer_runs((0.92, 0.92), 0.0, rank=1)
    fast_last = grid(100, (0.93, 0.93), 0.0)
    fast_last.raw["runs"] = last_layer_runs((0.93, 0.93), 3.0)
    table = logit_rate.one_layer_table(base, fast, [fast_first, fast_last], rank=4)
    lines = table_cells(table.data)
    assert lines[0][3:5] == ["− convolution", "− rank 1, same layers"]
    rows = {ln[0].lstrip("| "): ln for ln in lines[1:]}
    assert list(rows) == [
        "LRLC rank 4, logits at 100×",
        "LRLC rank 4 (first layer), logits at 100×",
        "LRLC rank 4 (last layer), logits at 100×",
        "LRLC rank 1",
        "LRLC rank 1 (first layer)",
        "LRLC rank 1 (last layer)",
        "convolution",
    ]
    first = rows["LRLC rank 4 (first layer), logits at 100×"]
    assert first[1] == "80" and first[2] == "94.00\u00a0±\u00a00.00"
    # 94 - 88 and 94 - 92, seeds alike: the test set's noise at the accuracies' mean
    assert first[3] == "**+6.00 (±0.81)**"
    assert first[4] == "**+2.00 (±0.72)**"  # against rank 1 in the first layer
    # the weights of each network's first LRLC layer: features.0, or features.6
    assert first[5].rstrip(" |") == f"{largest(1.0):.3f}"
    last = rows["LRLC rank 4 (last layer), logits at 100×"]
    assert last[4] == "**+4.50 (±0.82)**"  # 93 - 88.5, the base grid's rank 1 there
    assert last[5].rstrip(" |") == f"{largest(3.0):.3f}"
    # 96 - 91: the seeds of the faster run differ (95 and 97), and set the threshold
    assert rows["LRLC rank 4, logits at 100×"][4] == "**+5.00 (±2.83)**"
    assert rows["LRLC rank 1 (first layer)"][3] == "**+4.00 (±0.85)**"
    assert rows["convolution"][3:5] == ["", ""]


def test_one_layer_table_refuses_grids_without_a_one_layer_run_or_at_other_rates():
    base, fast = grid(None, (0.90, 0.92), 0.0), grid(100, (0.95, 0.97), 2.0)
    with pytest.raises(KeyError, match=r"no LRLC rank 4 run in one layer only \(first, middle"):
        logit_rate.one_layer_table(base, fast, [fast])
    slow_first = grid(10, (0.94, 0.94), 0.0)
    slow_first.raw["runs"] = first_layer_runs((0.94, 0.94), 1.0)
    with pytest.raises(ValueError, match=r"different rates \(100× and 10×\)"):
        logit_rate.one_layer_table(base, fast, [slow_first])
    fast_first = grid(100, (0.94, 0.94), 0.0)
    fast_first.raw["runs"] = first_layer_runs((0.94, 0.94), 1.0)
    with pytest.raises(ValueError, match="first layer only is in more than one"):
        logit_rate.one_layer_table(base, fast, [fast_first, fast_first])
    with pytest.raises(ValueError, match="rank=1"):
        logit_rate.one_layer_table(base, fast, [fast_first], rank=1)


def test_one_layer_table_takes_the_middle_layer_and_its_weights_from_features_3():
    base, fast = grid(None, (0.90, 0.92), 0.0), grid(100, (0.95, 0.97), 2.0)
    middle = grid(100, (0.93, 0.93), 0.0)
    middle.raw["runs"] = [
        {**r, "where": "middle", "combining_logits": {"features.3": logits(1.5)["features.3"]}}
        for r in first_layer_runs((0.93, 0.93), 0.0)
    ]
    table = logit_rate.one_layer_table(base, fast, [middle]).data
    row = next(ln.split(" | ") for ln in table.splitlines() if "(middle layer)" in ln)
    assert row[0].lstrip("| ") == "LRLC rank 4 (middle layer), logits at 100×"
    assert row[5].rstrip(" |") == f"{largest(1.5):.3f}"


def test_one_layer_table_leaves_the_rank_one_cell_empty_without_such_runs():
    base, fast = grid(None, (0.90, 0.92), 0.0), grid(100, (0.95, 0.97), 2.0)
    fast_first = grid(100, (0.94, 0.94), 0.0)
    fast_first.raw["runs"] = first_layer_runs((0.94, 0.94), 1.0)  # rank 4 only
    table = logit_rate.one_layer_table(base, fast, [fast_first]).data
    rows = {
        ln.split(" | ")[0].lstrip("| "): ln.split(" | ")
        for ln in table.splitlines()
        if ln.startswith("| ")
    }
    assert rows["LRLC rank 4 (first layer), logits at 100×"][4] == ""
    assert "LRLC rank 1 (first layer)" not in rows
    assert rows["LRLC rank 1"][3] == "**+3.00 (±0.87)**"  # 91 - 88, the grid's rank 1


def test_last_layer_dial_sets_the_last_layer_beside_all_three_at_the_faster_rate():
    base = grid(None, (0.90, 0.92), 0.0)
    base.raw["runs"] += last_layer_runs((0.89, 0.89), 0.0)
    base.raw["runs"] += [{**r, "rank": 1} for r in last_layer_runs((0.885, 0.885), 0.0)]
    fast = grid(100, (0.95, 0.97), 2.0)  # rank 4 in all three layers only
    fast_last = grid(100, (0.93, 0.93), 0.0)
    fast_last.raw["runs"] = last_layer_runs((0.93, 0.93), 1.0)
    fast_last.raw["runs"] += [
        {**r, "rank": 8, "params": 250, "combining_logits": {"features.6": logits(0.0, 8)[
            "features.6"]}}
        for r in last_layer_runs((0.94, 0.94), 0.0)
    ]  # fmt: skip
    # a rank-1 run at 100x too: no logits, so the grid's row stands for it
    fast_last.raw["runs"] += [{**r, "rank": 1} for r in last_layer_runs((0.5, 0.5), 0.0)]
    text = logit_rate.last_layer_dial(base, fast, fast_last).data
    lines = table_cells(text)
    assert [cell.strip("| ") for cell in lines[0]] == [
        "rank",
        "parameters",
        "last layer, 1× (the grid)",
        "last layer, 100×",
        "100× − 1×",
        "− all three layers, 100×",
        "largest weight, 100×",
    ]
    # rank 1 once, from the grid, then the faster ranks
    assert [ln[0].lstrip("| ") for ln in lines[1:]] == ["1", "4", "8"]
    rows = {ln[0].lstrip("| "): ln for ln in lines[1:]}
    assert rows["1"][1:4] == ["150", "88.50\u00a0±\u00a00.00", "no logits"]
    assert all(cell.strip(" |") == "" for cell in rows["1"][4:])
    four = rows["4"]
    assert four[1] == "150" and four[3] == "93.00\u00a0±\u00a00.00"
    assert four[4] == "**+4.00 (±0.81)**"  # 93 - 89, the last layer at 1x
    # 93 - 96 against all three layers at 100x: the seed spread (std 1.41) sets it
    assert four[5] == "**-3.00 (±2.83)**"
    assert four[6].rstrip(" |") == f"{math.exp(1.0) / (math.exp(1.0) + 3):.3f}"
    eight = rows["8"]  # no rank 8 in the grid's last layer, nor in all three layers
    assert eight[1] == "250" and eight[2] == "not run" and eight[4] == "" and eight[5] == ""
    assert eight[6].rstrip(" |") == "0.125"  # uniform over 8
    assert text.startswith(DIFFERENCE_NOTE)
    with pytest.raises(ValueError, match="the base grid's rate"):
        logit_rate.last_layer_dial(base, base, base)
    fast_last.raw["config"]["combining_lr_scale"] = 10
    with pytest.raises(ValueError, match=r"different rates \(100× and 10×\)"):
        logit_rate.last_layer_dial(base, fast, fast_last)


# From a mutation audit: each test fails where the code it guards is broken ----------


def test_table_threshold_uses_the_test_set_size():
    base, fast = grid(None, (0.90, 0.90), 0.0), grid(100, (0.95, 0.95), 2.0)
    lines = table_cells(logit_rate.table(base, [fast]).data)
    fast_row = next(ln for ln in lines if ln[0].lstrip("| ").endswith("logits at 100×"))
    assert fast_row[2] == format_difference(fast.row("lrlc", 4), base.row("lrlc", 4), 10_000)


def test_table_minus_lc_is_the_network_minus_lc():
    base, fast = grid(None, (0.90, 0.90), 0.0), grid(100, (0.90, 0.90), 2.0)  # LC at 96
    lines = table_cells(logit_rate.table(base, [fast]).data)
    fast_row = next(ln for ln in lines if ln[0].lstrip("| ").endswith("logits at 100×"))
    assert fast_row[3].startswith("**-6.00")


def test_rank_table_takes_rank_one_from_the_base_grid():
    base, fast = grid(None, (0.90, 0.92), 0.0), grid(100, (0.95, 0.97), 2.0)
    rows = {ln[0].lstrip("| "): ln for ln in table_cells(logit_rate.rank_table(base, [fast]).data)}
    assert rows["1"][2] == "91.00\u00a0±\u00a00.00"


def test_one_layer_table_takes_rank_one_from_the_base_grid_first():
    base, fast = grid(None, (0.90, 0.92), 0.0), grid(100, (0.95, 0.97), 2.0)
    base.raw["runs"] += first_layer_runs((0.90, 0.90), 0.0, rank=1)
    fast_first = grid(100, (0.94, 0.94), 0.0)
    fast_first.raw["runs"] = first_layer_runs((0.94, 0.94), 1.0)
    fast_first.raw["runs"] += first_layer_runs((0.92, 0.92), 0.0, rank=1)
    text = logit_rate.one_layer_table(base, fast, [fast_first]).data
    rows = {ln[0].lstrip("| "): ln for ln in table_cells(text)}
    assert rows["LRLC rank 1 (first layer)"][2] == "90.00\u00a0±\u00a00.00"


def test_table_weights_in_the_order_of_the_layers():
    base, fast = grid(None, (0.90, 0.92), 0.0), layered(100, (0.95, 0.97), (2.0, 0.0, 1.0))
    lines = table_cells(logit_rate.table(base, [fast]).data)
    fast_row = next(ln for ln in lines if ln[0].lstrip("| ").endswith("logits at 100×"))
    assert fast_row[4].rstrip(" |") == f"{largest(2.0):.3f} · 0.250 · {largest(1.0):.3f}"


def test_rank_dial_error_bars_are_one_std_in_points():
    base, fast = grid(None, (0.90, 0.92), 0.0), grid(100, (0.95, 0.97), 2.0)
    fig = logit_rate.plot_rank_dial(base, [fast], rate=100)
    (container,) = [c for c in fig.axes[0].containers if c.get_label() == "LRLC, logits at 100×"]
    segments = container.lines[2][0].get_segments()
    x4 = next(s for s in segments if s[0, 0] == 4)
    assert x4[:, 1] == pytest.approx([96 - 2**0.5, 96 + 2**0.5])
    plt.close(fig)
