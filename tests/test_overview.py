"""lrlc.overview: the grids of several datasets side by side (chapter 9's tables and figure)."""

from __future__ import annotations

import copy
import json
import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from matplotlib.container import BarContainer  # noqa: E402
from test_results import grid, run  # noqa: E402  (the fake grids of tests/test_results.py)

from lrlc import overview, results  # noqa: E402
from lrlc.plotting import GRID_RATE_COLOR  # noqa: E402
from lrlc.results import Results  # noqa: E402

NAMES = {"mnist": "MNIST", "cifar10": "CIFAR-10", "celeba": "CelebA"}


def noise(p: float, n: int) -> float:
    """The test-set noise (points) of a difference of two accuracies near p, n images each."""
    return 100 * math.sqrt(2 * p * (1 - p) / n)


def digits() -> Results:
    """10,000 test images. Validation picks rank 2 (test 94%), test would pick rank 4 (97%)."""
    raw = grid()
    raw["runs"] = [
        run("conv", None, 0, 0.90, params=75_000), run("conv", None, 1, 0.94, params=75_000),
        run("lc", None, 0, 0.70, params=9_000_000),
        run("coordconv", None, 0, 0.91, params=76_000),
        run("wide_conv", 4, 0, 0.96, params=471_000),
        run("lrlc", 1, 0, 0.93, params=76_000),
        run("lrlc", 2, 0, 0.94, params=150_000, valid_accuracy=0.99),
        run("lrlc", 4, 0, 0.97, params=300_000, valid_accuracy=0.90),
        run("lrlc", 8, 0, 0.50, "last"),  # another placement: never the best rank
        run("lrlc_input", 4, 0, 0.99), run("lrlc_input", 2, 0, 0.95),
    ]  # fmt: skip
    return Results("mnist", raw, "results/cpu/mnist.json")


def faces() -> Results:
    """1,000 test images, no LC, no controls; rank 1 is the only (so the best) LRLC rank."""
    raw = grid()
    raw["dataset"], raw["data"]["test_size"] = "celeba", 1000
    raw["runs"] = [run("conv", None, 0, 0.80), run("lrlc", 1, 0, 0.81)]
    return Results("celeba", raw, "results/cpu/celeba.json")


@pytest.fixture
def grids() -> dict[str, Results | None]:
    return {"mnist": digits(), "cifar10": None, "celeba": faces()}  # CIFAR-10 pending


def lines_of(table) -> list[str]:
    return table.data.splitlines()


def table_rows(table) -> list[str]:
    """The lines of a Markdown table, without the note above it."""
    return [line for line in table.data.splitlines() if line.startswith("|")]


def bar_span(container) -> tuple[float, float]:
    """The (low, high) of the error bar of a one-bar BarContainer."""
    (segment,) = container.errorbar.lines[2][0].get_segments()
    return segment[0, 1], segment[1, 1]


def test_accuracy_is_mean_and_std_over_seeds_in_percent():
    assert overview.accuracy(None) == "not run"
    one = {"test_mean": 0.955, "test_std": 0.0, "seeds": 1}
    assert overview.accuracy(one) == "95.50"  # one seed: no spread claimed
    two = {"test_mean": 0.92, "test_std": 0.02828, "seeds": 2}
    # joined by no-break spaces: a narrow column never separates the mean from its spread
    assert overview.accuracy(two) == "92.00\u00a0±\u00a02.83"


def test_headline_rows_pick_the_best_rank_on_validation_not_test():
    rows = overview.headline_rows(digits())
    assert rows["lrlc"]["rank"] == 2  # valid 99% against rank 4's 90%, although 94 < 97 on test
    assert rows["lrlc"]["test_mean"] == pytest.approx(0.94)
    assert rows["lrlc_input"]["rank"] == 2  # the lowest input-dependent rank run
    assert rows["conv"]["test_mean"] == pytest.approx(0.92) and rows["lc"]["seeds"] == 1
    assert overview.headline_rows(faces())["lc"] is None
    assert overview.headline_rows(faces())["lrlc_input"] is None


def test_headline_table_one_row_per_dataset_and_pending(grids):
    lines = lines_of(overview.headline_table(grids, NAMES))
    assert lines[0] == (
        "| dataset | convolution | LC | best LRLC (rank on validation) | input-dependent LRLC "
        "| seeds | grid |"
    )
    assert lines[2:] == [
        "| MNIST | 92.00\u00a0±\u00a02.83 | 70.00 | rank 2: 94.00 | rank 2: 95.00 | 1–2 "
        "| CPU, subsets, 2 epochs, not tuned |",
        "| CIFAR-10 | pending | pending | pending | pending | – "
        "| `python -m lrlc.experiments cifar10` |",
        "| CelebA | 80.00 | not run | rank 1: 81.00 | not run | 1 "
        "| CPU, subsets, 2 epochs, not tuned |",
    ]  # fmt: skip
    # the default names are the book's four datasets
    assert lines_of(overview.headline_table({"mnist": None}))[2].startswith("| MNIST | pending")
    assert list(overview.DATASETS) == ["mnist", "cifar10", "celeba", "trans_celeba48"]


def test_headline_table_says_once_how_every_grid_was_made(grids):
    made_alike = {"mnist": grids["mnist"], "celeba": grids["celeba"]}
    lines = lines_of(overview.headline_table(made_alike, NAMES))
    assert lines[:2] == ["Every grid: CPU, subsets, 2 epochs, not tuned.", ""]
    assert lines[2].endswith("| input-dependent LRLC | seeds |")  # no grid column
    assert lines[4].endswith("| rank 2: 95.00 | 1–2 |")
    one_epoch = faces()
    one_epoch.raw["config"]["epochs"] = 1
    lines = lines_of(overview.headline_table({**made_alike, "celeba": one_epoch}, NAMES))
    assert lines[-1].endswith("| CPU, subsets, 1 epoch, not tuned |")


def test_comparisons_judge_each_difference_against_its_noise(grids):
    text = overview.comparisons(grids, NAMES).data
    assert text.startswith(results.DIFFERENCE_NOTE)
    lines = table_rows(overview.comparisons(grids, NAMES))
    assert lines[0] == (
        "| dataset | best LRLC | best − convolution | best − LC | input-dependent − convolution |"
    )
    # MNIST: 94 - 92 = +2.00 points; one side has one seed, so the test noise at p = 0.93
    # decides, 2 x 0.36: beyond it, so bold
    t = 2 * noise(0.93, 10_000)
    assert 2.0 > t
    assert lines[2].startswith(f"| MNIST | rank 2 | **+2.00 (±{t:.2f})** | **+24.00 (±")
    assert lines[2].endswith(f"| **+3.00 (±{2 * noise(0.935, 10_000):.2f})** |")
    # faces: +1.00 point on 1,000 images is within twice the noise (2 x 1.77 points)
    assert noise(0.805, 1000) == pytest.approx(1.77, abs=0.01)
    t = 2 * noise(0.805, 1000)
    assert lines[3] == f"| CelebA | rank 1 | +1.00 (±{t:.2f}) | not run | not run |"
    assert len(lines) == 4  # CIFAR-10 is pending: left out
    assert overview.comparisons({"mnist": None}).data == "No results file yet: nothing to compare."


def test_gains_over_the_convolution_as_bars_with_noise_error_bars(grids):
    fig, ax = plt.subplots()
    assert overview.plot_gains_over_conv(grids, NAMES, ax=ax) is fig
    bars = [c for c in ax.containers if isinstance(c, BarContainer)]
    drawn = [(b.patches[0].get_x() + b.patches[0].get_width() / 2, b) for b in bars]
    drawn = [(x, b) for x, b in drawn if not math.isnan(x)]  # without the legend entries
    heights = {round(x, 3): b.patches[0].get_height() for x, b in drawn}
    width = 0.8 / 3
    # MNIST (x = 0): LC 70 - 92, best rank (2) 94 - 92, input-dependent (rank 2) 95 - 92;
    # faces (x = 2): the best rank 81 - 80, and no LC or input-dependent bar
    expected = {-width: -22.0, 0.0: 2.0, width: 3.0, 2.0: 1.0}
    assert heights == pytest.approx({round(x, 3): h for x, h in expected.items()})
    # each error bar spans +- twice the noise scale of its difference, so that it crosses
    # zero exactly when the difference is within the noise (here 2.0 > 2 x 0.36: it clears)
    (lrlc_bar,) = [b for x, b in drawn if round(x, 3) == 0.0]
    twice = 2 * noise(0.93, 10_000)
    assert bar_span(lrlc_bar) == pytest.approx((2.0 - twice, 2.0 + twice))
    texts = sorted((t.get_text(), round(t.get_position()[0], 3)) for t in ax.texts)
    assert texts == [
        ("not\nrun", round(2 - width, 3)), ("not\nrun", round(2 + width, 3)), ("pending", 1),
    ]  # fmt: skip
    assert [t.get_text() for t in ax.get_xticklabels()] == ["MNIST", "CIFAR-10", "CelebA"]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["LC", "best LRLC rank", "input-dependent LRLC"]
    # each in its colour of the other figures: LC red, LRLC blue, input-dependent pink
    colours = [h.get_facecolor() for h in ax.get_legend().legend_handles]
    assert [matplotlib.colors.to_hex(c) for c in colours] == [
        matplotlib.colors.to_hex(c) for c in ("C3", "C0", "C6")
    ]
    plt.close(fig)


def test_rank_table_has_every_rank_any_grid_ran(grids):
    lines = lines_of(overview.rank_table(grids, NAMES))
    # a column per dataset (CIFAR-10 is pending: left out), a row per rank any grid ran in
    # all three layers (rank 8 ran in the last layer only)
    assert lines[0] == "| network | MNIST | CelebA |"
    assert lines[2:] == [
        "| convolution | 92.00\u00a0±\u00a02.83 | 80.00 |",
        "| LRLC rank 1 | 93.00 | 81.00 |",
        "| LRLC rank 2 | 94.00 | – |",
        "| LRLC rank 4 | 97.00 | – |",
    ]
    assert overview.rank_table({"mnist": None}).data == "No results file yet."


def test_rank_table_of_the_last_layer_only(grids):
    lines = lines_of(overview.rank_table(grids, NAMES, where="last"))
    # only MNIST ran LRLC in the last layer alone; the faces' grid is left out
    assert lines[0] == "| network | MNIST |"
    assert lines[2:] == [
        "| convolution | 92.00\u00a0±\u00a02.83 |",
        "| last layer, rank 8 | 50.00 |",
    ]
    # no grid ran the first layer alone
    assert overview.rank_table(grids, NAMES, where="first").data == "No results file yet."


def test_controls_table_and_verdicts(grids):
    assert overview.with_controls(grids) == ["mnist"]  # faces ran neither control
    lines = lines_of(overview.controls_table(grids, NAMES))
    assert lines[0] == "| dataset | convolution | CoordConv | wide convolution | best LRLC |"
    assert lines[2:] == [
        "| MNIST | 92.00\u00a0±\u00a02.83 (75k) | 91.00 (76k) | 96.00 (471k) "
        "| rank 2: 94.00 (150k) |"
    ]
    verdicts = table_rows(overview.control_verdicts(grids, NAMES))
    assert verdicts[0] == (
        "| dataset | best LRLC | best − wide conv | best − CoordConv | CoordConv − convolution "
        "| best − rank 1 |"
    )
    # 94 - 96, 94 - 91, 91 - 92, and 94 - 93 = +1.00: what position-dependent filters add
    cells = [c.strip() for c in verdicts[2].strip("|").split("|")]
    assert [c.strip("*").split(" (")[0] for c in cells] == [
        "MNIST", "rank 2", "-2.00", "+3.00", "-1.00", "+1.00"
    ]  # fmt: skip
    assert cells[5] == f"**+1.00 (±{2 * noise(0.935, 10_000):.2f})**"
    assert overview.with_controls({"mnist": None, "celeba": faces()}) == []


def test_three_steps_best_minus_conv_rank_one_minus_conv_best_minus_rank_one(grids):
    lines = table_rows(overview.steps_table(grids, NAMES))
    assert lines[0] == (
        "| dataset | best LRLC | best − convolution | rank 1 − convolution | best − rank 1 |"
    )
    # MNIST: 94 - 92, 93 - 92 and 94 - 93, each more than twice its noise (0.36 to 0.37)
    assert 1.0 > 2 * max(noise(0.925, 10_000), noise(0.935, 10_000))
    t = [2 * noise(p, 10_000) for p in (0.93, 0.925, 0.935)]
    assert lines[2] == (
        f"| MNIST | rank 2 | **+2.00 (±{t[0]:.2f})** | **+1.00 (±{t[1]:.2f})** "
        f"| **+1.00 (±{t[2]:.2f})** |"
    )
    # faces: rank 1 is the best rank, so there is no step beyond it; +1 is within 2 x 1.77
    t = 2 * noise(0.805, 1000)
    assert lines[3] == f"| CelebA | rank 1 | +1.00 (±{t:.2f}) | +1.00 (±{t:.2f}) | – |"
    assert len(lines) == 4  # CIFAR-10 is pending: left out
    assert overview.steps_table({"mnist": None}).data == "No results file yet."


def alike(dataset: str, commits: list[str] | None = None) -> Results:
    """A grid made as faces() is, for another dataset, its runs from ``commits``."""
    grid_ = faces()
    grid_.raw["dataset"] = dataset
    grid_.raw["runs"] = [run("conv", None, s, 0.8, commit=c)
                         for s, c in enumerate(commits or ["0123456789abcdef"])]  # fmt: skip
    return Results(dataset, grid_.raw, f"results/cpu/{dataset}.json")


def test_provenance_list_says_once_what_every_grid_shares(grids):
    made_alike = {"mnist": alike("mnist"), "celeba": alike("celeba")}
    lines = lines_of(overview.provenance_list(made_alike, NAMES))
    head = made_alike["mnist"].provenance().split(" Data: ")[0]
    assert lines[0] == f"Every grid below: {head[0].lower()}{head[1:]}"
    assert lines[1] == ""
    assert lines[2].startswith("- **MNIST**: Data: MNIST, 3,000 training images")
    assert lines[2].endswith("from `results/cpu/mnist.json`.")
    assert lines[3].startswith("- **CelebA**: Data: CelebA")
    # grids made otherwise: each says everything; a pending one gives the command
    lines = lines_of(overview.provenance_list({**grids, "cifar10": None}, NAMES))
    assert lines[0] == f"- **MNIST**: {grids['mnist'].provenance()}"
    assert "`python -m lrlc.experiments cifar10`" in lines[1]
    assert lines[2] == f"- **CelebA**: {grids['celeba'].provenance()}"


def test_provenance_stack_says_once_what_every_grid_shares():
    plain, made = alike("celeba"), alike("celeba").raw
    made["config"]["combining_lr_scale"], made["config"]["epochs"] = 100.0, 24
    faster = Results("celeba", made, "results/cpu/celeba-faster.json")
    lines = lines_of(overview.provenance_stack({"1×": plain, "100×": faster}))
    training, data, record = plain.provenance_parts()
    shared = [c for c in training if c != "2 epochs"]
    assert "2 epochs" in training and len(shared) == len(training) - 1
    opening = ", ".join(shared)
    assert lines[0] == f"Every grid below: {opening[0].lower()}{opening[1:]}. {data}"
    assert lines[1] == ""
    assert lines[2] == f"- **1×**: 2 epochs. {record}"
    own = "24 epochs, the spatial combining logits at 100× the learning rate."
    assert lines[3] == f"- **100×**: {own} {faster.provenance_parts()[2]}"
    assert lines[3].endswith("from `results/cpu/celeba-faster.json`.")
    # grids on other data: each item has its own data sentence
    lines = lines_of(overview.provenance_stack({"MNIST": alike("mnist"), "faces": plain}))
    assert lines[0].endswith("(not tuned).") and " Data: " not in lines[0]
    assert lines[2].startswith("- **MNIST**: Data: MNIST, ")
    # one grid: its whole provenance
    assert overview.provenance_stack({"x": plain}).data == plain.provenance()


def test_provenance_is_its_parts_joined():
    # the text the chapters print, as it was before provenance() was split into parts
    assert faces().provenance() == (
        "Trained on the CPU (float32), 1 seed (0) per variant, 2 epochs, batch 64, SGD with "
        "Nesterov momentum and cosine decay, learning rate 0.05 and weight decay 0.0005 for "
        "every variant (not tuned). Data: CelebA, 3,000 training images (a class-balanced "
        "subset), 1,000 validation (a subset of the official 19,867), 1,000 test (a subset "
        "of the official 19,962). Commit 0123456789, 2026-11-23, PyTorch 2.x; from "
        "`results/cpu/celeba.json`."
    )
    training, data, record = faces().provenance_parts()
    assert training[:3] == ["Trained on the CPU (float32)", "1 seed (0) per variant", "2 epochs"]
    assert data.startswith("Data: CelebA") and record.startswith("Commit 0123456789")


def test_provenance_stack_keeps_capitals():
    made = alike("celeba").raw
    made["device"], made["config"]["amp"] = "NVIDIA H100", "bf16 autocast"
    made["config"]["epochs"], made["config"]["batch_size"] = 30, 256
    made["runs"] = [{**r, "seed": 5} for r in made["runs"]]
    gpu = Results("celeba", made, "results/celeba.json")
    lines = lines_of(overview.provenance_stack({"CPU": alike("celeba"), "GPU": gpu}))
    assert lines[0].startswith("Every grid below: SGD with Nesterov momentum")
    assert lines[2].startswith("- **CPU**: Trained on the CPU (float32), 1 seed (0)")
    assert lines[3].startswith("- **GPU**: Trained on an NVIDIA H100 GPU (bf16 autocast)")


def test_provenance_list_explains_dirty_commits_once():
    commits = ["1111111111", "2222222222", "3333333333", "4444444444-dirty"]
    text = overview.provenance_list(
        {"mnist": alike("mnist", commits), "celeba": alike("celeba", commits[:3] + ["5" * 10])},
        NAMES,
    ).data
    assert "Each run records the commit it ran from; a commit marked -dirty had" in text
    assert text.count("uncommitted changes") == 1  # above the list, not in its items
    assert "each run records its own" not in text
    assert "Runs from 4 commits, 1111111111 first and 4444444444-dirty last, 1 marked -dirty" \
        in text  # fmt: skip


@pytest.mark.parametrize("table", ["comparisons", "control_verdicts", "steps_table"])
def test_difference_tables_after_the_first_say_the_note_briefly(grids, table):
    full = getattr(overview, table)(grids, NAMES).data
    short = getattr(overview, table)(grids, NAMES, full_note=False).data
    assert full.startswith(results.DIFFERENCE_NOTE)
    assert short == full.replace(results.DIFFERENCE_NOTE, results.SHORT_DIFFERENCE_NOTE)


def copies(paired_shift: float) -> tuple[Results, Results]:
    """One grid on a lossless copy and on a lossy one: conv, LC and LRLC rank 4, seeds 0-2;
    on the lossy copy every run scores ``paired_shift`` more (and LC's seed 2 1 point more
    still), and LRLC rank 4 was not run with seed 2."""
    tests = {("conv", None): [0.40, 0.42, 0.44], ("lc", None): [0.38, 0.40, 0.42],
             ("lrlc", 4): [0.45, 0.47, 0.49]}  # fmt: skip
    made = []
    for shift in (0.0, paired_shift):
        raw = grid()
        raw["dataset"], raw["data"]["test_size"] = "cifar10", 1000
        raw["runs"] = [
            run(
                layer,
                rank,
                seed,
                acc + shift + (0.01 if shift and layer == "lc" and seed == 2 else 0),
            )
            for (layer, rank), accs in tests.items()
            for seed, acc in enumerate(accs)
            if not (shift and layer == "lrlc" and seed == 2)
        ]
        made.append(Results("cifar10", raw, "results/cpu/cifar10-lossless.json"))
    return made[0], made[1]


def test_copies_table_pairs_the_runs_of_each_seed():
    lossless, jpeg = copies(-0.02)
    rows = table_rows(overview.copies_table(lossless, jpeg))
    assert rows[0].split("|")[1:-1] == [
        " variant ",
        " lossless (%) ",
        " JPEG (%) ",
        " JPEG − lossless, paired by seed (points) ",
    ]
    conv, lc, lrlc = (row.split("|")[1:-1] for row in rows[2:])
    assert conv[0].strip() == "convolution" and lrlc[0].strip() == "LRLC rank 4"
    assert (
        conv[1].strip() == "42.00\u00a0±\u00a02.00" and conv[2].strip() == "40.00\u00a0±\u00a02.00"
    )
    # every seed 2 points lower: no spread at all in the paired differences, unlike the means'
    assert conv[3].strip() == "-2.00\u00a0±\u00a00.00 (3 seeds)"
    # LC's seed 2 lost 1 point instead of 2: differences -2, -2, -1
    assert lc[3].strip() == f"-1.67\u00a0±\u00a0{math.sqrt(1 / 3):.2f} (3 seeds)"
    assert lrlc[3].strip() == "-2.00\u00a0±\u00a00.00 (2 seeds)"  # only the seeds both ran
    jpeg.raw["runs"] = [r for r in jpeg.raw["runs"] if r["layer"] != "lc" or r["seed"] == 5]
    jpeg.raw["runs"].append(run("lc", None, 5, 0.5))  # LC ran, but with no seed in common
    lc = table_rows(overview.copies_table(lossless, jpeg))[3].split("|")[1:-1]
    assert lc[0].strip() == "locally connected" and lc[3].strip() == "no seed ran on both"


def test_copies_differences_judge_every_pair_on_each_copy():
    lossless, jpeg = copies(-0.02)
    table = overview.copies_differences(lossless, jpeg, names=("pickle", "JPEG"))
    header, _, *rows = table_rows(table)
    assert header.split("|")[2:4] == [" on the pickle copy ", " on the JPEG copy "]
    names = [row.split("|")[1].strip() for row in rows]
    assert names == [
        "locally connected − convolution",
        "LRLC rank 4 − convolution",
        "LRLC rank 4 − locally connected",
    ]
    # LRLC rank 4 − convolution on the lossless copy: +5 points, seed spread 2, test noise
    # of 1,000 images at 44.5%: threshold 2 x max(2, 2.22) = 4.45, so beyond it (bold)
    threshold = 2 * noise(0.445, 1000)
    assert rows[1].split("|")[2].strip() == f"**+5.00 (±{threshold:.2f})**"
    assert table.data.startswith(results.difference_note(True))
    short = overview.copies_differences(lossless, jpeg, full_note=False)
    assert short.data.startswith(results.difference_note(False))


def test_budget_table_puts_the_budgets_side_by_side_and_refuses_other_differences():
    short = Results("mnist", grid(), "results/cpu/mnist.json")
    made = grid()
    made["config"]["epochs"] = 6
    made["runs"] = [run("conv", None, s, 0.96) for s in (0, 1)] + [
        run("lrlc", 4, s, 0.97, params=300) for s in (0, 1)
    ]
    longer = Results("mnist", made, "results/cpu/mnist-6-epochs.json")
    budgets = {"2 epochs": short, "6 epochs": longer}
    table = overview.budget_table(budgets, [("conv", None), ("lrlc", 4)])
    rows = table_rows(table)
    assert rows[0] == "| network | 2 epochs (%) | 6 epochs (%) |"
    conv, lrlc = short.row("conv"), short.row("lrlc", 4)
    assert rows[2] == f"| convolution | {overview.accuracy(conv)} | 96.00\u00a0±\u00a00.00 |"
    assert rows[3].startswith("| LRLC rank 4 | ")
    short_lead = results.format_difference(lrlc, conv, 10_000)
    long_lead = results.format_difference(longer.row("lrlc", 4), longer.row("conv"), 10_000)
    assert rows[4] == f"| LRLC rank 4 − convolution (points) | {short_lead} | {long_lead} |"
    assert table.data.startswith(results.DIFFERENCE_NOTE)
    assert overview.budget_table(budgets, [("conv", None)], full_note=False).data.startswith("|")
    for r in made["runs"]:
        r["lr"] = 0.1
    with pytest.raises(ValueError, match=r"epochs: the learning rate and weight decay of conv"):
        overview.budget_table(budgets, [("conv", None), ("lrlc", 4)])
    made["config"]["batch_size"] = 128
    with pytest.raises(ValueError, match=r"mnist-6-epochs.json differs .* epochs: batch_size"):
        overview.budget_table(budgets, [("conv", None), ("lrlc", 4)])


def test_budget_table_compares_each_network_with_itself_across_budgets():
    # tuned grids: the convolution and LRLC chose other learning rates, the same at both
    # budgets; a check over all the runs of both grids would refuse them
    short, longer = grid(), grid()
    longer["config"]["epochs"] = 6
    for made in (short, longer):
        for r in made["runs"]:
            r["lr"] = 0.1 if r["layer"] == "lrlc" else 0.05
    budgets = {
        "2 epochs": Results("mnist", short, "results/mnist.json"),
        "6 epochs": Results("mnist", longer, "results/mnist-6-epochs.json"),
    }
    rows = table_rows(overview.budget_table(budgets, [("conv", None), ("lrlc", 4)]))
    assert len(rows) == 5  # header, rule, two networks, one difference
    for r in longer["runs"]:
        if r["layer"] == "lrlc":
            r["lr"] = 0.05  # LRLC alone changed its learning rate between the budgets
    with pytest.raises(ValueError, match=r"weight decay of LRLC rank 4 \(\[\(0.05"):
        overview.budget_table(budgets, [("conv", None), ("lrlc", 4)])
    # a network the table does not show is not checked
    assert table_rows(overview.budget_table(budgets, [("conv", None)]))


def test_budget_table_tells_the_last_layer_from_all_three():
    # grid() holds LRLC rank 4 in all three layers (two seeds) and in the last layer only
    short = Results("mnist", grid(), "results/cpu/mnist.json")
    made = grid()
    made["config"]["epochs"] = 6
    made["runs"] = [run("conv", None, 0, 0.96), run("lrlc", 4, 0, 0.93, "last")]
    budgets = {"2 epochs": short, "6 epochs": Results("mnist", made, "mnist-6.json")}
    last = ("lrlc", 4, 1, "last")
    networks = [("conv", None), ("lrlc", 4), last]
    rows = table_rows(overview.budget_table(budgets, networks, differences=[(last, ("lrlc", 4))]))
    assert rows[3].startswith("| LRLC rank 4 | 97.00") and rows[3].endswith("| not run |")
    assert rows[4] == "| LRLC rank 4 (last layer) | 91.00 | 93.00 |"
    # 91 - 97 (two seeds of 96 and 98), no all-layer LRLC at 6 epochs
    assert rows[5].startswith("| LRLC rank 4 (last layer) − LRLC rank 4 (points) | **-6.00 (")
    assert rows[5].endswith(" | not run |")
    fig = overview.plot_budget_curves(budgets, networks)
    accuracy_ax = fig.axes[1]
    # conv at both budgets, all three layers at the first, the last layer at both (each
    # valid_curve ends 1 point below its test accuracy)
    assert [line.get_ydata()[-1] for line in accuracy_ax.lines] == pytest.approx(
        [91.0, 95.0, 96.0, 90.0, 92.0]
    )
    plt.close(fig)
    for r in made["runs"]:
        r["lr"] = 0.1 if r["where"] == "last" else r["lr"]
    with pytest.raises(ValueError, match=r"weight decay of LRLC rank 4 \(last layer\)"):
        overview.budget_table(budgets, networks)


def faster_logits(made: dict, test: float) -> dict:
    """``made``'s settings, LRLC rank 4 alone, its logits at 100 times the rate."""
    faster = json.loads(json.dumps(made))
    faster["config"]["combining_lr_scale"] = 100.0
    faster["runs"] = [run("lrlc", 4, s, test, params=300) for s in (0, 1)]
    return faster


def test_budget_table_takes_lrlc_with_faster_logits_from_the_budgets_other_grid():
    short, longer = grid(), grid()
    longer["config"]["epochs"] = 6
    longer["runs"] = [run("conv", None, s, 0.96) for s in (0, 1)]
    budgets = {
        "2 epochs": [
            Results("mnist", short, "results/cpu/mnist.json"),
            Results("mnist", faster_logits(short, 0.93), "results/cpu/m-100.json"),
        ],
        "6 epochs": [
            Results("mnist", longer, "results/cpu/mnist-6-epochs.json"),
            Results("mnist", faster_logits(longer, 0.99), "results/cpu/m6-100.json"),
        ],
    }
    networks = [("conv", None), ("lrlc", 4), ("lrlc", 4, 100)]
    rows = table_rows(overview.budget_table(budgets, networks))
    assert rows[3].startswith("| LRLC rank 4 | ") and rows[3].endswith("| not run |")
    pm = "\u00a0±\u00a00.00"  # two seeds of the same accuracy
    assert rows[4] == f"| LRLC rank 4, logits at 100× | 93.00{pm} | 99.00{pm} |"
    assert rows[-1].startswith("| LRLC rank 4, logits at 100× − convolution (points) | ")
    chosen = [(("lrlc", 4, 100), ("lrlc", 4))]  # the one difference asked for
    rows = table_rows(overview.budget_table(budgets, networks, differences=chosen))
    assert len(rows) == 6 and rows[-1].startswith(
        "| LRLC rank 4, logits at 100× − LRLC rank 4 (points) | "
    )
    assert rows[-1].endswith(" | not run |")  # no plain-rate LRLC at 6 epochs
    with pytest.raises(ValueError, match=r"\('lc', None\), which is not one of its networks"):
        overview.budget_table(budgets, networks, differences=[(("lc", None), ("conv", None))])
    # no differences, no note on them
    assert overview.budget_table(budgets, networks, differences=[]).data.startswith("| network")
    fig = overview.plot_budget_curves(budgets, networks)
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels[:3] == ["convolution", "LRLC rank 4", "LRLC rank 4, logits at 100×"]
    colors = [h.get_color() for h in fig.legends[0].legend_handles[:3]]
    assert colors == ["C2", GRID_RATE_COLOR, "C0"]  # LRLC's own colour at 100x
    # conv at both budgets, LRLC at the plain rate at the first only, 100x at both
    assert len(fig.axes[1].lines) == 5
    # the shorter budget dotted at every epoch, so it shows where it runs along the longer
    short_line, long_line = fig.axes[1].lines[:2]  # the convolution at both budgets
    assert (short_line.get_marker(), long_line.get_marker()) == ("o", "None")
    assert [h.get_marker() for h in fig.legends[0].legend_handles[-2:]] == ["o", "None"]
    plt.close(fig)
    budgets["6 epochs"][1].raw["config"]["epochs"] = 7  # the faster grid of another budget
    with pytest.raises(ValueError, match=r"m6-100.json differs .* logits' learning rate: epochs"):
        overview.budget_table(budgets, networks)
    budgets["6 epochs"][1].raw["config"]["epochs"] = 6
    budgets["6 epochs"][1].raw["config"]["combining_lr_scale"] = 1
    with pytest.raises(ValueError, match="the same combining-logit rate"):
        overview.budget_table(budgets, networks)
    with pytest.raises(ValueError, match="at least one grid"):
        overview.budget_table({"2 epochs": []}, networks)


def test_budget_curves_draw_every_network_at_every_budget():
    short = Results("mnist", grid(), "results/cpu/mnist.json")
    made = grid()
    made["config"]["epochs"] = 3
    made["runs"] = [run("conv", None, 0, 0.96, valid_curve=[0.5, 0.7, 0.9])]
    made["runs"] += [run("lrlc", 4, 0, 0.97, valid_curve=[0.6, 0.8, 0.95])]
    for r in made["runs"]:
        r["train_loss_curve"] = [1.0, 0.6, 0.3]
    budgets = {"2 epochs": short, "3 epochs": Results("mnist", made, "x.json")}
    fig = overview.plot_budget_curves(budgets, [("conv", None), ("lrlc", 4)])
    loss_ax, accuracy_ax = fig.axes
    assert [len(line.get_xdata()) for line in accuracy_ax.lines] == [2, 3, 2, 3]
    assert [line.get_linestyle() for line in loss_ax.lines] == ["--", "-", "--", "-"]
    assert accuracy_ax.lines[3].get_ydata()[-1] == pytest.approx(95.0)
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels == ["convolution", "LRLC rank 4", "2 epochs", "3 epochs"]
    plt.close(fig)


# From a mutation audit: each test fails where the code it guards is broken ----------


def cells_of(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def test_control_verdicts_give_a_dash_where_rank_one_is_the_best_rank():
    g = faces()  # rank 1 is its only, so best, LRLC rank
    g.raw["runs"].append(run("coordconv", None, 0, 0.79))
    rows = table_rows(overview.control_verdicts({"celeba": g}, NAMES))
    cells = cells_of(rows[2])
    assert cells[1] == "rank 1" and cells[-1] == "–"


def test_headline_seeds_column_counts_every_network_of_the_row():
    raw = grid()  # conv 2 seeds, best LRLC (rank 4 on validation) 2 seeds
    raw["runs"].append(run("lc", None, 0, 0.70))  # LC: one seed
    g = Results("mnist", raw, "results/cpu/mnist.json")
    lines = overview.headline_table({"mnist": g}, NAMES).data.splitlines()
    row = next(line for line in lines if line.startswith("| MNIST"))
    assert cells_of(row)[5] == "1–2"


def test_a_budget_without_a_faster_grid_shows_its_faster_logits_not_run():
    short = grid()
    faster = copy.deepcopy(short)
    faster["config"]["combining_lr_scale"] = 100.0
    faster["runs"] = [run("lrlc", 4, s, 0.93, params=300) for s in (0, 1)]
    longer = grid()
    longer["config"]["epochs"] = 6  # LRLC rank 4 at 1x only
    budgets = {
        "2 epochs": [Results("mnist", short, "a.json"), Results("mnist", faster, "a100.json")],
        "6 epochs": Results("mnist", longer, "b.json"),
    }
    rows = table_rows(overview.budget_table(budgets, [("conv", None), ("lrlc", 4, 100)]))
    assert rows[3].startswith("| LRLC rank 4, logits at 100× | 93.00")
    assert rows[3].endswith("| not run |")
