"""What each page of the load test's walk costs the browser, for one session alone.

    .venv/bin/python bench/browser_cost.py --workspace /tmp/load-*/workspace [--dataset 0|1] [--repeat 2]

Serves the app over a workspace that ``bench/bench_load.py`` prepared, opens one headless
Chromium session, chooses a bundled sample, and walks Skip Explorer → Graph Inspector → Compare →
Recommend → Home twice (the load test's walk). For each page it prints the time to the rendered
page (as ``bench_load`` measures it), the CPU seconds of every Chromium process over that page
(renderer, GPU/compositor and browser processes: what eight sessions on two cores compete for),
the renderer main thread's busy time from Chrome's own counters (``Performance.getMetrics``:
TaskDuration, of which ScriptDuration), and the JavaScript files the page made the browser load
for the first time in this session. ``--repeat`` runs that many fresh sessions one after another
and prints each; the first walk of a session is where code is loaded and compiled.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_load import HEADINGS, SAMPLES, SETTLE_S, STEPS, open_on_dataset, wait_idle  # noqa: E402
from tests.browser import helpers as B  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def chromium_cpu_s() -> float:
    """User + system CPU seconds of every live Chromium process on the machine (run this alone)."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        name = text[text.find("(") + 1:text.rfind(")")]
        if name.startswith(("chromium", "chrome", "headless")):
            fields = text.rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total / TICK


async def one_session(url: str, dataset: str) -> list[tuple]:
    from playwright.async_api import async_playwright

    rows = []
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=B.chromium_executable(), args=B.CHROMIUM_ARGS)
        ctx = await browser.new_context(viewport=B.VIEWPORT)
        page = await ctx.new_page()
        cdp = await ctx.new_cdp_session(page)
        await cdp.send("Performance.enable")
        loaded: list[str] = []
        page.on("response", lambda r: loaded.append(r.url.rsplit("/", 1)[-1]) if r.url.endswith(".js") else None)

        async def counters() -> dict:
            return {m["name"]: m["value"] for m in (await cdp.send("Performance.getMetrics"))["metrics"]}

        await open_on_dataset(page, url, dataset)
        for walk in range(2):
            for title in STEPS:
                before, cpu0 = await counters(), chromium_cpu_s()
                loaded.clear()
                t0 = time.monotonic()
                await page.locator('[data-testid="stSidebarNavLink"]').filter(has_text=title).first.click()
                await wait_idle(page, title=HEADINGS[title])
                seconds = time.monotonic() - t0 - SETTLE_S
                after, cpu = await counters(), chromium_cpu_s() - cpu0
                rows.append((walk + 1, title, seconds, cpu, after["TaskDuration"] - before["TaskDuration"],
                             after["ScriptDuration"] - before["ScriptDuration"], len(loaded)))
        await browser.close()
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workspace", type=Path, required=True, help="a workspace bench/bench_load.py prepared")
    ap.add_argument("--dataset", type=int, choices=[0, 1], default=0, help="0: synthetic sample, 1: KuaiRand")
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    tmp = Path(tempfile.mkdtemp(prefix="browser-cost-"))
    srv = B.start_server(tmp, args.workspace)
    try:
        for r in range(args.repeat):
            rows = asyncio.run(one_session(srv.url, list(SAMPLES.values())[args.dataset]))
            print(f"\nsession {r + 1}: {list(SAMPLES.values())[args.dataset]}")
            print("| walk | page | rendered (s) | Chromium CPU (s) | renderer busy (s) | of which script (s) | new JS files |")
            print("|---|---|---|---|---|---|---|")
            for walk, title, s, cpu, task, script, n_js in rows:
                print(f"| {walk} | {title} | {s:.2f} | {cpu:.2f} | {task:.2f} | {script:.2f} | {n_js} |")
            for walk in (1, 2):
                print(f"walk {walk}: Chromium CPU {sum(r[3] for r in rows if r[0] == walk):.2f} s")
    finally:
        B.kill_group(srv.proc)


if __name__ == "__main__":
    main()
