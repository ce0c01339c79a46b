"""Screenshot of the Simulate page for the README: two finished runs on the bundled synthetic
sample (given as run folders, e.g. from the README's ``train`` commands) are copied into a
temporary workspace, a simulation is run by the app's own job queue, then the page is opened in
headless Chromium (``tests/browser/helpers.py``).

    .venv/bin/python bench/screenshot_simulate.py RUN_FRAME RUN_COARSE [--out assets/screenshots/simulate.png]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from frame_core.services.jobs import JobQueue  # noqa: E402
from frame_core.services.workspace import Workspace  # noqa: E402
from tests.browser.helpers import (  # noqa: E402
    CHROMIUM_ARGS,
    VIEWPORT,
    choose,
    chromium_executable,
    full_screenshot,
    go_to,
    kill_group,
    open_page,
    start_server,
    wait_idle,
)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("runs", nargs=2, help="FRAME and coarse run folders trained on sample_data/synthetic")
    ap.add_argument("--out", default=str(ROOT / "assets" / "screenshots" / "simulate.png"))
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        ws = Workspace(tmp / "ws").ensure()
        ids = []
        for r in args.runs:
            shutil.copytree(r, ws.runs_dir / Path(r).name)
            ids.append(Path(r).name)
        q = JobQueue(ws).ensure()
        job = q.submit("simulate", {"dataset_id": "sample-synthetic", "runs": ids, "k": 5, "rounds": 1, "seed": 0},
                       label="simulation · sample-synthetic · 2 runs · K=5")
        q.pump()
        done = q.wait(job.id, timeout=900)
        print(f"simulate: {done.status} {done.error or ''}", file=sys.stderr)
        server = start_server(tmp, tmp / "ws")
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=chromium_executable(), args=CHROMIUM_ARGS)
                page = browser.new_page(viewport=VIEWPORT)
                open_page(page, server)
                choose(page, "Dataset", "Synthetic sample (with videos)")
                go_to(page, "Simulate")
                wait_idle(page, started_s=3)
                page.locator('[data-testid="stPlotlyChart"]').nth(3).wait_for(timeout=120_000)
                full_screenshot(page, Path(args.out))
                browser.close()
        finally:
            kill_group(server.proc)
    print(f"screenshot in {args.out}")


if __name__ == "__main__":
    main()
