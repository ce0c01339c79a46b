"""Screenshots of the Train (Tune mode), Compare and Recommend pages for the README.

    .venv/bin/python bench/screenshots.py [--out assets/screenshots]

Builds a temporary workspace on the bundled KuaiRand sample with real work done by the app's
own job queue: the classroom experiment (FRAME N_c = 8 and coarse N_c = 1, seeds 0–2, as the
Compare page's button queues it), a comparison with the ensemble and a one-minute tuning job.
Shots: Train (the last finished job, its curves and curve note), Train in Tune mode, Compare
(verdicts; then its ROC and PR tab), Recommend (opened from Train's "Recommend with this run": held-out check and the
score attribution). Then it serves the app with ``streamlit run`` and takes
full-page screenshots in headless Chromium (``tests/browser/helpers.py``).
"""

from __future__ import annotations

import argparse
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

DATASET = "sample-kuairand"


def prepare(ws_root: Path) -> None:
    import os

    os.environ["FRAME_WORKSPACE"] = str(ws_root)
    ws = Workspace(ws_root).ensure()
    q = JobQueue(ws)
    from frame_core.services import run_tables as T

    specs = [(kind, {**params, "visual": False, "config": {**params["config"], "id_embeddings": True}}, label)
             for kind, params, label in T.classroom_specs(DATASET, False)]
    jobs = q.submit_many(specs, group=f"{T.CLASSROOM_PREFIX}screenshots")
    jobs.append(q.submit("compare", {"dataset_id": DATASET, "models": ["frame", "coarse", "logreg", "ensemble"],
                                     "seeds": 1, "visual": False}, label=f"baselines · {DATASET}"))
    jobs.append(q.submit("tune", {"dataset_id": DATASET, "nc": 8, "budget_s": 60.0, "visual": False},
                         label=f"tune · {DATASET} · N_c=8 · 1 min"))
    q.pump()
    for j in jobs:
        done = q.wait(j.id, timeout=900)
        print(f"{j.kind}: {done.status} {done.error or ''}", file=sys.stderr)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(ROOT / "assets" / "screenshots"))
    args = ap.parse_args()
    out = Path(args.out)
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        prepare(tmp / "ws")
        server = start_server(tmp, tmp / "ws")
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=chromium_executable(), args=CHROMIUM_ARGS)
                page = browser.new_page(viewport=VIEWPORT)
                open_page(page, server)
                choose(page, "Dataset", "KuaiRand like/hate (real, no videos)")
                go_to(page, "Train")
                full_screenshot(page, out / "train.png")
                page.locator('[data-testid="stButtonGroup"] button').filter(has_text="Tune").first.click()
                wait_idle(page)
                full_screenshot(page, out / "train_tune.png")
                go_to(page, "Compare")
                full_screenshot(page, out / "compare.png")  # the finished-runs tab (lazy tabs: the table alone)
                page.get_by_role("tab", name="ROC and PR curves").click()
                wait_idle(page, started_s=3)
                full_screenshot(page, out / "compare_curves.png")
                go_to(page, "Train")
                page.locator('[data-testid="stButtonGroup"] button').filter(has_text="Train").first.click()
                wait_idle(page)
                page.get_by_role("link", name="Recommend with this run").click()
                wait_idle(page, started_s=3)
                full_screenshot(page, out / "recommend.png")
                browser.close()
        finally:
            kill_group(server.proc)
    print(f"screenshots in {out}")


if __name__ == "__main__":
    main()
