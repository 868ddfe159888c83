"""The book's own Sphinx extensions (``_ext/``), on what they compute without a build."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "_ext"))

from chapter_figure_numbers import chapter_label  # noqa: E402


def test_chapter_label_from_the_file_name():
    assert chapter_label("book/05_mnist") == "5"
    assert chapter_label("book/12_more") == "12"
    assert chapter_label("book/appendix_a_reproducing") == "A"
    assert chapter_label("book/appendix_c_api") == "C"


def test_pages_outside_the_chapters_have_no_label():
    assert chapter_label("book/intro") is None
    assert chapter_label("book/05_mnist/part") is None  # only the page's own name counts
    assert chapter_label("book/appendix_notes") is None
