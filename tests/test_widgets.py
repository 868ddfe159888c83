"""The static slider's HTML (and its inline JavaScript), and the live ipywidgets slider."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from IPython.display import HTML, Markdown  # noqa: E402

from lrlc.widgets import (  # noqa: E402
    figure_to_png,
    live_slider,
    markdown_table,
    static_explorer,
    static_slider,
)


def png(value: float) -> bytes:
    fig, ax = plt.subplots(figsize=(1, 1))
    ax.plot([0, 1], [0, value])
    return figure_to_png(fig, dpi=20)


class Elements(HTMLParser):
    """Every start tag with its attributes, and the text of <script> elements."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts.append(data)

    def find(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for t, attrs in self.tags if t == tag]


def parse(slider: HTML) -> Elements:
    parser = Elements()
    parser.feed(slider.data)
    parser.close()
    return parser


def ids_in(page: HTML) -> list[str]:
    return [attrs["id"] for _, attrs in parse(page).tags if "id" in attrs]


def config_of(page: HTML) -> dict:
    """The JSON the inline script reads (``var c = {...};``)."""
    (script,) = parse(page).scripts
    return json.loads(re.search(r"var c = (\{.*?\});\n", script).group(1))


def png_width(data: bytes) -> int:
    return int.from_bytes(data[16:20], "big")  # the IHDR chunk's width


def src_png(image: dict) -> bytes:
    return base64.b64decode(image["src"].split(",", 1)[1])


@pytest.fixture(scope="module")
def pngs() -> dict[int, bytes]:
    return {k: png(k) for k in range(1, 5)}


def test_figure_to_png_closes_the_figure():
    fig, ax = plt.subplots()
    ax.plot([0, 1])
    data = figure_to_png(fig, dpi=20)
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    assert not plt.fignum_exists(fig.number)


def test_one_image_per_value_in_order(pngs):
    slider = static_slider({k: (p, f"rank {k}") for k, p in pngs.items()})
    assert isinstance(slider, HTML)
    images = parse(slider).find("img")
    assert len(images) == len(pngs)
    for image, (k, data) in zip(images, pngs.items(), strict=True):
        assert image["src"] == "data:image/png;base64," + base64.b64encode(data).decode()
        assert image["alt"] == f"rank = {k}"


def test_figures_are_rendered_and_closed():
    figures = {}
    for k in (1, 2):
        figures[k] = plt.subplots(figsize=(1, 1))[0]
    slider = static_slider({k: (fig, None) for k, fig in figures.items()}, dpi=20)
    for image in parse(slider).find("img"):
        assert base64.b64decode(image["src"].split(",", 1)[1]).startswith(b"\x89PNG")
    assert not any(plt.fignum_exists(fig.number) for fig in figures.values())


@pytest.mark.parametrize(
    "values, expected",
    [
        ([1, 2, 3, 4], ("1", "4", "1", "1")),
        ([2, 4, 6], ("2", "6", "2", "2")),
        ([5], ("5", "5", "1", "5")),
        ([1, 2, 4, 8], ("0", "3", "1", "0")),  # not equal steps: over positions
        (["a", "b"], ("0", "1", "1", "0")),
    ],
)
def test_slider_min_max_step(values, expected):
    slider = static_slider({v: (png(1), str(v)) for v in values}, label="rank")
    (rng,) = parse(slider).find("input")
    assert rng["type"] == "range"
    assert (rng["min"], rng["max"], rng["step"], rng["value"]) == expected


def test_figures_are_drawn_at_the_dpi_asked_for():
    def view():
        return plt.subplots(figsize=(1, 1))[0], None  # one inch

    for dpi in (20, 40):
        (image,) = parse(static_slider({1: view()}, dpi=dpi)).find("img")
        assert png_width(src_png(image)) == dpi


@pytest.mark.parametrize(
    "values, expected",
    [
        ([False, True], ("0", "1", "1", "0")),  # booleans are no ints: positions
        ([3, 2, 1], ("0", "2", "1", "0")),  # falling ints: positions
    ],
)
def test_values_that_are_not_rising_ints_run_over_positions(values, expected):
    slider = static_slider({v: (png(1), None) for v in values})
    (rng,) = parse(slider).find("input")
    assert (rng["min"], rng["max"], rng["step"], rng["value"]) == expected
    assert config_of(slider)["indexed"] is True


def test_values_are_shown_as_text_and_any_value_can_be_a_key(pngs):
    from pathlib import Path

    slider = static_slider({Path("a"): (pngs[1], None), Path("b"): (pngs[2], None)}, "run")
    assert config_of(slider)["values"] is None  # positions: no JSON of the keys needed
    assert config_of(slider)["shown"] == ["a", "b"]
    slider = static_slider({"a": (pngs[1], None), "b": (pngs[2], None)}, label="a & b")
    (rng,) = parse(slider).find("input")
    assert rng["aria-valuetext"] == "a" and re.search(r"<output [^>]*>a</output>", slider.data)
    assert re.search(r'<label for="[^"]+-input">a &amp; b = <output', slider.data)
    assert parse(slider).find("img")[0]["alt"] == "a & b = a"  # escaped once, not twice
    assert '<div class="lrlc-slider-caption" style="margin-top:0.25em"></div>' in slider.data


def test_initial_view_is_the_only_one_shown(pngs):
    slider = static_slider({k: (p, None) for k, p in pngs.items()}, initial=3)
    views = [a for a in parse(slider).find("div") if "lrlc-slider-view" in (a.get("class") or "")]
    assert len(views) == 4
    assert [a.get("style") for a in views] == ["display:none", "display:none", None, "display:none"]
    (rng,) = parse(slider).find("input")
    assert rng["value"] == "3"
    assert re.search(r"<output [^>]*>3</output>", slider.data)


def test_ids_are_unique_within_and_across_sliders(pngs):
    views = {k: (p, None) for k, p in pngs.items()}
    first, second = static_slider(views), static_slider(views)
    ids = [[a["id"] for _, a in parse(s).tags if "id" in a] for s in (first, second)]
    for page in ids:
        assert len(page) == len(set(page))
    assert not set(ids[0]) & set(ids[1])
    # The script addresses its own elements only.
    for s, page in zip((first, second), ids, strict=True):
        (script,) = parse(s).scripts
        assert json.dumps(page[0]) in script


def test_explicit_element_id_is_used_and_checked(pngs):
    slider = static_slider({1: (pngs[1], None)}, element_id="explorer")
    assert 'id="explorer"' in slider.data and 'id="explorer-input"' in slider.data
    with pytest.raises(ValueError, match="element_id"):
        static_slider({1: (pngs[1], None)}, element_id='x" onload="alert(1)')
    with pytest.raises(ValueError, match="must start with a letter"):
        static_slider({1: (pngs[1], None)}, element_id="1abc")


def test_text_is_escaped_and_html_captions_are_not(pngs):
    slider = static_slider(
        {
            1: (pngs[1], "<script>alert(1)</script> & co"),
            2: (pngs[2], HTML("<b>bold</b>")),
        },
        label='r<a>n"k',
        alt=lambda v: f'view "{v}" <img>',
    )
    text = slider.data
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in text
    assert "<b>bold</b>" in text
    assert "r&lt;a&gt;n&quot;k" in text and "r<a>" not in text
    assert [a["alt"] for a in parse(slider).find("img")] == ['view "1" <img>', 'view "2" <img>']
    assert text.count("<script>") == 1 and text.count("</script>") == 1


def test_values_cannot_close_the_script_element(pngs):
    slider = static_slider({"</script><b>": (pngs[1], None), "ok": (pngs[2], None)})
    assert slider.data.count("</script>") == 1
    (script,) = parse(slider).scripts
    assert "\\u003c/script>" in script
    slider = static_slider({"<!--<script>": (pngs[1], None), "ok": (pngs[2], None)})
    (script,) = parse(slider).scripts  # no comment or script opened inside the script
    assert "<!--" not in script and "\\u003c!--\\u003cscript>" in script


def test_invalid_input_is_rejected(pngs):
    with pytest.raises(ValueError, match="at least one"):
        static_slider({})
    with pytest.raises(ValueError, match="initial"):
        static_slider({1: (pngs[1], None)}, initial=2)
    with pytest.raises(ValueError, match="PNG"):
        static_slider({1: (b"GIF89a", None)})
    with pytest.raises(ValueError, match="PNG"):
        static_slider({1: (b"\x89JUNKJUNK", None)})
    with pytest.raises(TypeError, match="Figure or PNG bytes"):
        static_slider({1: ("image.png", None)})


@pytest.mark.parametrize("values", [[1, 2, 3, 4], [1, 2, 4, 8]])
def test_the_script_switches_views_in_a_stub_dom(values):
    """Run the inline script under node with a minimal document; move the slider to each value."""
    if shutil.which("node") is None:  # .ci/run installs it: CI never skips this
        if os.environ.get("CI"):
            pytest.fail("CI needs node to run the slider's JavaScript (.ci/run installs it)")
        pytest.skip("needs node to run the JavaScript")
    slider = static_slider({v: (png(1), None) for v in values})
    (script,) = parse(slider).scripts
    (rng,) = parse(slider).find("input")
    root = parse(slider).find("div")[0]["id"]
    settings = [str(v) for v in values] if rng["min"] != "0" else [str(n) for n in range(4)]
    program = f"""
const elements = {{}};
const listeners = {{}};
const ids = new Set({json.dumps(ids_in(slider))});  // the page's own ids, no others
function element(id) {{
  if (!ids.has(id)) throw new Error("no element " + id);
  return elements[id] || (elements[id] = {{
    id, value: "{rng["value"]}", textContent: "", style: {{display: ""}},
    addEventListener(type, f) {{ listeners[type] = f; }},
    setAttribute(name, value) {{ this[name] = value; }},
  }});
}}
const document = {{ getElementById: (id) => (ids.has(id) ? element(id) : null) }};
for (let m = 0; m < {len(values)}; m++) element("{root}-view-" + m);
element("{root}-input").value = "{rng["max"]}";  // a browser that kept a moved slider
{script}
const last = [];  // shown at once, before any event
for (let m = 0; m < {len(values)}; m++)
  if (element("{root}-view-" + m).style.display !== "none") last.push(m);
if (JSON.stringify(last) !== JSON.stringify([{len(values) - 1}])) throw new Error("on load");
const shown = [];
for (const setting of {json.dumps(settings)}) {{
  element("{root}-input").value = setting;
  listeners.input();
  const visible = [];
  for (let m = 0; m < {len(values)}; m++)
    if (element("{root}-view-" + m).style.display !== "none") visible.push(m);
  const value = element("{root}-value").textContent;
  // a screen reader announces the rank, not the slider's position
  if (element("{root}-input")["aria-valuetext"] !== value) throw new Error("aria-valuetext");
  shown.push([visible, value]);
}}
console.log(JSON.stringify(shown));
"""
    result = subprocess.run(["node", "-e", program], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [[[n], str(v)] for n, v in enumerate(values)]


def explorer_views(choices=("MNIST", "CIFAR-10"), values=(1, 2, 4)):
    return {(c, v): (png(v + 10 * i), f"{c} at rank {v}") for i, c in enumerate(choices)
            for v in values}  # fmt: skip


def test_explorer_has_a_menu_a_slider_and_every_pair_once():
    views = explorer_views()
    explorer = static_explorer(views, initial=("CIFAR-10", 2))
    page = parse(explorer)
    (menu,) = page.find("select")
    options = [t for t in page.tags if t[0] == "option"]
    assert [attrs["value"] for _, attrs in options] == ["0", "1"]
    assert [("selected" in attrs) for _, attrs in options] == [False, True]
    assert re.findall(r">(MNIST|CIFAR-10)</option>", explorer.data) == ["MNIST", "CIFAR-10"]
    (rng,) = page.find("input")
    assert (rng["min"], rng["max"], rng["value"]) == ("0", "2", "1")  # 1, 2, 4: positions
    assert rng["aria-valuetext"] == "2"  # read out as the rank, not its position
    shown = [a for a in page.find("div") if "lrlc-slider-view" in (a.get("class") or "")]
    assert len(shown) == 6 and sum("style" not in a for a in shown) == 1
    visible = next(a for a in shown if "style" not in a)
    assert visible["id"].endswith("-view-1-1")  # CIFAR-10, rank 2
    images = page.find("img")
    for (choice, value), img in zip(views, images, strict=True):  # menu order, then slider
        assert base64.b64decode(img["src"].split(",", 1)[1]) == views[choice, value][0]
        assert img["alt"] == f"{choice}, rank = {value}"
    assert "CIFAR-10 at rank 2" in explorer.data
    assert page.find("label")[0]["for"] == menu["id"]  # the menu's name names the menu


@pytest.mark.parametrize("initial, visible", [(None, "-view-0-0"), (("MNIST", 4), "-view-0-2")])
def test_the_explorer_opens_at_its_initial_view(initial, visible):
    page = parse(static_explorer(explorer_views(), initial=initial))
    shown = [a["id"] for a in page.find("div")
             if "lrlc-slider-view" in (a.get("class") or "") and "style" not in a]  # fmt: skip
    assert len(shown) == 1 and shown[0].endswith(visible)
    options = [t for t in page.tags if t[0] == "option"]
    assert [("selected" in attrs) for _, attrs in options] == [True, False]


def test_the_explorer_tells_its_script_every_choice():
    views = explorer_views(choices=("MNIST", "CIFAR-10", "CelebA"), values=(1, 2))
    assert config_of(static_explorer(views))["choices"] == 3


def test_explorer_rejects_missing_pairs_and_bad_keys():
    views = explorer_views()
    del views["MNIST", 4]
    with pytest.raises(ValueError, match=r"no view for \[\('MNIST', 4\)\]"):
        static_explorer(views)
    with pytest.raises(ValueError, match="at least one"):
        static_explorer({})
    with pytest.raises(ValueError, match="pair"):
        static_explorer({1: (png(1), None)})
    with pytest.raises(ValueError, match="initial"):
        static_explorer(explorer_views(), initial=("MNIST", 8))
    with pytest.raises(ValueError, match="element_id"):
        static_explorer(explorer_views(), element_id="1 bad")


def test_explorer_escapes_text_and_keeps_its_script_closed():
    views = {("<b>", 1): (png(1), "<i>"), ("<b>", "</script>"): (png(2), None)}
    explorer = static_explorer(views, labels=("a<", "b>"))
    assert explorer.data.count("</script>") == 1 and "&lt;b&gt;</option>" in explorer.data
    assert "&lt;i&gt;" in explorer.data and "a&lt;</label>" in explorer.data


def test_the_explorer_script_switches_views_in_a_stub_dom():
    """Under node: choosing from the menu and moving the slider show exactly one view."""
    if shutil.which("node") is None:  # .ci/run installs it: CI never skips this
        if os.environ.get("CI"):
            pytest.fail("CI needs node to run the slider's JavaScript (.ci/run installs it)")
        pytest.skip("needs node to run the JavaScript")
    explorer = static_explorer(explorer_views(values=(1, 2, 3)))  # ints in steps of 1
    (script,) = parse(explorer).scripts
    root = parse(explorer).find("div")[0]["id"]
    settings = [["1", "3"], ["0", "3"], ["0", "1"], ["1", "2"]]  # menu, slider
    program = f"""
const elements = {{}};
const listeners = {{}};
const ids = new Set({json.dumps(ids_in(explorer))});  // the page's own ids, no others
function element(id) {{
  if (!ids.has(id)) throw new Error("no element " + id);
  return elements[id] || (elements[id] = {{
    id, value: "0", textContent: "", style: {{display: ""}},
    addEventListener(type, f) {{ listeners[type] = f; }},
    setAttribute(name, value) {{ this[name] = value; }},
  }});
}}
const document = {{ getElementById: (id) => (ids.has(id) ? element(id) : null) }};
element("{root}-input").value = "1";
{script}
const shown = [];
for (const [choice, value] of {json.dumps(settings)}) {{
  element("{root}-choice").value = choice;
  listeners.change();
  element("{root}-input").value = value;
  listeners.input();
  const visible = [];
  for (let j = 0; j < 2; j++)
    for (let m = 0; m < 3; m++)
      if (element("{root}-view-" + j + "-" + m).style.display !== "none") visible.push([j, m]);
  const text = element("{root}-value").textContent;
  if (element("{root}-input")["aria-valuetext"] !== text) throw new Error("aria-valuetext");
  shown.push([visible, text]);
}}
console.log(JSON.stringify(shown));
"""
    result = subprocess.run(["node", "-e", program], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    expected = [[[[1, 2]], "3"], [[[0, 2]], "3"], [[[0, 0]], "1"], [[[1, 1]], "2"]]
    assert json.loads(result.stdout) == expected


def test_live_slider_renders_on_demand_and_caches():
    pytest.importorskip("ipywidgets")
    calls = []

    def make_view(k):
        calls.append(k)
        return png(k), f"rank {k}"

    box = live_slider(make_view, [1, 2, 4], label="rank")
    slider, view = box.children
    assert calls == [1] and "rank 1" in view.value and 'alt="rank = 1"' in view.value
    slider.value = 4
    assert calls == [1, 4] and "rank 4" in view.value
    slider.value = 1
    assert calls == [1, 4] and "rank 1" in view.value
    assert slider.options == (1, 2, 4) and slider.description == "rank"
    assert slider.continuous_update is False  # a view per release, not per pixel dragged


def test_live_slider_takes_its_label_and_dpi():
    pytest.importorskip("ipywidgets")
    for dpi in (20, 40):
        box = live_slider(lambda k: (plt.subplots(figsize=(1, 1))[0], None), [1, 2],
                          label="epoch", dpi=dpi)  # fmt: skip
        slider, view = box.children
        assert slider.description == "epoch" and 'alt="epoch = 1"' in view.value
        image = parse(HTML(view.value)).find("img")[0]
        assert png_width(src_png(image)) == dpi


def test_markdown_table():
    table = markdown_table(["layer", "parameters"], [["conv", f"{36928:,}"], ["a|b", 1]])
    assert isinstance(table, Markdown)
    assert table.data.splitlines() == [
        "| layer | parameters |",
        "|:--|--:|",
        "| conv | 36,928 |",
        "| a\\|b | 1 |",
    ]
    assert markdown_table(["a", "b"], [], align="cc").data.splitlines()[1] == "|:-:|:-:|"
    noted = markdown_table(["a"], [[1]], note="*Every row: made alike.*").data.splitlines()
    assert noted == ["*Every row: made alike.*", "", "| a |", "|:--|", "| 1 |"]
    with pytest.raises(ValueError, match="2 cells"):
        markdown_table(["a", "b"], [[1]])
    with pytest.raises(ValueError, match="align"):
        markdown_table(["a", "b"], [[1, 2]], align="x")
    with pytest.raises(ValueError, match="align"):
        markdown_table(["a", "b"], [[1, 2]], align="lrr")
    with pytest.raises(ValueError, match="1 cells"):
        markdown_table(["a"], [[1, 2]])
    assert markdown_table(["a|b"], [["x\ny"]]).data.splitlines() == [
        "| a\\|b |", "|:--|", "| x y |"
    ]  # fmt: skip


def test_without_jupyter_tables_print_and_live_sliders_say_what_to_install(monkeypatch):
    """A script with lrlc alone (no IPython, no ipywidgets): a table prints as its Markdown,
    HTML keeps its notebook hook, and live_slider names the package it needs."""
    import sys

    monkeypatch.setitem(sys.modules, "IPython", None)  # import IPython raises ImportError
    monkeypatch.setitem(sys.modules, "ipywidgets", None)
    table = markdown_table(["network", "accuracy"], [["conv", "90.0"]])
    assert str(table) == "| network | accuracy |\n|:--|--:|\n| conv | 90.0 |"
    assert table._repr_markdown_() == str(table) and table._repr_html_() is None
    page = static_slider({1: (png(1.0), "one"), 2: (png(2.0), None)}, label="rank")
    assert page._repr_html_() == page.data and 'aria-label="rank"' in page.data
    with pytest.raises(ImportError, match=r"pip install ipywidgets .*static_slider needs none"):
        live_slider(lambda value: (png(value), None), values=[1, 2])
