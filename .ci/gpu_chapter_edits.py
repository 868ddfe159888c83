"""The code changes chapters 5-8 wait for (.ci/GPU.md), as edits to apply just before a GPU
session re-executes those chapters, and never earlier: their stored outputs come from a
GPU, and a chapter whose code changed must be executed again (on the CPU it would lose
those outputs).

    python .ci/gpu_chapter_edits.py          # edit book/05..08 in place, then execute them
    python .ci/gpu_chapter_edits.py --check  # only check that every edit still applies

An edit replaces one exact piece of one code cell (or of a markdown cell that describes
code or outputs still to change), or of a figure's caption or alt text, or inserts cells
before a cell; each must find its place exactly once. An edit already
made is recognised and skipped, so a second run changes nothing. tests/test_notebooks.py
checks that every edit still applies to the chapters as committed.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Replace:
    """``old`` -> ``new`` in the code (or ``cell_type="markdown"``) cells of ``chapter``,
    where ``old`` is found ``count`` times."""

    chapter: str
    old: str
    new: str
    count: int = 1
    cell_type: str = "code"


@dataclass(frozen=True)
class Figure:
    """``old`` -> ``new`` in the caption (``field="caption"``) or alt text (``"alt"``) of
    the figure named ``name``."""

    chapter: str
    name: str
    field: str
    old: str
    new: str


@dataclass(frozen=True)
class InsertBefore:
    """New cells, ``(cell_type, source, metadata)``, before the cell that holds ``anchor``;
    ``done`` is a piece of their source that says they are in already."""

    chapter: str
    anchor: str
    done: str
    cells: tuple = field(default_factory=tuple)


CH5, CH6, CH7, CH8 = (
    "05_mnist.ipynb",
    "06_cifar10.ipynb",
    "07_celeba.ipynb",
    "08_input_dependent.ipynb",
)

# The training cells name the GPU, not only "cuda".
_DEVICE = 'f"device: {device.type}; {train_split.describe()}'
DEVICE_NAMES = [
    Replace(chapter, _DEVICE, _DEVICE.replace("{device.type}", "{device_name(device)}"), n)
    for chapter, n in ((CH5, 1), (CH6, 1), (CH7, 2), (CH8, 2))
]
DEVICE_IMPORTS = [
    Replace(chapter, "from lrlc.results import variant_name\n",
            "from lrlc.provenance import device_name\nfrom lrlc.results import variant_name\n")
    for chapter in (CH5, CH6, CH7, CH8)
]  # fmt: skip

# "Train it yourself" in chapters 5 and 6: the book's colours (the convolution green, LRLC
# blue), and no chance line at 10%, which squashed both curves along the top of the axis.
_CURVES_OLD = """for name, history in histories.items():
    steps = range(1, history.epochs + 1)
    ax.plot(steps, [100 * a for a in history.valid_accuracy], "o-", label=name)
ax.axhline(10, color="gray", ls=":", label="chance (10%)")
"""
_CURVES_NEW = """# the colours of every other figure: the convolution green, LRLC blue
colors = [BASELINE_COLORS["conv"], PLACEMENTS["all"][0]]
for (name, history), color in zip(histories.items(), colors, strict=True):
    steps = range(1, history.epochs + 1)
    accuracy = [100 * a for a in history.valid_accuracy]
    ax.plot(steps, accuracy, "o-", color=color, label=name)
"""
_IMPORT = "from lrlc.plotting import (\n"
_CHANCE = ", far above a dotted chance line at 10 percent."
TRAIN_CURVES = [
    edit
    for chapter, figure, ends_at in ((CH5, "fig-ch5-train-curves", "98.5 percent"),
                                     (CH6, "fig-ch6-train-curves", "72 and 75 percent"))
    for edit in (
        Replace(chapter, _CURVES_OLD, _CURVES_NEW),
        Replace(chapter, _IMPORT, _IMPORT + "    BASELINE_COLORS,\n    PLACEMENTS,\n"),
        Figure(chapter, figure, "caption", "for the convolutional network and LRLC of rank 4.",
               "for the convolutional network (green) and LRLC of rank 4 (blue); chance is 10%."),
        Figure(chapter, figure, "alt", f"to about {ends_at}{_CHANCE}", f"to about {ends_at}."),
    )
]  # fmt: skip

# Chapter 8's rank explorer (issue 5 asks for one in every experiment chapter): the
# misaligned grid's learned spatial weights by rank, as chapters 5 and 6 draw theirs.
_EXPLORER_TEXT = """## Rank explorer

The explorer of chapters 5 and 6 for the misaligned grid: the learned last-layer
combining weights of spatial LRLC minus $1/K$ at every rank the grid ran (all three
layers), with test accuracy, parameters and FLOPs. Compare them with chapter 7's on
aligned faces: with no part of the face at a fixed place, what is left for a fixed map
to learn is the coarse layout of the canvas.
"""
_EXPLORER_CODE = """grid = results.load_or_none("trans_celeba48")
print(grid.source_line() if grid is not None else "no misaligned grid yet")
# lrlc.explorers: one view per rank, a static slider
explorer = (
    learned_weights_explorer(grid)
    if grid is not None
    else results.pending("trans_celeba48", "The learned LRLC weights")
)
explorer
"""
_EXPLORER_META = {
    "mystnb": {
        "figure": {
            "caption": "Rank explorer: move the slider to see the learned combining weights "
            "of the last spatial LRLC layer, minus their uniform share $1/K$ (red: more, "
            "blue: less), of the network trained on misaligned faces at that rank, with its "
            "test accuracy, parameters and FLOPs.",
            "name": "fig-ch8-rank-explorer",
        },
        "image": {
            "alt": "Learned combining weights of the last LRLC layer on the misaligned "
            "faces minus their uniform share, one red-blue panel per basis."
        },
    },
    "tags": ["nbval-ignore-output"],
}
EXPLORER = [
    InsertBefore(CH8, "## Summary\n", "learned_weights_explorer(grid)",
                 (("markdown", _EXPLORER_TEXT, {}), ("code", _EXPLORER_CODE, _EXPLORER_META))),
    Replace(CH8, "from lrlc.maps import (\n",
            "from lrlc.explorers import learned_weights_explorer\nfrom lrlc.maps import (\n"),
]  # fmt: skip

# Chapter 8's table of parameters by role: the package counts the roles
# (lrlc.lrlc_params_by_role), so the hidden cell a Colab reader sees shrinks by a third.
_PARTS_DEF = '''

def parts(layer: LowRankLocallyConnected2d) -> dict[str, int]:
    """Parameters of an LRLC layer by role: bases, combining weights (row
    and column logits, or the predictor), spatial bias."""

    def size(*params: torch.Tensor | None) -> int:
        return sum(p.numel() for p in params if p is not None)

    net = layer.combining_net
    return {
        "bases": layer.weight.numel(),
        "combining": size(
            layer.combining_row, layer.combining_col, layer.combining_logits
        )
        + (lrlc.count_parameters(net) if net is not None else 0),
        "spatial bias": size(
            layer.spatial_bias_row, layer.spatial_bias_col, layer.spatial_bias
        ),
    }
'''
PARTS = [
    # with one of the blank lines around it; the new comment marks the edit as made
    Replace(
        CH8, _PARTS_DEF + "\n\nrows = []\n", "\nrows = []  # one per layer and kind of weights\n"
    ),
    # bias=False: bases, combining, spatial bias, in the table's order
    Replace(CH8, "p = parts(built)", "p = lrlc.lrlc_params_by_role(built)"),
]

# Chapter 7's rank explorer from the package (lrlc.explorers.face_weights_explorer): every
# view one size, so the page no longer jumps as the slider moves, and above rank 4 the bases
# wrap onto two lines a layer, so rank 16's panels are no longer too small to read.
_FACE_OLD = '''def explorer_view(rank: int) -> tuple[plt.Figure, HTML]:
    """The learned combining weights of the grid's LRLC network of this rank
    minus 1/rank, over the mean face (one row per layer, as the figure
    above), with the owner maps, and its numbers."""
    # rank 1: one basis, weight 1 everywhere (no departure to draw)
    layer_maps = grid_maps(grid, rank)
    size = min(1.5, 9.6 / (rank + 2))  # about one width for every rank
    fig = overlay_layers(mean_face, layer_maps, deviation=True, size=size)
    ncols, nrows = rank + 2, len(layer_maps)  # image, bases, owner
    fig.axes[ncols - 1].set_title("owner", fontsize=9)  # fits the panel
    if size < 1.2:  # small panels: only the basis above each, the rest once
        for k, ax in enumerate(fig.axes[1 : rank + 1]):  # the first row
            ax.set_title(f"{k + 1}", fontsize=9)
        for ax in fig.axes[: nrows * ncols : ncols]:  # the layer names
            ax.yaxis.label.set_fontsize(7)
        fig.suptitle(
            f"$w_{{ijk}} - 1/{rank}$ for basis $k$ = 1 to {rank}", fontsize=10
        )
    row = grid.row("lrlc", rank)
    tops = ", ".join(
        f"{w.max(dim=-1).values.mean():.3f}" for w in layer_maps.values()
    )
    seeds = f"{row['seeds']} seed{'s' if row['seeds'] > 1 else ''}"
    caption = (
        f"<b>rank {rank}</b>: test accuracy {100 * row['test_mean']:.2f}% "
        f"(mean over {seeds}); "
        f"{row['params']:,} parameters; "
        f"mean largest combining weight per layer: {tops} "
        f"(uniform 1/{rank} = {1 / rank:.4g})"
    )
    return fig, HTML(caption)


explorer_ranks = grid.drawable_ranks(LAYERS) if grid is not None else []
if explorer_ranks:
    explorer = static_slider(
        {k: explorer_view(k) for k in explorer_ranks},
        label="rank",
        initial=4 if 4 in explorer_ranks else explorer_ranks[-1],
        alt=lambda k: (
            "Mean face, one row per layer, with each basis's combining "
            f"weights minus 1/{k} in red and blue and the basis owning each "
            f"position, at rank {k}"
        ),
        dpi=80,
    )
else:
    explorer = results.pending(
        "celeba", "The learned LRLC weights of the CelebA grid"
    )
explorer'''
_FACE_NEW = """# lrlc.explorers: one view per rank over the mean face, a static slider
explorer = (
    face_weights_explorer(grid, mean_face, LAYERS)
    if grid is not None
    else results.pending(
        "celeba", "The learned LRLC weights of the CelebA grid"
    )
)
explorer"""
_FACE_TEXT_OLD = """Above rank 4 the
panels are small and carry only the number of their basis."""
_FACE_TEXT_NEW = """Above rank 4 each
layer's bases wrap onto two lines and carry only their number; every view has one size, so
the page stays put as the slider moves."""
FACE_EXPLORER = [
    Replace(CH7, _FACE_OLD, _FACE_NEW),
    Replace(CH7, "from IPython.display import HTML, Markdown, display\n",
            "from IPython.display import Markdown, display\n"),
    Replace(CH7, "from lrlc.maps import (\n",
            "from lrlc.explorers import face_weights_explorer\nfrom lrlc.maps import (\n"),
    Replace(CH7, "from lrlc.widgets import markdown_table, static_slider\n",
            "from lrlc.widgets import markdown_table\n"),
    Replace(CH7, _FACE_TEXT_OLD, _FACE_TEXT_NEW, cell_type="markdown"),
    Replace(CH7, "from lrlc.widgets import live_slider\n\n"
                 "live_slider(explorer_view, values=explorer_ranks)",
            "from lrlc.explorers import face_weights_view\nfrom lrlc.widgets import live_slider\n\n"
            "live_slider(\n    lambda k: face_weights_view(grid, mean_face, k),\n"
            "    values=grid.drawable_ranks(LAYERS),\n)", cell_type="markdown"),
]  # fmt: skip

EDITS = [*DEVICE_IMPORTS, *DEVICE_NAMES, *TRAIN_CURVES, *EXPLORER, *PARTS, *FACE_EXPLORER]


def _figure_cell(nb, name: str):
    cells = [
        c for c in nb.cells if c.metadata.get("mystnb", {}).get("figure", {}).get("name") == name
    ]
    if len(cells) != 1:
        raise LookupError(f"{len(cells)} figures named {name}")
    return cells[0]


def apply(edit, nb) -> bool:
    """Make ``edit`` in ``nb``; False when it was made already. LookupError when its place
    is not found exactly once."""
    if isinstance(edit, Replace):
        code = [c for c in nb.cells if c.cell_type == edit.cell_type]
        if sum(c.source.count(edit.new) for c in code) == edit.count:
            return False
        if sum(c.source.count(edit.old) for c in code) != edit.count:
            raise LookupError(f"{edit.chapter}: {edit.old!r} is not in {edit.count} place(s)")
        for cell in code:
            cell.source = cell.source.replace(edit.old, edit.new)
        return True
    if isinstance(edit, Figure):
        meta = _figure_cell(nb, edit.name).metadata["mystnb"]
        texts = meta["figure"] if edit.field == "caption" else meta["image"]
        if edit.new in texts[edit.field] and edit.old not in texts[edit.field]:
            return False
        if texts[edit.field].count(edit.old) != 1:
            raise LookupError(f"{edit.chapter} {edit.name}: {edit.old!r} not in its {edit.field}")
        texts[edit.field] = texts[edit.field].replace(edit.old, edit.new)
        return True
    if any(edit.done in c.source for c in nb.cells):
        return False
    places = [i for i, c in enumerate(nb.cells) if edit.anchor in c.source]
    if len(places) != 1:
        raise LookupError(f"{edit.chapter}: {edit.anchor!r} is not in exactly one cell")
    make = {"markdown": nbformat.v4.new_markdown_cell, "code": nbformat.v4.new_code_cell}
    new = [make[kind](text.rstrip("\n"), metadata=dict(meta)) for kind, text, meta in edit.cells]
    nb.cells[places[0] : places[0]] = new
    return True


def edit_chapters(book: Path, write: bool = True) -> dict[str, int]:
    """Apply every edit to the chapters in ``book``; the number made per chapter (0: all
    made already). ``write=False`` changes no file."""
    made: dict[str, int] = {}
    for chapter in dict.fromkeys(e.chapter for e in EDITS):
        path = book / chapter
        nb = nbformat.read(path, as_version=4)
        made[chapter] = sum(apply(e, nb) for e in EDITS if e.chapter == chapter)
        if write and made[chapter]:
            nbformat.write(nb, path)
    return made


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="change no file")
    args = parser.parse_args(argv)
    try:
        made = edit_chapters(ROOT / "book", write=not args.check)
    except LookupError as error:
        print(f"an edit no longer applies: {error}", file=sys.stderr)
        return 1
    for chapter, n in made.items():
        print(f"{chapter}: {n} edit(s) {'would be ' if args.check else ''}made")
    return 0


if __name__ == "__main__":
    sys.exit(main())
