"""The run site in a real browser: the index opens offline, a lab link and the API link work."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from browser_support import browser_marks, chromium_page, screenshot_path
from site_fixtures import LABS, make_fake_run

from labs_utils import kernel, site

pytestmark = browser_marks


def build_docs(out: Path) -> Path:
    """Build the pdoc API reference of labs_utils into `out`, as `make docs` does; return it."""
    env = {**os.environ, **kernel.KERNEL_ENV, "PDOC_ALLOW_EXEC": "1"}
    subprocess.run(
        [sys.executable, "-m", "pdoc", "--output-directory", str(out), "labs_utils"],
        env=env,
        check=True,
        capture_output=True,
        timeout=600,
    )
    assert (out / "labs_utils.html").is_file() and (out / "labs_utils" / "site.html").is_file()
    return out


def test_site_index_lab_page_and_api_reference(tmp_path):
    start = time.perf_counter()
    run = make_fake_run(tmp_path / "runs" / "quick")
    build_docs(tmp_path / "runs" / "docs")
    docs_seconds = time.perf_counter() - start
    index = site.write_site(run)
    external: list[str] = []
    with chromium_page(tmp_path / "profile", width=1280, height=800) as page:
        page.on("request", lambda r: external.append(r.url) if not r.url.startswith("file:") else None)
        page.goto(index.as_uri())
        cards = page.locator("article.card")
        assert cards.count() == len(LABS)
        assert "failed" in page.locator("#c9w2_lab_beta").inner_text()
        # laptop width: cards sit side by side, none wider than the window
        boxes = [cards.nth(i).bounding_box() for i in range(cards.count())]
        assert boxes[0]["y"] == boxes[1]["y"] and all(b["x"] + b["width"] <= 1280 for b in boxes)
        page.screenshot(path=str(screenshot_path("site_index")), full_page=True)

        page.locator("#c9w1_lab_alpha a", has_text="executed notebook").click()
        page.wait_for_load_state()
        assert page.url == (run / "c9w1_lab_alpha" / "c9w1_lab_alpha.html").as_uri()
        assert page.locator("#executed").inner_text() == "c9w1_lab_alpha (executed)"
        page.screenshot(path=str(screenshot_path("site_lab_page")))

        page.go_back()
        page.locator("a", has_text="API reference").click()
        page.wait_for_load_state()
        page.wait_for_url("**/labs_utils.html", timeout=10_000)  # pdoc's index.html redirects
        page.locator("a", has_text="site").first.click()
        page.wait_for_load_state()
        assert page.url.endswith("labs_utils/site.html")
        assert page.locator("#write_site").count() == 1, "the API page documents site.write_site"
        page.screenshot(path=str(screenshot_path("site_api_reference")))
    assert external == [], f"the site fetched from the network: {external}"
    print(f"\nsite browser test: {time.perf_counter() - start:.1f} s (pdoc build {docs_seconds:.1f} s)")
