"""Load test of the app: concurrent browser sessions walking the main pages.

    .venv/bin/python bench/bench_load.py [--sessions 8] [--walks 2] [--epochs 2]

Builds a temporary workspace with a FRAME (N_c = 4) and a coarse (N_c = 1) run on each bundled
sample (trained directly, ``--epochs`` epochs), starts one ``streamlit run`` (as the browser
tests do, ``tests/browser/helpers.py``), then opens ``--sessions`` headless Chromium contexts
at once (one browser, async Playwright). Half the sessions use the synthetic sample, half
KuaiRand. Each opens the app on Home and chooses its dataset (not timed), then walks Skip Explorer
→ Graph Inspector → Compare → Recommend → Home ``--walks`` times, so each of the five pages is
reached ``--walks`` times by a click on its sidebar link. A page's time runs from that click until
the page shows its own heading, Streamlit reports no script run and nothing spinning or loading
(``stSkeleton``) (the 0.6 s quiet period that confirms it is not counted); "script run ended" is
when the page's last script run was seen to end. Waiting for the heading matters under load: a
run can start seconds after the click, and the old page, idle meanwhile, must not count as the
new one. A click after which nothing changed in 5 s is clicked again (reported; the time runs
from the first click).
``--workspace`` reuses a workspace an earlier run prepared (``/tmp/load-*/workspace``). Errors are
exception boxes, error alerts and timeouts. The server's RSS (with children) is sampled every
0.2 s. Prints p50 / p95 / max per page and overall, the error count, the peak RSS, and the CPU
seconds the server (with its children) and the browser used during the walks: the browser runs
on the same cores, so its share is reported apart. Per concurrent user that is the RSS above the
idle server and the server CPU seconds of one page walk (5 pages).
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

from bench.bench_upload_rss import _tree, tree_rss_mb  # noqa: E402
from tests.browser import helpers as B  # noqa: E402

WALK = ["Home", "Skip Explorer", "Graph Inspector", "Compare", "Recommend"]
STEPS = WALK[1:] + WALK[:1]  # a walk's clicks: it starts on Home (opened) and ends back there
SAMPLES = {"sample-synthetic": "Synthetic sample (with videos)", "sample-kuairand": "KuaiRand like/hate (real, no videos)"}
SETTLE_S = 0.6
RETRY_S = 5.0
retries: list[str] = []  # steps whose click was repeated: the page had not changed after RETRY_S
HEADINGS = {"Home": "FRAME Explorer", "Skip Explorer": "Skip Explorer", "Graph Inspector": "Graph Inspector",
            "Compare": "Compare", "Recommend": "Recommend"}  # each page's st.title
HEADING_JS = "() => { const h = document.querySelector('[data-testid=\"stMain\"] h1'); return h ? h.innerText.trim() : ''; }"
TICK = os.sysconf("SC_CLK_TCK")


def tree_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process and its live children, plus those of children
    that have ended and were waited for (``/proc/<pid>/stat``)."""
    total = 0
    for p in _tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        total += sum(int(x) for x in fields[11:15])  # utime, stime, cutime, cstime (fields 14-17 of proc(5))
    return total / TICK


def prepare(ws_root: Path, epochs: int) -> None:
    from frame_core.model.config import FrameConfig
    from frame_core.services.workspace import Workspace
    from frame_core.training.pipeline import train_run

    ws = Workspace(ws_root).ensure()
    for ds in SAMPLES:
        log = ws.load_log(ds)
        for nc in (4, 1):
            train_run(log, ws.runs_dir / f"{ds}-nc{nc}", FrameConfig(nc=nc, epochs=epochs, emb_dim=16), source=ds)



async def wait_idle(page, timeout_s: float = 180, title: str | None = None, retry=None) -> float:
    """Wait until the page is rendered: no script run, nothing spinning, for ``SETTLE_S``.
    Returns the monotonic time at which the script run was last seen to end (the server's part;
    the rest is the browser drawing), as opposed to the quiet time the caller measures.

    With ``title`` (after a click on a page link) the page counts as rendered only once its heading
    reads ``title``: the page before has another, so neither a run that starts late under load nor
    one that the polls miss can pass for the old page being idle. ``retry`` is awaited when the
    heading has not changed after ``RETRY_S`` and the address still shows the old page (a lost
    click)."""
    deadline = time.monotonic() + timeout_s
    retry_at = time.monotonic() + RETRY_S
    here = await page.evaluate("() => location.pathname")
    quiet = script_done = None
    while time.monotonic() < deadline:
        st = await page.evaluate(B._STATE_JS)
        if title is not None and await page.evaluate(HEADING_JS) != title:
            st = "notThere|"
            if retry is not None and time.monotonic() > retry_at and await page.evaluate("() => location.pathname") == here:
                await retry()
                retry_at = time.monotonic() + RETRY_S
        parts = st.split("|")
        if parts[0] == "notRunning":
            script_done = script_done or time.monotonic()
        else:
            script_done = None
        if len(parts) == 3 and parts[0] == "notRunning" and parts[2] == "idle":
            quiet = quiet or time.monotonic()
            if time.monotonic() - quiet >= SETTLE_S:
                return script_done
        else:
            quiet = None
        await asyncio.sleep(0.1)
    raise TimeoutError("page still busy")


async def problems(page) -> list[str]:
    out = []
    for sel in ('[data-testid="stException"]', '[data-testid="stAlertContentError"]'):
        out += [t.strip()[:200] for t in await page.locator(sel).all_inner_texts() if t.strip()]
    return out


async def open_on_dataset(page, url: str, ds_name: str) -> None:
    """Open the app on Home and choose the dataset ``ds_name`` in the sidebar (not timed)."""
    await page.goto(url, wait_until="domcontentloaded", timeout=180_000)
    await page.wait_for_selector('[data-testid="stApp"]', timeout=180_000)
    await wait_idle(page)
    box = page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').first
    await box.locator('[role="combobox"], input').first.click()
    await page.get_by_role("option", name=ds_name, exact=True).first.click()
    await asyncio.sleep(1.0)  # the choice may rerun Home (or not: it can be the dataset shown)
    await wait_idle(page)


async def session(browser, url: str, ds_name: str, walks: int, times: dict, errors: list) -> None:
    """One user: open the app on Home and choose the dataset (not timed), then walk. Each step is a
    click on the page's sidebar link, timed to the page rendered (:func:`wait_idle` with the page's
    heading); each walk ends back on Home, so every one of the five pages is reached by a click
    ``walks`` times. A click after which the page has not changed in ``RETRY_S`` is clicked again
    (counted in ``retries``; the time runs from the first click)."""
    ctx = await browser.new_context(viewport=B.VIEWPORT)
    page = await ctx.new_page()
    try:
        await open_on_dataset(page, url, ds_name)
        for _ in range(walks):
            for title in STEPS:
                link = page.locator('[data-testid="stSidebarNavLink"]').filter(has_text=title).first

                async def again(title=title, link=link):
                    retries.append(title)
                    await link.click()

                t0 = time.monotonic()
                await link.click()
                try:
                    done = await wait_idle(page, title=HEADINGS[title], retry=again)
                except TimeoutError:
                    errors.append(f"{ds_name} {title}: timeout")
                    continue
                times.setdefault(title, []).append(time.monotonic() - t0 - SETTLE_S)
                times.setdefault(f"{title}/script", []).append(done - t0)
                errors.extend(f"{ds_name} {title}: {p}" for p in await problems(page))
    finally:
        await ctx.close()


async def run(url: str, n: int, walks: int, times: dict, errors: list) -> None:
    """The sessions, in one headless Chromium (its CPU time reaches this process's children
    times once Playwright has closed it)."""
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
    ap.add_argument("--workspace", type=Path, default=None,
                    help="reuse a workspace prepared by an earlier run (skips training)")
    args = ap.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    tmp = Path(tempfile.mkdtemp(prefix="load-"))
    ws = args.workspace or tmp / "workspace"
    if args.workspace is None:
        prepare(ws, args.epochs)
    srv = B.start_server(tmp, ws)
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
        load0 = os.getloadavg()[0]
        t0, cpu0 = time.monotonic(), tree_cpu_s(srv.proc.pid)
        kids0 = os.times()
        asyncio.run(run(srv.url, args.sessions, args.walks, times, errors))
        wall, cpu = time.monotonic() - t0, tree_cpu_s(srv.proc.pid) - cpu0
        kids1 = os.times()
        browser_cpu = (kids1.children_user + kids1.children_system) - (kids0.children_user + kids0.children_system)
        load1 = os.getloadavg()[0]
    finally:
        stop.set()
        B.kill_group(srv.proc)
    walks = args.sessions * args.walks
    print(f"{args.sessions} sessions × {args.walks} walks, {os.cpu_count()} CPUs, load average {load0:.1f} before, "
          f"{load1:.1f} after; wall {wall:.0f} s; errors: {len(errors)}")
    print(f"server: RSS {base:,.0f} MB idle, peak {peak['mb']:,.0f} MB "
          f"({(peak['mb'] - base) / max(args.sessions, 1):,.0f} MB per session); CPU {cpu:.1f} s "
          f"({cpu / max(walks, 1):.2f} s per session walk of {len(WALK)} pages); "
          f"browser CPU {browser_cpu:.1f} s; clicks repeated (page unchanged after {RETRY_S:.0f} s): {len(retries)} {sorted(set(retries))}\n")
    print("| page | loads | p50 (s) | p95 (s) | max (s) | script run ended, p50 / p95 (s) |")
    print("|---|---|---|---|---|---|")
    allt, alls = [], []
    for title in WALK:
        xs, sc = times.get(title, []), times.get(f"{title}/script", [])
        allt += xs
        alls += sc
        if xs:
            print(f"| {title} | {len(xs)} | {statistics.median(xs):.1f} | {pct(xs, 0.95):.1f} | {max(xs):.1f} | "
                  f"{statistics.median(sc):.1f} / {pct(sc, 0.95):.1f} |")
    if allt:
        print(f"| all | {len(allt)} | {statistics.median(allt):.1f} | {pct(allt, 0.95):.1f} | {max(allt):.1f} | "
              f"{statistics.median(alls):.1f} / {pct(alls, 0.95):.1f} |")
    for e in errors[:20]:
        print("error:", e)


if __name__ == "__main__":
    main()
