"""The rendered book as a reader sees it, in headless Chromium, with the network cut off.

Needs the built site (``jupyter-book build .``, as ``.ci/run`` does before the tests) and
Debian's ``chromium``; outside CI the tests skip when either is missing. For every page
of the table of contents: no failed local request, no request that leaves the machine
(the page must not need a CDN), no JavaScript error, math typeset, every figure with alt
text, figures numbered within their chapter ("Fig. 5.1", ...), no printed output, code
or table wider than its column; a screenshot per page in
``_build/screenshots/``. The rank slider of chapter 4 is dragged and must change the
figure it shows, as must chapter 9's menu of grids and its slider. At a phone's width no
page scrolls sideways as a whole.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
import yaml
from chapter_figure_numbers import chapter_label  # _ext/, the book's own numbering

ROOT = Path(__file__).resolve().parent.parent
SITE = ROOT / "_build" / "html"
SHOTS = ROOT / "_build" / "screenshots"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _with_sections(entries: list[dict]) -> list[str]:
    """The files of ``entries`` of the table of contents, each followed by its sections'."""
    return [f for e in entries for f in [e["file"], *_with_sections(e.get("sections", []))]]


def toc_pages() -> list[str]:
    """Every page of the table of contents in the book's order, sections included."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc.get("parts", [{"chapters": toc.get("chapters", [])}]):
        files += _with_sections(part["chapters"])
    return files


def figures_before(page_file: str) -> int:
    """How many figures the pages of ``page_file``'s chapter before it hold (a chapter's
    section pages go on counting): the built HTML's figure numbers, read without a browser."""
    chapter = chapter_label(page_file)
    pages = [p for p in toc_pages() if chapter_label(p) == chapter]
    earlier = pages[: pages.index(page_file)]
    return sum(
        len(re.findall(r'<span class="caption-number">Fig\. ', (SITE / f"{p}.html").read_text()))
        for p in earlier
    )


def _missing() -> str | None:
    if CHROMIUM is None:
        return "Chromium is not installed (Debian: apt-get install chromium)"
    if not (SITE / "index.html").exists():
        return "the book is not built (jupyter-book build .)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -r requirements.txt)"
    return None


@pytest.fixture(scope="module")
def browser():
    reason = _missing()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"CI must check the rendered book, but {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


def open_page(browser, page_file: str, width: int = 1280):
    """Open a built page offline, ``width`` pixels wide; returns (page, problems) where
    problems collects failed local requests, attempted remote requests and JavaScript
    errors."""
    page = browser.new_page(viewport={"width": width, "height": 900})
    problems: list[str] = []

    def route(r):
        if r.request.url.startswith(("file:", "data:", "blob:", "about:")):
            r.continue_()
        else:
            problems.append(f"remote request: {r.request.url}")
            r.abort()

    page.route("**/*", route)
    page.on("requestfailed", lambda r: problems.append(f"failed: {r.url} {r.failure}"))
    page.on("pageerror", lambda e: problems.append(f"JavaScript error: {e}"))

    def console(message):
        # pydata-sphinx-theme logs this on a first visit, when no light/dark mode is stored
        if message.type == "error" and "invalid theme mode" not in message.text:
            problems.append(f"console error: {message.text}")

    page.on("console", console)
    page.goto((SITE / f"{page_file}.html").as_uri(), wait_until="load")
    return page, problems


def wider_than_column(page, selector: str) -> list[str]:
    """The elements matching ``selector`` whose content is wider than they are (a sideways
    scroll bar, or hidden text), each named by its longest line, cut to 80 characters."""
    return page.evaluate(
        "s => [...document.querySelectorAll(s)]"
        ".filter(e => e.scrollWidth > e.clientWidth + 1)"
        ".map(e => e.textContent.trim().split('\\n')"
        ".reduce((a, b) => (b.length > a.length ? b : a), '').slice(0, 80))",
        selector,
    )


@pytest.mark.parametrize("page_file", toc_pages())
def test_page_renders_offline(browser, page_file):
    page, problems = open_page(browser, page_file)
    try:
        page.wait_for_timeout(300)
        has_math = page.locator(".math, .MathJax_Preview, span.math, div.math").count() > 0
        if has_math:
            page.wait_for_function("() => document.querySelector('mjx-container') !== null")
            # MathJax reports TeX errors as merror nodes inside the typeset math
            assert page.locator("mjx-merror").count() == 0, "MathJax could not typeset a formula"
        images = page.locator("main img")
        for n in range(images.count()):
            alt = images.nth(n).get_attribute("alt") or ""
            src = images.nth(n).get_attribute("src") or ""
            # without alt text of its own, Sphinx writes the image's file name
            written = alt.strip() and alt != src and not alt.endswith((".png", ".svg", ".jpg"))
            assert written, f"an image without alt text on {page_file}: {src[:60]}"
        broken = page.evaluate(
            "() => [...document.querySelectorAll('main img')]"
            ".filter(i => i.complete && i.naturalWidth === 0 && i.offsetParent !== null)"
            ".map(i => i.src.slice(0, 80))"
        )
        assert not broken, f"images that did not load: {broken}"
        # Markdown tables printed by a cell render as tables (the cell needs the metadata
        # mystnb: markdown_format: gfm), never as their raw pipes and dashes
        # (the page's typography turns their "--" into dashes)
        text = page.locator("main").inner_text()
        raw = re.search(r"\|\s*:?[-\u2013\u2014]+:?\s*\|", text)
        assert raw is None, f"a Markdown table shown as raw text on {page_file}: {raw}"
        # a directive whose fence did not parse (e.g. backticks in its title) shows as text
        assert "```{" not in text, f"a directive shown as raw text on {page_file}"
        # figures count from 1 in each chapter, after the chapter's number
        numbers = [
            caption.strip()
            for caption in page.locator("main .caption-number").all_text_contents()
            if caption.startswith("Fig.")
        ]
        chapter = chapter_label(page_file)
        if chapter:
            first = figures_before(page_file) + 1
            expected = [f"Fig. {chapter}.{k}" for k in range(first, first + len(numbers))]
            assert numbers == expected, f"figure numbers on {page_file}: {numbers}"
        # printed output wraps at the page width (_static/lrlc.css): nothing to scroll to
        wide = wider_than_column(page, "div.cell_output pre")
        assert not wide, f"printed output wider than the page on {page_file}: {wide}"
        # code cells and code blocks are kept within 79 columns (book/ruff.toml) and fit
        # the column at 1280 pixels (_static/lrlc.css): no sideways scrolling to read code
        wide = wider_than_column(page, "main div.highlight pre")
        assert not wide, f"code wider than its column on {page_file}: {wide}"
        # tables fit the column too (the theme would give them a scroll bar of their own)
        wide = wider_than_column(page, "main .pst-scrollable-table-container")
        assert not wide, f"tables wider than the column on {page_file}: {wide}"
        # one search field (the sidebar's), the launch buttons above the article
        searches = page.locator(".search-button__button:visible").count()
        assert searches == 1, f"{searches} search fields visible on {page_file}"
        if (ROOT / f"{page_file}.ipynb").exists():  # a chapter opens in Colab
            assert page.locator(".dropdown-launch-buttons").count() == 1, "no launch buttons"
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{page_file.replace('/', '_')}.png"), full_page=False)
        assert not problems, "\n".join(problems)
    finally:
        page.close()


@pytest.mark.parametrize("page_file", toc_pages())
def test_page_fits_a_phone(browser, page_file):
    """At 400 pixels no page scrolls sideways as a whole: wide code and tables scroll in
    their own box, and API signatures wrap (_static/lrlc.css). Display equations fit
    without scrolling: a reader would not see the half the screen cuts off, so long ones
    are split into lines (``aligned``, ``gathered``)."""
    page, problems = open_page(browser, page_file, width=400)
    try:
        page.wait_for_timeout(300)
        if page.locator(".math, div.math").count() > 0:  # typeset: its final width
            page.wait_for_function("() => document.querySelector('mjx-container') !== null")
            page.evaluate("() => MathJax.startup.promise")  # every formula typeset
            wide = wider_than_column(page, 'mjx-container[display="true"]')
            assert not wide, f"display equations wider than a phone on {page_file}: {wide}"
        widths = page.evaluate(
            "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
        )
        assert widths[0] <= widths[1], f"{page_file} is {widths[0]} pixels wide on a phone"
        assert not problems, "\n".join(problems)
    finally:
        page.close()


def test_rank_slider_changes_the_figure(browser):
    page, problems = open_page(browser, "book/04_low_rank")
    try:
        slider = page.locator(".lrlc-slider").first
        slider.scroll_into_view_if_needed()
        range_input = slider.locator("input[type=range]")
        value = slider.locator("output")

        def shown() -> str:
            return slider.locator(".lrlc-slider-view:visible img").first.get_attribute("src")

        before_src, before_value = shown(), value.text_content()
        # Drag the thumb from the left end to the right end with the mouse.
        box = range_input.bounding_box()
        y = box["y"] + box["height"] / 2
        page.mouse.move(box["x"] + 2, y)
        page.mouse.down()
        page.mouse.move(box["x"] + box["width"] - 2, y, steps=12)
        page.mouse.up()
        after_src, after_value = shown(), value.text_content()
        assert after_value != before_value, "the slider's value did not change"
        assert after_src != before_src, "the figure did not change with the slider"
        assert slider.locator(".lrlc-slider-view:visible").count() == 1
        # The keyboard works too: one step back shows another view again.
        range_input.focus()
        page.keyboard.press("ArrowLeft")
        assert value.text_content() not in (after_value,)
        SHOTS.mkdir(parents=True, exist_ok=True)
        slider.screenshot(path=str(SHOTS / "slider-after-drag.png"))
        assert not problems, "\n".join(problems)
    finally:
        page.close()


def test_grid_menu_and_rank_slider_change_the_figure(browser):
    """Chapter 9's explorer: choosing another grid, then another rank, shows another view,
    always exactly one."""
    page, problems = open_page(browser, "book/09_conclusions")
    try:
        explorer = page.locator(".lrlc-explorer").first
        explorer.scroll_into_view_if_needed()
        menu, range_input = explorer.locator("select"), explorer.locator("input[type=range]")

        def shown() -> str:
            return explorer.locator(".lrlc-slider-view:visible img").first.get_attribute("src")

        first = shown()
        assert explorer.locator("option").count() >= 2, "the menu offers one grid only"
        menu.select_option(index=1)
        second = shown()
        assert second != first, "the figure did not change with the menu"
        range_input.focus()
        page.keyboard.press("ArrowLeft")
        assert shown() not in (first, second), "the figure did not change with the slider"
        assert explorer.locator(".lrlc-slider-view:visible").count() == 1
        SHOTS.mkdir(parents=True, exist_ok=True)
        explorer.screenshot(path=str(SHOTS / "explorer-after-menu.png"))
        assert not problems, "\n".join(problems)
    finally:
        page.close()
