"""The CPU-grid commands printed in the book say exactly what the results files hold.

Appendix A and the chapters list the `python -m lrlc.experiments ... --out
results/cpu/<grid>.json` commands behind every number. Each page's commands are parsed
with the real command line (so a mistyped option fails here) and expanded into the runs
they make; for every file a page names, those runs must be the runs the file holds: no
run without its command, no command whose runs are missing.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import nbformat
import pytest

from lrlc.experiments import (
    PER_POSITION_LOGITS,
    augmentation,
    build_parser,
    grid_of,
    parse_variants,
)

ROOT = Path(__file__).resolve().parents[1]
APPENDIX_A = ROOT / "book" / "appendix_a_reproducing.md"
PAGES = [APPENDIX_A, *sorted((ROOT / "book").glob("0*.ipynb"))]
CODE_BLOCK = re.compile(r"```bash\n(.*?)```", re.S)
FOR_LOOP = re.compile(r"for (\w+) in ([^;\n]+); do\n(.*?)\ndone", re.S)


def _page_text(page: Path) -> str:
    if page.suffix == ".md":
        return page.read_text()
    nb = nbformat.read(page, as_version=4)
    return "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")


def expand_loops(block: str) -> str:
    """`for d in a b; do ... $d ... done` -> the body once per value, `$d` replaced."""

    def unroll(match: re.Match) -> str:
        name, values, body = match.groups()
        return "\n".join(re.sub(rf"\$\{{?{name}\}}?", value, body) for value in values.split())

    return FOR_LOOP.sub(unroll, block)


def commands(text: str) -> list[list[str]]:
    """The argument lists of every `python -m lrlc.experiments` line in the bash blocks."""
    found = []
    for block in CODE_BLOCK.findall(text):
        for line in expand_loops(block).replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            placeholder = len(words) > 3 and words[3].isupper()  # "DATASET [options]"
            if words[:3] == ["python", "-m", "lrlc.experiments"] and not placeholder:
                found.append(words[3:])
    return found


def runs_of(argv: list[str]) -> tuple[str, set[tuple]]:
    """The output file of one command and the (layer, rank, where, seed) runs it makes."""
    args = build_parser().parse_args(argv)
    seeds = grid_of(args).seeds
    variants = parse_variants(args.dataset, args.layers, args.ranks)
    runs = {(v.layer, v.rank, v.where, s) for v in variants for s in seeds}
    return str(args.out), runs


def test_expand_loops_and_commands():
    text = (
        "```bash\nfor d in mnist cifar10; do\n  python -m lrlc.experiments $d \\\n"
        "      --layers conv --out results/cpu/$d.json\ndone\n```\n"
    )
    assert commands(text) == [
        ["mnist", "--layers", "conv", "--out", "results/cpu/mnist.json"],
        ["cifar10", "--layers", "conv", "--out", "results/cpu/cifar10.json"],
    ]
    out, runs = runs_of(["mnist", "--layers", "lrlc@last:1/8", "--seeds", "0", "--out", "x"])
    assert (out, runs) == ("x", {("lrlc", 1, "last", 0), ("lrlc", 8, "last", 0)})


def _documented(page: Path) -> dict[str, set[tuple]]:
    by_file: dict[str, set[tuple]] = {}
    for argv in commands(_page_text(page)):
        out, runs = runs_of(argv)
        if out.startswith("results/cpu/"):
            by_file.setdefault(out, set()).update(runs)
    return by_file


# the pages that print a command (a page without one would pass the tests below unchecked)
COMMAND_PAGES = [page for page in PAGES if commands(_page_text(page))]


def test_the_pages_with_commands_are_found():
    assert APPENDIX_A in COMMAND_PAGES
    for page in COMMAND_PAGES:  # else the page's commands are checked by nothing below
        assert _documented(page), f"{page.name} prints no command writing results/cpu/"


@pytest.mark.parametrize("page", COMMAND_PAGES, ids=lambda p: p.name)
def test_printed_cpu_commands_match_the_results_files(page):
    for out, documented in _documented(page).items():
        path = ROOT / out
        assert path.exists(), f"{page.name} prints a command writing {out}, which is missing"
        held = {
            (r["layer"], r["rank"], r.get("where", "all"), r["seed"])
            for r in json.loads(path.read_text())["runs"]
        }
        assert held - documented == set(), (
            f"{out} holds runs that no command of {page.name} makes: "
            f"{sorted(held - documented, key=str)}"
        )
        assert documented - held == set(), (
            f"{page.name}'s commands make runs that {out} does not hold: "
            f"{sorted(documented - held, key=str)}"
        )


def test_appendix_a_covers_every_cpu_results_file():
    documented = _documented(APPENDIX_A)
    files = {f"results/cpu/{p.name}" for p in (ROOT / "results" / "cpu").glob("*.json")}
    assert files <= set(documented), f"no command in Appendix A for {files - set(documented)}"


def settings_of(argv: list[str]) -> dict:
    """What a command sets that its file's ``config`` records."""
    args = build_parser().parse_args(argv)
    grid = grid_of(args)
    return {
        "epochs": grid.epochs,
        "batch_size": grid.batch_size,
        "train_size": args.train_size,
        "valid_size": args.valid_size,
        "combining_lr_scale": grid.combining_lr_scale,
        "augmentation": augmentation(args.dataset, grid.augment, grid.crop_padding),
        "combining_logits": PER_POSITION_LOGITS if grid.per_position_logits else None,
    }


@pytest.mark.parametrize("page", COMMAND_PAGES, ids=lambda p: p.name)
def test_printed_cpu_commands_have_the_settings_of_their_files(page):
    for argv in commands(_page_text(page)):
        out = str(build_parser().parse_args(argv).out)
        if not out.startswith("results/cpu/"):
            continue
        config = json.loads((ROOT / out).read_text())["config"]
        recorded = {key: config.get(key) for key in settings_of(argv)}
        recorded["combining_lr_scale"] = config.get("combining_lr_scale", 1.0)
        recorded["augmentation"] = config.get("augmentation", "none (as the paper)")
        recorded["combining_logits"] = config.get("combining_logits")
        assert settings_of(argv) == recorded, f"{page.name}: {' '.join(argv)}"


def test_appendix_a_describes_every_command_line_option():
    text = APPENDIX_A.read_text()
    options = [o for a in build_parser()._actions for o in a.option_strings if o != "--help"]
    missing = [o for o in options if o.startswith("--") and f"`{o}" not in text]
    assert options and not missing, f"Appendix A's option list lacks {missing}"
