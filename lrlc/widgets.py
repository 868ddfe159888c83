"""Display helpers for the chapters: sliders over precomputed views, and Markdown tables.

``static_slider`` writes plain HTML: one ``<img>`` per value, an ``<input type="range">``
and a few lines of inline JavaScript that show the selected view. It needs no kernel, no
ipywidgets, no CDN and no network, so it keeps working in the static HTML book, in
Jupyter and in Colab::

    from lrlc.widgets import static_slider

    views = {k: (make_figure(k), f"rank {k}: ...") for k in range(1, 9)}
    static_slider(views, label="rank")  # the last expression of a notebook cell

``static_explorer`` adds a menu before the slider (say a dataset, then its rank), over
views precomputed for every pair.

``live_slider`` is the same idea with ipywidgets, recomputing each view on demand; it
needs a running kernel (Jupyter, Colab) and is never what the static book shows.

``markdown_table`` turns rows of numbers into a Markdown table that Jupyter, Colab and the
book all render (in the book, give the cell the metadata
``{"mystnb": {"markdown_format": "gfm"}}`` so that myst-nb parses tables).
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import itertools
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Protocol

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

__all__ = [
    "figure_to_png",
    "static_slider",
    "static_explorer",
    "live_slider",
    "markdown_table",
    "html_display",
    "markdown_display",
]

_ids = itertools.count()
_ID_PATTERN = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")


class HTMLLike(Protocol):
    """Anything with ``_repr_html_``, such as ``IPython.display.HTML``."""

    def _repr_html_(self) -> str: ...


Image = Figure | bytes
Caption = str | HTMLLike | None
#: One view of a slider, ``(image, caption)``, the image a matplotlib ``Figure`` or PNG
#: bytes, the caption a string, an object with ``_repr_html_`` (such as
#: ``IPython.display.HTML``) or None.
View = tuple[Image, Caption]
Alt = str | Callable[[Any], str]


def figure_to_png(fig: Figure, dpi: float | None = None, close: bool = True) -> bytes:
    """Render a matplotlib figure to PNG bytes; ``close`` it so a notebook won't also show it."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    if close:
        plt.close(fig)
    return buffer.getvalue()


def _png(image: Image, dpi: float | None) -> bytes:
    if isinstance(image, Figure):
        return figure_to_png(image, dpi=dpi)
    if isinstance(image, bytes | bytearray):
        if not bytes(image[:8]) == b"\x89PNG\r\n\x1a\n":
            raise ValueError(
                "image bytes must be a PNG file (they do not start with the PNG magic)"
            )
        return bytes(image)
    raise TypeError(f"a view's image must be a matplotlib Figure or PNG bytes, got {type(image)}")


def _caption_html(caption: Caption) -> str:
    """Plain strings are escaped; objects with ``_repr_html_`` (IPython.display.HTML) are not."""
    if caption is None:
        return ""
    if hasattr(caption, "_repr_html_"):
        return caption._repr_html_() or ""
    return html.escape(str(caption))


def _alt_text(alt: Alt, label: str, value: Any) -> str:
    text = alt(value) if callable(alt) else alt.format(label=label, value=value)
    return html.escape(text, quote=True)


def _view_html(png: bytes, caption: Caption, alt_text: str) -> str:
    """One view: the image and its caption. ``alt_text`` must already be escaped."""
    data = base64.b64encode(png).decode("ascii")
    return (
        f'<img src="data:image/png;base64,{data}" alt="{alt_text}" '
        'style="max-width:100%;height:auto;display:block">'
        f'<div class="lrlc-slider-caption" style="margin-top:0.25em">{_caption_html(caption)}</div>'
    )


def _slider_range(values: Sequence[Any]) -> tuple[bool, int, int, int]:
    """(indexed, min, max, step): the slider runs over the values themselves when they are
    ints in steps of one constant size, else over their positions 0 .. n - 1."""
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return True, 0, len(values) - 1, 1
    steps = {b - a for a, b in itertools.pairwise(values)}
    if len(values) == 1:
        return False, values[0], values[0], 1
    if len(steps) == 1 and min(steps) > 0:
        return False, values[0], values[-1], steps.pop()
    return True, 0, len(values) - 1, 1


def _display_object(kind: str, text: str) -> Any:
    """``IPython.display.HTML(text)`` or ``Markdown(text)``, or a stand-in without IPython."""
    try:
        from IPython import display
    except ImportError:  # a plain Python without Jupyter: print() shows the text
        return _Fallback(kind, text)
    return getattr(display, kind)(text)


def html_display(text: str) -> Any:
    """``IPython.display.HTML(text)``: shown as HTML by a notebook (its ``.data`` is the
    text), or a stand-in with the same ``_repr_html_`` where IPython is not installed."""
    return _display_object("HTML", text)


def markdown_display(text: str) -> Any:
    """``IPython.display.Markdown(text)``: shown as Markdown by a notebook (its ``.data``
    is the text), or a stand-in with the same ``_repr_markdown_`` where IPython is not
    installed."""
    return _display_object("Markdown", text)


class _Fallback:
    """What :func:`html_display` and :func:`markdown_display` return without IPython:
    ``str()`` (and so ``print``) gives the text."""

    def __init__(self, kind: str, data: str) -> None:
        self.kind, self.data = kind, data

    def __str__(self) -> str:
        return self.data

    def _repr_html_(self) -> str | None:
        return self.data if self.kind == "HTML" else None

    def _repr_markdown_(self) -> str | None:
        return self.data if self.kind == "Markdown" else None


def markdown_table(
    header: Sequence[str],
    rows: Sequence[Sequence[Any]],
    align: str | None = None,
    note: str | None = None,
) -> Any:
    """A Markdown table (``IPython.display.Markdown``); cells are written with ``str()``.

    header: n column titles. rows: each a sequence of n cells. align: one letter per
    column, ``l``, ``c`` or ``r`` (default: left for the first column, right for the rest).
    note: a line of Markdown shown above the table (what every row has in common).
    Pipes and line breaks inside cells are escaped.
    """
    n = len(header)
    if align is None:
        align = "l" + "r" * (n - 1)
    if len(align) != n or set(align) - set("lcr"):
        raise ValueError(f"align needs one of l, c, r per column ({n}), got {align!r}")
    for row in rows:
        if len(row) != n:
            raise ValueError(f"every row needs {n} cells, got {len(row)}: {row!r}")

    def cell(value: Any) -> str:
        return str(value).replace("|", "\\|").replace("\n", " ")

    rule = {"l": ":--", "c": ":-:", "r": "--:"}
    lines = [
        "| " + " | ".join(cell(h) for h in header) + " |",
        "|" + "|".join(rule[a] for a in align) + "|",
        *("| " + " | ".join(cell(v) for v in row) + " |" for row in rows),
    ]
    if note:
        lines = [note, ""] + lines
    return markdown_display("\n".join(lines))


def _element_id(prefix: str, label: str, pngs: Iterable[bytes], element_id: str | None) -> str:
    """``element_id`` checked, or a fresh one from the label and images (unique per call)."""
    if element_id is None:
        digest = hashlib.sha1(label.encode())
        for png in pngs:
            digest.update(png)
        return f"{prefix}-{digest.hexdigest()[:8]}-{next(_ids)}"
    if not _ID_PATTERN.fullmatch(element_id):
        raise ValueError(
            f"element_id must start with a letter and hold only letters, digits, '-' and '_', "
            f"got {element_id!r}"
        )
    return element_id


def _range_html(
    element_id: str, label: str, shown: str, value: Any, bounds: tuple[int, int, int], style: str
) -> list[str]:
    """The slider's label with its value, and the range input; ``label`` already escaped."""
    low, high, step = bounds
    return [
        f'<label for="{element_id}-input">{label} = '
        f'<output id="{element_id}-value">{html.escape(shown)}</output></label>',
        f'<input type="range" id="{element_id}-input" min="{low}" max="{high}" step="{step}" '
        f'value="{value}" aria-label="{label}" aria-valuetext="{html.escape(shown)}" '
        f'style="{style}">',
    ]


def _view_div(view_id: str, view: str, shown: bool) -> str:
    """One view's element; only the initial view is shown (without JavaScript, it stays)."""
    hidden = "" if shown else ' style="display:none"'
    return f'<div class="lrlc-slider-view" id="{view_id}"{hidden}>{view}</div>'


def _script(config: dict, body: str) -> str:
    """An inline script that runs ``body`` with ``config`` as ``c``. The JSON is written
    with "<" escaped, so no value can close the script element."""
    data = json.dumps(config).replace("<", "\\u003c")
    return f"<script>\n(function () {{\n  var c = {data};\n{body}}})();\n</script>"


def static_slider(
    views: Mapping[Any, View],
    label: str = "rank",
    *,
    initial: Any | None = None,
    alt: Alt = "{label} = {value}",
    dpi: float | None = None,
    element_id: str | None = None,
) -> Any:
    """A slider over precomputed views that works without a kernel (static HTML + inline JS).

    Ints in equal steps (such as 1, 2, 3 or 2, 4, 6) become the slider's own min/max/step;
    other values (1, 2, 4, 8, or strings) run the slider over their positions 0 .. n - 1
    and show the value as text. Without JavaScript (an untrusted notebook) the initial view
    stays shown.

    Args:
        views: value -> (image, caption), in slider order (ints, or any labels). image is
            a matplotlib ``Figure`` (rendered to PNG at ``dpi`` and closed) or PNG bytes;
            caption is a plain string (escaped), an object with ``_repr_html_`` such as
            ``IPython.display.HTML`` (inserted as HTML), or None.
        label: the name shown next to the slider (escaped).
        initial: the value shown first; the first value by default.
        alt: the alt text of every image: a template with ``{label}`` and ``{value}``, or
            a function of the value (escaped).
        dpi: the resolution figures are rendered at; default matplotlib's
            ``savefig.dpi`` (the figure's own unless set).
        element_id: the id of the outer element; every other id starts with it. By
            default a fresh one per call, so several sliders can share a page.

    Returns:
        ``IPython.display.HTML``: make it the last expression of a cell, or ``display()``
        it.
    """
    values = list(views)
    if not values:
        raise ValueError("static_slider needs at least one view")
    if initial is None:
        initial = values[0]
    if initial not in views:
        raise ValueError(f"initial={initial!r} is not one of the views' values {values}")
    pngs = [_png(views[v][0], dpi) for v in values]
    element_id = _element_id("lrlc-slider", label, pngs, element_id)
    indexed, low, high, step = _slider_range(values)
    start = values.index(initial)
    label_html = html.escape(label)
    shown = [str(v) for v in values]  # set as textContent by the script: never parsed

    parts = [
        f'<div class="lrlc-slider" id="{element_id}">',
        '<div class="lrlc-slider-controls" '
        'style="display:flex;align-items:center;gap:0.75em;margin:0.5em 0">',
        *_range_html(
            element_id,
            label_html,
            shown[start],
            start if indexed else values[start],
            (low, high, step),
            "flex:1;max-width:24em",
        ),
        "</div>",
    ]
    for n, (value, png) in enumerate(zip(values, pngs, strict=True)):
        view = _view_html(png, views[value][1], _alt_text(alt, label, value))
        parts.append(_view_div(f"{element_id}-view-{n}", view, shown=n == start))
    parts.append("</div>")
    config = {
        "id": element_id,
        "indexed": indexed,
        "values": values if not indexed else None,
        "shown": shown,
    }
    parts.append(
        _script(
            config,
            '  var input = document.getElementById(c.id + "-input");\n'
            '  var output = document.getElementById(c.id + "-value");\n'
            "  if (!input || !output) return;\n"
            "  function show() {\n"
            "    var n = c.indexed ? Number(input.value) : c.values.indexOf(Number(input.value));\n"
            "    if (n < 0) return;\n"
            "    for (var m = 0; m < c.shown.length; m++) {\n"
            '      var view = document.getElementById(c.id + "-view-" + m);\n'
            '      if (view) view.style.display = m === n ? "" : "none";\n'
            "    }\n"
            "    output.textContent = c.shown[n];\n"
            '    input.setAttribute("aria-valuetext", c.shown[n]);\n'
            "  }\n"
            '  input.addEventListener("input", show);\n'
            "  show();\n",
        )
    )
    return html_display("\n".join(parts))


def static_explorer(
    views: Mapping[tuple[Any, Any], View],
    labels: tuple[str, str] = ("dataset", "rank"),
    *,
    initial: tuple[Any, Any] | None = None,
    alt: str | Callable[[Any, Any], str] = "{choice}, {label} = {value}",
    dpi: float | None = None,
    element_id: str | None = None,
) -> Any:
    """:func:`static_slider` with a menu before it: a view for every (choice, value) pair.

    The menu (``<select>``) picks the first key, say a dataset; the slider the second, say
    a rank, with :func:`static_slider`'s rules for its values. Static HTML and inline
    JavaScript, so it works without a kernel; without JavaScript the initial view stays.

    Args:
        views: (choice, value) -> (image, caption), as :func:`static_slider`'s views; the
            menu lists the choices and the slider the values in the order they first
            appear, and every pair of them needs a view.
        labels: the names of the menu and of the slider (escaped).
        initial: the pair shown first; the first view by default.
        alt: the alt text of every image: a template with ``{choice}``, ``{label}`` (the
            slider's) and ``{value}``, or a function of (choice, value) (escaped).
        dpi, element_id: as in :func:`static_slider`.

    Returns:
        ``IPython.display.HTML``.
    """
    if not views:
        raise ValueError("static_explorer needs at least one view")
    if any(not isinstance(key, tuple) or len(key) != 2 for key in views):
        raise ValueError("every key of views must be a (choice, value) pair")
    choices = list(dict.fromkeys(choice for choice, _ in views))
    values = list(dict.fromkeys(value for _, value in views))
    missing = [(c, v) for c in choices for v in values if (c, v) not in views]
    if missing:
        raise ValueError(
            f"no view for {missing[:3]}{' ...' if len(missing) > 3 else ''}: every choice "
            "needs a view at every value (draw a placeholder where there is nothing to show)"
        )
    initial = next(iter(views)) if initial is None else tuple(initial)
    if initial not in views:
        raise ValueError(f"initial={initial!r} is not one of the views' keys")
    pngs = {key: _png(view[0], dpi) for key, view in views.items()}
    element_id = _element_id("lrlc-explorer", "/".join(labels), pngs.values(), element_id)
    indexed, low, high, step = _slider_range(values)
    first, start = choices.index(initial[0]), values.index(initial[1])
    menu, label = (html.escape(text) for text in labels)
    shown = [str(v) for v in values]  # set as textContent by the script: never parsed

    def alt_text(choice: Any, value: Any) -> str:
        text = (
            alt(choice, value)
            if callable(alt)
            else alt.format(choice=choice, label=labels[1], value=value)
        )
        return html.escape(text, quote=True)

    options = "".join(
        f'<option value="{i}"{" selected" if i == first else ""}>{html.escape(str(c))}</option>'
        for i, c in enumerate(choices)
    )
    parts = [
        f'<div class="lrlc-slider lrlc-explorer" id="{element_id}">',
        '<div class="lrlc-slider-controls" '
        'style="display:flex;flex-wrap:wrap;align-items:center;gap:0.75em;margin:0.5em 0">',
        f'<label for="{element_id}-choice">{menu}</label>',
        f'<select id="{element_id}-choice">{options}</select>',
        *_range_html(
            element_id,
            label,
            shown[start],
            start if indexed else values[start],
            (low, high, step),
            "flex:1;min-width:8em;max-width:24em",
        ),
        "</div>",
    ]
    for i, choice in enumerate(choices):
        for n, value in enumerate(values):
            view = _view_html(pngs[choice, value], views[choice, value][1], alt_text(choice, value))
            parts.append(
                _view_div(f"{element_id}-view-{i}-{n}", view, shown=(i, n) == (first, start))
            )
    parts.append("</div>")
    config = {
        "id": element_id,
        "indexed": indexed,
        "values": values if not indexed else None,
        "shown": shown,
        "choices": len(choices),
    }
    parts.append(
        _script(
            config,
            '  var menu = document.getElementById(c.id + "-choice");\n'
            '  var input = document.getElementById(c.id + "-input");\n'
            '  var output = document.getElementById(c.id + "-value");\n'
            "  if (!menu || !input || !output) return;\n"
            "  function show() {\n"
            "    var i = Number(menu.value);\n"
            "    var n = c.indexed ? Number(input.value) : c.values.indexOf(Number(input.value));\n"
            "    if (n < 0) return;\n"
            "    for (var j = 0; j < c.choices; j++) {\n"
            "      for (var m = 0; m < c.shown.length; m++) {\n"
            '        var view = document.getElementById(c.id + "-view-" + j + "-" + m);\n'
            '        if (view) view.style.display = j === i && m === n ? "" : "none";\n'
            "      }\n"
            "    }\n"
            "    output.textContent = c.shown[n];\n"
            '    input.setAttribute("aria-valuetext", c.shown[n]);\n'
            "  }\n"
            '  input.addEventListener("input", show);\n'
            '  menu.addEventListener("change", show);\n'
            "  show();\n",
        )
    )
    return html_display("\n".join(parts))


def live_slider(
    make_view: Callable[[Any], View],
    values: Sequence[Any],
    label: str = "rank",
    *,
    initial: Any | None = None,
    alt: Alt = "{label} = {value}",
    dpi: float | None = None,
) -> Any:
    """The ipywidgets version of :func:`static_slider`: ``make_view(value)`` runs on demand.

    Needs a running kernel with ipywidgets (Jupyter, Colab); returns an ``ipywidgets.VBox``
    holding the slider (``.children[0]``) and the view (``.children[1]``, an
    ``ipywidgets.HTML``). Views are cached, so moving back is instant. ``values`` are the
    slider's values in order; the other arguments are those of :func:`static_slider`.
    """
    try:
        import ipywidgets
    except ImportError as error:
        raise ImportError(
            "live_slider needs ipywidgets, which Jupyter and Colab have: pip install "
            "ipywidgets (or pip install 'lrlc[book]'); static_slider needs none"
        ) from error

    values = list(values)
    if not values:
        raise ValueError("live_slider needs at least one value")
    if initial is None:
        initial = values[0]
    cache: dict[Any, str] = {}

    def render(value: Any) -> str:
        if value not in cache:
            image, caption = make_view(value)
            cache[value] = _view_html(_png(image, dpi), caption, _alt_text(alt, label, value))
        return cache[value]

    slider = ipywidgets.SelectionSlider(
        options=values, value=initial, description=label, continuous_update=False
    )
    view = ipywidgets.HTML(render(initial))

    def on_change(change: dict[str, Any]) -> None:
        view.value = render(change["new"])

    slider.observe(on_change, names="value")
    return ipywidgets.VBox([slider, view])
