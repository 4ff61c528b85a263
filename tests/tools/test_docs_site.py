"""`segw docs`: the static site, opened from disk in a real headless browser (Debian's chromium)."""
from __future__ import annotations

import os
import shutil
import threading
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest


CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def browser_or_skip():
    """Playwright driving Debian's chromium; CI installs both, so there a missing one fails."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if os.environ.get("CI"):
            raise
        pytest.skip("playwright is not installed (pip install -e '.[test]')")
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        if os.environ.get("CI"):
            pytest.fail("chromium is missing: .ci/run installs it with apt-get")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    return sync_playwright


@contextmanager
def browser_page():
    """A chromium page, with the console errors and non-local requests it records."""
    sync_playwright = browser_or_skip()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM if Path(CHROMIUM).exists()
                                             else shutil.which("chromium"), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            errors: list[str] = []
            remote: list[str] = []
            page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.on("request", lambda request: remote.append(request.url)
                    if not request.url.startswith(("file:", "data:")) else None)
            yield page, errors, remote
        finally:
            browser.close()


@pytest.fixture
def site(shop, run_segw):
    """The shop built twice (so runs have entries and exits), and its site generated."""
    assert shop.build(as_of="2024-07-20 00:00:00").exit_code == 0
    result = run_segw(shop, "docs", "generate")
    assert result.exit_code == 0, result.output
    return shop.root / "target" / "docs"


def test_the_site_lists_segments_by_category_with_their_details(site, shop):
    index = (site / "index.html").read_text()
    for category in ("revenue", "geo", "retention"):
        assert f'<h2 id="{category}">{category}</h2>' in index
    assert "Spent over 100 in completed orders in the last 30 days, not blocked." in index
    assert 'href="segments/recent_buyers.html"' in index
    schedule = shop.load().schedule_of(shop.load().segments["lapsed"])
    assert f"<code>{schedule}</code>" in index  # the schedule each segment runs on
    for name in ("vega.min.js", "vega-lite.min.js", "LICENSE-vega.txt", "site.css", "render.js"):
        assert (site / "static" / name).stat().st_size > 0, name
    page = (site / "segments" / "campaign.html").read_text()
    assert "member of segment <a href=\"recent_buyers.html\">recent_buyers</a>" in page
    assert "control 50%" in page and "Compiled SQL" in page and "SELECT" in page
    assert "Never in (exclude): <a href=\"lapsed.html\">lapsed</a>" in page
    words = (site / "segments" / "recent_buyers.html").read_text()
    assert "sum of amount over orders (where status is &#x27;completed&#x27;, in the last 30 days) " \
           "is greater than 100" in words
    assert "http://" not in index.replace("https://vega.github.io/schema", "")  # nothing to fetch


def test_the_site_renders_in_a_browser_without_errors(site, tmp_path):
    with browser_page() as (page, errors, remote):
        for path, charts in ((site / "index.html", 1), (site / "segments" / "campaign.html", 4),
                             (site / "segments" / "recent_buyers.html", 3)):
            page.goto(path.as_uri())
            page.wait_for_selector("body[data-charts-rendered]", timeout=30000)
            assert page.get_attribute("body", "data-charts-rendered") == str(charts), path
            marks = page.evaluate("Array.from(document.querySelectorAll('.chart')).map("
                                  "c => c.querySelectorAll('svg g.role-mark > *').length)")
            assert len(marks) == charts and all(n > 0 for n in marks), (path, marks)
            page.screenshot(path=str(tmp_path / f"{path.stem}.png"), full_page=True)
            assert (tmp_path / f"{path.stem}.png").stat().st_size > 10_000
        # the index links to every segment page, and they open
        page.goto((site / "index.html").as_uri())
        page.click("text=swiss_or_frequent")
        page.wait_for_selector("body[data-charts-rendered]")
        assert page.title().startswith("swiss_or_frequent")
        assert not errors, errors
        assert not remote, remote


def test_docs_serve_serves_the_site(site):
    from segwarehouse.site import make_server

    server = make_server(site, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        with urllib.request.urlopen(f"{url}/index.html", timeout=10) as response:
            assert response.status == 200 and b"recent_buyers" in response.read()
        with urllib.request.urlopen(f"{url}/static/vega-lite.min.js", timeout=10) as response:
            assert len(response.read()) > 100_000
    finally:
        server.shutdown()
        server.server_close()


def test_docs_generate_before_any_build_still_writes_the_site(engine, project_factory, run_segw):
    from toolshop import FILES

    project = project_factory(engine, FILES)
    result = run_segw(project, "docs", "generate")
    assert result.exit_code == 0, result.output
    index = (project.root / "target" / "docs" / "index.html").read_text()
    assert "recent_buyers" in index and "not built" in index
