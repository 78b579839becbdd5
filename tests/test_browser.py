"""The built book, as a reader's browser sees it.

The book is built with jupyter-book into a temporary folder (``--path-output``, so the
working tree's ``_build`` is left alone) with a temporary copy of ``_config.yml`` that sets
``execute_notebooks: off``: the chapters render from their committed, stored outputs, which
keeps this test to seconds (executing the chapters is the job of ``tests/test_notebooks.py``
and of the CI's full build). The HTML is served on localhost and every page is opened in
headless Chromium through Selenium, with every host but localhost unresolvable, so the checks
also prove the book works offline. For each page:

- no error in the browser console (JavaScript errors, resources that fail to load);
- no resource fetched from anywhere but the local server;
- every image loaded (``naturalWidth > 0``);
- every figure offers its data: a download link in its caption that serves a CSV table;
- on pages with mathematics: MathJax containers present, no raw ``$``, ``\\(`` or ``\\[``
  left in the visible text (code excluded), and no TeX error or undefined macro (the
  ``mathjax3_config`` macros of ``_config.yml`` must work);
- the reproduction page lists every result id and shows no FAIL.

A screenshot of every page goes to ``_build/screenshots/`` (or ``$SMECORE_SCREENSHOT_DIR``).

The browser is Debian's ``chromium`` with ``chromium-driver`` (``.ci/run`` installs them); the
test skips, saying so, only when no Chromium or chromedriver can be found.
"""

from __future__ import annotations

import functools
import http.server
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import urllib.parse

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]
SCREENSHOTS = pathlib.Path(os.environ.get("SMECORE_SCREENSHOT_DIR",
                                          ROOT / "_build" / "screenshots"))
RESULT_IDS = ("T1", "L4", "L5", "S1", "S2", "M1", "N1", "D1", "A1")

CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--window-size=1280,900",
    # Every host but the local server is unresolvable: a page that needs the network fails.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]


def _find(*candidates):
    for name in candidates:
        if shutil.which(name):
            return shutil.which(name)
        if os.path.isfile(name) and os.access(name, os.X_OK):
            return name
    return None


# Gathers everything the checks need in one pass over a loaded page: waits for MathJax to
# finish typesetting and for every image (lazy ones forced eager), then reports.
PAGE_PROBE = r"""
const done = arguments[arguments.length - 1];
(async () => {
  for (const img of document.images) { img.loading = "eager"; }
  await Promise.all(Array.from(document.images).map(img => img.complete ? null :
      new Promise(resolve => { img.addEventListener("load", resolve);
                               img.addEventListener("error", resolve); })));
  const mj = window.MathJax;
  if (mj && mj.startup && mj.startup.promise) { await mj.startup.promise; }
  const texErrors = [];
  if (mj && mj.startup && mj.startup.document && mj.startup.toMML) {
    for (const item of mj.startup.document.math) {
      const mml = mj.startup.toMML(item.root);
      if (mml.includes("<merror") || mml.includes('mathcolor="red"')) { texErrors.push(item.math); }
    }
  }
  const skip = "pre, code, script, style, noscript, textarea, mjx-container, .MathJax";
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const text = [];
  while (walker.nextNode()) {
    const el = walker.currentNode.parentElement;
    if (!el || el.closest(skip)) { continue; }
    if (el.checkVisibility && !el.checkVisibility({visibilityProperty: true})) { continue; }
    text.push(walker.currentNode.nodeValue);
  }
  done({
    text: text.join(" "),
    mathSources: document.querySelectorAll(".math").length,
    mathRendered: document.querySelectorAll("mjx-container").length,
    mathjaxLoaded: !!(mj && mj.startup),
    texErrors: texErrors,
    brokenImages: Array.from(document.images)
        .filter(img => !(img.complete && img.naturalWidth > 0)).map(img => img.src),
    images: document.images.length,
    figures: document.querySelectorAll("figure img").length,
    downloads: Array.from(document.querySelectorAll("figure a.download")).map(a => a.href),
    resources: performance.getEntriesByType("resource").map(e => e.name),
  });
})().catch(err => done({probeError: String(err)}));
"""


@pytest.fixture(scope="module")
def html_dir():
    """Build the book (execution off) into a temporary folder; yield its ``_build/html``."""
    with tempfile.TemporaryDirectory(prefix="smecore-book-") as tmp:
        tmp = pathlib.Path(tmp)
        config = yaml.safe_load((ROOT / "_config.yml").read_text())
        config.setdefault("execute", {})["execute_notebooks"] = "off"
        # jupyter-book resolves local extension paths against the config file's folder.
        sphinx = config.get("sphinx", {})
        for name, path in (sphinx.get("local_extensions") or {}).items():
            sphinx["local_extensions"][name] = str((ROOT / path).resolve())
        config_path = tmp / "_config.yml"
        config_path.write_text(yaml.safe_dump(config, sort_keys=False))
        build = subprocess.run(
            [sys.executable, "-c", "from jupyter_book.cli.main import main; main()", "build",
             str(ROOT), "--path-output", str(tmp / "out"), "--config", str(config_path)],
            # The power run (minutes) is not what this test looks at: the page says "not run".
            capture_output=True, text=True, env=dict(os.environ, SMECORE_POWER="0"))
        html = tmp / "out" / "_build" / "html"
        assert build.returncode == 0 and (html / "index.html").is_file(), \
            f"book build failed:\n{build.stdout[-3000:]}\n{build.stderr[-3000:]}"
        yield html


@pytest.fixture(scope="module")
def server(html_dir):
    """Serve the built HTML on localhost (port chosen by the OS); yield the base URL."""
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):  # keep the test output readable
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                            functools.partial(Quiet, directory=str(html_dir)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium driven by Selenium; skips only when no browser can be found."""
    chromium = _find("chromium", "chromium-browser", "google-chrome", "/usr/lib/chromium/chromium")
    driver_path = _find("chromedriver", "/usr/lib/chromium/chromedriver")
    if not chromium or not driver_path:
        pytest.skip("no headless browser: install Debian's chromium and chromium-driver "
                    f"(found chromium={chromium}, chromedriver={driver_path})")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.fail("selenium is missing: pip install -r requirements.txt")
    with tempfile.TemporaryDirectory(prefix="smecore-chromium-") as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = chromium
        for flag in CHROMIUM_FLAGS + [f"--user-data-dir={profile}"]:
            options.add_argument(flag)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        # An explicit driver path keeps Selenium from looking for (downloading) one.
        driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
        driver.set_script_timeout(60)
        driver.set_page_load_timeout(60)
        try:
            yield driver
        finally:
            driver.quit()


def _pages(html_dir):
    pages = []
    for path in sorted(html_dir.rglob("*.html")):
        rel = path.relative_to(html_dir)
        if rel.parts[0] in ("_static", "_sources", "_images"):
            continue
        if re.search(r'http-equiv="refresh"', path.read_text(errors="replace"), re.I):
            continue  # a redirect (index.html -> the root page), visited as its target
        pages.append(rel.as_posix())
    return pages


def _screenshot(driver, path):
    """The whole page as a reader sees it.

    The window is stretched to the page's height and the viewport captured: the DevTools
    ``captureBeyondViewport`` capture lays the page out again at another width, which shifts
    this theme's content out of frame and leaves code cells blank.
    """
    width, height = driver.get_window_size()["width"], driver.get_window_size()["height"]
    full = driver.execute_script(
        "return Math.max(document.body.scrollHeight, document.documentElement.scrollHeight)")
    try:
        driver.set_window_size(width, min(int(full) + 200, 32_000))
        driver.save_screenshot(str(path))
    finally:
        driver.set_window_size(width, height)


@pytest.fixture(scope="module")
def pages(html_dir, server, browser):
    """Open every page once; yield ``{relative path: probe result + console errors}``."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for old in SCREENSHOTS.glob("*.png"):
        old.unlink()  # screenshots are of this build only
    found = {}
    for rel in _pages(html_dir):
        browser.get(urllib.parse.urljoin(server, rel))
        probe = browser.execute_async_script(PAGE_PROBE)
        # The browser asks for /favicon.ico on its own (the book declares no icon); a 404
        # there is not an error of the page.
        probe["console_errors"] = [e["message"] for e in browser.get_log("browser")
                                   if e.get("level") == "SEVERE"
                                   and "/favicon.ico " not in e["message"]]
        _screenshot(browser, SCREENSHOTS / (rel.replace("/", "_").removesuffix(".html") + ".png"))
        found[rel] = probe
    return found


def test_every_page_was_visited(pages):
    assert "book/intro.html" in pages and "book/reproduction.html" in pages, sorted(pages)
    assert not {p: r["probeError"] for p, r in pages.items() if "probeError" in r}


def test_no_console_errors(pages):
    errors = {p: r["console_errors"] for p, r in pages.items() if r.get("console_errors")}
    assert not errors, errors


def test_everything_is_served_locally(pages, server):
    remote = {p: [u for u in r.get("resources", [])
                  if not u.startswith((server, "data:", "blob:"))] for p, r in pages.items()}
    remote = {p: urls for p, urls in remote.items() if urls}
    assert not remote, f"pages fetch resources from elsewhere: {remote}"


def test_every_image_loads(pages):
    broken = {p: r["brokenImages"] for p, r in pages.items() if r.get("brokenImages")}
    assert not broken, broken
    assert any(r.get("images") for r in pages.values()), "no page shows an image"


def test_internal_links_land_on_an_anchor(html_dir):
    """Every link to ``page.html#anchor`` inside the book finds that anchor (the reproduction
    page links each result's statement boxes; chapters link figures and boxes)."""
    broken = []
    for rel in _pages(html_dir):
        page = html_dir / rel
        for href in re.findall(r'href="([^"#:]*\.html)?#([^"]+)"', page.read_text()):
            target = (page.parent / href[0]).resolve() if href[0] else page
            anchor = urllib.parse.unquote(href[1])
            if target.is_file() and f'id="{anchor}"' not in target.read_text():
                broken.append(f"{rel} -> {href[0]}#{anchor}")
    assert not broken, broken
    repro = (html_dir / "book" / "reproduction.html").read_text()
    assert repro.count('class="reproduction-statements') >= 9, "results do not link statements"


def test_every_figure_links_data_that_downloads(pages):
    import csv
    import io
    import urllib.request

    from smecore.book.figure_data import CSV_COLUMNS

    problems = {}
    for page, probe in pages.items():
        links = probe.get("downloads", [])
        if probe.get("figures", 0) and len(set(links)) != probe["figures"]:
            problems[page] = f"{probe['figures']} figures but {len(set(links))} data links"
        for url in links:
            with urllib.request.urlopen(url, timeout=30) as response:
                text = response.read().decode()
            table = list(csv.reader(ln for ln in io.StringIO(text) if not ln.startswith("#")))
            if not table or tuple(table[0]) != CSV_COLUMNS or len(table) < 2:
                problems[url] = "not a figure-data table"
    assert not problems, problems
    assert sum(len(p.get("downloads", [])) for p in pages.values()) >= 10, "no figure data found"


def test_math_is_rendered(pages):
    with_math = {p: r for p, r in pages.items() if r.get("mathSources")}
    assert "book/intro.html" in with_math, "the introduction's equations were not found"
    problems = {}
    for p, r in with_math.items():
        if not r["mathjaxLoaded"]:
            problems[p] = "MathJax did not load"
        elif r["mathRendered"] == 0:
            problems[p] = "no MathJax container"
        elif r["texErrors"]:
            problems[p] = f"TeX errors or undefined macros in: {r['texErrors']}"
        else:
            raw = [tok for tok in ("$", "\\(", "\\)", "\\[", "\\]") if tok in r["text"]]
            if raw:
                i = min(r["text"].find(t) for t in raw)
                context = r["text"][max(0, i - 60):i + 60]
                problems[p] = f"raw TeX {raw} left in the text: ...{context}..."
    assert not problems, problems


def test_reproduction_page_shows_every_result_and_no_fail(pages):
    text = pages["book/reproduction.html"]["text"]
    assert "FAIL" not in text, text[text.find("FAIL") - 200:text.find("FAIL") + 100]
    missing = [rid for rid in RESULT_IDS if not re.search(rf"\b{rid}\b", text)]
    assert not missing, f"result ids missing from the reproduction page: {missing}"
    assert "PASS" in text, "the reproduction page shows no verdict at all"
    # the seed sweep's record (book/seed-sweep.json): every chapter run with every seed
    sweep = re.search(r"(\d+) of (\d+) chapter runs pass \(quick mode, seeds ([\d, ]+)\)", text)
    assert sweep and sweep[1] == sweep[2], "the seed table is missing or shows failed runs"
    table = text[sweep.end():text.find("Chapters and run time", sweep.end())]
    assert "not run" not in table and "error" not in table, table[:500]
