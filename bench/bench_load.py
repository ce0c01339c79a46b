"""Load test of the app: concurrent browser sessions walking the main pages.

    .venv/bin/python bench/bench_load.py [--sessions 8] [--walks 2] [--epochs 2]

Builds a temporary workspace with a FRAME (N_c = 4) and a coarse (N_c = 1) run on each bundled
sample (trained directly, ``--epochs`` epochs), starts one ``streamlit run`` (as the browser
tests do, ``tests/browser/helpers.py``), then opens ``--sessions`` headless Chromium contexts
at once (one browser, async Playwright). Half the sessions use the synthetic sample, half
KuaiRand; each walks Home → Skip Explorer → Graph Inspector → Compare → Recommend ``--walks``
times. A page's time runs from the click on its sidebar link until Streamlit reports no script
run and nothing spinning (the 0.6 s quiet period that confirms it is not counted). Errors are
exception boxes, error alerts and timeouts. The server's RSS (with children) is sampled every
0.2 s. Prints p50 / p95 / max per page and overall, the error count and the peak RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_upload_rss import tree_rss_mb  # noqa: E402
from tests.browser import helpers as B  # noqa: E402

WALK = ["Home", "Skip Explorer", "Graph Inspector", "Compare", "Recommend"]
SAMPLES = {"sample-synthetic": "Synthetic sample (with videos)", "sample-kuairand": "KuaiRand like/hate (real, no videos)"}
SETTLE_S = 0.6


def prepare(ws_root: Path, epochs: int) -> None:
    from frame_core.model.config import FrameConfig
    from frame_core.services.workspace import Workspace
    from frame_core.training.pipeline import train_run

    ws = Workspace(ws_root).ensure()
    for ds in SAMPLES:
        log = ws.load_log(ds)
        for nc in (4, 1):
            train_run(log, ws.runs_dir / f"{ds}-nc{nc}", FrameConfig(nc=nc, epochs=epochs, emb_dim=16), source=ds)


async def wait_idle(page, timeout_s: float = 180) -> None:
    deadline = time.monotonic() + timeout_s
    start_by = time.monotonic() + 3
    while time.monotonic() < start_by:
        if not (await page.evaluate(B._STATE_JS)).startswith("notRunning|"):
            break
        await asyncio.sleep(0.05)
    quiet = None
    while time.monotonic() < deadline:
        st = await page.evaluate(B._STATE_JS)
        parts = st.split("|")
        if len(parts) == 3 and parts[0] == "notRunning" and parts[2] == "idle":
            quiet = quiet or time.monotonic()
            if time.monotonic() - quiet >= SETTLE_S:
                return
        else:
            quiet = None
        await asyncio.sleep(0.1)
    raise TimeoutError("page still busy")


async def problems(page) -> list[str]:
    out = []
    for sel in ('[data-testid="stException"]', '[data-testid="stAlertContentError"]'):
        out += [t.strip()[:200] for t in await page.locator(sel).all_inner_texts() if t.strip()]
    return out


async def session(browser, url: str, ds_name: str, walks: int, times: dict, errors: list) -> None:
    ctx = await browser.new_context(viewport=B.VIEWPORT)
    page = await ctx.new_page()
    try:
        await page.goto(url, wait_until="domcontentloaded", timeout=180_000)
        await page.wait_for_selector('[data-testid="stApp"]', timeout=180_000)
        await wait_idle(page)
        box = page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').first
        await box.locator('[role="combobox"], input').first.click()
        await page.get_by_role("option", name=ds_name, exact=True).first.click()
        await wait_idle(page)
        for _ in range(walks):
            for title in WALK:
                link = page.locator('[data-testid="stSidebarNavLink"]').filter(has_text=title)
                t0 = time.monotonic()
                await link.first.click()
                try:
                    await wait_idle(page)
                except TimeoutError:
                    errors.append(f"{ds_name} {title}: timeout")
                    continue
                times.setdefault(title, []).append(time.monotonic() - t0 - SETTLE_S)
                errors += [f"{ds_name} {title}: {p}" for p in await problems(page)]
    finally:
        await ctx.close()


async def run(url: str, n: int, walks: int, times: dict, errors: list) -> None:
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=B.chromium_executable(), args=B.CHROMIUM_ARGS)
        names = list(SAMPLES.values())
        await asyncio.gather(*(session(browser, url, names[i % 2], walks, times, errors) for i in range(n)))
        await browser.close()


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, int(round(q * (len(xs) - 1)))))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=8)
    ap.add_argument("--walks", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=2)
    args = ap.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    tmp = Path(tempfile.mkdtemp(prefix="load-"))
    prepare(tmp / "workspace", args.epochs)
    srv = B.start_server(tmp, tmp / "workspace")
    peak = {"mb": 0.0}
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            peak["mb"] = max(peak["mb"], tree_rss_mb(srv.proc.pid))
            time.sleep(0.2)

    th = threading.Thread(target=sample, daemon=True)
    times: dict[str, list[float]] = {}
    errors: list[str] = []
    try:
        base = tree_rss_mb(srv.proc.pid)
        th.start()
        t0 = time.monotonic()
        asyncio.run(run(srv.url, args.sessions, args.walks, times, errors))
        wall = time.monotonic() - t0
    finally:
        stop.set()
        B.kill_group(srv.proc)
    print(f"{args.sessions} sessions × {args.walks} walks, {os.cpu_count()} CPUs, wall {wall:.0f} s; "
          f"server RSS {base:,.0f} MB idle, peak {peak['mb']:,.0f} MB; errors: {len(errors)}\n")
    print("| page | loads | p50 (s) | p95 (s) | max (s) |")
    print("|---|---|---|---|---|")
    allt = []
    for title in WALK:
        xs = times.get(title, [])
        allt += xs
        if xs:
            print(f"| {title} | {len(xs)} | {statistics.median(xs):.1f} | {pct(xs, 0.95):.1f} | {max(xs):.1f} |")
    if allt:
        print(f"| all | {len(allt)} | {statistics.median(allt):.1f} | {pct(allt, 0.95):.1f} | {max(allt):.1f} |")
    for e in errors[:20]:
        print("error:", e)


if __name__ == "__main__":
    main()
