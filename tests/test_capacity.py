"""lrlc.capacity: LRLC with faster combining logits against convolutions widened to its
size (position or capacity, section 9.3)."""

import copy
import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from logit_grids import (  # noqa: E402
    first_layer_runs,
    grid,
    last_layer_runs,
    logits,
    table_cells,
    wide_runs,
)

from lrlc import capacity  # noqa: E402
from lrlc.results import DIFFERENCE_NOTE, Results, format_difference, pool  # noqa: E402


def test_capacity_table_sets_lrlc_against_the_wide_convolutions_fewest_parameters_first():
    base = grid(None, (0.90, 0.92), 0.0)
    base.raw["runs"] += wide_runs(4, (0.93, 0.95), 900)
    fast = grid(100, (0.95, 0.95), 2.0)
    controls = grid(None, (0.90, 0.92), 0.0)  # the base grid's command, other variants
    controls.raw["runs"] = wide_runs(2, (0.90, 0.90), 400)
    text = capacity.table(base, [fast], [controls], rank=4).data
    lines = [line for line in text.splitlines() if line.startswith("| ")][1:]  # no header
    names = [line.split(" | ")[0].lstrip("| ") for line in lines]
    assert names[0].startswith("LRLC rank 4, logits at 100")
    # then the convolution (300 parameters in these made-up runs), rank 2's wide
    # convolution (400), rank 4's (900): fewest parameters first
    assert [n.split(" (")[0] for n in names[1:]] == ["convolution", "wide convolution",
                                                     "wide convolution"]  # fmt: skip
    assert "rank 2" in names[2] and "rank 4" in names[3]
    # 95% against 90% on 10,000 test images: beyond the noise, bold; against 94% with a
    # seed spread of 1.41 points, within
    assert "**+5.00" in lines[2] and "+1.00 (" in lines[3] and "**+1.00" not in lines[3]
    # a control made with other settings is refused, as a faster grid would be
    other = grid(None, (0.90, 0.92), 0.0)
    other.raw["config"]["epochs"] = 9
    with pytest.raises(ValueError, match="epochs"):
        capacity.table(base, [fast], [other], rank=4)
    with pytest.raises(KeyError, match="no LRLC rank 2 run"):
        capacity.table(base, [fast], rank=2)


def test_last_layer_capacity_table_sets_each_rank_against_its_widened_last_layer():
    base = grid(None, (0.90, 0.92), 0.0)  # the convolution at 88%
    fast_last = grid(100, (0.93, 0.93), 0.0)
    fast_last.raw["runs"] = last_layer_runs((0.93, 0.93), 1.0)
    fast_last.raw["runs"] += [
        {**r, "rank": 2, "combining_logits": {"features.6": logits(0.0, 2)["features.6"]}}
        for r in last_layer_runs((0.91, 0.91), 0.0)
    ]
    controls = grid(None, (0.90, 0.92), 0.0)  # the base grid's command, other variants
    controls.raw["runs"] = [
        {**r, "where": "last"} for r in wide_runs(4, (0.90, 0.90), 151)
    ] + wide_runs(2, (0.80, 0.80), 400)  # in all three layers: not the last layer's control
    text = capacity.last_layer_table(base, fast_last, [controls]).data
    lines = table_cells(text)
    assert [cell.strip("| ") for cell in lines[0]] == [
        "rank",
        "parameters (wide conv)",
        "wide conv",
        "wide conv − convolution",
        "LRLC, 100×",
        "LRLC − wide conv",
    ]
    # rank 2 has no convolution widened in the last layer (the one for rank 2 is in all
    # three layers), so rank 4 is the only row
    assert [ln[0].lstrip("| ") for ln in lines[1:]] == ["4"]
    four = lines[1]
    assert four[1:3] == ["151", "90.00\u00a0±\u00a00.00"]
    assert four[3] == "**+2.00 (±0.88)**"  # 90 - 88: 2 x 100 x sqrt(2 x .89 x .11 / 10,000)
    assert four[4] == "93.00\u00a0±\u00a00.00"
    # 93 - 90, seeds alike: the test set sets it, 2 x 100 x sqrt(2 x .915 x .085 / 10,000)
    assert four[5].rstrip(" |") == "**+3.00 (±0.79)**"
    assert text.startswith(DIFFERENCE_NOTE)
    with pytest.raises(KeyError, match="wide_conv@last"):
        capacity.last_layer_table(base, fast_last, [])
    controls.raw["config"]["epochs"] = 9  # a control made with other settings is refused
    with pytest.raises(ValueError, match="epochs"):
        capacity.last_layer_table(base, fast_last, [controls])
    # the capacity table, for LRLC in all three layers, leaves the last layer's out
    controls.raw["config"]["epochs"] = 8
    fast = grid(100, (0.95, 0.97), 2.0)
    all_layers = capacity.table(base, [fast], [controls], rank=4).data
    assert "widened for rank 4" not in all_layers and "widened for rank 2" in all_layers


def test_one_layer_capacity_table_sets_each_layer_against_the_convolution_widened_there():
    base = grid(None, (0.90, 0.92), 0.0)  # the convolution at 88%
    fast_first = grid(100, (0.94, 0.94), 0.0)
    fast_first.raw["runs"] = first_layer_runs((0.94, 0.94), 1.0)
    fast_middle = grid(100, (0.93, 0.93), 0.0)
    fast_middle.raw["runs"] = [
        {**r, "where": "middle"} for r in first_layer_runs((0.93, 0.93), 0.0)
    ]
    fast_last = grid(100, (0.92, 0.92), 0.0)
    fast_last.raw["runs"] = last_layer_runs((0.92, 0.92), 1.0)
    controls = grid(None, (0.90, 0.92), 0.0)  # the base grid's command, other variants
    controls.raw["runs"] = (
        [{**r, "where": "middle"} for r in wide_runs(4, (0.90, 0.90), 179)]
        + [{**r, "where": "first"} for r in wide_runs(4, (0.935, 0.935), 79)]
        + [{**r, "where": "first"} for r in wide_runs(2, (0.50, 0.50), 60)]  # another rank
        + wide_runs(4, (0.80, 0.80), 400)  # in all three layers: no one layer's control
    )
    # in the network's order, whatever the order of the grids; the last layer has no
    # control here, so no row
    text = capacity.one_layer_table(base, [fast_last, fast_middle, fast_first], [controls]).data
    lines = table_cells(text)
    assert [cell.strip("| ") for cell in lines[0]] == [
        "layer",
        "parameters (wide conv)",
        "wide conv",
        "wide conv − convolution",
        "LRLC, 100×",
        "LRLC − wide conv",
    ]
    rows = {ln[0].lstrip("| "): ln for ln in lines[1:]}
    assert list(rows) == ["first", "middle"]
    first, middle = rows["first"], rows["middle"]
    assert first[1:3] == ["79", "93.50\u00a0±\u00a00.00"]
    # 93.5 - 88, seeds alike: 2 x 100 x sqrt(2 x .9075 x .0925 / 10,000) = 0.82
    assert first[3] == "**+5.50 (±0.82)**"
    assert first[4] == "94.00\u00a0±\u00a00.00"
    # 94 - 93.5: within 2 x 100 x sqrt(2 x .9375 x .0625 / 10,000) = 0.68
    assert first[5].rstrip(" |") == "+0.50 (±0.68)"
    assert middle[1] == "179"
    assert middle[5].rstrip(" |") == "**+3.00 (±0.79)**"  # 93 - 90
    assert text.startswith(DIFFERENCE_NOTE)
    # a placement whose control exists gets its row: the last layer's widened convolution
    controls.raw["runs"] += [{**r, "where": "last"} for r in wide_runs(4, (0.91, 0.91), 151)]
    text = capacity.one_layer_table(base, [fast_first, fast_last], [controls]).data
    names = [ln.split(" | ")[0].lstrip("| ") for ln in text.splitlines() if ln.startswith("| ")]
    assert names[1:] == ["first", "last"]
    with pytest.raises(KeyError, match="wide_conv@middle:2"):
        capacity.one_layer_table(base, [fast_first], [controls], rank=2)
    with pytest.raises(KeyError, match="wide_conv@middle:4"):
        capacity.one_layer_table(base, [fast_middle], [])
    fast_middle.raw["config"]["combining_lr_scale"] = 10
    with pytest.raises(ValueError, match=r"different rates \(100× and 10×\)"):
        capacity.one_layer_table(base, [fast_first, fast_middle], [controls])
    controls.raw["config"]["epochs"] = 9  # a control made with other settings is refused
    with pytest.raises(ValueError, match="epochs"):
        capacity.one_layer_table(base, [fast_first], [controls])
    with pytest.raises(ValueError, match="one_layer is empty"):
        capacity.one_layer_table(base, [], [controls])


def test_plot_one_layer_capacity_draws_each_layer_beside_its_widened_convolution():
    base = grid(None, (0.90, 0.92), 0.0)  # the convolution at 88%
    fast_first = grid(100, (0.94, 0.94), 0.0)
    fast_first.raw["runs"] = first_layer_runs((0.94, 0.96), 1.0)
    fast_last = grid(100, (0.92, 0.92), 0.0)
    fast_last.raw["runs"] = last_layer_runs((0.92, 0.92), 1.0)
    controls = grid(None, (0.90, 0.92), 0.0)
    controls.raw["runs"] = [{**r, "where": "first"} for r in wide_runs(4, (0.89, 0.89), 79)]
    controls.raw["runs"] += [{**r, "where": "last"} for r in wide_runs(4, (0.91, 0.91), 151)]
    controls.raw["runs"] += wide_runs(4, (0.80, 0.80), 400)  # in all three layers: left out
    fig = capacity.plot_one_layer(
        {"mnist": (base, [fast_last, fast_first], [controls])}, {"mnist": "MNIST"}
    )
    (ax,) = fig.axes
    assert ax.get_title() == "MNIST"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["first layer", "last layer"]
    points = [c.lines[0] for c in ax.containers]  # each point with its error bar
    xy = [(p.get_xdata()[0], round(p.get_ydata()[0], 6)) for p in points]
    # LRLC left of each layer's tick, its widened convolution right: 95 (94 and 96), 89,
    # then 92 and 91 in the last layer
    assert xy == [(-0.15, 95.0), (0.15, 89.0), (0.85, 92.0), (1.15, 91.0)]
    assert [p.get_color() for p in points] == ["C5", "C4", "C1", "C4"]  # the book's colours
    (conv,) = [ln for ln in ax.get_lines() if ln.get_label() == "convolution"]
    assert list(conv.get_ydata()) == [pytest.approx(88.0)] * 2
    low, high = ax.get_ylim()  # every error bar in view: 95 ± 1.41 and the band
    assert low < 88.0 - 1e-9 and high > 95.0 + 1.41
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels == [
        "convolution",
        "LRLC, first layer only, 100×",
        "convolution widened there",
        "LRLC, last layer only, 100×",
    ]
    plt.close(fig)
    assert capacity.plot_one_layer({}, {}) is None
    with pytest.raises(KeyError, match="wide_conv@middle:4"):
        capacity.plot_one_layer({"mnist": (base, [fast_first], [])}, {})


def test_seeds_table_sets_each_comparison_once_per_set_of_seeds():
    base = grid(None, (0.90, 0.92), 0.0)
    first = grid(100, (0.94, 0.94), 0.0)
    first.raw["runs"] = [{**r, "where": "middle"} for r in first_layer_runs((0.93, 0.93), 0.0)]
    wide = grid(None, (0.90, 0.92), 0.0)
    wide.raw["runs"] = [{**r, "where": "middle"} for r in wide_runs(4, (0.90, 0.90), 179)]
    again, wide_again = copy.deepcopy(first), copy.deepcopy(wide)  # seeds 2 and 3
    for g, tests in ((again, (0.91, 0.95)), (wide_again, (0.91, 0.91))):
        g.raw["runs"] = [{**r, "seed": r["seed"] + 2, "test_accuracy": t}
                         for r, t in zip(g.raw["runs"], tests, strict=True)]  # fmt: skip
    sets = {
        "0, 1": (first, wide),
        "2, 3": (again, wide_again),
        "0 to 3": (pool(first, again), pool(wide, wide_again)),
    }
    text = capacity.seeds_table(base, sets, [("middle", 4)]).data
    lines = table_cells(text)
    assert [c.strip("| ") for c in lines[0]] == [
        "LRLC against the widened convolution", "seeds", "wide conv", "LRLC, 100×",
        "LRLC − wide conv",
    ]  # fmt: skip
    rows = lines[1:]
    assert [r[0].lstrip("| ") for r in rows] == ["LRLC rank 4 (middle layer)", "", ""]
    assert [r[1] for r in rows] == ["0, 1", "2, 3", "0 to 3"]
    # 93 - 90, seeds alike: the test set's noise, 2 x 100 x sqrt(2 x .915 x .085 / 10,000)
    assert rows[0][4].rstrip(" |") == "**+3.00 (±0.79)**"
    # 93 - 91, within the threshold LRLC's seeds (91 and 95, std 2.83) set: 2 x 2.83
    assert rows[1][2:4] == ["91.00\u00a0±\u00a00.00", "93.00\u00a0±\u00a02.83"]
    assert rows[1][4].rstrip(" |") == "+2.00 (±5.66)"
    assert rows[2][2] == "90.50\u00a0±\u00a00.58"  # 90, 90, 91, 91
    with pytest.raises(KeyError, match=r"no LRLC rank 2 \(middle layer\) run .* \(seeds 0, 1\)"):
        capacity.seeds_table(base, sets, [("middle", 2)])
    wide_again.raw["config"]["epochs"] = 9  # a set made with other settings is refused
    with pytest.raises(ValueError, match="epochs"):
        capacity.seeds_table(base, {"2, 3": (again, wide_again)}, [("middle", 4)])


def test_plot_last_layer_capacity_draws_each_rank_beside_its_widened_last_layer():
    base = grid(None, (0.90, 0.92), 0.0)  # the convolution at 88%
    fast_last = grid(100, (0.93, 0.93), 0.0)
    fast_last.raw["runs"] = last_layer_runs((0.93, 0.93), 1.0)  # rank 4 in the last layer
    controls = grid(None, (0.90, 0.92), 0.0)
    controls.raw["runs"] = [{**r, "where": "last"} for r in wide_runs(4, (0.90, 0.90), 151)]
    controls.raw["runs"] += wide_runs(2, (0.80, 0.80), 400)  # in all three layers: left out
    fig = capacity.plot_last_layer({"mnist": (base, fast_last, [controls])}, {"mnist": "MNIST"})
    (ax,) = fig.axes
    assert ax.get_title() == "MNIST"
    lrlc, wide = (c.lines[0] for c in ax.containers)  # the two curves, with error bars
    assert list(lrlc.get_xdata()) == [4] and list(lrlc.get_ydata()) == [pytest.approx(93.0)]
    assert list(wide.get_xdata()) == [4] and list(wide.get_ydata()) == [pytest.approx(90.0)]
    assert lrlc.get_color() == "C1" and wide.get_color() == "C4"  # the book's colours
    (conv,) = [ln for ln in ax.get_lines() if ln.get_label() == "convolution"]
    assert list(conv.get_ydata()) == [pytest.approx(88.0)] * 2
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels == [
        "convolution", "LRLC, last layer only, 100×", "convolution widened in the last layer"
    ]  # fmt: skip
    plt.close(fig)
    assert capacity.plot_last_layer({}, {}) is None
    controls.raw["config"]["epochs"] = 9  # a control made with other settings is refused
    with pytest.raises(ValueError, match="epochs"):
        capacity.plot_last_layer({"mnist": (base, fast_last, [controls])}, {})


def capacity_grids() -> tuple[Results, list[Results], list[Results], Results]:
    """A base grid (the convolution at 88%); LRLC of rank 4 in all three layers at 10x
    (91%) and at 100x (95%); at 100x in the first layer only (rank 4 at 94% and 96%, rank
    1 at 90%) and in the last layer only (rank 2 at 90%, rank 4 at 92%); and controls
    widened in all three layers for rank 2 (70%) and rank 4 (80%), in the first layer for
    rank 4 (93.5%), and in the last layer for rank 2 (89%, then a second run at 50%)."""
    base = grid(None, (0.90, 0.92), 0.0)
    scaled = [grid(10, (0.91, 0.91), 0.5), grid(100, (0.95, 0.95), 2.0)]
    fast_first = grid(100, (0.94, 0.94), 0.0)
    fast_first.raw["runs"] = first_layer_runs((0.94, 0.96), 1.0)
    fast_first.raw["runs"] += first_layer_runs((0.90, 0.90), 0.0, rank=1)
    fast_last = grid(100, (0.92, 0.92), 0.0)
    fast_last.raw["runs"] = [{**r, "rank": 2} for r in last_layer_runs((0.90, 0.90), 1.0)]
    fast_last.raw["runs"] += last_layer_runs((0.92, 0.92), 1.0)
    controls = grid(None, (0.90, 0.92), 0.0)
    controls.raw["runs"] = wide_runs(2, (0.70, 0.70), 200) + wide_runs(4, (0.80, 0.80), 400)
    controls.raw["runs"] += [{**r, "where": "first"} for r in wide_runs(4, (0.935, 0.935), 79)]
    controls.raw["runs"] += [{**r, "where": "last"} for r in wide_runs(2, (0.89, 0.89), 120)]
    more = grid(None, (0.90, 0.92), 0.0)  # the same control again: the first one counts
    more.raw["runs"] = [{**r, "where": "last"} for r in wide_runs(2, (0.50, 0.50), 120)]
    return base, scaled, [fast_last, fast_first], [controls, more]


def threshold(a: float, b: float, seed_std: float = 0.0) -> float:
    """2 x the larger of a seed spread (points) and the test set's noise of a difference
    of accuracies a and b on 10,000 images (points)."""
    p = (a + b) / 2
    return 2 * max(seed_std, 100 * math.sqrt(2 * p * (1 - p) / 10_000))


def test_capacity_split_parts_each_gain_into_capacity_and_position():
    base, scaled, one_layer, controls = capacity_grids()
    rows = capacity.split(base, one_layer, controls, scaled=scaled, all_rank=4)
    # all three layers first (from the 100x grid, against the control of rank 4), then the
    # one-layer placements in the network's order; rank 1 of the first layer and rank 4
    # of the last have no widened convolution, so no row
    assert [(r["where"], r["rank"]) for r in rows] == [("all", 4), ("first", 4), ("last", 2)]
    every, first, last = rows
    assert every["capacity"] == pytest.approx(80.0 - 88.0)
    assert every["capacity_threshold"] == pytest.approx(threshold(0.80, 0.88))
    assert every["position"] == pytest.approx(95.0 - 80.0)
    assert every["position_threshold"] == pytest.approx(threshold(0.95, 0.80))
    assert first["capacity"] == pytest.approx(93.5 - 88.0)
    assert first["capacity_threshold"] == pytest.approx(threshold(0.935, 0.88))
    # LRLC's seeds (94% and 96%) spread by 1.41 points: the threshold follows them
    assert first["position"] == pytest.approx(95.0 - 93.5)
    assert first["position_threshold"] == pytest.approx(threshold(0.95, 0.935, math.sqrt(2)))
    # the first control of the last layer's rank 2 (89%), not the later one (50%)
    assert last["capacity"] == pytest.approx(89.0 - 88.0)
    assert last["position"] == pytest.approx(90.0 - 89.0)
    assert last["position_threshold"] == pytest.approx(threshold(0.90, 0.89))
    # the two parts add up to LRLC's gain over the convolution
    assert first["capacity"] + first["position"] == pytest.approx(95.0 - 88.0)
    # all three layers only with a grid at the rate and a control of that rank
    no_all = capacity.split(base, one_layer, controls)
    assert [r["where"] for r in no_all] == ["first", "last"]
    assert capacity.split(base, one_layer, controls, scaled, all_rank=8) == no_all
    with pytest.raises(ValueError, match="no grid with the logits at 100"):
        capacity.split(base, one_layer, controls, scaled[:1], all_rank=4)
    # every grid at the one rate, and made as the base grid was
    with pytest.raises(ValueError, match=r"at 100×, not at 10×"):
        capacity.split(base, one_layer, controls, rate=10)
    with pytest.raises(ValueError, match="the base grid's rate"):
        capacity.split(base, [base], controls)
    other = copy.deepcopy(controls[0])
    other.raw["config"]["epochs"] = 9
    with pytest.raises(ValueError, match="epochs"):
        capacity.split(base, one_layer, [other])
    base.raw["runs"] = [r for r in base.raw["runs"] if r["layer"] != "conv"]
    with pytest.raises(KeyError, match="no convolution"):
        capacity.split(Results("mnist", base.raw, "x.json"), one_layer, controls)


def test_plot_capacity_split_puts_each_comparison_at_its_capacity_and_position():
    base, scaled, one_layer, controls = capacity_grids()
    rows = capacity.split(base, one_layer, controls, scaled=scaled, all_rank=4)
    fig = capacity.plot_split({"mnist": rows, "cifar10": []}, {"mnist": "MNIST"})
    (ax,) = fig.axes  # a dataset without rows gets no panel
    assert ax.get_title() == "MNIST"
    points = [c.lines[0] for c in ax.containers]
    xy = [(round(p.get_xdata()[0], 6), round(p.get_ydata()[0], 6)) for p in points]
    assert xy == [(-8.0, 15.0), (5.5, 1.5), (1.0, 1.0)]
    assert [p.get_color() for p in points] == ["C0", "C5", "C1"]  # the placements' colours
    assert [t.get_text() for t in ax.texts] == ["4", "4", "2"]  # each labelled with its rank
    # the error bars reach the first-layer point's thresholds on either side
    horizontal, vertical = ax.containers[1].lines[2]
    (across,), (up,) = horizontal.get_segments(), vertical.get_segments()
    assert across[:, 0] == pytest.approx([5.5 - rows[1]["capacity_threshold"],
                                          5.5 + rows[1]["capacity_threshold"]])  # fmt: skip
    assert up[:, 1] == pytest.approx([1.5 - rows[1]["position_threshold"],
                                      1.5 + rows[1]["position_threshold"]])  # fmt: skip
    # the legend in the network's order, whatever order the rows come in
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels == ["LRLC, all three layers", "LRLC, first layer only",
                      "LRLC, last layer only"]  # fmt: skip
    plt.close(fig)
    fig = capacity.plot_split({"mnist": rows[::-1]}, {"mnist": "MNIST"})
    assert [t.get_text() for t in fig.legends[0].get_texts()] == labels
    plt.close(fig)
    assert capacity.plot_split({"mnist": []}, {}) is None


# From a mutation audit: each test fails where the code it guards is broken ----------


def test_capacity_table_orders_by_parameters_not_accuracy():
    base = grid(None, (0.90, 0.92), 0.0)  # conv: 300 parameters, 88%
    fast = grid(100, (0.95, 0.95), 2.0)
    controls = grid(None, (0.90, 0.92), 0.0)
    controls.raw["runs"] = wide_runs(2, (0.93, 0.93), 400) + wide_runs(4, (0.89, 0.89), 900)
    lines = table_cells(capacity.table(base, [fast], [controls], rank=4).data)
    assert [ln[1] for ln in lines[2:]] == ["300", "400", "900"]


def test_capacity_table_threshold_uses_the_test_set_size():
    base = grid(None, (0.90, 0.92), 0.0)
    base.raw["runs"] = [r for r in base.raw["runs"] if r["layer"] == "conv"]
    fast = grid(100, (0.95, 0.95), 2.0)
    lines = table_cells(capacity.table(base, [fast], rank=4).data)
    expected = format_difference(fast.row("lrlc", 4), base.row("conv"), 10_000)
    assert lines[2][3].rstrip(" |") == expected


def test_one_layer_capacity_takes_a_placement_from_the_first_grid():
    base = grid(None, (0.90, 0.92), 0.0)
    first_a, first_b = grid(100, (0.94, 0.94), 0.0), grid(100, (0.90, 0.90), 0.0)
    first_a.raw["runs"] = first_layer_runs((0.94, 0.94), 1.0)
    first_b.raw["runs"] = first_layer_runs((0.90, 0.90), 1.0)
    controls = grid(None, (0.90, 0.92), 0.0)
    controls.raw["runs"] = [{**r, "where": "first"} for r in wide_runs(4, (0.93, 0.93), 79)]
    lines = table_cells(capacity.one_layer_table(base, [first_a, first_b], [controls]).data)
    assert lines[1][4] == "94.00\u00a0±\u00a00.00"


def test_split_takes_the_first_control_widened_in_all_three_layers():
    base, scaled, one_layer, controls = capacity_grids()
    controls[1].raw["runs"] += wide_runs(4, (0.50, 0.50), 400)  # again, later: not used
    rows = capacity.split(base, one_layer, controls, scaled=scaled, all_rank=4)
    assert rows[0]["where"] == "all" and rows[0]["capacity"] == pytest.approx(80.0 - 88.0)
