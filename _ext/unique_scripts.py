"""Sphinx extension: include each script once per page.

sphinx-thebe and sphinx-togglebutton (loaded by Jupyter Book) register their inline
configuration scripts again on every read, so pages of a multi-page build carry copies,
and the second ``const THEBE_JS_URL`` is a JavaScript error in the reader's console.
This keeps the first of any scripts with the same file and inline body.
"""

from __future__ import annotations

from typing import Any


def _unique_scripts(app, pagename: str, templatename: str, context: dict, doctree) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen: set[tuple[str, str]] = set()
    unique = []
    for script in scripts:
        # the copies differ only in an inline script's filename, None or ""
        filename = getattr(script, "filename", script) or ""
        key = (str(filename), str(getattr(script, "attributes", {}).get("body", "")))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    scripts[:] = unique


def setup(app) -> dict[str, Any]:
    app.connect("html-page-context", _unique_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
