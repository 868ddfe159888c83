"""The book's own Sphinx extensions (``_ext/``), on what they compute without a build."""

from __future__ import annotations

from chapter_figure_numbers import chapter_label, renumber


def test_chapter_label_from_the_file_name():
    assert chapter_label("book/05_mnist") == "5"
    assert chapter_label("book/12_more") == "12"
    assert chapter_label("book/appendix_a_reproducing") == "A"
    assert chapter_label("book/appendix_c_api") == "C"


def test_pages_outside_the_chapters_have_no_label():
    assert chapter_label("book/intro") is None
    assert chapter_label("book/05_mnist/part") is None  # only the page's own name counts
    assert chapter_label("book/appendix_notes") is None


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
