"""The experiment grids' results, as the chapters read them: tables, provenance, maps.

For example::

    from lrlc import results

    mnist = results.load("mnist")  # results/mnist.json or results/cpu/mnist.json
    print(mnist.provenance())      # where, on what data, how long, which commit
    mnist.table()                  # Markdown table of test accuracy, mean +- std
    print(mnist.findings())        # the comparisons, each judged against the noise

``results/<dataset>.json`` holds a reference grid (``python -m lrlc.experiments DATASET``);
``results/cpu/<dataset>.json`` a smaller grid run on the CPU, on subsets, which a chapter
shows (saying so) until a reference grid exists. Files are looked for in ``$LRLC_RESULTS``,
then in ``results/`` of the working directory and its parents (a chapter runs in
``book/``), then of the checkout this package was imported from; in Colab, where only the
package is installed, they are read from the book's repository.
"""

from __future__ import annotations

import difflib
import json
import math
import os
import re
import statistics
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from lrlc.data import BALANCED_NOTE, OFFICIAL_SIZES
from lrlc.datasets.celeba import OWN_PARTITION_NOTE
from lrlc.datasets.cifar10 import decoded_from_jpeg
from lrlc.layers import LowRankLocallyConnected2d
from lrlc.misaligned import base_dataset
from lrlc.models import PLACEMENT_LAYERS, paper_network

__all__ = [
    "Results",
    "load",
    "load_or_none",
    "find",
    "pending",
    "summarize",
    "difference_noise",
    "beyond_noise",
    "judge",
    "format_difference",
    "DIFFERENCE_NOTE",
    "SHORT_DIFFERENCE_NOTE",
    "difference_note",
    "NOISE_MULTIPLE",
    "variant_name",
    "setting_differences",
    "check_comparable",
    "by_logit_rate",
    "pool",
    "RESULTS_URL",
]

RESULTS_URL = "https://raw.githubusercontent.com/lrlc-book/lrlc-book/main/results"
"""Where :func:`load` fetches a results file that is not in the checkout (e.g. in Colab)."""
COMPARED_DATA = ("source", "train_size", "valid_size", "test_size", "note")
"""The ``data`` entries two grids compared run by run must share (the same images)."""
KINDS = ("", "cpu")  # results/<name>.json (reference grid), then results/cpu/<name>.json

#: The datasets a grid can be run on (``python -m lrlc.experiments <dataset>``).
GRID_DATASETS = ("mnist", "cifar10", "celeba", "trans_celeba48")


LAYER_NAMES = {
    "conv": "convolution",
    "coordconv": "CoordConv",
    "lc": "locally connected",
    "wide_conv": "wide convolution",
    "lrlc": "LRLC",
    "lrlc_input": "input-dependent LRLC",
}


def counted(n: int, noun: str) -> str:
    """``counted(1, "epoch")`` is "1 epoch", ``counted(3, "seed")`` "3 seeds"."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def variant_name(layer: str, rank: int | None = None, where: str = "all") -> str:
    """A reader's name for a variant: ``LRLC rank 4 (last layer)``, ``convolution``."""
    name = LAYER_NAMES.get(layer, layer)
    if rank is not None and layer != "wide_conv":
        name += f" rank {rank}"
    if layer == "wide_conv" and rank is not None:
        name += f" (widened for rank {rank})"
    return name + ("" if where == "all" else f" ({where} layer)")


BASELINES = ("conv", "coordconv", "wide_conv", "lc")  # what LRLC is compared with


# Names for comparison lines and figure labels, where LAYER_NAMES is too long.
SHORT_NAMES = {"conv": "conv", "coordconv": "CoordConv", "wide_conv": "wide conv", "lc": "LC"}
SHORT_NAMES |= {"lrlc": "LRLC", "lrlc_input": "input-dep."}


def _short_name(row: dict) -> str:
    """A baseline's name in a comparison line: ``conv``, ``CoordConv``, ``wide conv``, ``LC``."""
    name = SHORT_NAMES.get(row["layer"], row["layer"])
    if row["layer"] == "wide_conv" and row["rank"] is not None:
        name += f" (rank {row['rank']})"
    return name


def _search_dirs() -> list[Path]:
    dirs = []
    if os.environ.get("LRLC_RESULTS"):
        dirs.append(Path(os.environ["LRLC_RESULTS"]).expanduser())
    here = Path.cwd().resolve()
    dirs += [p / "results" for p in (here, *here.parents)]
    dirs.append(Path(__file__).resolve().parent.parent / "results")
    return list(dict.fromkeys(dirs))


def _find(name: str, kinds: Sequence[str] = KINDS) -> tuple[Path, str, str] | None:
    """The first ``<kind>/<name>.json`` there is: its path, origin and kind."""
    for directory in _search_dirs():
        for kind in kinds:
            path = directory / kind / f"{name}.json"
            if path.is_file():
                origin = f"{directory.name}/{path.relative_to(directory).as_posix()}"
                return path, origin, kind
    return None


def find(name: str) -> Path | None:
    """The local results file of ``name`` (e.g. "mnist", "celeba-attributes"), or None."""
    found = _find(name)
    return None if found is None else found[0]


class _Unreachable(OSError):
    """The book's repository could not be reached (no network, a proxy, a server error)."""


def _download(name: str, kinds: Sequence[str] = KINDS) -> tuple[dict, str, str] | None:
    """The first ``<kind>/<name>.json`` of the book's repository: its JSON, URL and kind;
    None where the repository has none of them. Raises :class:`_Unreachable`, naming the
    URL and the reason, where the repository cannot be reached."""
    for kind in kinds:
        url = f"{RESULTS_URL}/{kind + '/' if kind else ''}{name}.json"
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                return json.load(response), url, kind
        except urllib.error.HTTPError as error:
            if error.code == 404:  # not in the repository: try the next kind
                continue
            raise _Unreachable(f"{url} answered HTTP {error.code}") from error
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise _Unreachable(f"could not reach {url} ({reason})") from error
        except ValueError:  # not JSON
            continue
    return None


def summarize(raw: dict) -> list[dict]:
    """One row per variant of a results file, in a fixed order (the convolution, CoordConv,
    LC, the wide convolution, LRLC by placement, all three layers, the last, the first, the
    middle, and rank; input-dependent LRLC): layer, rank, where, seeds,
    test_mean, test_std (0 for one seed), valid_mean, params, images_per_second."""
    groups: dict[tuple, list[dict]] = {}
    for run in raw["runs"]:
        groups.setdefault((run["layer"], run["rank"], run["where"]), []).append(run)

    def order(key: tuple) -> tuple:
        layer, rank, where = key
        known, placements = list(LAYER_NAMES), list(PLACEMENT_LAYERS)  # all, last, first, middle
        return (
            known.index(layer) if layer in known else len(known),
            placements.index(where) if where in placements else len(placements),
            rank or 0,
        )

    rows = []
    for (layer, rank, where), runs in sorted(groups.items(), key=lambda item: order(item[0])):
        test = [r["test_accuracy"] for r in runs]
        rows.append(
            {
                "layer": layer,
                "rank": rank,
                "where": where,
                "seeds": len(runs),
                "test_mean": statistics.fmean(test),
                "test_std": statistics.stdev(test) if len(test) > 1 else 0.0,
                "valid_mean": statistics.fmean(r["valid_accuracy"] for r in runs),
                "params": runs[0]["params"],
                "images_per_second": statistics.median(r["images_per_second"] for r in runs),
            }
        )
    return rows


def _test_noise_of_difference(p: float, test_size: int) -> float:
    """Binomial standard error (points) of the difference of two independent accuracies
    ``p`` on ``test_size`` images each: ``100 * sqrt(2 p (1 - p) / test_size)``."""
    return 100 * math.sqrt(2 * p * (1 - p) / test_size)


#: A difference beyond this many noise scales (:func:`difference_noise`) counts as more
#: than noise (:func:`beyond_noise`, :func:`judge`).
NOISE_MULTIPLE = 2


def _beyond(difference: float, scale: float) -> bool:
    """Whether a difference (points) is larger than the noise of ``scale`` (points)."""
    return abs(difference) > NOISE_MULTIPLE * scale


def _noise_parts(a: dict, b: dict, test_size: int) -> tuple[float, float | None]:
    """(test noise, seed noise or None) of :func:`difference_noise`, in points."""
    test_noise = _test_noise_of_difference((a["test_mean"] + b["test_mean"]) / 2, test_size)
    if a["seeds"] > 1 and b["seeds"] > 1:
        return test_noise, 100 * max(a["test_std"], b["test_std"])
    return test_noise, None


def _noise_scale(test_noise: float, seed_noise: float | None) -> float:
    """The noise scale of :func:`difference_noise` from its two parts: the larger."""
    return test_noise if seed_noise is None else max(test_noise, seed_noise)


def difference_noise(a: dict, b: dict, test_size: int) -> tuple[float, str]:
    """The noise scale (points) of the difference of two :func:`summarize` rows' test accuracies,
    and how it was estimated.

    The larger of two estimates: the test set's, the binomial standard error of a
    difference of two independent accuracies at their mean ``p``,
    ``100 * sqrt(2 p (1 - p) / test_size)`` (conservative: both are scored on the same
    images); and, when both rows have several seeds, the larger of their seed-to-seed
    standard deviations. A difference beyond :data:`NOISE_MULTIPLE` times this scale is
    more than noise.
    """
    test_noise, seed_noise = _noise_parts(a, b, test_size)
    scale = _noise_scale(test_noise, seed_noise)
    if seed_noise is not None:
        return scale, f"seed std {seed_noise:.2f}, test {test_noise:.2f}"
    return scale, f"test {test_noise:.2f}; one seed, so seed noise unknown"


def beyond_noise(a: dict, b: dict, test_size: int) -> bool:
    """Whether row ``a`` minus row ``b`` (:func:`summarize` rows) is larger than the noise:
    beyond :data:`NOISE_MULTIPLE` times :func:`difference_noise`, a rule of thumb, not a
    significance test."""
    scale, _ = difference_noise(a, b, test_size)
    return _beyond(100 * (a["test_mean"] - b["test_mean"]), scale)


def judge(a: dict, b: dict, test_size: int) -> str:
    """Row ``a`` minus row ``b`` (``summarize`` rows) in test points, with its verdict
    (:func:`beyond_noise`) and the threshold it was judged against: "+6.12 points (larger
    than the noise: beyond ±2.02, 2× the larger of seed std 1.01 and test 0.41)"."""
    diff = 100 * (a["test_mean"] - b["test_mean"])
    test_noise, seed_noise = _noise_parts(a, b, test_size)
    scale = _noise_scale(test_noise, seed_noise)
    verdict = "larger than the noise: beyond" if _beyond(diff, scale) else "within the noise:"
    shown, threshold = _as_text(diff, NOISE_MULTIPLE * scale)
    if seed_noise is None:
        basis = f"{NOISE_MULTIPLE}× the test set's {test_noise:.2f}; one seed, so no seed noise"
    else:
        basis = (
            f"{NOISE_MULTIPLE}× the larger of seed std {seed_noise:.2f} and test {test_noise:.2f}"
        )
    return f"{shown} points ({verdict} ±{threshold}, {basis})"


def _as_text(difference: float, threshold: float) -> tuple[str, str]:
    """A difference (signed) and its threshold with two decimals, or as many more (up to
    six) as it takes for them to differ, so that a difference never reads as its own
    threshold."""
    for digits in range(2, 7):
        shown, limit = f"{difference:+.{digits}f}", f"{threshold:.{digits}f}"
        if shown.lstrip("+-") != limit:
            break
    return shown, limit


def format_difference(a: dict, b: dict, test_size: int) -> str:
    """Row ``a`` minus row ``b`` for a table cell: the difference in test points and, in
    brackets, its threshold (``NOISE_MULTIPLE`` times :func:`difference_noise`), in bold
    when beyond it: ``"**+6.12 (±2.02)**"``. Where both round to the same two decimals,
    more are shown, so that a cell never reads as its own threshold."""
    diff = 100 * (a["test_mean"] - b["test_mean"])
    scale, _ = difference_noise(a, b, test_size)
    shown, threshold = _as_text(diff, NOISE_MULTIPLE * scale)
    text = f"{shown} (±{threshold})"
    return f"**{text}**" if _beyond(diff, scale) else text


#: The sentence above a table of :func:`format_difference` cells that says how to read one.
DIFFERENCE_NOTE = (
    "Each cell: the difference in test points and, in brackets, the size it must pass to be "
    f"more than noise ({NOISE_MULTIPLE}× the larger of the two variants' seed-to-seed "
    "standard deviation and the test set's standard error of a difference, at the pair's "
    "accuracy; the test set's alone when either variant has one seed); **bold**: beyond it."
)
SHORT_DIFFERENCE_NOTE = (
    "Each cell: the difference in test points and, in brackets, its noise threshold (as "
    "in the first such table); **bold**: beyond it."
)
"""The note of the tables of differences after the first on a page (:func:`difference_note`)."""


def difference_note(full: bool = True) -> str:
    """The note above a table of differences: :data:`DIFFERENCE_NOTE`, which says how the
    noise threshold is computed, or, for the tables after the first on a page,
    :data:`SHORT_DIFFERENCE_NOTE`."""
    return DIFFERENCE_NOTE if full else SHORT_DIFFERENCE_NOTE


@dataclass(frozen=True)
class Results:
    """One results file: ``raw`` is the JSON written by ``python -m lrlc.experiments``."""

    name: str
    raw: dict
    origin: str  # "results/cpu/mnist.json" or a URL: where it was read from
    kind: str | None = None  # "" a reference grid, "cpu" a CPU-scale one, None read by path

    @property
    def runs(self) -> list[dict]:
        """Every run of the file, one dict each (layer, rank, seed, accuracies, ...)."""
        return self.raw["runs"]

    @property
    def on_cpu(self) -> bool:
        """Whether the grid trained on the CPU (its ``device``)."""
        return self.raw["device"] == "cpu"

    @property
    def kinds(self) -> tuple[str, ...]:
        """The kind of results this is, for :func:`load`'s ``kinds``: ``("cpu",)`` for a
        file read from ``results/cpu/``, ``("",)`` for a reference grid read from
        ``results/``, and all of ``lrlc.results.KINDS`` for a file read by ``path=``."""
        return KINDS if self.kind is None else (self.kind,)

    @property
    def is_subset(self) -> bool:
        """Whether the data was less than the complete official splits."""
        return bool(self.raw["data"]["is_subset"])

    @property
    def tuned(self) -> bool:
        """Whether lr and weight decay were picked on the validation split (else fixed)."""
        return bool(self.raw.get("tuning"))

    @property
    def combining_lr_scale(self) -> float:
        """The factor on the learning rate the spatial combining logits learned at
        (``--combining-lr-scale``; 1 for a grid made without it)."""
        return float(self.raw["config"].get("combining_lr_scale", 1))

    @property
    def per_position_logits(self) -> bool:
        """Whether its spatial LRLC layers learned one combining logit per position and rank
        (``--per-position-logits``) instead of one per row plus one per column (the
        default; files made before the option say nothing)."""
        return "combining_logits" in self.raw["config"]

    @property
    def augmentation(self) -> str | None:
        """What augmented the training images (``--augment``, the file's ``config``), or None
        for a grid trained without, as the paper (files made before the option say nothing)."""
        augmentation = self.raw["config"].get("augmentation", "none")
        return None if augmentation.startswith("none") else augmentation

    def summary(self) -> list[dict]:
        """One row per variant (see :func:`summarize`)."""
        return summarize(self.raw)

    def row(self, layer: str, rank: int | None = None, where: str = "all") -> dict | None:
        """The summary row of one variant, or None when the grid did not run it."""
        for r in self.summary():
            if (r["layer"], r["rank"], r["where"]) == (layer, rank, where):
                return r
        return None

    def seeds(self) -> list[int]:
        """The seeds of the file's runs, in order."""
        return sorted({r["seed"] for r in self.runs})

    def lrlc_rows(self, layer: str = "lrlc", where: str = "all") -> list[dict]:
        """The summary rows of one LRLC kind (``lrlc`` or ``lrlc_input``) at one placement
        (``all`` three layers, or the ``last`` or ``first`` one only), by increasing rank."""
        if layer not in ("lrlc", "lrlc_input"):
            raise ValueError(f"layer must be 'lrlc' or 'lrlc_input', got {layer!r}")
        rows = [r for r in self.summary() if r["layer"] == layer and r["where"] == where]
        return sorted(rows, key=lambda r: r["rank"])

    def drawable_ranks(self, layers: tuple[str, ...] = ("features.6",)) -> list[int]:
        """Ranks of the LRLC-everywhere runs whose combining weights can be drawn for every
        module name in ``layers``: rank 1 (one basis, weight 1 everywhere) and the ranks
        whose run (lowest seed) recorded the learned logits."""
        return [
            r["rank"]
            for r in self.lrlc_rows()
            if r["rank"] == 1 or all(self._recorded_logits(r["rank"], name) for name in layers)
        ]

    def noise_note(self, accuracy: float | None = None) -> str:
        """Two lines on the grid's noise: the test set's noise at ``accuracy`` (default:
        the variant accuracy nearest 50%, whose test-set error is the largest of the grid)
        with the difference it can resolve there (NOISE_MULTIPLE times the noise scale of
        :func:`difference_noise`; :func:`judge` uses each pair's own accuracy, so it can call a
        smaller difference between accuracies nearer 100% more than noise), and the
        seed-to-seed spread of the variants that have several seeds."""
        rows, n = self.summary(), self.raw["data"]["test_size"]
        if accuracy is None:
            accuracy = min((r["test_mean"] for r in rows), key=lambda p: abs(p - 0.5))
        of_difference = _test_noise_of_difference(accuracy, n)
        se = of_difference / math.sqrt(2)  # of one accuracy
        lines = [
            f"test-set standard error at {100 * accuracy:.1f}% on {n:,} test images: "
            f"{se:.2f} points, so differences below about "
            f"{NOISE_MULTIPLE * of_difference:.1f} points between accuracies near it are "
            "within the test set's own noise (nearer 100% it is smaller: each comparison is "
            "judged at its own pair's accuracy)"
        ]
        several = [r for r in rows if r["seeds"] > 1]
        if several:
            spread = statistics.fmean(100 * r["test_std"] for r in several)
            line = (
                f"seed-to-seed standard deviation, mean over the {len(several)} variants with "
                f"several seeds: {spread:.2f} points, so differences below about "
                f"{NOISE_MULTIPLE * spread:.1f} points are within the seeds' noise"
            )
            if len(several) < len(rows):
                single = len(rows) - len(several)
                line += f" ({single} variant{'s have' if single > 1 else ' has'} one seed)"
            lines.append(line)
        else:
            lines.append("one seed per variant, so the seed-to-seed variation is not measured yet")
        return "\n".join(lines)

    def baselines(self) -> list[dict]:
        """The summary rows the LRLC variants are compared with, in this order when the grid
        ran them: the convolution, CoordConv, the wide convolution(s), LC (all layers)."""
        rows = [r for r in self.summary() if r["where"] == "all"]
        return [r for layer in BASELINES for r in rows if r["layer"] == layer]

    def comparison(self) -> Any:
        """A Markdown table (``IPython.display.Markdown``): one row per LRLC variant
        (input-dependent included), one column per baseline the grid ran (:meth:`baselines`);
        each cell is the variant minus the baseline in test points, with that pair's
        threshold in brackets (:data:`NOISE_MULTIPLE` times :func:`difference_noise`, at the pair's
        own accuracy), in bold where the difference is beyond it (:func:`beyond_noise`). The
        note above it names the best variant and says how to read a cell."""
        from lrlc.widgets import markdown_table  # IPython display objects: only when drawn

        rows, n = self.summary(), self.raw["data"]["test_size"]
        baselines = self.baselines()
        best = max(rows, key=lambda r: r["test_mean"])
        note = (
            f"Best variant: {variant_name(best['layer'], best['rank'], best['where'])}, "
            f"{100 * best['test_mean']:.2f}% test accuracy. Rows minus columns. " + DIFFERENCE_NOTE
        )
        if not baselines:
            return markdown_table(["LRLC variant"], [], note=note + " No baseline run yet.")
        cells = [
            [variant_name(r["layer"], r["rank"], r["where"])]
            + [format_difference(r, b, n) for b in baselines]
            for r in rows
            if r["layer"] in ("lrlc", "lrlc_input")
        ]
        header = ["LRLC variant, minus:"] + [_short_name(b) for b in baselines]
        return markdown_table(header, cells, note=note)

    def last_gain(self, layer: str, rank: int | None = None, where: str = "all") -> float:
        """Validation accuracy one variant gained over its last two epochs (points), mean
        over seeds: a curve still climbing at the end says the budget held it back."""
        curves = [r["valid_curve"] for r in self.variant_runs(layer, rank, where)]
        if not curves:
            raise KeyError(f"{self.origin} has no {variant_name(layer, rank, where)} run")
        return statistics.fmean(100 * (c[-1] - c[max(0, len(c) - 3)]) for c in curves)

    def per_label(self, layer: str, rank: int | None = None, where: str = "all") -> Tensor | None:
        """(n_labels,) float64: the test accuracy of every label (CelebA's 40 attributes) of
        one variant, mean over its seeds, from the runs' ``test_per_label``; None when the
        grid has no run of this variant that recorded it (a single-label grid)."""
        lists = [
            r["test_per_label"]
            for r in self.variant_runs(layer, rank, where)
            if "test_per_label" in r
        ]
        return torch.tensor(lists, dtype=torch.float64).mean(dim=0) if lists else None

    def mean_curve(
        self, field: str, layer: str, rank: int | None = None, where: str = "all"
    ) -> Tensor | None:
        """(epochs,) float64: one per-epoch curve of a variant's runs, ``field``
        ``"valid_curve"`` or ``"train_loss_curve"``, mean over its seeds; None when the grid
        has no run of this variant."""
        curves = [r[field] for r in self.variant_runs(layer, rank, where)]
        return torch.tensor(curves, dtype=torch.float64).mean(dim=0) if curves else None

    def variant_runs(self, layer: str, rank: int | None = None, where: str = "all") -> list[dict]:
        """The runs of one variant (layer type, rank, placement), every seed, in file order."""
        return [r for r in self.runs if (r["layer"], r["rank"], r["where"]) == (layer, rank, where)]

    def findings(self) -> str:
        """What the grid shows, in words, as Markdown bullets computed from the runs: the
        best variant; the best LRLC rank (picked on validation) against every baseline; LRLC
        rank 1 (the convolution plus spatial biases) against the convolution; the last layer
        only against all three, rank by rank, and its best rank against its rank 1;
        input-dependent against spatial LRLC; how far the learned combining weights moved
        from uniform; and which curves were still climbing. Each difference carries its
        verdict against the noise (:func:`judge`)."""
        rows, n = self.summary(), self.raw["data"]["test_size"]
        name = lambda r: variant_name(r["layer"], r["rank"], r["where"])  # noqa: E731
        top = max(rows, key=lambda r: r["test_mean"])
        lines = [f"Best test accuracy: {name(top)}, {100 * top['test_mean']:.2f}%."]
        best = self.best_lrlc()
        if best is not None and self.baselines():
            against = "".join(f"\n  - {name(b)}: {judge(best, b, n)}" for b in self.baselines())
            lines.append(
                f"{name(best)}, the best LRLC rank on validation, minus each baseline:{against}"
            )
        one, conv = self.row("lrlc", 1), self.row("conv")
        if one is not None and conv is not None:
            verdict = judge(one, conv, n)
            gained = beyond_noise(one, conv, n) and one["test_mean"] > conv["test_mean"]
            lines.append(
                "LRLC rank 1, the convolution plus a learned bias per row and column, minus "
                f"the convolution: {verdict}"
                + ("; that gain needs no position-dependent filters." if gained else ".")
            )
            if best is not None and best["rank"] > 1:
                lines.append(
                    f"{name(best)} minus LRLC rank 1, what filters that vary with the position "
                    f"add to the spatial biases: {judge(best, one, n)}."
                )
        against = "".join(
            f"\n  - rank {last['rank']}: {judge(last, everywhere, n)}"
            for last in self.lrlc_rows(where="last")
            if (everywhere := self.row("lrlc", last["rank"])) is not None
        )
        if against:
            lines.append(
                "LRLC in the last layer only minus LRLC in all three layers, rank by rank:"
                + against
            )
        best_last, last_one = self.best_lrlc(where="last"), self.row("lrlc", 1, "last")
        if best_last is not None and last_one is not None and best_last["rank"] > 1:
            lines.append(
                f"{name(best_last)}, the best last-layer rank on validation, minus "
                f"{name(last_one)}, what position-dependent filters add in the last layer: "
                f"{judge(best_last, last_one, n)}."
            )
        for dependent in self.lrlc_rows("lrlc_input"):
            fixed = self.row("lrlc", dependent["rank"])
            if fixed is not None:
                lines.append(
                    f"{name(dependent)} minus spatial LRLC rank {dependent['rank']}: "
                    f"{judge(dependent, fixed, n)}."
                )
        drawable = best is not None and best["rank"] > 1
        if drawable and self._recorded_logits(best["rank"], "features.6"):
            weights = self.combining_weights(best["rank"])
            largest = weights.max(dim=-1).values.mean().item()
            lines.append(
                f"The learned combining weights of {name(best)}'s last layer: mean largest "
                f"weight {largest:.3f}, against {1 / best['rank']:.3f} for uniform weights "
                "(where training started) and 1 for one basis per position."
            )
        gains = sorted(((self.last_gain(r["layer"], r["rank"], r["where"]), r) for r in rows),
                       key=lambda item: -item[0])  # fmt: skip
        if len(gains) > 1:
            median = statistics.median(g for g, _ in gains)
            most = ", ".join(f"{name(r)} {g:+.2f}" for g, r in gains[:3])
            lines.append(
                "Validation accuracy gained over the last two epochs (points, mean over "
                f"seeds), most: {most}; median {median:+.2f}. A variant still climbing "
                "faster than the rest may have been held back by the budget, not its layer."
            )
        return "\n".join(f"- {line}" for line in lines)

    def _commit_list(self) -> list[str]:
        """The short commits of the runs, each once, in the order the runs were made."""
        commits = [run.get("commit") or self.raw["commit"] for run in self.runs]
        short = [c[:10] + ("-dirty" if c.endswith("-dirty") else "") for c in commits]
        return list(dict.fromkeys(short)) or [self.raw["commit"][:10]]

    def _commits(self) -> str:
        """ "Commit abc"; for a grid run in a few sittings "Commits abc, def (...)", for more
        "Runs from 7 commits, abc first and xyz last, ..." (the file lists them all)."""
        found = self._commit_list()
        if len(found) == 1:
            return f"Commit {found[0]}"
        if len(found) <= 3:
            return f"Commits {', '.join(found)} (each run records its own)"
        dirty = sum(c.endswith("-dirty") for c in found)
        marked = f", {dirty} marked -dirty (uncommitted changes in the checkout)" if dirty else ""
        return (
            f"Runs from {len(found)} commits, {found[0]} first and {found[-1]} last{marked}; "
            "each run records its own"
        )

    def _seeds_per_variant(self) -> str:
        """ "2 seeds (0, 1)", or, while a grid is under way, "1 to 2 seeds (of 0, 1)"."""
        seeds = ", ".join(map(str, self.seeds()))
        counts = sorted({row["seeds"] for row in self.summary()})
        if len(counts) > 1:
            return f"{counts[0]} to {counts[-1]} seeds (of {seeds})"
        return f"{counted(counts[0], 'seed')} ({seeds})"

    def _per_run(self, key: str) -> Counter:
        """How many runs name each value of ``key`` ("device", "torch"), in the order
        first met; runs made before records named it count as the file's value."""
        return Counter(run.get(key) or self.raw[key] for run in self.runs)

    def _device_text(self) -> str:
        """ "the CPU (float32)", "an NVIDIA H200 GPU (bf16 autocast)", or, for a grid whose
        runs were made on several devices, each with its number of runs (runs made before
        records named their device count as the file's)."""
        runs = self._per_run("device")
        if len(runs) <= 1:
            device = next(iter(runs), self.raw["device"])
            return (
                "the CPU (float32)"
                if device == "cpu"
                else f"an {device} GPU ({self.raw['config']['amp']})"
            )
        parts = ", ".join(f"{'the CPU' if d == 'cpu' else d} ({counted(n, 'run')})"
                          for d, n in runs.items())  # fmt: skip
        return f"several devices: {parts}"

    def provenance(self) -> str:
        """Where and how these numbers were made, in a sentence or three, for the text."""
        training, data, record = self.provenance_parts()
        return f"{', '.join(training)}. {data} {record}"

    def provenance_parts(self) -> tuple[list[str], str, str]:
        """:meth:`provenance` in its three parts: the clauses of its training sentence
        (``["Trained on the CPU (float32)", "3 seeds (0, 1, 2) per variant", "8 epochs",
        ...]``), its data sentence ("Data: ...") and its record sentence (commits, date,
        PyTorch and file), so that grids shown together can say what they share once
        (:func:`lrlc.overview.provenance_stack`)."""
        r, data, config = self.raw, self.raw["data"], self.raw["config"]
        device = self._device_text()
        per = self._seeds_per_variant()
        if self.tuned:
            hyper = "learning rate and weight decay picked per layer type on the validation split"
        elif r.get("chosen_from"):
            picked = {(c["lr"], c["weight_decay"]) for c in r["chosen"].values()}
            hyper = "learning rate and weight decay per layer type"
            if len(picked) == 1:
                ((lr, wd),) = picked
                hyper = f"learning rate {lr:g} and weight decay {wd:g}"
            hyper += f" as picked on the validation split by `{r['chosen_from']}`"
        else:
            chosen = next(iter(r["chosen"].values()))
            hyper = (
                f"learning rate {chosen['lr']:g} and weight decay {chosen['weight_decay']:g} "
                "for every variant (not tuned)"
            )
        training = [
            f"Trained on {device}",
            f"{per} per variant",
            counted(config["epochs"], "epoch"),
            f"batch {config['batch_size']}",
            "SGD with Nesterov momentum and cosine decay",
            hyper,
        ]
        if self.combining_lr_scale != 1:
            training.append(
                f"the spatial combining logits at {self.combining_lr_scale:g}× the learning rate"
            )
        if self.per_position_logits:
            training.append("one combining logit per position and rank, not per row and column")
        if self.augmentation:
            training.append(f"the training images augmented ({self.augmentation})")
        kinds = (("train", "training images"), ("valid", "validation"), ("test", "test"))
        sizes = ", ".join(
            f"{data[f'{split}_size']:,} {kind} ({self._split_kind(split)})" for split, kind in kinds
        )
        title = {"mnist": "MNIST", "cifar10": "CIFAR-10"}.get(r["dataset"], "CelebA")
        if r["dataset"] == "trans_celeba48":
            title = "misaligned CelebA faces (48x48)"
        task = config.get("task", "")
        task = f", task: {task}" if task and task != "the 10 classes" else ""
        last_run = "the last run " if len(self._commit_list()) > 1 else ""
        record = (
            f"{self._commits()}, {last_run}{r['date']}, {self._torch_text()}; from `{self.origin}`."
        )
        return training, f"Data: {title}{task}, {sizes}.", record

    def _torch_text(self) -> str:
        """ "PyTorch 2.14.1", or for runs made with several versions each with its number
        of runs (runs made before records named their version count as the file's)."""
        runs = self._per_run("torch")
        if len(runs) <= 1:
            return f"PyTorch {next(iter(runs), self.raw['torch'])}"
        parts = ", ".join(f"{v} ({counted(n, 'run')})" for v, n in runs.items())
        return f"PyTorch {parts}"

    def _split_notes(self) -> dict[str, str]:
        """The data note of each split, {"train": ..., "valid": ..., "test": ...}, read from
        the grid's ``data.note`` ("train: ... valid: ... test: ..."); {} for a note of
        another form."""
        parts = re.split(r"(?:^|\s)(train|valid|test): ", self.raw["data"].get("note", ""))
        return dict(zip(parts[1::2], parts[2::2], strict=True))

    def _split_kind(self, split: str) -> str:
        """How one split relates to the official one: "a class-balanced subset" (cut by
        ``--train-size`` / ``--valid-size``), "a subset of the official N" (the data copy
        held fewer images), "the data copy's own split" (a partition that is not the
        official one), or "the whole official split"; ", JPEG copy" where the images were
        decoded from lossy copies. Read from the split's data note where the grid has one."""
        note = self._split_notes().get(split)
        official = OFFICIAL_SIZES.get(base_dataset(self.raw["dataset"]), {}).get(split)
        if note is None:  # a grid without per-split notes: what its config says
            balanced, own_partition = bool(self.raw["config"].get(f"{split}_size")), False
        else:
            balanced = note.startswith(BALANCED_NOTE)
            own_partition = OWN_PARTITION_NOTE in note
        if balanced:
            kind = "a class-balanced subset"
            kind += " of the data copy's own split" if own_partition else ""
        elif own_partition:
            kind = "the data copy's own split, not the official one"
        elif official is not None and self.raw["data"][f"{split}_size"] != official:
            kind = f"a subset of the official {official:,}"
        else:
            kind = "the whole official split"
        return kind + (", JPEG copy" if note and decoded_from_jpeg(note) else "")

    def grid_kind(self) -> str:
        """What kind of grid this is, for a figure title or a caption seen without the
        provenance: "CPU grid, 3,000 training images"."""
        where = "CPU" if self.on_cpu else "GPU"
        return f"{where} grid, {self.raw['data']['train_size']:,} training images"

    def best_lrlc(self, where: str = "all") -> dict | None:
        """The summary row of the LRLC rank (in ``"all"`` three layers, or the ``"last"`` or
        ``"first"`` one) with the best *validation* accuracy, or None when the grid ran no
        such LRLC. A tie goes to the lower rank, the cheaper layer."""
        rows = self.lrlc_rows(where=where)
        return max(rows, key=lambda r: r["valid_mean"]) if rows else None

    def source_line(self) -> str:
        """One line of provenance to print next to a figure (the full one is by the table)."""
        where = "CPU" if self.on_cpu else "GPU"
        data_kind = "subsets" if self.is_subset else "the full splits"
        tuned = "tuned" if self.tuned else "not tuned"
        return (
            f"From {self.origin}: {where}, {self._seeds_per_variant()} per variant, "
            f"{self.raw['data']['train_size']:,} training images ({data_kind}), "
            f"hyper-parameters {tuned}."
        )

    def learned_logits(
        self, rank: int, layer: str = "features.6", where: str = "all", seed: int | None = None
    ) -> tuple[Tensor, Tensor] | None:
        """The learned row and column logits, (H_out, rank) and (W_out, rank), of one LRLC
        layer of the run of this rank (default: the lowest seed), or None when the grid has
        no such run, the run recorded none, or its logits are one per position
        (``--per-position-logits``: :meth:`combining_weights` draws those)."""
        recorded = self._recorded_logits(rank, layer, where, seed)
        if recorded and "row" in recorded:
            return torch.tensor(recorded["row"]), torch.tensor(recorded["col"])
        return None

    def _recorded_logits(
        self, rank: int, layer: str, where: str = "all", seed: int | None = None
    ) -> dict | None:
        """The run's record of one layer's logits: {"row", "col"} or {"logits"}, or None."""
        for run in self._lrlc_runs(rank, where, seed):
            maps = run.get("combining_logits") or {}
            if layer in maps:
                return maps[layer]
        return None

    def _lrlc_runs(self, rank: int, where: str, seed: int | None) -> list[dict]:
        """The LRLC runs of this rank, placement and seed (default: the lowest seed)."""
        seed = self.seeds()[0] if seed is None else seed
        return [r for r in self.variant_runs("lrlc", rank, where) if r["seed"] == seed]

    def table(self, variants: list[tuple] | None = None, baseline: str = "conv") -> Any:
        """A Markdown table: variant, parameters, test accuracy mean ± standard deviation over
        seeds (%), the difference to ``baseline`` (points), and seeds.

        variants: (layer, rank, where) triples to keep, in order."""
        from lrlc.widgets import markdown_table  # IPython display objects: only when drawn

        rows = self.summary()
        if variants is not None:
            rows = [r for v in variants for r in rows if (r["layer"], r["rank"], r["where"]) == v]
        base = self.row(baseline)
        cells = []
        for r in rows:
            acc = f"{100 * r['test_mean']:.2f}"
            if r["seeds"] > 1:
                acc += f" ± {100 * r['test_std']:.2f}"
            diff = "" if base is None else f"{100 * (r['test_mean'] - base['test_mean']):+.2f}"
            name = variant_name(r["layer"], r["rank"], r["where"])
            cells.append([name, f"{r['params']:,}", acc, diff, r["seeds"]])
        spread = any(r["seeds"] > 1 for r in rows)
        accuracy = "test accuracy (%), mean ± s.d. over seeds" if spread else "test accuracy (%)"
        header = ["variant", "parameters", accuracy, f"vs {baseline} (points)", "seeds"]
        return markdown_table(header, cells)

    def combining_weights(
        self, rank: int, layer: str = "features.6", seed: int | None = None, where: str = "all"
    ) -> Tensor:
        """The learned combining weights of one LRLC layer of one run: (H_out, W_out, rank).

        layer: the module name ("features.0", "features.3", "features.6": first to last).
        seed: default the lowest seed the grid ran.
        Rank 1 learns nothing to combine: its one basis has weight 1 at every position of
        the layer's output grid, (H_out, W_out, 1), whether or not the run recorded logits.
        """
        seed = self.seeds()[0] if seed is None else seed
        for run in self._lrlc_runs(rank, where, seed)[:1]:
            if rank == 1:
                return torch.ones(*self._output_size(layer, where), 1)
            maps = run.get("combining_logits")
            if not maps or layer not in maps:
                have = ", ".join(maps or {}) or "none"
                raise KeyError(f"no combining logits for {layer!r} in this run (have: {have})")
            if "logits" in maps[layer]:  # one per position (--per-position-logits)
                return torch.softmax(torch.tensor(maps[layer]["logits"]), dim=-1)
            row = torch.tensor(maps[layer]["row"])
            col = torch.tensor(maps[layer]["col"])
            return torch.softmax(row[:, None, :] + col[None, :, :], dim=-1)
        raise KeyError(f"no LRLC rank {rank} ({where}) run with seed {seed} in {self.origin}")

    def mean_largest_weight(self, rank: int, layer: str, where: str = "all") -> float:
        """The largest combining weight at a position, averaged over the positions of
        ``layer`` and over the grid's seeds of LRLC ``rank`` (in all three layers, or in one
        only: ``where="last"`` or ``"first"``): ``1 / rank`` for weights that never left
        their uniform start, 1 where each position picked one basis."""
        seeds = sorted({r["seed"] for r in self.variant_runs("lrlc", rank, where)})
        if not seeds:
            placement = "" if where == "all" else f" ({where} layer)"
            raise KeyError(f"no LRLC rank {rank}{placement} run in {self.origin}")
        values = [
            self.combining_weights(rank, layer, s, where).max(dim=-1).values.mean() for s in seeds
        ]
        return float(sum(values) / len(values))

    def _output_size(self, layer: str, where: str) -> tuple[int, int]:
        """(H_out, W_out) of the LRLC module ``layer`` in this grid's paper network."""
        net = paper_network("lrlc", 1, self.raw["dataset"], where)
        module = dict(net.named_modules()).get(layer)
        if not isinstance(module, LowRankLocallyConnected2d):
            raise KeyError(f"{layer!r} is not an LRLC layer of the network (LRLC in {where})")
        return module.output_size


# config entries every compared grid must share: all but the logits' rate and tuning tries
_SHARED_CONFIG = ("task", "train_size", "valid_size", "epochs", "batch_size", "optimizer",
                  "augmentation", "amp")  # fmt: skip


def setting_differences(a: Results, b: Results, config_keys: Sequence[str]) -> list[str]:
    """What two grids were made with differently, in the words of the errors that compare
    them: ``"dataset"``, then each of ``config_keys`` whose ``config`` entries differ (an
    entry one file lacks counts as None), then ``"data <key>"`` for each differing entry
    of ``COMPARED_DATA`` (source, split sizes, data note). Empty where they agree."""
    differs = ["dataset"] if a.raw["dataset"] != b.raw["dataset"] else []
    differs += [k for k in config_keys if a.raw["config"].get(k) != b.raw["config"].get(k)]
    differs += [f"data {k}" for k in COMPARED_DATA if a.raw["data"].get(k) != b.raw["data"].get(k)]
    return differs


_VARYING = {
    "combining_lr_scale": ("the combining logits' learning rate", "--combining-lr-scale"),
    "combining_logits": ("the combining logits' sharing", "--per-position-logits"),
}
"""The settings a comparison of grids may let differ: what to call each in an error, and
its option."""


def check_comparable(
    base: Results, other: Results, varying: Sequence[str] = ("combining_lr_scale",)
) -> None:
    """Raise ``ValueError`` naming what ``other`` does differently from ``base`` besides the
    ``varying`` settings (keys of ``_VARYING``; by default the combining logits' rate): the
    dataset, a data setting (split sizes, source, data note), a training setting (epochs,
    batch size, the logits' sharing or rate where not varying, ...) or the learning rate
    and weight decay its LRLC networks (all three layers, every rank: one family) trained
    with."""
    compared = [k for k in (*_SHARED_CONFIG, *_VARYING) if k not in varying]
    differs = setting_differences(base, other, compared)
    hyper = {
        (r["lr"], r["weight_decay"])
        for g in (base, other)
        for r in g.runs
        if r["layer"] == "lrlc" and r.get("where", "all") == "all"
    }
    if len(hyper) > 1:
        differs.append(f"LRLC's learning rate and weight decay ({sorted(hyper)})")
    if differs and not varying:
        raise ValueError(
            f"{other.origin} differs from {base.origin} in: {', '.join(differs)}. Use grids "
            "made with the same settings."
        )
    if differs:
        allowed = " and ".join(_VARYING[k][0] for k in varying)
        options = " and ".join(_VARYING[k][1] for k in varying)
        raise ValueError(
            f"{other.origin} differs from {base.origin} in more than {allowed}: "
            f"{', '.join(differs)}. Compare grids made with the same command but for {options}."
        )


def by_logit_rate(base: Results, scaled: Sequence[Results]) -> list[Results]:
    """``base`` and its grids with faster combining logits, ``scaled`` sorted by their rate,
    each checked against ``base`` (:func:`check_comparable`); ``ValueError`` where two
    grids have the same rate."""
    for grid in scaled:
        check_comparable(base, grid)
    grids = [base, *sorted(scaled, key=lambda g: g.combining_lr_scale)]
    rates = [g.combining_lr_scale for g in grids]
    if len(set(rates)) < len(rates):
        raise ValueError(f"two grids have the same combining-logit rate: {rates}")
    return grids


def pool(first: Results, *more: Results) -> Results:
    """The runs of several files as one grid: files made with one command but other
    variants or other seeds (e.g. ``--seeds 3,4,5`` to a file of its own), so that a
    variant's mean and spread cover every seed. ``first``'s settings and record, the
    latest date of them all, every file's runs, and an ``origin`` naming every file.

    ``ValueError`` where a file was made with other settings than ``first``
    (:func:`check_comparable`, the logits' rate and sharing included), or holds a run (a
    variant and a seed) that another holds too.
    """
    for grid in more:
        check_comparable(first, grid, varying=())
    held: dict[tuple, str] = {}  # (layer, rank, where, seed): the file that holds it
    runs = []
    for grid in (first, *more):
        for run in grid.runs:
            where = run.get("where", "all")
            key = (run["layer"], run["rank"], where, run["seed"])
            if key in held:
                raise ValueError(
                    f"{held[key]} and {grid.origin} both hold "
                    f"{variant_name(run['layer'], run['rank'], where)} seed {run['seed']}: "
                    "pool files of other variants or other seeds"
                )
            held[key] = grid.origin
            runs.append(run)
    date = max(g.raw["date"] for g in (first, *more))
    origin = " + ".join(g.origin for g in (first, *more))
    return Results(first.name, {**first.raw, "date": date, "runs": runs}, origin, first.kind)


def load(name: str, path: str | os.PathLike | None = None, kinds: Sequence[str] = KINDS) -> Results:
    """The results of a grid: ``name`` is the dataset ("mnist", "cifar10", "celeba",
    "trans_celeba48") or a file stem ("celeba-attributes"); ``path`` reads that file.
    ``kinds`` are the folders tried, in order: ``""`` for the reference grid
    (``results/<name>.json``), ``"cpu"`` for the CPU-scale one (``results/cpu/``);
    ``kinds=("cpu",)`` reads the CPU grid even where a reference grid exists."""
    if path is not None:
        path = Path(path)
        return Results(name, json.loads(path.read_text()), path.name)
    unknown = set(kinds) - set(KINDS)
    if unknown or not kinds:
        raise ValueError(f"kinds must be some of {KINDS}, not {tuple(kinds)}")
    found = _find(name, kinds)
    if found is not None:
        path, origin, kind = found
        return Results(name, json.loads(path.read_text()), origin, kind)
    from lrlc.data import downloads_allowed  # LRLC_OFFLINE=1: never the network

    online, unreachable = downloads_allowed(), None
    try:
        fetched = _download(name, kinds) if online else None
    except _Unreachable as error:
        fetched, unreachable = None, error
    if fetched is not None:
        return Results(name, *fetched)
    looked = " and ".join(f"results/{kind + '/' if kind else ''}{name}.json" for kind in kinds)
    if unreachable is not None:
        web = f"and {unreachable}"
    else:
        web = f"and at {RESULTS_URL}" if online else f"not at {RESULTS_URL} (LRLC_OFFLINE=1)"
    message = (
        f"no results for {name!r}: looked for {looked} "
        f"in $LRLC_RESULTS, the working directory and its parents, {web}." + _misspelt(name, kinds)
    )
    if online and unreachable is None:  # the book's repository has no such file either
        raise FileNotFoundError(
            message + _how_to_make(name) + " Or set LRLC_RESULTS to a folder that has them."
        )
    raise FileNotFoundError(
        message + " A pip-installed lrlc carries no results files: they are in the book's "
        "repository. Without a network, clone it and set LRLC_RESULTS to its results/ "
        "folder (the one that holds cpu/)." + _how_to_make(name, verb="Or run")
    )


def _misspelt(name: str, kinds: Sequence[str]) -> str:
    """`` Did you mean 'cifar10'?`` when a results file here has a name close to ``name``."""
    known = {p.stem for d in _search_dirs() for kind in kinds for p in (d / kind).glob("*.json")}
    close = difflib.get_close_matches(name.lower(), sorted(known), n=3, cutoff=0.7)
    return f" Did you mean {' or '.join(map(repr, close))}?" if close else ""


def _how_to_make(name: str, verb: str = "Run") -> str:
    """The command of a grid named after its dataset (``verb`` the grid with ...), or how
    grids are named."""
    dataset = name.split("-")[0]
    if dataset in GRID_DATASETS:
        return (
            f" {verb} the grid with `python -m lrlc.experiments {dataset} ...` (the appendix "
            "'Reproducing every number' has each file's command)."
        )
    return (
        f" Grids are named after their dataset ({', '.join(GRID_DATASETS)}), "
        "e.g. 'celeba-attributes'."
    )


def load_or_none(name: str, kinds: Sequence[str] = KINDS) -> Results | None:
    """``load(name, kinds=kinds)``, or None while no results file exists (here or online)."""
    try:
        return load(name, kinds=kinds)
    except FileNotFoundError:
        return None


def pending(
    name: str,
    what: str = "These results",
    grid: Results | None = None,
    command: str | None = None,
) -> Any:
    """A note (``IPython.display.HTML``, styled as the book's admonitions) saying which
    results are missing and a command: by default that of the plain grid of its dataset
    (pass ``command`` for a file made with other options, e.g. ``--attributes``). A chapter
    shows it in place of a table or figure while a grid has not run."""
    from lrlc.widgets import html_display  # IPython display objects: only when drawn

    if grid is None:
        missing = (
            f"no <code>results/{name}.json</code> or <code>results/cpu/{name}.json</code> was found"
        )
    else:
        missing = f"<code>{grid.origin}</code> has no such runs yet"
    command = command or f"python -m lrlc.experiments {name.split('-')[0]}"
    return html_display(
        '<div class="admonition note"><p class="admonition-title">Run pending</p>'
        f"<p>{what} cannot be shown yet: {missing}. Run <code>{command}</code> (Appendix A "
        "has the CPU-scale version) and re-run this notebook; these cells then show the "
        "numbers.</p></div>"
    )
