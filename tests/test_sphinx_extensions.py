"""The book's own Sphinx extensions (``_ext/``), on what they compute without a build."""

from __future__ import annotations

import chapter_figure_numbers
import unique_scripts
from chapter_figure_numbers import chapter_label, renumber


def test_chapter_label_from_the_file_name():
    assert chapter_label("book/05_mnist") == "5"
    assert chapter_label("book/12_more") == "12"
    assert chapter_label("book/appendix_a_reproducing") == "A"
    assert chapter_label("book/appendix_c_api") == "C"
    assert chapter_label("05_mnist") == "5"  # a page at the root of the book


def test_pages_outside_the_chapters_have_no_label():
    assert chapter_label("book/intro") is None
    assert chapter_label("book/05_mnist/part") is None  # only the page's own name counts
    assert chapter_label("book/appendix_notes") is None
    assert chapter_label("book/notes_2_extra") is None  # a number inside a name is none


def test_figures_count_from_one_per_chapter_and_on_across_its_pages():
    fignumbers = {
        "book/intro": {"figure": {"f": (1,)}},
        "book/08_input_dependent": {"figure": {"a": (3,), "b": (2,)}, "table": {"t": (1,)}},
        "book/09_conclusions": {"figure": {"c": (4,), "d": (5,)}},
        "book/09_follow_ups": {"figure": {"e": (7,), "g": (6,)}, "table": {"u": (2,)}},
        "book/appendix_a_reproducing": {"figure": {"h": (8,)}},
    }
    changed = renumber(fignumbers)
    assert fignumbers["book/intro"] == {"figure": {"f": (1,)}}  # not a chapter: unchanged
    assert fignumbers["book/08_input_dependent"] == {
        "figure": {"a": ("8", 2), "b": ("8", 1)}, "table": {"t": ("8", 1)},
    }  # fmt: skip
    assert fignumbers["book/09_conclusions"]["figure"] == {"c": ("9", 1), "d": ("9", 2)}
    # the section page goes on from its chapter's count, per kind of object
    assert fignumbers["book/09_follow_ups"] == {
        "figure": {"e": ("9", 4), "g": ("9", 3)}, "table": {"u": ("9", 1)},
    }  # fmt: skip
    assert fignumbers["book/appendix_a_reproducing"]["figure"] == {"h": ("A", 1)}
    assert "book/intro" not in changed and "book/09_follow_ups" in changed


def test_a_chapter_counts_its_pages_in_the_books_order_not_by_name():
    fignumbers = {  # as _toc.yml orders them: shifted images before position or capacity
        "book/09_position_or_capacity": {"figure": {"p": (12,)}},
        "book/09_shifted_images": {"figure": {"s": (11,)}},
    }
    renumber(fignumbers)
    assert fignumbers["book/09_shifted_images"]["figure"] == {"s": ("9", 1)}
    assert fignumbers["book/09_position_or_capacity"]["figure"] == {"p": ("9", 2)}


class FakeApp:
    def __init__(self):
        self.connected = []

    def connect(self, event, handler, priority=500):
        self.connected.append((event, handler, priority))


def test_the_renumbering_runs_after_sphinx_numbers_and_rewrites_the_chapters():
    app = FakeApp()
    chapter_figure_numbers.setup(app)
    ((event, handler, priority),) = app.connected
    assert event == "env-get-updated" and priority > 500  # after the toctree collector
    env = type("Env", (), {"toc_fignumbers": {"book/05_mnist": {"figure": {"f": (9,)}}}})()
    assert handler(app, env) == ["book/05_mnist"]
    assert env.toc_fignumbers["book/05_mnist"]["figure"] == {"f": ("5", 1)}


def test_each_script_is_kept_once_first_come_in_place():
    from sphinx.builders.html import _JavaScript

    app = FakeApp()
    unique_scripts.setup(app)
    ((event, handler, _),) = app.connected
    assert event == "html-page-context"
    first, inline = _JavaScript("a.js"), _JavaScript(None, body="x")
    scripts = [first, inline, _JavaScript("", body="x"), other := _JavaScript("", body="y"),
               _JavaScript("a.js")]  # fmt: skip
    context = {"script_files": scripts}
    handler(None, "page", "page.html", context, None)
    assert context["script_files"] is scripts  # the page's own list, changed in place
    assert scripts == [first, inline, other]
    assert [s is t for s, t in zip(scripts, [first, inline, other], strict=True)] == [True] * 3
    empty = {"script_files": []}
    handler(None, "page", "page.html", empty, None)
    assert empty == {"script_files": []}
