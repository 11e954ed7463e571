"""The real book in a real browser: headless Chromium via ChromeDriver, served on localhost.

The book is the session's real build (the ``real_build`` fixture of ``conftest.py``, shared
with ``test_e2e.py``): ``compendium run`` then ``compendium book`` into a private build
folder, as a user would run them. Every page is opened; every image must have a
non-zero natural size; every internal link (and anchor) must resolve; screenshots of the
landing page and of each chapter at desktop and phone widths go to ``build/screenshots/``.

Needs Debian's ``chromium`` and ``chromium-driver`` (``.ci/run`` installs them; other paths
through ``$COMPENDIUM_CHROMIUM`` and ``$COMPENDIUM_CHROMEDRIVER``); skipped, saying so, when
they are absent.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import threading
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pandas as pd
import pytest

from analysis.compendium import pipeline as pl
from analysis.paths import build_dir

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


def _find(env: str, *names: str) -> Path | None:
    """``$env``, else the Debian path, else the first of ``names`` on the PATH."""
    for candidate in (os.environ.get(env), *(f"/usr/bin/{n}" for n in names[:1]), *names):
        path = shutil.which(candidate) if candidate else None
        if path:
            return Path(path)
    return None


CHROMIUM = _find("COMPENDIUM_CHROMIUM", "chromium", "chromium-browser")
CHROMEDRIVER = _find("COMPENDIUM_CHROMEDRIVER", "chromedriver")
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--no-first-run",
)  # fmt: skip
SIZES = {"desktop": (1280, 900), "phone": (390, 844)}
SKIP_DIRS = ("_static", "_sources", "_downloads", "_images")

IMAGES_JS = """
const done = arguments[arguments.length - 1];
const images = [...document.images];
images.forEach(img => { img.loading = "eager"; });
Promise.all(images.map(img => img.complete ? null :
    new Promise(resolve => { img.onload = img.onerror = resolve; })))
  .then(() => done(images.map(img => [img.currentSrc || img.src, img.naturalWidth,
                                      img.naturalHeight])));
"""
LINKS_JS = """
const refs = [...document.querySelectorAll("a[href], link[href]")].map(e => e.href);
const srcs = [...document.querySelectorAll("script[src], img[src]")].map(e => e.src);
return {links: refs.concat(srcs), ids: [...document.querySelectorAll("[id]")].map(e => e.id)};
"""


def _have_browser() -> str | None:
    missing = [
        name
        for name, path in (("chromium", CHROMIUM), ("chromedriver", CHROMEDRIVER))
        if path is None
    ]
    if missing:
        return (
            f"headless browser not installed: {', '.join(missing)} not found "
            "(apt-get install chromium chromium-driver, as .ci/run does)"
        )
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[test]')"
    return None


@pytest.fixture(scope="module")
def book_build(request) -> Path:
    """The session's real build (``real_build`` in conftest: ``compendium run`` and
    ``compendium book`` into a private folder), built only when a browser is present."""
    reason = _have_browser()
    if reason:
        pytest.skip(reason)
    return request.getfixturevalue("real_build")


@pytest.fixture(scope="module")
def site(book_build):
    """The built HTML served on 127.0.0.1; yields the base URL."""
    html = book_build / "book" / "html"

    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    class Server(http.server.ThreadingHTTPServer):
        def handle_error(self, request, client_address):
            pass  # the browser leaving a page mid-transfer is not a failure

    handler = functools.partial(Handler, directory=str(html))
    server = Server(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(30)
    yield driver
    driver.quit()


def pages(book_build: Path) -> list[str]:
    html = book_build / "book" / "html"
    return sorted(
        str(p.relative_to(html))
        for p in html.rglob("*.html")
        if not p.relative_to(html).parts[0].startswith(SKIP_DIRS)
    )


def chapters() -> list[str]:
    return [f"chapters/{name}.html" for name in pl.load().order()]


def open_page(browser, url: str) -> None:
    """Open ``url`` and wait until the document has loaded."""
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(url)
    WebDriverWait(browser, 30).until(
        lambda d: d.execute_script("return document.readyState") == "complete"
    )


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as err:
        return err.code


def test_every_page_loads_with_images_and_working_links(book_build, site, browser):
    visited: dict[str, set[str]] = {}
    links: dict[str, set[str]] = {}
    problems = []
    for page in pages(book_build):
        text = (book_build / "book" / "html" / page).read_text(encoding="utf-8")
        redirect = re.search(r'http-equiv="refresh" content="\d+;\s*url=([^"]+)"', text, re.I)
        if redirect:  # index.html forwards to the landing page: check its target only
            links.setdefault(urllib.parse.urljoin(site + page, redirect.group(1)), set()).add(page)
            continue
        open_page(browser, site + page)
        for entry in browser.get_log("browser"):
            if entry["level"] == "SEVERE":
                problems.append(f"{page}: console error: {entry['message'][:200]}")
        for src, width, height in browser.execute_async_script(IMAGES_JS):
            if not (width > 0 and height > 0):
                problems.append(f"{page}: image {src} has natural size {width}x{height}")
        found = browser.execute_script(LINKS_JS)
        visited[site + page] = set(found["ids"])
        for link in found["links"]:
            if link.startswith(site):
                links.setdefault(link, set()).add(page)
    assert len(visited) >= len(chapters()) + 5
    for page in chapters():
        assert site + page in visited, f"chapter {page} not built"
    targets: dict[str, set[str]] = {}
    for link, sources in links.items():
        targets.setdefault(link.partition("#")[0], set()).update(sources)
    statuses = {target: _status(target) for target in sorted(targets)}
    for target, status in statuses.items():
        if status != 200:
            where = ", ".join(sorted(targets[target])[:3])
            problems.append(f"{where}: link {target} gives HTTP {status}")
    for link, sources in sorted(links.items()):
        target, _, fragment = link.partition("#")
        if fragment and statuses[target] == 200 and target in visited:
            if urllib.parse.unquote(fragment) not in visited[target]:
                where = ", ".join(sorted(sources)[:3])
                problems.append(f"{where}: link {link}: no element with id {fragment!r}")
    assert not problems, "\n".join(problems[:30])


def test_screenshots_at_desktop_and_phone_width(book_build, site, browser):
    folder = build_dir() / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    targets = ["intro.html", *chapters()]
    overflow = []
    for page in targets:
        name = Path(page).stem
        for label, (width, height) in SIZES.items():
            browser.set_window_size(width, height)
            open_page(browser, site + page)
            shot = folder / f"{name}-{label}.png"
            assert browser.save_screenshot(str(shot)), shot
            assert shot.stat().st_size > 10_000, f"{shot} looks blank"
            # Readable: the page itself never scrolls sideways (wide tables and code scroll
            # inside their own boxes) and body text is at least 14 CSS pixels.
            # clientWidth leaves out a vertical scrollbar: a page as wide as the window
            # still scrolls sideways when the scrollbar takes its share of the width.
            scroll = browser.execute_script(
                "return [document.documentElement.scrollWidth,"
                " document.documentElement.clientWidth]"
            )
            if scroll[0] > scroll[1] + 1:
                overflow.append(f"{page} at {label}: page {scroll[0]} px wide in {scroll[1]} px")
            size = browser.execute_script(
                "return parseFloat(getComputedStyle(document.querySelector('main p')).fontSize)"
            )
            assert size >= 14, f"{page} at {label}: body text {size} px"
    assert not overflow, "\n".join(overflow)
    assert len(list(folder.glob("*.png"))) >= 2 * len(targets)


def test_parameters_shown_plumbing_collapsed_figures_captioned(book_build, site, browser):
    from selenium.webdriver.common.by import By

    browser.set_window_size(*SIZES["desktop"])
    for page in chapters():
        open_page(browser, site + page)
        cells = browser.find_elements(By.CSS_SELECTOR, ".tag_parameters .cell_input pre")
        assert len(cells) == 1 and cells[0].is_displayed(), f"{page}: parameters cell not visible"
        # papermill's injected cell (output_dir, the run folder) is plumbing: not on the page.
        assert not browser.find_elements(By.CSS_SELECTOR, ".tag_injected-parameters"), page
        text = browser.find_element(By.TAG_NAME, "main").text
        assert "output_dir = " not in text.replace('output_dir = ""', ""), page
        hidden = browser.find_elements(By.CSS_SELECTOR, ".tag_hide-input .cell_input pre")
        assert hidden and not any(h.is_displayed() for h in hidden), page
        captions = [e.text for e in browser.find_elements(By.CSS_SELECTOR, "figure figcaption")]
        assert captions, f"{page}: no figures"
        for caption in captions:
            assert re.match(r"Figure \d+\s+(published|synthetic|user|real|coded)", caption, re.I), (
                page,
                caption,
            )


def test_reproduction_report_lists_every_checked_figure(book_build, site, browser):
    from selenium.webdriver.common.by import By

    report = book_build / "runs" / "reproduction" / "default" / "tables"
    expected = len((report / "reproduction_report.csv").read_text("utf-8").splitlines()) - 1
    classes = pd.read_csv(report / "source_findings.csv")["class"]
    findings = len(classes)
    browser.set_window_size(*SIZES["desktop"])
    open_page(browser, site + "chapters/reproduction.html")
    rows = browser.find_elements(By.CSS_SELECTOR, "#every-checked-figure table tbody tr")
    assert len(rows) == expected > 0

    def text(element) -> str:  # the table may be collapsed: read it whether shown or not
        return (element.get_attribute("textContent") or "").strip()

    header = [text(th) for th in browser.find_elements(By.CSS_SELECTOR, "#every-checked-figure th")]
    outcome = header.index("Outcome")
    statuses = {text(row.find_elements(By.CSS_SELECTOR, "td")[outcome]) for row in rows}
    assert statuses <= {"agree", "DISAGREE", "not checked"}
    kinds = {text(row.find_elements(By.CSS_SELECTOR, "td")[1]) for row in rows}
    assert kinds <= {
        "recomputed",
        "consistency",
        "coded rule",
        "method recovery",
        "round-trip",
        "transcribed only",
    }
    # Inconsistencies and tensions in two tables: every finding once, never mixed.
    found = browser.find_elements(By.CSS_SELECTOR, "#findings-about-the-sources table tbody tr")
    assert len(found) == findings > 0
    open_page(browser, site + "intro.html")
    landing = browser.find_element(By.TAG_NAME, "main").text
    assert "round-trip of a synthetic reconstruction (not evidence)" in landing
    inconsistencies = int((classes != "tension").sum())
    assert f"The sources hold {inconsistencies} inconsistencies" in landing
    assert "Tensions open to interpretation (not inconsistencies)" in landing


ALL_COLUMNS_REACHABLE_JS = """
const problems = [];
for (const th of document.querySelectorAll(arguments[0])) {
  const r = th.getBoundingClientRect();
  if (r.left >= 0 && r.right <= window.innerWidth + 1) continue;  // visible on the page
  const box = th.closest(".pub-table-scroll");
  const style = box ? getComputedStyle(box).overflowX : "";
  const scrolls = box && (style === "auto" || style === "scroll");
  if (!scrolls || box.getBoundingClientRect().right > window.innerWidth + 1) {
    problems.push(th.textContent.trim());
  }
}
return problems;
"""


@pytest.mark.parametrize("size", ["desktop-1280", "phone"])
def test_every_column_of_the_reproduction_table_is_reachable(book_build, site, browser, size):
    width, height = (1280, 900) if size == "desktop-1280" else SIZES["phone"]
    browser.set_window_size(width, height)
    open_page(browser, site + "chapters/reproduction.html")
    for section in ("every-checked-figure", "verdicts", "findings-about-the-sources"):
        selector = f"#{section} table.pub-table th"
        assert browser.execute_script(f"return document.querySelectorAll('{selector}').length")
        unreachable = browser.execute_script(ALL_COLUMNS_REACHABLE_JS, selector)
        assert not unreachable, f"{section} at {width} px: columns {unreachable} cut off"


def test_landing_status_is_above_the_fold(book_build, site, browser):
    from selenium.webdriver.common.by import By

    browser.set_window_size(1280, 900)
    open_page(browser, site + "intro.html")
    table = browser.find_element(By.CSS_SELECTOR, "#status-of-this-build table")
    bottom = browser.execute_script("return arguments[0].getBoundingClientRect().bottom", table)
    assert 0 < bottom <= browser.execute_script("return window.innerHeight"), bottom
    assert "recomputed" in table.text and "verdict" in table.text


def test_mathematics_renders_offline(book_build, site, browser):
    browser.set_window_size(*SIZES["desktop"])
    open_page(browser, site + "chapters/surveys.html")
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser, 30).until(
        lambda d: d.execute_script("return document.querySelectorAll('mjx-container').length")
    )
    resources = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
    )
    external = [r for r in resources if not r.startswith(site)]
    assert not external, external
    assert any("/_static/mathjax/" in r for r in resources)


# Pages whose tables are not yet publication tables (the case-study strand).
def _table_problems(page: str, text: str) -> list[str]:
    problems = []
    for table in re.findall(r"<table.*?</table>", text, flags=re.S):
        if re.search(r'class="[^"]*\b(row_heading|index_name|blank)\b', table):
            problems.append(f"{page}: a table has an index column")
        cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td.*?</td>", table, re.S)]
        bad = sorted({c for c in cells if c in {"NaN", "nan", "&lt;NA&gt;", "<NA>", "None"}})
        if bad:
            problems.append(f"{page}: a table shows {bad}")
    return problems


def test_no_table_has_an_index_column_or_nan(book_build):
    html = book_build / "book" / "html"
    problems = []
    for page in pages(book_build):
        problems += _table_problems(page, (html / page).read_text(encoding="utf-8"))
    assert not problems, "\n".join(problems[:20])


PRINT_CLIPPED_JS = """
const out = [];
const width = document.documentElement.clientWidth;
for (const table of document.querySelectorAll("table")) {
  const r = table.getBoundingClientRect();
  let clipped = r.right > width + 1;
  for (let e = table.parentElement; e && !clipped; e = e.parentElement) {
    const s = getComputedStyle(e).overflowX;
    clipped = s !== "visible" && e.scrollWidth > e.clientWidth + 1;
  }
  if (clipped) out.push((table.querySelector("th") || {}).textContent || table.className);
}
const links = [...document.querySelectorAll("a.reference.download")]
  .filter(a => a.getClientRects().length > 0).length;
const hidden = [...document.querySelectorAll("details.pub-table-details table")]
  .filter(t => t.getClientRects().length === 0 || t.getBoundingClientRect().height === 0).length;
return [document.querySelectorAll("table").length, out, links, hidden];
"""


def test_printed_book_clips_no_table_and_has_an_outline(book_build, browser, tmp_path):
    """What `make pdf` prints (analysis.compendium.book.pdf): the single-page build in print
    media at A4 width (no table clipped, collapsed tables open, no download links), then
    printed by Chromium as `make pdf` does: the PDF's outline holds every chapter."""
    from analysis.compendium.book import pdf as bookpdf

    page = bookpdf.single_page(book_build / "book-src", tmp_path / "print")
    browser.set_window_size(794, 1123)
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    try:
        open_page(browser, page.as_uri())
        tables, clipped, links, closed = browser.execute_script(PRINT_CLIPPED_JS)
        assert tables > 20 and not clipped, clipped
        assert links == 0, f"{links} download links printed"
        assert closed == 0, f"{closed} collapsed tables not printed"
    finally:
        browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
    pdf = bookpdf.print_pdf(page, tmp_path / "book.pdf")
    bookmarks = bookpdf.outline(pdf)
    titles = [title for _, title in bookmarks]
    for name in pl.load().order():
        title = pl.load().notebook(name).title
        assert any(t.startswith(title[:40]) for t in titles), (title, titles[:20])
    assert max(depth for depth, _ in bookmarks) >= 1  # sections nest under chapters


# --------------------------------------------------------------------------- layout

LAYOUT_JS = """
const art = document.querySelector("article.bd-article") || document.querySelector("main");
const style = getComputedStyle(art);
const column = art.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
const body = parseFloat(getComputedStyle(document.querySelector("main p") || art).fontSize);
const tables = [];
for (const t of art.querySelectorAll("table")) {
  const box = t.closest(".cell_output, section") || t;
  const cap = box.querySelector(".pub-table-caption, caption");
  const label = (cap ? cap.textContent : (t.querySelector("th") || {}).textContent || "")
    .trim().slice(0, 60);
  let row = 0;
  for (const r of t.rows) row = Math.max(row, r.getBoundingClientRect().height);
  tables.push([label, t.getBoundingClientRect().width, row, t.getBoundingClientRect().height,
               !!t.closest("details")]);
}
const figures = [];
for (const img of art.querySelectorAll("figure img")) {
  const r = img.getBoundingClientRect();
  if (r.width > 0) figures.push([img.currentSrc.split("/").pop(), r.width, img.naturalWidth]);
}
return {column, body, tables, figures, screen: window.innerHeight};
"""
#: A row taller than this many CSS pixels is a layout fault (a squeezed column).
MAX_ROW = 300
#: A table taller than this many screens is collapsed under its caption.
MAX_SCREENS = 3


def _min_text_px(html: Path, name: str) -> float | None:
    """The smallest text of a figure PNG, in its own pixels (written by save_figure)."""
    from analysis.compendium.book.made import png_info
    from analysis.core.figures import MIN_TEXT_KEY

    path = html / "_images" / urllib.parse.unquote(name)
    if not path.is_file():
        return None
    value = png_info(path)["text"].get(MIN_TEXT_KEY)
    return float(value) if value else None


def test_tables_fit_the_column_and_figures_are_legible(book_build, site, browser):
    """Every page at 1280 px: each table fits the text column (scroll width), has no row
    over 300 px and is collapsed when over three screens; each figure's smallest text, as
    shown, is at least the body text at 1280 px and at 390 px."""
    html = book_build / "book" / "html"
    problems = []
    figures = 0
    for width, height in ((1280, 900), SIZES["phone"]):
        browser.set_window_size(width, height)
        for page in ["intro.html", *chapters(), *(f"{b}.html" for b in pl.load().book["back"])]:
            open_page(browser, site + page)
            found = browser.execute_script(LAYOUT_JS)
            if width == 1280:
                for label, wide, row, tall, collapsed in found["tables"]:
                    where = f"{page} at {width} px: table {label!r}"
                    if wide > found["column"] + 1:
                        problems.append(
                            f"{where} is {wide:.0f} px wide in a {found['column']:.0f} px column"
                        )
                    if row > MAX_ROW:
                        problems.append(f"{where} has a row {row:.0f} px tall")
                    if tall > MAX_SCREENS * found["screen"] and not collapsed:
                        problems.append(f"{where} is {tall:.0f} px tall and not collapsed")
            for name, shown, natural in found["figures"]:
                smallest = _min_text_px(html, name)
                if smallest is None:
                    problems.append(f"{page}: figure {name} records no text size")
                    continue
                figures += 1
                text = smallest * shown / natural
                if text < found["body"] - 0.01:
                    problems.append(
                        f"{page} at {width} px: figure {name}: smallest text "
                        f"{text:.1f} px, under the body text's {found['body']} px"
                    )
    assert figures >= 2 * 15, f"only {figures} figures measured"
    assert not problems, "\n".join(problems[:40])
