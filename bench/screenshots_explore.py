"""Screenshots of the pages that run on DuckDB queries (Home, Skip Explorer's three tabs,
Graph Inspector in both modes) on the bundled synthetic sample, to check by eye that each
chart shows what it claims.

    .venv/bin/python bench/screenshots_explore.py [--out DIR]

Serves the app with ``streamlit run`` on an empty temporary workspace and takes full-page
screenshots in headless Chromium (``tests/browser/helpers.py``).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.browser.helpers import (  # noqa: E402
    CHROMIUM_ARGS,
    VIEWPORT,
    chromium_executable,
    full_screenshot,
    go_to,
    kill_group,
    open_page,
    start_server,
    wait_idle,
)


def _tab(page, name: str) -> None:
    page.get_by_role("tab", name=name).click()
    wait_idle(page)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(ROOT / "assets" / "screenshots"))
    out = Path(ap.parse_args().out)
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "ws").mkdir()
        server = start_server(tmp, tmp / "ws")
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=chromium_executable(), args=CHROMIUM_ARGS)
                page = browser.new_page(viewport=VIEWPORT)
                open_page(page, server)
                full_screenshot(page, out / "home.png")
                go_to(page, "Skip Explorer")
                full_screenshot(page, out / "skip_across.png")
                _tab(page, "One video")
                full_screenshot(page, out / "skip_video.png")
                _tab(page, "One user")
                full_screenshot(page, out / "skip_user.png")
                go_to(page, "Graph Inspector")
                full_screenshot(page, out / "graph_user.png")
                page.locator('[data-testid="stButtonGroup"] button').filter(has_text="One video").first.click()
                wait_idle(page)
                full_screenshot(page, out / "graph_video.png")
                browser.close()
        finally:
            kill_group(server.proc)
    print(f"screenshots in {out}")


if __name__ == "__main__":
    main()
