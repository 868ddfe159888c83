"""The stored outputs of every chapter, as committed: what readers of the static book see.

The same checks as ``.ci/execute.py`` (no error, no warning on stderr, no absolute path of
the machine that ran it, no ipywidget), plus: no saved widget state, so no page needs the
widget manager's JavaScript, every code cell was executed, in order, and every printed
Markdown table will render as a table.
"""

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "book").glob("*.ipynb"))


def _module(name: str, path: Path):
    """The module of a script that is not in a package (.ci/, book/conftest.py)."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def _execute_module():
    return _module("ci_execute", ROOT / ".ci" / "execute.py")


@pytest.fixture(scope="module")
def checks():
    return _execute_module()


def test_every_chapter_is_found():
    assert len(NOTEBOOKS) >= 8


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_stored_outputs_are_clean(checks, path):
    nb = nbformat.read(path, as_version=4)
    assert checks.problems(nb) == []
    assert "widgets" not in nb.metadata, f"{path.name} stores widget state: re-run .ci/execute.py"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_code_cell_ran_top_to_bottom(path):
    nb = nbformat.read(path, as_version=4)
    counts = [c.execution_count for c in nb.cells if c.cell_type == "code"]
    assert None not in counts, f"{path.name} has cells that never ran: run .ci/execute.py"
    assert counts == list(range(1, len(counts) + 1)), f"{path.name} was not run top to bottom"


TABLE_RULE = re.compile(r"^\|(\s*:?-+:?\s*\|)+\s*$", re.MULTILINE)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_printed_markdown_tables_are_marked_gfm(path):
    """myst-nb renders a cell's Markdown output as CommonMark, which has no tables, unless
    the cell's metadata says ``mystnb: {markdown_format: gfm}``; without it the page shows
    the table's raw pipes."""
    nb = nbformat.read(path, as_version=4)
    unmarked = [
        n
        for n, cell in enumerate(nb.cells)
        if cell.cell_type == "code"
        and cell.metadata.get("mystnb", {}).get("markdown_format") != "gfm"
        and any(
            TABLE_RULE.search("".join(out.get("data", {}).get("text/markdown", "")))
            for out in cell.get("outputs", [])
        )
    ]
    assert unmarked == [], f"{path.name}: cells {unmarked} print a table without gfm"


# A backslash lost in a Python string that wrote a cell: "\times" becomes a tab and
# "imes", "\frac" a form feed and "rac", "\beta" a backspace and "eta".
CONTROL_CHARACTERS = {"\t": "tab", "\f": "form feed", "\b": "backspace", "\r": "carriage return"}


def control_characters(source: str) -> list[str]:
    """Each control character in a cell's source, named, with the text after it."""
    return [
        f"{CONTROL_CHARACTERS[char]} before {source[i + 1 : i + 9]!r}"
        for i, char in enumerate(source)
        if char in CONTROL_CHARACTERS
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_sources_hold_no_control_characters(path):
    nb = nbformat.read(path, as_version=4)
    found = [
        f"cell {n}: {c}" for n, cell in enumerate(nb.cells) for c in control_characters(cell.source)
    ]
    assert found == [], f"{path.name}: a lost backslash? {found}"


# A solution: <details class="solution"> with its summary on the next line and blank lines
# around its body, so that the Markdown and math inside render in the book, Jupyter and
# Colab alike (without the blank lines the body stays raw HTML text).
SOLUTION = re.compile(
    r'<details class="solution">\n<summary><b>Solution (\d+)</b>: [^\n]+</summary>\n\n'
    r"(?:(?!</?details).)+?\n\n</details>",
    re.DOTALL,
)
EXERCISE = re.compile(r"^(\d+)\. \*\(", re.MULTILINE)
CODE_OF_SOLUTION = re.compile(r"^Show the code of solution (\d+)$")


def solution_problems(sources: list[tuple[str, str, dict]]) -> list[str]:
    """What is wrong with the solutions of a chapter given as (cell type, source,
    metadata): a malformed <details> block, a solution to an exercise the chapter does not
    have, solutions out of order, or a code cell of a solution that is not there."""
    text = "\n\n".join(source for kind, source, _ in sources if kind == "markdown")
    problems = []
    opened = text.count("<details")
    solved = [int(n) for n in SOLUTION.findall(text)]
    if opened != len(solved):
        problems.append(f"{opened - len(solved)} malformed <details> block(s)")
    listed = text.partition("## Exercises")[2].split("## Solutions")[0]
    exercises = {int(n) for n in EXERCISE.findall(listed)}
    problems += [f"solution {n} has no exercise {n}" for n in solved if n not in exercises]
    if solved != sorted(set(solved)):
        problems.append(f"solutions out of order or repeated: {solved}")
    for kind, _, metadata in sources:
        shown = CODE_OF_SOLUTION.match(metadata.get("mystnb", {}).get("code_prompt_show", ""))
        if kind == "code" and shown and int(shown[1]) not in solved:
            problems.append(f"code of solution {shown[1]}, which is not there")
        if kind == "code" and shown and "hide-cell" not in metadata.get("tags", []):
            problems.append(f"the code of solution {shown[1]} is not folded (tag hide-cell)")
    return problems


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_solutions_are_folded_and_answer_the_chapters_exercises(path):
    nb = nbformat.read(path, as_version=4)
    assert solution_problems([(c.cell_type, c.source, c.metadata) for c in nb.cells]) == []


def test_solution_problems_are_found():
    exercises = ("markdown", "## Exercises\n\n1. *(code)* One.\n2. *(pen and paper)* Two.", {})

    def solution(n: int, body: str = "Because.") -> str:
        summary = f"<summary><b>Solution {n}</b>: why</summary>"
        return f'<details class="solution">\n{summary}\n\n{body}\n\n</details>'

    code = {"tags": ["hide-cell"], "mystnb": {"code_prompt_show": "Show the code of solution 2"}}
    good = [exercises, ("markdown", "## Solutions\n\n" + solution(2), {}), ("code", "x", code)]
    assert solution_problems(good) == []
    cramped = solution(2).replace("</summary>\n\n", "</summary>\n")
    assert solution_problems([exercises, ("markdown", cramped, {})]) == [
        "1 malformed <details> block(s)"
    ]
    assert solution_problems([exercises, ("markdown", solution(3), {})]) == [
        "solution 3 has no exercise 3"
    ]
    assert solution_problems([exercises, ("markdown", solution(2) + solution(1), {})]) == [
        "solutions out of order or repeated: [2, 1]"
    ]
    unfolded = {"mystnb": code["mystnb"]}
    assert solution_problems([exercises, ("code", "x", unfolded)]) == [
        "code of solution 2, which is not there",
        "the code of solution 2 is not folded (tag hide-cell)",
    ]


def test_control_characters_are_found():
    assert control_characters(r"$K \times 64$, $\frac{1}{2}$") == []
    assert control_characters("$K \times 64$, $\frac{1}{2}$") == [
        "tab before 'imes 64$'",
        "form feed before 'rac{1}{2'",
    ]


def test_the_checks_catch_what_they_should(checks):
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("x")
    cell.outputs = [
        nbformat.v4.new_output("error", ename="ValueError", evalue="bad", traceback=[]),
        nbformat.v4.new_output("stream", name="stderr", text="UserWarning: careful\n"),
        nbformat.v4.new_output("stream", name="stdout", text="saved to /work/main/x.png\n"),
        nbformat.v4.new_output(
            "display_data",
            data={checks.WIDGET_VIEW: {"model_id": "1"}, "text/plain": "FloatProgress()"},
        ),
    ]
    nb.cells.append(cell)
    found = " ".join(checks.problems(nb))
    for problem in (
        "error ValueError",
        "a warning on stderr",
        "a path of this machine",
        "ipywidget",
    ):
        assert problem in found


def one_output(output) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell("x"))
    nb.cells[0].outputs = [output]
    return nb


@pytest.mark.parametrize(
    "path",
    ["/work/main/x.png", "/root/x", "/home/ada/x", "/tmp/x", "/usr/lib/x", "/opt/x",
     "/mnt/data/x", "/content/lrlc/x", "/Users/ada/x", "/var/folders/x/T/y",
     "C:\\Users\\ada\\x.png", "C:/Users/ada/x", "WindowsPath('D:/Users/ada')",
     "'C:\\\\Users\\\\ada'"],
)  # fmt: skip
def test_each_kind_of_machine_path_is_found_alone(checks, path):
    nb = one_output(nbformat.v4.new_output("stream", name="stdout", text=f"saved {path}\n"))
    assert "a path of this machine" in " ".join(checks.problems(nb))


@pytest.mark.parametrize(
    "data",
    [{"text/plain": "/home/ada/x"}, {"text/plain": "ok", "text/html": "<p>/home/ada/x</p>"},
     {"text/markdown": "/home/ada/x"}, {"application/json": {"file": "/home/ada/x"}}],
)  # fmt: skip
def test_a_path_is_found_in_every_text_and_json_output(checks, data):
    nb = one_output(nbformat.v4.new_output("display_data", data=data))
    assert "a path of this machine" in " ".join(checks.problems(nb))


def test_a_figure_printed_as_text_is_refused_and_one_drawn_is_not(checks):
    text = {"text/plain": "<Figure size 640x480 with 1 Axes>"}
    nb = one_output(nbformat.v4.new_output("execute_result", data=text, execution_count=1))
    assert "a figure printed as text" in " ".join(checks.problems(nb))
    drawn = nbformat.v4.new_output("display_data", data={**text, "image/png": "iVBORw0KGgo="})
    assert checks.problems(one_output(drawn)) == []


@pytest.mark.parametrize(
    "text, refused",
    [("RuntimeWarning: overflow\n", True), ("  warnings.warn(msg)\n", True),
     ("WARNING:root:slow\n", True), ("a note\n", False)],
)  # fmt: skip
def test_warnings_of_every_kind_are_refused_on_stderr_only(checks, text, refused):
    nb = one_output(nbformat.v4.new_output("stream", name="stderr", text=text))
    assert bool(checks.problems(nb)) is refused
    nb = one_output(nbformat.v4.new_output("stream", name="stdout", text=text))
    assert checks.problems(nb) == []  # printed on purpose (a chapter naming a warning)


class FakeClient:
    """nbclient's NotebookClient, running no kernel: each notebook says in its metadata
    what its run does ("ok": two lines of stdout; "warn": a warning; "fail": an error)."""

    runs: list = []

    def __init__(self, nb, **kwargs):
        self.nb, self.kwargs = nb, kwargs
        FakeClient.runs.append((nb.metadata["fake"], kwargs, os.environ.get("LRLC_PROGRESS")))

    def execute(self):
        cell, what = self.nb.cells[0], self.nb.metadata["fake"]
        cell.execution_count = 1
        if what == "fail":
            raise RuntimeError("boom")
        lines = ["UserWarning: careful\n"] if what == "warn" else ["a\n", "b\n"]
        name = "stderr" if what == "warn" else "stdout"
        cell.outputs = [nbformat.v4.new_output("stream", name=name, text=t) for t in lines]


def fake_chapter(path: Path, what: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell("run()"))
    nb.metadata["fake"] = what
    nb.metadata["widgets"] = {"state": {}}  # left by an earlier run in Jupyter
    nbformat.write(nb, path)
    return path


def test_execute_saves_a_clean_run_and_keeps_the_file_of_a_refused_one(checks, tmp_path,
                                                                        monkeypatch):  # fmt: skip
    monkeypatch.setattr(checks, "NotebookClient", FakeClient)
    FakeClient.runs = []
    ok = fake_chapter(tmp_path / "05_ok.ipynb", "ok")
    assert checks.execute(ok) is True
    saved = nbformat.read(ok, as_version=4)
    assert [o.text for o in saved.cells[0].outputs] == ["a\nb\n"]  # one block of log
    assert "widgets" not in saved.metadata
    ((_, kwargs, _),) = FakeClient.runs
    assert 0 < kwargs["timeout"] < float("inf") and kwargs["record_timing"] is False
    assert kwargs["resources"] == {"metadata": {"path": str(tmp_path)}}  # runs in book/
    rejected = tmp_path / "rejected"
    for what in ("warn", "fail"):
        path = fake_chapter(tmp_path / f"06_{what}.ipynb", what)
        before = path.read_bytes()
        assert checks.execute(path, rejected) is False
        assert path.read_bytes() == before  # never saved over the chapter
        kept = nbformat.read(rejected / path.name, as_version=4)
        assert kept.cells[0].execution_count == 1  # as it stood after the run
        assert checks.execute(path) is False  # without a folder for it: refused all the same


def test_the_command_runs_every_chapter_and_fails_if_one_fails(tmp_path, monkeypatch):
    import runpy

    import nbclient

    monkeypatch.setattr(nbclient, "NotebookClient", FakeClient)
    monkeypatch.delenv("LRLC_PROGRESS", raising=False)
    FakeClient.runs = []
    bad, good = fake_chapter(tmp_path / "a.ipynb", "fail"), fake_chapter(tmp_path / "b.ipynb", "ok")
    argv = ["execute.py", "--rejected", str(tmp_path / "out"), str(bad), str(good)]
    monkeypatch.setattr(sys, "argv", argv)
    with pytest.raises(SystemExit) as exit_:
        runpy.run_path(str(ROOT / ".ci" / "execute.py"), run_name="__main__")
    assert exit_.value.code == 1
    assert [(what, progress) for what, _, progress in FakeClient.runs] == [
        ("fail", "log"), ("ok", "log")
    ]  # fmt: skip
    assert (tmp_path / "out" / "a.ipynb").exists() and not (tmp_path / "out" / "b.ipynb").exists()


def test_consecutive_lines_of_one_stream_become_one_output(checks):
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("x")
    cell.outputs = [
        nbformat.v4.new_output("stream", name="stdout", text="epoch 1\n"),
        nbformat.v4.new_output("stream", name="stdout", text="epoch 2\n"),
        nbformat.v4.new_output("stream", name="stderr", text="note\n"),
        nbformat.v4.new_output("stream", name="stdout", text="done\n"),
    ]
    nb.cells.append(cell)
    checks.coalesce_streams(nb)
    assert [(o.name, o.text) for o in cell.outputs] == [
        ("stdout", "epoch 1\nepoch 2\n"),
        ("stderr", "note\n"),
        ("stdout", "done\n"),
    ]


def test_every_chapter_installs_lrlc_from_the_books_own_repository():
    """In Colab only the notebook is there: its first code cell installs ``lrlc`` from the
    repository ``_config.yml`` names (the one its launch buttons open), and results files
    are fetched from that repository's branch. Changing the repository's address is one
    edit per place listed here, and this test names them all."""
    import yaml

    config = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]
    url, branch = config["url"].rstrip("/"), config["branch"]
    assert branch == "main"
    install = f'%pip install -q "lrlc @ git+{url}"'
    for path in NOTEBOOKS:
        first = next(c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code")
        assert first.source.startswith("try:\n    import lrlc\nexcept ImportError:"), path.name
        assert install in first.source, f"{path.name} installs lrlc from elsewhere than {url}"
    from lrlc import results

    owner_repo = url.removeprefix("https://github.com/")
    raw = f"https://raw.githubusercontent.com/{owner_repo}/{branch}/results"
    assert raw == results.RESULTS_URL
    for doc in ("README.md", "book/intro.md", "book/appendix_c_api.md"):
        assert f"pip install git+{url}" in (ROOT / doc).read_text(), doc


def _book_conftest():
    return _module("book_conftest", ROOT / "book" / "conftest.py")


class _Item:
    """What the hook reads of an nbval item: its path; what it writes: markers."""

    def __init__(self, name: str) -> None:
        self.path = ROOT / "book" / name
        self.markers: list = []

    def add_marker(self, marker) -> None:
        self.markers.append(marker)


def test_celeba_chapters_skip_with_the_fix_outside_ci_only(monkeypatch, tmp_path):
    hook = _book_conftest()
    assert all((ROOT / "book" / name).exists() for name in hook.NEEDS_CELEBA)
    monkeypatch.setenv("LRLC_DATA", str(tmp_path))  # no CelebA there
    monkeypatch.delenv("CI", raising=False)
    items = [_Item("05_mnist.ipynb"), *(_Item(name) for name in hook.NEEDS_CELEBA)]
    hook.pytest_collection_modifyitems(None, items)
    assert items[0].markers == []
    for item in items[1:]:
        (marker,) = item.markers
        assert marker.name == "skip" and str(tmp_path.resolve()) in marker.kwargs["reason"]
        assert "LRLC_DATA" in marker.kwargs["reason"]
    monkeypatch.setenv("CI", "false")  # a CI variable that says no is not CI
    items = [_Item(hook.NEEDS_CELEBA[0])]
    hook.pytest_collection_modifyitems(None, items)
    assert len(items[0].markers) == 1
    monkeypatch.setenv("CI", "true")  # CI never skips: a missing CelebA fails there
    items = [_Item(name) for name in hook.NEEDS_CELEBA]
    hook.pytest_collection_modifyitems(None, items)
    assert all(item.markers == [] for item in items)


def test_the_chapters_that_load_celeba_are_the_ones_skipped_without_it(monkeypatch, tmp_path):
    hook = _book_conftest()
    loading = set()
    for path in NOTEBOOKS:  # a code cell with data.load("celeba" ...)
        code = [c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
        if re.search(r"load\(\s*[\"']celeba[\"']", "\n".join(code)):
            loading.add(path.name)
    assert set(hook.NEEDS_CELEBA) == loading
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LRLC_DATA", "data")  # relative: the reason names the whole path
    for available, skipped in ({"celeba"}, False), ({"mnist", "cifar10"}, True):
        monkeypatch.setattr(hook.data, "available", lambda name, a=available: name in a)
        items = [_Item(name) for name in hook.NEEDS_CELEBA]
        hook.pytest_collection_modifyitems(None, items)
        assert all(bool(item.markers) is skipped for item in items)
    assert str(tmp_path.resolve() / "data") in items[0].markers[0].kwargs["reason"]


def test_the_edits_waiting_for_a_gpu_still_apply_and_lint_clean(tmp_path):
    """.ci/gpu_chapter_edits.py holds the code changes chapters 5-8 get just before their
    next GPU execution: each must still find its place in the chapters as committed, a
    second run must change nothing, and the edited chapters must pass the book's ruff."""
    edits = _module("gpu_chapter_edits", ROOT / ".ci" / "gpu_chapter_edits.py")
    chapters = sorted({e.chapter for e in edits.EDITS})
    for chapter in chapters:
        (tmp_path / chapter).write_bytes((ROOT / "book" / chapter).read_bytes())
    made = edits.edit_chapters(tmp_path)
    assert all(made[c] > 0 for c in chapters), made
    assert set(edits.edit_chapters(tmp_path).values()) == {0}  # all made already
    for chapter in chapters:
        nb = nbformat.read(tmp_path / chapter, as_version=4)
        assert checks_of(nb) == [], chapter
    config = ROOT / "book" / "ruff.toml"
    for command in (["check"], ["format", "--check"]):
        lint = subprocess.run(
            [sys.executable, "-m", "ruff", *command, "--no-cache", "--config", str(config),
             str(tmp_path)],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert lint.returncode == 0, lint.stdout + lint.stderr


def checks_of(nb) -> list[str]:
    """What the edited chapter breaks of the book's rules for stored notebooks, but that
    its new cells have no outputs yet: the figure metadata of every new figure cell."""
    problems = []
    for cell in nb.cells:
        figure = cell.metadata.get("mystnb", {}).get("figure")
        if figure is not None and not (figure.get("caption") and figure.get("name")):
            problems.append(f"a figure without caption or name: {cell.source[:40]!r}")
        if figure is not None and not cell.metadata["mystnb"].get("image", {}).get("alt"):
            problems.append(f"a figure without alt text: {cell.source[:40]!r}")
    return problems
