"""Sphinx extension: number figures within their chapter, as "Fig. 5.3".

The chapters carry their numbers in their titles ("5. MNIST ..."), not from a numbered
toctree (the preface is chapter 1 and the root page), so Sphinx numbers every figure of
the book in one sequence and chapter 7 opens at Fig. 34. This renumbers each chapter's
figures (and tables, code blocks) from 1, prefixed with the chapter number read from the
file name: ``book/05_mnist`` -> 5, ``book/appendix_a_reproducing`` -> A. Cross-references
(``{numref}``) use the same numbers, since they read the same table.
"""

from __future__ import annotations

import re
from typing import Any

_CHAPTER = re.compile(r"(?:^|/)(?:(\d+)_|appendix_([a-z])_)[^/]*$")


def chapter_label(docname: str) -> str | None:
    """The chapter's number ("5") or appendix letter ("A") from its file name, else None."""
    match = _CHAPTER.search(docname)
    if match is None:
        return None
    number, letter = match.groups()
    return str(int(number)) if number else letter.upper()


def _renumber(app, env) -> list[str]:
    """Runs after Sphinx assigned its book-wide numbers; returns the pages to rewrite."""
    changed = []
    for docname, by_type in env.toc_fignumbers.items():
        label = chapter_label(docname)
        if label is None:
            continue
        for numbers in by_type.values():  # figures, tables, code blocks
            # the book-wide numbers keep the page's order; count from 1 in that order
            ordered = sorted(numbers, key=numbers.get)
            for position, figure_id in enumerate(ordered, start=1):
                numbers[figure_id] = (label, position)
        changed.append(docname)
    return changed


def setup(app) -> dict[str, Any]:
    # after the toctree collector (priority 500) has assigned the book-wide numbers
    app.connect("env-get-updated", _renumber, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
