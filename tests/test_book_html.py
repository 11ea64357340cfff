"""The built book as a reader meets it: every page of ``_build/html`` opened in headless
Chromium (Debian's ``chromium`` and ``chromium-driver``, driven by Selenium).

A page fails on: a JavaScript error in the console, an image that did not load, a
traceback or error in a cell output, a chapter without figures, or a page heavier than
5 MB (the HTML plus the images and media it loads). A screenshot of each page is saved
to ``_build/screenshots/`` for a person to look at: NAME.png (the top of the page) and
NAME/NN.png, the whole page in window-sized tiles from top to bottom.

The book must be built first (``make test`` builds it in quick mode); without a build, a
browser or Selenium the tests skip with one line saying what is missing.
"""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
SHOTS = ROOT / "_build" / "screenshots"
MAX_PAGE_BYTES = 5 * 1024 * 1024
CHAPTERS = sorted(p.stem for p in (ROOT / "book").glob("[0-9][0-9]_*.py"))


def _pages() -> list[Path]:
    return [HTML / "book" / "intro.html"] + [HTML / "book" / f"{c}.html" for c in CHAPTERS]


@pytest.fixture(scope="module")
def browser():
    if not (HTML / "index.html").exists():
        pytest.skip(f"no built book at {HTML} (run `make test` or `ROBOTPOSE_QUICK=1 make book` first)")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_path = shutil.which("chromedriver")
    if not chromium or not driver_path:
        pytest.skip("no Chromium/ChromeDriver (Debian: apt-get install chromium chromium-driver)")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.skip("selenium is not installed (pip install selenium)")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", "--window-size=1280,1600"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    driver.set_page_load_timeout(60)
    SHOTS.mkdir(parents=True, exist_ok=True)
    yield driver
    driver.quit()


def _save_tiles(driver, name: str, max_tiles: int = 80) -> int:
    """The whole page as window-high screenshots NAME/01.png, 02.png, ... (a reader's
    scroll through it). Returns the number of tiles."""
    folder = SHOTS / name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    # the book theme scrolls the window; its height is the document's
    height = driver.execute_script("return document.documentElement.scrollHeight;")
    step = driver.execute_script("return window.innerHeight;") - 40  # a little overlap between tiles
    count = 0
    for count, top in enumerate(range(0, max(height, 1), step)[:max_tiles], start=1):
        driver.execute_script(f"window.scrollTo(0, {top});")
        driver.save_screenshot(str(folder / f"{count:02d}.png"))
    driver.execute_script("window.scrollTo(0, 0);")
    return count


def _local_weight(driver, page: Path) -> int:
    """Bytes of the page's HTML and of the local images/media it references."""
    total = page.stat().st_size
    sources = driver.execute_script(
        "return Array.from(document.querySelectorAll('img, video source, iframe'))"
        ".map(e => e.getAttribute('src')).filter(s => s && !s.startsWith('data:') && !s.startsWith('http'));")
    for src in set(sources):
        f = (page.parent / src.split("#")[0].split("?")[0]).resolve()
        if f.is_file():
            total += f.stat().st_size
    # inline (data:) images count through the HTML's own size
    return total


@pytest.mark.parametrize("name", ["intro"] + CHAPTERS)
def test_page_renders_cleanly(browser, name):
    page = HTML / "book" / f"{name}.html"
    assert page.exists(), f"{page} was not built (is the chapter in _toc.yml?)"
    browser.get(page.as_uri())
    browser.save_screenshot(str(SHOTS / f"{name}.png"))
    _save_tiles(browser, name)
    # 1. JavaScript errors. Not counted: remote scripts (MathJax, require.js from CDNs)
    #    that cannot load on a machine without internet, as this test's machines are.
    offline = ("net::ERR_NAME_NOT_RESOLVED", "net::ERR_INTERNET_DISCONNECTED", "net::ERR_CONNECTION_REFUSED")
    # Also not counted: the pydata theme logs "Got invalid theme mode" as an error on a
    # browser's very first visit (no stored light/dark choice yet) and then picks "auto".
    errors = [e["message"] for e in browser.get_log("browser")
              if e["level"] == "SEVERE" and "favicon" not in e["message"]
              and "Got invalid theme mode" not in e["message"]
              and not (e["message"].startswith("http") and any(o in e["message"] for o in offline))]
    assert not errors, f"{name}: console errors: {errors[:3]}"
    # 2. images that did not load
    broken = browser.execute_script(
        "return Array.from(document.images).filter(i => i.complete && i.naturalWidth === 0)"
        ".map(i => i.getAttribute('src'));")
    assert not broken, f"{name}: images that did not load: {broken[:5]}"
    # 3. tracebacks or errors in cell outputs
    outputs = browser.execute_script(
        "return Array.from(document.querySelectorAll('.cell_output, .output')).map(e => e.innerText);")
    bad = [o[:200] for o in outputs if "Traceback (most recent call last)" in o or "Error:" in o.split("\n")[0]]
    assert not bad, f"{name}: error in an output: {bad[:2]}"
    # a table's rule row left as text ("|---|---:|", dashes possibly typeset as "—")
    raw_tables = [o[:120] for o in outputs if re.search(r"\|\s*[-\u2013\u2014]+:?\s*\|", o)]
    assert not raw_tables, f"{name}: a Markdown table shown as text, not rendered: {raw_tables[:1]}"
    stderr = browser.execute_script("return document.querySelectorAll('.output.stderr').length;")
    assert stderr <= 3, f"{name}: {stderr} stderr outputs (warnings or progress bars in the built page)"
    # 4. chapters show figures
    if name != "intro":
        figures = browser.execute_script("return document.querySelectorAll('.cell_output img').length;")
        assert figures >= 1, f"{name}: a chapter without a single figure"
    # 5. shown code fits the text column of a 1280 px window (no sideways scrolling;
    #    _static/robotpose.css sizes code for the 87-character lines the chapters keep)
    #    collapsed cells are opened first, as a reader who clicks them sees them
    scrolling = browser.execute_script(
        "document.querySelectorAll('details').forEach(d => d.open = true);"
        "return Array.from(document.querySelectorAll('div.cell_input pre'))"
        ".filter(p => p.scrollWidth > p.clientWidth + 1)"
        ".map(p => p.textContent.split('\\n').reduce((a, b) => b.length > a.length ? b : a));")
    assert not scrolling, f"{name}: code that scrolls sideways at 1280 px: {scrolling[:2]}"
    # 6. weight
    weight = _local_weight(browser, page)
    assert weight <= MAX_PAGE_BYTES, f"{name}: {weight / 1e6:.1f} MB, over {MAX_PAGE_BYTES / 1e6:.0f} MB"


def test_every_chapter_is_in_the_table_of_contents():
    toc = (ROOT / "_toc.yml").read_text()
    missing = [c for c in CHAPTERS if f"book/{c}" not in toc]
    assert not missing, f"chapters missing from _toc.yml: {missing}"


# Words of the book's development that a reader cannot decode: run labels of the model
# records and the build's own settings printed as program state.
DEVELOPMENT_WORDS = ("quick mode: False", "quick mode: True", "PNG made it", "2-core",
                     "two at a time", "shared with other jobs", ".part2.pt", ".s2.md",
                     ".eos1.md", "earlier Panda", "earlier test photos",
                     "first reference models")


# The model records' files (checkpoint.py, cards.py): where a number comes from, which the
# book keeps in collapsed boxes rather than in its sentences.
RECORD_FILES = r"[\w/{}*-]*(?:lineage\.json|eval\.json|study\.json|card\.md|metrics\.jsonl)"


@pytest.mark.parametrize("name", ["intro"] + CHAPTERS)
def test_page_reads_as_a_book(browser, name):
    """Equations typeset (offline: MathJax is served from _static), every figure numbered
    and captioned once, no cross-reference left as its raw label, no development words, no
    empty outputs."""
    import time

    page = HTML / "book" / f"{name}.html"
    browser.get(page.as_uri())
    # 1. maths: a .math element whose visible text still holds a TeX delimiter was not
    #    typeset (MathJax missing or failing); MathJax typesets asynchronously, so wait
    raw_js = ("return Array.from(document.querySelectorAll('.math'))"
              ".map(e => e.innerText).filter(t => /\\\\[(\\[]|\\$/.test(t));")
    deadline = time.time() + 30
    raw = browser.execute_script(raw_js)
    while raw and time.time() < deadline:
        time.sleep(0.5)
        raw = browser.execute_script(raw_js)
    assert not raw, f"{name}: equations shown as raw TeX (MathJax did not typeset): {raw[:3]}"
    # 2. figures: each with a number and a caption, and no two with the same caption
    #    (myst-nb wraps every output of a figure cell in its own figure)
    figures = browser.execute_script(
        "return Array.from(document.querySelectorAll('figure')).map(f => ["
        "(f.querySelector('.caption-number') || {}).innerText || '',"
        "(f.querySelector('.caption-text') || {}).innerText || '']);")
    unnumbered = [caption[:80] for number, caption in figures if not number.strip() or not caption.strip()]
    assert not unnumbered, f"{name}: figures without a number or caption: {unnumbered[:3]}"
    captions = [caption for _, caption in figures]
    repeated = sorted({c[:80] for c in captions if captions.count(c) > 1})
    assert not repeated, f"{name}: two figures with the same caption: {repeated[:2]}"
    # 3. cross-references: a {numref} that did not resolve shows its label as text
    text = browser.execute_script(
        "const main = document.querySelector('main') || document.body;"
        "const copy = main.cloneNode(true);"
        "copy.querySelectorAll('.cell_input, pre, code, script, .math, mjx-container')"
        ".forEach(e => e.remove());"
        "return copy.innerText;")
    labels = sorted(set(re.findall(r"(?<![\w/#.-])(?:fig|tab|eq)-[a-z0-9]+(?:-[a-z0-9]+)*\b", text)))
    assert not labels, f"{name}: cross-references shown as raw labels: {labels[:5]}"
    # 3b. a generated sentence whose placeholder was never filled ("the {len(e)} scenes": a
    #    string that lost its f prefix)
    unfilled = sorted(set(re.findall(r"\{[a-z_][\w.]*(?:\(\w*\)|\[[^\]]*\])?(?::[^{}]*)?\}", text)))
    assert not unfilled, f"{name}: unfilled placeholders in the text: {unfilled[:5]}"
    # 4. development history printed on the page
    everything = browser.execute_script(
        "return (document.querySelector('main') || document.body).innerText;")
    found = [w for w in DEVELOPMENT_WORDS if w in everything]
    assert not found, f"{name}: development words in reader-facing text: {found}"
    # 5. provenance one click away: the model records' file names only in collapsed boxes
    #    (narration.provenance_note) or code cells, never in the visible prose
    #    (innerText of the live page: collapsed boxes are not rendered, so not counted)
    prose = browser.execute_script(
        "document.querySelectorAll('details').forEach(d => d.open = false);"
        "document.querySelectorAll('.cell_input, pre, script').forEach(e => e.style.display = 'none');"
        "return (document.querySelector('main') || document.body).innerText;")
    records = sorted(set(re.findall(RECORD_FILES, prose)))
    assert not records, f"{name}: record files named in the visible prose: {records[:5]}"
    # 6. no empty outputs where a live notebook has widgets: each cell output shows something
    #    (the static pages carry robotpose_lib.widgets' note in place of the controls)
    empty = browser.execute_script(
        "return Array.from(document.querySelectorAll('.cell_output'))"
        ".filter(o => !o.innerText.trim() && !o.querySelector('img, svg, table, iframe')).length;")
    assert not empty, f"{name}: {empty} cell output(s) that show nothing"
