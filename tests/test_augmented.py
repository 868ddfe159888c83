"""lrlc.augmented: grids trained with augmented images beside the same grids without."""

from __future__ import annotations

import json

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from logit_grids import largest, layered  # noqa: E402
from matplotlib.colors import to_rgba  # noqa: E402
from matplotlib.container import BarContainer  # noqa: E402
from test_overview import NAMES, bar_span, cells_of, copies, noise, table_rows  # noqa: E402  (its fake grids and helpers)
from test_results import grid  # noqa: E402  (the fake grids of tests/test_results.py)

from lrlc import augmented as aug  # noqa: E402
from lrlc import results  # noqa: E402
from lrlc.results import NOISE_MULTIPLE, Results, difference_noise  # noqa: E402


def augmented_pairs(
    shifts: tuple[float, float] = (-0.03, 0.02), augment: str = "random crop"
) -> list[tuple[Results, Results]]:
    """CIFAR-10 without and with augmentation, as two pairs of files: conv and LC in the
    grid's (``copies``' runs, every augmented run 3 points lower), LRLC rank 4 in a grid
    with the logits at 100x (2 points higher with augmentation); ``shifts``: other changes."""
    pairs = []
    for shift, keep, scale in ((shifts[0], ("conv", "lc"), None), (shifts[1], ("lrlc",), 100.0)):
        plain, augmented = copies(shift)
        for grid_, text in ((plain, "none (as the paper)"), (augmented, augment)):
            grid_.raw["config"]["augmentation"] = text
            if scale:
                grid_.raw["config"]["combining_lr_scale"] = scale
            grid_.raw["runs"] = [r for r in grid_.raw["runs"] if r["layer"] in keep]
        pairs.append((plain, augmented))
    return pairs


def test_augmentation_table_pairs_each_network_across_its_files():
    rows = table_rows(aug.table({"cifar10": augmented_pairs()}, NAMES))
    assert [c.strip() for c in rows[0].split("|")[1:-1]] == [
        "dataset", "network", "without (%)", "with augmentation (%)",
        "with − without, paired by seed (points)",
    ]  # fmt: skip
    cells = [[c.strip() for c in row.split("|")[1:-1]] for row in rows[2:]]
    assert [c[:2] for c in cells] == [
        ["CIFAR-10", "convolution"],
        ["CIFAR-10", "locally connected"],
        ["CIFAR-10", "LRLC rank 4, logits at 100×"],  # the rate of the file it came from
    ]
    assert cells[0][2:] == ["42.00\u00a0±\u00a02.00", "39.00\u00a0±\u00a02.00",
                            "-3.00\u00a0±\u00a00.00 (3 seeds)"]  # fmt: skip
    assert cells[2][4] == "+2.00\u00a0±\u00a00.00 (2 seeds)"


def test_augmentation_differences_compare_networks_of_different_files():
    table = aug.differences({"cifar10": augmented_pairs()}, NAMES)
    header, _, *rows = table_rows(table)
    assert header.split("|")[3:5] == [" without augmentation ", " with augmentation "]
    cells = [[c.strip() for c in row.split("|")[1:-1]] for row in rows]
    assert [c[1] for c in cells] == [
        "locally connected − convolution",
        "LRLC rank 4, logits at 100× − convolution",
        "LRLC rank 4, logits at 100× − locally connected",
    ]
    # LRLC (45, 47%; +2 with augmentation) against conv (40, 42, 44%; -3): +5 without,
    # +9 with (LRLC's seeds 0-1 against conv's 0-2: 48.0 vs 39.0)
    assert cells[1][2] == f"**+5.00 (±{2 * noise(0.445, 1000):.2f})**"
    assert cells[1][3].startswith("**+9.00 (±")
    assert table.data.startswith(results.difference_note(True))


def test_only_the_augmentation_may_differ_between_the_grids_of_a_pair():
    (plain, augmented), _ = augmented_pairs()
    aug.check_only_augmentation_differs(plain, augmented)  # passes
    augmented.raw["config"]["epochs"] = 24
    augmented.raw["data"]["test_size"] = 10000
    with pytest.raises(ValueError, match=r"more than the augmentation: epochs, data test_size"):
        aug.table({"cifar10": [(plain, augmented)]})
    with pytest.raises(ValueError, match="nothing: both have the same augmentation"):
        aug.check_only_augmentation_differs(plain, plain)
    older = Results("cifar10", {**plain.raw, "config": dict(plain.raw["config"])}, "old.json")
    del older.raw["config"]["augmentation"]  # made before the option: no augmentation
    with pytest.raises(ValueError, match="nothing: both have the same augmentation"):
        aug.check_only_augmentation_differs(older, plain)


def test_plot_augmentation_gains_draws_each_lead_without_and_with():
    fig = aug.plot_gains({"cifar10": augmented_pairs()}, NAMES)
    ax = fig.axes[0]
    bars = [p for c in ax.containers if isinstance(c, BarContainer) for p in c.patches]
    # LC − conv: 40 − 42 without; with, LC's seed 2 lost a point less: 37.33 − 39.
    # LRLC − conv: +5 without, +9 with (45, 47 +2 against 40, 42, 44 −3)
    heights = [b.get_height() for b in bars]
    assert heights == pytest.approx([-2.0, -5 / 3, 5.0, 9.0])
    assert [b.get_hatch() for b in bars] == [None, "///", None, "///"]
    assert bars[0].get_facecolor()[:3] == bars[1].get_facecolor()[:3]  # one colour a network
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["locally connected", "LRLC rank 4, logits at 100×",
                      "without augmentation", "with augmentation"]  # fmt: skip
    plt.close(fig)
    plain, augmented = augmented_pairs()[1]  # LRLC alone: nothing to compare with
    with pytest.raises(ValueError, match="cifar10: no convolution trained without and with"):
        aug.plot_gains({"cifar10": [(plain, augmented)]})


def test_augmentation_tables_name_their_first_column():
    budgets = {"8 epochs": augmented_pairs(), "24 epochs": augmented_pairs((-0.01, 0.0))}
    table = aug.table(budgets, {}, column="budget")
    header, _, *rows = table_rows(table)
    assert header.split("|")[1].strip() == "budget"
    assert [row.split("|")[1].strip() for row in rows] == ["8 epochs"] * 3 + ["24 epochs"] * 3
    assert rows[3].split("|")[5].strip() == "-1.00\u00a0±\u00a00.00 (3 seeds)"
    differences = aug.differences(budgets, {}, column="budget")
    header, _, *rows = table_rows(differences)
    assert header.split("|")[1].strip() == "budget" and len(rows) == 6


def test_plot_augmentation_curves_draw_each_network_without_and_with():
    pairs = augmented_pairs()
    _, augmented = pairs[0]
    for r in augmented.raw["runs"]:  # the augmented convolution's seeds fit worse
        if r["layer"] == "conv":
            r["train_loss_curve"] = [1.2 + 0.1 * r["seed"], 0.9]
    fig = aug.plot_curves({"8 epochs": pairs, "24 epochs": pairs[1:]})
    loss_ax, accuracy_ax, later_loss_ax, _ = fig.axes  # one row per budget
    assert loss_ax.get_title() == "8 epochs: training loss"
    assert len(later_loss_ax.get_lines()) == 2  # LRLC alone, without and with
    lines = loss_ax.get_lines()
    # conv, LC, LRLC, each without (solid) then with (dashed)
    assert [line.get_linestyle() for line in lines] == ["-", "--"] * 3
    assert lines[0].get_color() == lines[1].get_color() != lines[2].get_color()
    assert list(lines[0].get_ydata()) == pytest.approx([1.0, 0.5])
    assert list(lines[1].get_ydata()) == pytest.approx([1.3, 0.9])  # mean over seeds 0-2
    assert list(lines[0].get_xdata()) == [1, 2]
    # validation accuracy in percent: conv's seeds 40, 42, 44 -> curves 30-32-34, 39-41-43
    assert list(accuracy_ax.get_lines()[0].get_ydata()) == pytest.approx([32.0, 41.0])
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels == ["convolution", "locally connected", "LRLC rank 4, logits at 100×",
                      "without augmentation", "with augmentation"]  # fmt: skip
    plt.close(fig)
    augmented.raw["config"]["epochs"] = 24  # not a pair that differs in augmentation alone
    with pytest.raises(ValueError, match="more than the augmentation: epochs"):
        aug.plot_curves({"8 epochs": pairs})


def test_augmentation_weights_table_reads_each_layer_without_and_with():
    from test_logit_rate import grid as logit_grid
    from test_logit_rate import largest

    plain, augmented = logit_grid(100, (0.9, 0.9), 2.0), logit_grid(100, (0.8, 0.8), 0.5)
    augmented.raw["config"]["augmentation"] = "random crop"
    conv_and_lc = augmented_pairs()[0]  # no LRLC rank 4: left out
    table = aug.weights_table({"mnist": [(plain, augmented), conv_and_lc]}, 4, NAMES)
    header, _, *rows = table_rows(table)
    assert [c.strip() for c in header.split("|")[1:-1]] == [
        "dataset", "network", "first layer", "second layer", "last layer"
    ]  # fmt: skip
    assert len(rows) == 1
    cells = [c.strip() for c in rows[0].split("|")[1:-1]]
    expected = f"{largest(2.0):.3f} → {largest(0.5):.3f}"
    assert cells == ["MNIST", "LRLC rank 4, logits at 100×", expected, expected, expected]


def augmentation_parts() -> dict[str, list[tuple[Results, Results]]]:
    """The networks of :func:`augmented_pairs` with crops (conv and LC -3 points, LRLC +2)
    and with flips (conv and LC -1, LRLC -1; LC's seed 2 a point more)."""
    return {"crops": augmented_pairs(), "flips": augmented_pairs((-0.01, -0.01), "flip")}


def test_augmentation_parts_table_one_column_per_augmentation():
    header, _, *rows = table_rows(aug.parts_table(augmentation_parts()))
    assert [c.strip() for c in header.split("|")[1:-1]] == [
        "network", "without (%)", "crops (%)", "flips (%)"
    ]  # fmt: skip
    cells = [[c.strip() for c in row.split("|")[1:-1]] for row in rows]
    assert [c[0] for c in cells] == [
        "convolution", "locally connected", "LRLC rank 4, logits at 100×"
    ]  # fmt: skip
    assert cells[0][1:] == ["42.00\u00a0±\u00a02.00", "39.00\u00a0±\u00a02.00 (-3.00)",
                            "41.00\u00a0±\u00a02.00 (-1.00)"]  # fmt: skip
    # LC's seed 2 lost a point less with either: -3, -3, -2 and -1, -1, 0 (paired means)
    assert cells[1][2].endswith("(-2.67)") and cells[1][3].endswith("(-0.67)")
    assert cells[2][2].endswith("(+2.00)") and cells[2][3].endswith("(-1.00)")
    only_crops = {"crops": augmentation_parts()["crops"][:1]}  # conv and LC alone
    assert len(table_rows(aug.parts_table(only_crops))) == 2 + 2


def test_augmentation_parts_must_share_the_runs_without_augmentation():
    parts = augmentation_parts()
    plain = parts["flips"][0][0]
    plain.raw["runs"] = [
        {**r, "test_accuracy": r["test_accuracy"] + 0.01} for r in plain.raw["runs"]
    ]
    with pytest.raises(ValueError, match="convolution: flips is paired with other runs without"):
        aug.parts_table(parts)


def test_augmentation_parts_differences_one_column_per_augmentation():
    table = aug.parts_differences(augmentation_parts(), full_note=False)
    header, _, *rows = table_rows(table)
    assert [c.strip() for c in header.split("|")[1:-1]] == [
        "difference", "without augmentation", "crops", "flips"
    ]  # fmt: skip
    lrlc_conv = [c.strip() for c in rows[1].split("|")[1:-1]]
    assert lrlc_conv[0] == "LRLC rank 4, logits at 100× − convolution"
    # +5 without; crops: LRLC 48 against conv 39 (+9); flips: 45 against 41 (+4)
    assert lrlc_conv[1] == f"**+5.00 (±{2 * noise(0.445, 1000):.2f})**"
    assert lrlc_conv[2].startswith("**+9.00 (±") and lrlc_conv[3].startswith("+4.00 (±")
    assert table.data.startswith(results.difference_note(False))


def test_augmentation_weights_table_of_the_parts_of_an_augmentation():
    from test_logit_rate import grid as logit_grid

    plain = logit_grid(100, (0.9, 0.9), 2.0)
    crops, flips = logit_grid(100, (0.8, 0.8), 0.5), logit_grid(100, (0.8, 0.8), 2.0)
    crops.raw["config"]["augmentation"] = "random crop"
    flips.raw["config"]["augmentation"] = "random flip"
    parts = {"crops only": [(plain, crops)], "flips only": [(plain, flips)]}
    header, _, *rows = table_rows(aug.weights_table(parts, 4, {}, "augmentation"))
    assert header.split("|")[1].strip() == "augmentation"
    assert [row.split("|")[1].strip() for row in rows] == ["crops only", "flips only"]


def test_plot_augmentation_sweep_one_line_per_network_by_strength():
    fig = aug.plot_sweep(augmentation_parts(), (4, 1), "largest move")
    ax = fig.axes[0]
    conv, lc, lrlc = [container.lines[0] for container in ax.containers]  # data lines
    assert list(conv.get_xdata()) == [0, 1, 4]  # sorted: without, flips (1), crops (4)
    assert list(conv.get_ydata()) == pytest.approx([42.0, 41.0, 39.0])
    assert list(lc.get_xdata()) == list(lrlc.get_xdata()) == [0, 1, 4]
    assert conv.get_color() != lc.get_color()
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "convolution", "locally connected", "LRLC rank 4, logits at 100×"
    ]  # fmt: skip
    assert ax.get_xlabel() == "largest move"
    plt.close(fig)
    with pytest.raises(ValueError, match="one strength per augmentation: 2 augmentations"):
        aug.plot_sweep(augmentation_parts(), (4,), "largest move")


def test_plot_augmentation_parts_one_bar_per_network_and_augmentation():
    fig = aug.plot_parts(augmentation_parts())
    ax = fig.axes[0]
    bars = [p for c in ax.containers if isinstance(c, BarContainer) for p in c.patches]
    heights = [b.get_height() for b in bars]  # per network: crops, flips
    assert heights == pytest.approx([-3.0, -1.0, -8 / 3, -2 / 3, 2.0, -1.0])
    assert bars[0].get_facecolor() == bars[2].get_facecolor() != bars[1].get_facecolor()
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["crops", "flips"]
    assert [t.get_text() for t in ax.get_xticklabels()][0] == "convolution"
    plt.close(fig)
    colors = {"crops": "C8", "flips": "C7"}  # one augmentation, one colour, in every figure
    fig = aug.plot_parts(augmentation_parts(), colors=colors)
    patches = fig.axes[0].get_legend().get_patches()
    assert [p.get_facecolor() for p in patches] == [to_rgba("C8"), to_rgba("C7")]
    plt.close(fig)
    with pytest.raises(ValueError, match=r"no colour for \['flips'\]"):
        aug.plot_parts(augmentation_parts(), colors={"crops": "C8"})


def test_augmentation_pairs_pair_each_rate_whose_two_files_exist(tmp_path, results_only_in):

    folder = tmp_path / "results"
    results_only_in(folder)
    (folder / "cpu").mkdir(parents=True)
    for stem in ("mnist", "mnist-augmented-crop", "mnist-combining-lr-100",
                 "mnist-augmented-combining-lr-100"):  # fmt: skip
        (folder / "cpu" / f"{stem}.json").write_text(json.dumps(grid()))
    [(plain, crop)] = aug.pairs("mnist", "augmented-crop")
    assert (plain.origin, crop.origin) == (
        "results/cpu/mnist.json", "results/cpu/mnist-augmented-crop.json"
    )  # fmt: skip
    [(plain, both)] = aug.pairs("mnist")  # the faster logits' pair only
    assert both.origin == "results/cpu/mnist-augmented-combining-lr-100.json"
    assert plain.origin == "results/cpu/mnist-combining-lr-100.json"
    assert aug.pairs("cifar10") == []


def test_augmentation_pairs_refuse_a_faster_grid_that_differs_in_more_than_the_rate(
    tmp_path, results_only_in
):

    folder = tmp_path / "results"
    results_only_in(folder)
    (folder / "cpu").mkdir(parents=True)
    longer = grid()
    longer["config"]["epochs"] += 1
    for stem, raw in [("mnist", grid()), ("mnist-augmented", grid()),
                      ("mnist-combining-lr-100", grid()),
                      ("mnist-augmented-combining-lr-100", longer)]:  # fmt: skip
        (folder / "cpu" / f"{stem}.json").write_text(json.dumps(raw))
    with pytest.raises(ValueError, match="mnist-augmented-combining-lr-100.json differs .* epochs"):
        aug.pairs("mnist")
    (folder / "cpu" / "mnist-augmented-combining-lr-100.json").write_text(json.dumps(grid()))
    (folder / "cpu" / "mnist-combining-lr-100.json").write_text(json.dumps(longer))
    with pytest.raises(ValueError, match="mnist-combining-lr-100.json differs .* epochs"):
        aug.pairs("mnist")
    (folder / "cpu" / "mnist-combining-lr-100.json").write_text(json.dumps(grid()))
    assert len(aug.pairs("mnist")) == 2


# From a mutation audit: each test fails where the code it guards is broken ----------


def test_gain_error_bars_are_against_the_convolution_of_the_same_training():
    pairs = augmented_pairs((-0.30, 0.02))  # the augmented convolution far below
    fig = aug.plot_gains({"cifar10": pairs}, NAMES)
    bars = [c for c in fig.axes[0].containers if isinstance(c, BarContainer)]
    lrlc_with = bars[3]  # LC without, LC with, LRLC without, LRLC with
    a, conv = pairs[1][1].row("lrlc", 4), pairs[0][1].row("conv")
    height = 100 * (a["test_mean"] - conv["test_mean"])
    error = NOISE_MULTIPLE * difference_noise(a, conv, 1000)[0]
    assert bar_span(lrlc_with) == pytest.approx((height - error, height + error))
    plt.close(fig)


def test_weights_table_in_the_order_of_the_layers():
    plain = layered(100, (0.9, 0.9), (2.0, 0.0, 1.0))
    augmented = layered(100, (0.8, 0.8), (0.0, 0.0, 0.0))
    augmented.raw["config"]["augmentation"] = "random crop"
    rows = table_rows(aug.weights_table({"mnist": [(plain, augmented)]}, 4, NAMES))
    cells = cells_of(rows[2])
    assert cells[2:] == [f"{largest(2.0):.3f} → 0.250", "0.250 → 0.250",
                         f"{largest(1.0):.3f} → 0.250"]  # fmt: skip


def test_parts_error_bars_span_the_noise_multiple():
    parts = augmentation_parts()
    fig = aug.plot_parts(parts)
    bars = [c for c in fig.axes[0].containers if isinstance(c, BarContainer)]
    plain, crops = parts["crops"][0]
    without, with_ = plain.row("conv"), crops.row("conv")
    error = NOISE_MULTIPLE * difference_noise(with_, without, 1000)[0]
    low, high = bar_span(bars[0])  # the convolution with crops: -3 points
    assert (high - low) / 2 == pytest.approx(error)
    plt.close(fig)


def test_sweep_error_bars_are_one_std_in_points():
    fig = aug.plot_sweep(augmentation_parts(), (4, 1), "largest move")
    conv = fig.axes[0].containers[0]
    segments = conv.lines[2][0].get_segments()
    at_zero = next(s for s in segments if s[0, 0] == 0)
    assert at_zero[:, 1] == pytest.approx([40.0, 44.0])  # 42 ± 2 points
    plt.close(fig)


def test_only_lrlc_is_named_with_the_logits_rate():
    plain, augmented = copies(-0.02)
    for g, text in ((plain, "none (as the paper)"), (augmented, "random crop")):
        g.raw["config"]["augmentation"] = text
        g.raw["config"]["combining_lr_scale"] = 100.0
    rows = table_rows(aug.table({"cifar10": [(plain, augmented)]}, NAMES))
    names = [cells_of(r)[1] for r in rows[2:]]
    assert names == ["convolution", "locally connected", "LRLC rank 4, logits at 100×"]


def test_a_setting_only_the_augmented_grid_records_is_compared_too():
    plain, augmented = copies(-0.02)
    plain.raw["config"]["augmentation"] = "none (as the paper)"
    augmented.raw["config"]["augmentation"] = "random crop"
    augmented.raw["config"]["combining_lr_scale"] = 100.0  # plain has no such entry: 1x
    with pytest.raises(ValueError, match="combining_lr_scale"):
        aug.check_only_augmentation_differs(plain, augmented)
