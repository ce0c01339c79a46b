"""Peak RSS of the Streamlit server while a hostile log is uploaded on the Data page.

    .venv/bin/python bench/bench_upload_rss.py [--repo PATH] [--cap-gb 4] [--timeout 120]

For each hostile file (made in a temporary folder by ``tests/hostile_inputs.py``), a fresh
``streamlit run app/Home.py`` of ``--repo`` (default: this checkout; give an older checkout to
measure "before") is started over an empty workspace, headless Chromium opens the Data page
and uploads the file, and the server's resident set size (the server process and its
children, from ``/proc``) is sampled every 50 ms until the page shows an error, the timeout
passes, or the RSS passes ``--cap-gb`` (then the server is killed so the shared machine
survives, and the peak is reported as "over the cap"). Prints a Markdown table: baseline RSS
with the Data page open, peak RSS, growth, seconds to the refusal and the message shown.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests import hostile_inputs as H  # noqa: E402
from tests.browser import helpers as B  # noqa: E402


def _rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _tree(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        for task in Path(f"/proc/{p}/task").glob("*"):
            try:
                todo += [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                continue
    return out


def tree_rss_mb(pid: int) -> float:
    return sum(_rss_kb(p) for p in _tree(pid)) / 1024


def start(repo: Path, tmp: Path):
    """``tests/browser/helpers.start_server`` for another checkout: same command, cwd = repo."""
    old = B.ROOT
    B.ROOT = repo
    try:
        return B.start_server(tmp, tmp / "workspace")
    finally:
        B.ROOT = old


def measure(repo: Path, path: Path, cap_mb: float, timeout_s: float, browser) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="rss-"))
    srv = start(repo, tmp)
    peak = {"mb": 0.0, "killed": False}
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            mb = tree_rss_mb(srv.proc.pid)
            peak["mb"] = max(peak["mb"], mb)
            if mb > cap_mb:
                peak["killed"] = True
                B.kill_group(srv.proc)
                return
            time.sleep(0.05)

    try:
        ctx = browser.new_context(viewport=B.VIEWPORT)
        page = ctx.new_page()
        B.open_page(page, srv)
        B.go_to(page, "Data")
        time.sleep(2)
        base = tree_rss_mb(srv.proc.pid)
        peak["mb"] = base
        th = threading.Thread(target=sample, daemon=True)
        th.start()
        t0 = time.monotonic()
        page.locator('[data-testid="stFileUploader"]').filter(has_text="Interaction log").first.locator(
            'input[type="file"]').set_input_files(str(path))
        msg, seconds = "", None
        while time.monotonic() - t0 < timeout_s and not peak["killed"]:
            errs = page.locator('[data-testid="stAlertContentError"]').all_inner_texts()
            if errs:
                msg, seconds = errs[0].strip(), time.monotonic() - t0
                break
            time.sleep(0.2)
        time.sleep(1.0)  # the peak may come just after the message is drawn
        stop.set()
        th.join(timeout=5)
        ctx.close()
        return {"base": base, "peak": peak["mb"], "killed": peak["killed"], "seconds": seconds, "message": msg,
                "timed_out": seconds is None and not peak["killed"]}
    finally:
        stop.set()
        B.kill_group(srv.proc)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repo", default=str(ROOT), help="checkout whose app is measured (default: this one)")
    ap.add_argument("--cap-gb", type=float, default=4.0, help="kill the server past this RSS (GB)")
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for the refusal")
    ap.add_argument("--cases", default="line,dups,wide", help="comma-separated: line, dups, wide")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    gen = Path(tempfile.mkdtemp(prefix="rss-files-"))
    files = {
        "line": ("500 MB single line of `a,`", H.single_line(gen / "line.csv.gz")),
        "dups": ("300 MB of duplicate rows", H.bomb(gen / "dups.csv.gz", 0.0, 300)),
        "wide": ("header of 10⁵ columns", H.wide_header(gen / "wide.csv.gz", 100_000)),
    }
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    print(f"repo: {args.repo}\n")
    print("| upload | file | baseline RSS | peak RSS | growth | seconds to refusal | shown |")
    print("|---|---|---|---|---|---|---|")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=B.chromium_executable(), args=B.CHROMIUM_ARGS)
        for key in args.cases.split(","):
            what, path = files[key]
            r = measure(Path(args.repo), path, args.cap_gb * 1024, args.timeout, browser)
            peak = f"> {args.cap_gb:g} GB (killed)" if r["killed"] else f"{r['peak']:,.0f} MB"
            growth = f"> {args.cap_gb * 1024 - r['base']:,.0f} MB" if r["killed"] else f"{r['peak'] - r['base']:,.0f} MB"
            secs = "–" if r["seconds"] is None else f"{r['seconds']:.1f}"
            shown = ("timed out" if r["timed_out"] else "") or r["message"].replace("|", "\\|")[:140]
            print(f"| {what} | {path.stat().st_size / 1024:,.0f} KiB .gz | {r['base']:,.0f} MB | {peak} | {growth} "
                  f"| {secs} | {shown} |", flush=True)
        browser.close()


if __name__ == "__main__":
    main()
