"""Timings of the exploration pages and the skip heatmap; prints a Markdown report.

    .venv/bin/python bench/bench_pages.py [--views 2000000] [--repeats 3]

1. First render of each page (Home, Data, Skip Explorer with its three tabs, Graph Inspector,
   Learn) through ``streamlit.testing.v1.AppTest`` on each bundled sample, in a fresh temporary
   workspace with cleared caches (the Python imports are warmed up once before timing, so the
   numbers are what a user waits for on first opening a page, not interpreter start-up).
2. The skip heatmap (``frame_core.services.analytics.video_codes`` + ``video_table`` + ``skip_heatmap``,
   what the page computes on a cache miss for a new dataset) on a synthetic log of ``--views`` rows (20,000 users, 100,000
   string video ids, N_c = 8 and 64, top 30 and 100 videos). Target: ≤ 2 s.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from frame_core.common import schema as S  # noqa: E402
from frame_core.services import analytics as A  # noqa: E402

PAGES = ["home", "data", "skip_explorer", "graph_inspector", "learn", "train", "compare", "recommend"]


def synthetic_log(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    videos = rng.zipf(1.3, n) % 100_000  # skewed popularity, like real feeds
    dur = 5.0 + (videos % 50)
    r = np.where(rng.random(n) < 0.35, rng.uniform(1.0, 1.5, n), rng.beta(1.2, 2.0, n))
    return pd.DataFrame({
        S.USER: pd.array(rng.integers(0, 20_000, n).astype(str), dtype="str"),
        S.VIDEO: pd.array(videos.astype(str), dtype="str"),
        S.PLAY: r * dur, S.DURATION: dur, S.TIMESTAMP: np.arange(n, dtype="float64"),
    })


def bench_heatmap(n: int, repeats: int) -> list[tuple[str, float, float, float]]:
    t0 = time.perf_counter()
    log = synthetic_log(n)
    gen = time.perf_counter() - t0
    rows = []
    for nc in (8, 64):
        for top in (30, 100):
            times, cpu = [], []
            for _ in range(repeats):
                t, c = time.perf_counter(), time.process_time()
                codes = A.video_codes(log)
                table = A.video_table(log, nc, codes)
                A.skip_heatmap(log, nc, top, "views", table=table, codes=codes)
                times.append(time.perf_counter() - t)
                cpu.append(time.process_time() - c)
            rows.append((f"N_c = {nc}, top {top}", min(times), float(np.median(times)), min(cpu)))
    codes = A.video_codes(log)
    t, c = time.perf_counter(), time.process_time()
    A.skip_heatmap(log, 8, 30, "early_skip_share", table=A.video_table(log, 8, codes), codes=codes)
    rows.append(("N_c = 8, top 30, by early-skip share, codes cached (an N_c change in the app)",
                 time.perf_counter() - t, float("nan"), time.process_time() - c))
    rows.append((f"(generating the {n:,}-row log, not part of the page)", gen, float("nan"), float("nan")))
    return rows


def _tiny_runs(ds: str, root: Path) -> None:
    """Two finished runs (N_c = 8 and the coarse N_c = 1, 2 epochs, id embeddings) of dataset
    ``ds`` in the workspace ``root``, trained the way the Train page's jobs train."""
    from frame_core.services import engine as engine_adapter
    from frame_core.services.workspace import Workspace

    ws = Workspace(root).ensure()
    log = ws.load_log(ds)
    for nc in (8, 1):
        engine_adapter.train(
            log, {"nc": nc, "epochs": 2, "patience": 1, "emb_dim": 16}, ws.runs_dir / f"bench-{ds}-{nc}",
            videos_dir=None, dataset={"id": ds}, progress=None, cancel=None,
        )


def bench_pages() -> list[tuple[str, str, float]]:
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from frame_core.services.workspace import BUNDLED, SAMPLE_DIR

    home = str(ROOT / "app" / "Home.py")
    samples = [b.id for b in BUNDLED if (SAMPLE_DIR / b.path).exists()]
    # warm the imports (torch, plotly, altair) once so they don't count against the first page
    with tempfile.TemporaryDirectory() as d:
        os.environ["FRAME_WORKSPACE"] = d
        at = AppTest.from_file(home, default_timeout=300)
        at.run()
        for p in PAGES:
            at.switch_page(f"app_pages/{p}.py").run()
    out = []
    for ds in samples:
        with tempfile.TemporaryDirectory() as d:
            os.environ["FRAME_WORKSPACE"] = d
            st.cache_data.clear()
            st.cache_resource.clear()
            _tiny_runs(ds, Path(d))  # so Compare and Recommend have runs to show (not timed)
            at = AppTest.from_file(home, default_timeout=300)
            t = time.perf_counter()
            at.run()
            at.selectbox(key="dataset_picker").set_value(ds).run()
            out.append((ds, "Home (incl. loading the dataset)", time.perf_counter() - t))
            for p in PAGES[1:]:
                t = time.perf_counter()
                at.switch_page(f"app_pages/{p}.py").run()
                assert not at.exception, (ds, p, [e.value for e in at.exception])
                out.append((ds, p.replace("_", " ").title(), time.perf_counter() - t))
                if p == "skip_explorer":
                    for tab in ("One video", "One user"):
                        at.session_state["sx_tab"] = tab
                        t = time.perf_counter()
                        at.run()
                        out.append((ds, f"Skip Explorer, tab {tab}", time.perf_counter() - t))
            t = time.perf_counter()
            at.switch_page("app_pages/skip_explorer.py").run()
            at.session_state["sx_tab"] = "Across videos"
            at.run()
            at.slider(key="explore_nc").set_value(16).run()
            out.append((ds, "Skip Explorer, heatmap after N_c → 16", time.perf_counter() - t))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--views", type=int, default=2_000_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--skip-pages", action="store_true")
    args = ap.parse_args()
    print("# Exploration pages: timings\n")
    print(f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"pandas {pd.__version__}, numpy {np.__version__}.\n")
    print(f"## Skip heatmap on a {args.views:,}-view log (target ≤ 2 s)\n")
    print("Wall time includes waiting for a CPU when the machine is shared; CPU time is the work itself.\n")
    print("| setting | wall, best of runs (s) | wall, median (s) | CPU, best (s) |\n|---|---|---|---|")
    for name, best, med, cpu in bench_heatmap(args.views, args.repeats):
        f = lambda x: "" if np.isnan(x) else f"{x:.3f}"  # noqa: E731
        print(f"| {name} | {best:.3f} | {f(med)} | {f(cpu)} |")
    print(f"\nLoad average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs.")
    if not args.skip_pages:
        print("\n## First render of each page (AppTest, cold caches, warm imports; target ≤ 2 s)\n")
        print("| dataset | page | seconds |\n|---|---|---|")
        for ds, page, sec in bench_pages():
            print(f"| {ds} | {page} | {sec:.2f} |")


if __name__ == "__main__":
    main()
