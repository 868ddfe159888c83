"""Sphinx extension: number figures within their chapter, as "Fig. 5.3".

The chapters carry their numbers in their titles ("5. MNIST ..."), not from a numbered
toctree (the preface is chapter 1 and the root page), so Sphinx numbers every figure of
the book in one sequence and chapter 7 opens at Fig. 34. This renumbers each chapter's
figures (and tables, code blocks) from 1, prefixed with the chapter number read from the
file name: ``book/05_mnist`` -> 5, ``book/appendix_a_reproducing`` -> A; the pages of one
chapter (``book/09_conclusions``, ``book/09_follow_ups``) share one count. Cross-references
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


def renumber(fignumbers: dict[str, dict[str, dict[str, tuple]]]) -> list[str]:
    """Number each chapter's figures (tables, code blocks) from 1, in place.

    ``fignumbers``: Sphinx's ``env.toc_fignumbers``, ``{docname: {figtype: {id: number}}}``
    with book-wide numbers, which keep the book's order. A chapter may span several pages
    (``book/09_conclusions`` and its section ``book/09_follow_ups``): its count goes on
    from page to page. Returns the pages renumbered."""
    chapters: dict[tuple[str, str], list[tuple]] = {}
    for docname, by_type in fignumbers.items():
        label = chapter_label(docname)
        if label is None:
            continue
        for figtype, numbers in by_type.items():
            chapters.setdefault((label, figtype), []).extend(
                (number, docname, figure_id) for figure_id, number in numbers.items()
            )
    for (label, figtype), figures in chapters.items():
        for position, (_, docname, figure_id) in enumerate(sorted(figures), start=1):
            fignumbers[docname][figtype][figure_id] = (label, position)
    return [docname for docname in fignumbers if chapter_label(docname) is not None]


def _renumber(app, env) -> list[str]:
    """Runs after Sphinx assigned its book-wide numbers; returns the pages to rewrite."""
    return renumber(env.toc_fignumbers)


def setup(app) -> dict[str, Any]:
    # after the toctree collector (priority 500) has assigned the book-wide numbers
    app.connect("env-get-updated", _renumber, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
