"""A 50M-view log end to end: generate, import, summarise, every page's queries, one epoch.

    .venv/bin/python bench/bench_scale.py [--views 50000000] [--dir DIR] [--train-views 300000] [--keep]

Stages (each in its own child process, so each peak RSS is its own; wall time and peak RSS
printed as a Markdown table):

1. ``generate``: a CSV in the log schema (no video), written in 1M-row numpy blocks by
   pyarrow's CSV writer: 200,000 users, 500,000 videos with Zipf popularity, durations 5–60 s,
   a third full views; 0.1 % of rows bad (zero duration or "n/a" play time).
2. ``import``: ``Workspace.import_file`` (streamed parse, checks, Parquet; the size limit is
   raised with ``--max-mb``-style limits, since the default is 2,048 MiB).
3. ``summaries``: ``LogQueries.prepare`` (users and videos ranked by views, the chronological
   split, the log sorted by user rank and by video rank, KPIs; DuckDB, out of core), what the
   Data page builds when it saves a dataset (and a page's first open, for one stored before).
4. ``pages``: each page's first-render queries, timed one by one: Home KPIs, the Skip
   Explorer heatmap (top 30, N_c = 8), one video (stats and rows), one user, the id lists, the
   Graph Inspector ego views (one user, one video).
5. ``app``: each page's first render through ``streamlit.testing.v1.AppTest`` on the dataset
   (before any run of it exists), after the app's warm-up imports and one run of Home.
6. ``train``: one epoch of today's trainer (``frame_core.services.engine.train``, id
   embeddings, N_c = 8) on the first ``--train-views`` views of the log, read by DuckDB (the
   trainer holds its graphs in memory, so the whole 50M log is not trained here).

Files go to ``--dir`` (default: a temporary folder under the system temp) and are removed
at the end unless ``--keep``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BLOCK = 1_000_000
N_USERS, N_VIDEOS = 200_000, 500_000


def _peak_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2  # KiB -> GiB


def generate(path: Path, views: int, seed: int = 0) -> dict:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pcsv

    rng = np.random.default_rng(seed)
    schema = pa.schema([("user_id", pa.string()), ("video_id", pa.string()), ("playing_time", pa.string()),
                        ("duration_time", pa.float64()), ("interaction_timestamp", pa.float64())])
    done = 0
    with pcsv.CSVWriter(str(path), schema) as w:
        while done < views:
            n = min(BLOCK, views - done)
            users = rng.integers(0, N_USERS, n)
            videos = (rng.zipf(1.2, n) - 1) % N_VIDEOS
            dur = np.round(5 + (videos % 56) + rng.uniform(0, 1, n), 3)
            r = np.where(rng.random(n) < 0.33, rng.uniform(1.0, 1.3, n), rng.beta(1.1, 2.0, n))
            play = np.round(r * dur, 3)
            bad = rng.random(n)
            dur[bad < 0.0005] = 0.0
            play_txt = pc.cast(pa.array(play), pa.string())
            play_txt = pc.if_else(pa.array(bad > 0.9995), pa.scalar("n/a"), play_txt)
            t = pa.table({
                "user_id": pc.binary_join_element_wise("u", pc.cast(pa.array(users), pa.string()), ""),
                "video_id": pc.binary_join_element_wise("v", pc.cast(pa.array(videos), pa.string()), ""),
                "playing_time": play_txt,
                "duration_time": pa.array(dur),
                "interaction_timestamp": pa.array(1.7e9 + done + np.arange(n, dtype="float64")),
            }, schema=schema)
            w.write_table(t)
            done += n
    return {"bytes": path.stat().st_size}


def do_import(path: Path, ws_dir: Path) -> dict:
    from frame_core.data.limits import InputLimits
    from frame_core.services.workspace import Workspace

    ws = Workspace(ws_dir).ensure()
    limits = InputLimits.from_options(max_mb=max(2048, 2 * path.stat().st_size / 1024**2))
    info, rep = ws.import_file(path, name="scale.csv", limits=limits)
    return {"dataset": info.id, "rows": rep.n_clean, "rejected": rep.n_rejected,
            "parquet_bytes": info.path.stat().st_size}


def summaries(ws_dir: Path, ds: str) -> dict:
    from frame_core.services.workspace import Workspace

    Workspace(ws_dir).queries(ds).prepare()
    return {}


def pages(ws_dir: Path, ds: str) -> dict:
    import frame_core.data.graphs  # noqa: F401 - warm the imports (torch), as the app's process has them
    from frame_core.common import schema as S
    from frame_core.services.ego_queries import local_graphs
    from frame_core.services.workspace import Workspace

    q = Workspace(ws_dir).queries(ds)
    out = {}

    from frame_core.common.errors import InputError

    def timed(label, fn):
        t = time.perf_counter()
        try:
            res = fn()
        except InputError as exc:  # an ego view too large to draw: refused, with its message
            out[label] = f"refused after {time.perf_counter() - t:.2f} s: {exc}"
            return None
        out[label] = time.perf_counter() - t
        print(f"{label}: {out[label]:.2f} s", file=sys.stderr, flush=True)
        return res

    timed("Home: KPIs", q.kpis)
    videos, _ = timed("id list: videos (5,000 most viewed)", lambda: q.ranked_ids(S.VIDEO, 5000))
    users, _ = timed("id list: users (5,000 most active)", lambda: q.ranked_ids(S.USER, 5000))
    timed("Skip Explorer: heatmap (top 30, N_c = 8)", lambda: q.skip_heatmap(8, 30, "views"))
    vid, user = videos[len(videos) // 2], users[len(users) // 2]  # a mid-popular video and user
    out["(the video and user shown)"] = f"{vid}, {user}"
    timed("Skip Explorer: one video (stats + views)", lambda: (q.video_table(8, [vid]), q.video_rows(vid)))
    timed("Skip Explorer: one user", lambda: q.user_views(user, 8))
    timed("Graph Inspector: ego view of one user", lambda: local_graphs(
        q, mode="user", who=user, nc=8, policy="watched-positive", norm="symmetric", train_only=True, cap=48))
    timed("Graph Inspector: ego view of one video", lambda: local_graphs(
        q, mode="video", who=vid, nc=8, policy="watched-positive", norm="symmetric", train_only=True, cap=30))
    timed("Graph Inspector: ego view of the most viewed video", lambda: local_graphs(
        q, mode="video", who=videos[0], nc=8, policy="watched-positive", norm="symmetric", train_only=True, cap=30))
    return {"queries": out}


APP_PAGES = ("home", "skip_explorer", "graph_inspector", "compare", "recommend", "train", "learn", "simulate", "data")


def app_pages(ws_dir: Path, ds: str) -> dict:
    """Each page's first render through ``streamlit.testing.v1.AppTest`` on the dataset (a fresh
    process; the app's warm-up imports are done first and Home is run once, as on a server that
    has been up for a moment, so library imports are not charged to a page)."""
    os.environ["FRAME_WORKSPACE"] = str(ws_dir)
    from streamlit.testing.v1 import AppTest

    from app.components import warmup

    warmup._import_all(warmup.MODULES)

    at = AppTest.from_file(str(ROOT / "app" / "Home.py"), default_timeout=900)
    at.session_state["dataset_id"] = ds
    at.run()
    out = {}
    for page in APP_PAGES:
        t = time.perf_counter()
        at.switch_page(f"app_pages/{page}.py").run()
        note = "; ".join([f"exception: {e.value}"[:160] for e in at.exception] +
                         [f"warning: {w.value}"[:160] for w in at.warning if "needs" in w.value])
        out[page] = f"{time.perf_counter() - t:.2f}" + (f" ({note})" if note else "")
    return {"app": out}


def train(ws_dir: Path, ds: str, n: int) -> dict:
    from frame_core.services import engine
    from frame_core.services.workspace import Workspace

    ws = Workspace(ws_dir)
    q = ws.queries(ds)
    log = q._df(f"SELECT user_id, video_id, playing_time, duration_time, interaction_timestamp "
                f"FROM read_parquet('{q.path}') LIMIT {int(n)}")
    t = time.perf_counter()
    engine.train(log, {"nc": 8, "epochs": 1, "patience": 1, "emb_dim": 32}, ws.runs_dir / "scale-1-epoch",
                 videos_dir=None, dataset={"id": ds}, progress=None, cancel=None)
    return {"train_views": len(log), "train_wall_s": time.perf_counter() - t}


def child(args) -> None:
    t = time.perf_counter()
    d = Path(args.dir)
    if args.stage == "generate":
        extra = generate(d / "scale.csv", args.views)
    elif args.stage == "import":
        extra = do_import(d / "scale.csv", d / "ws")
    elif args.stage == "summaries":
        extra = summaries(d / "ws", args.dataset)
    elif args.stage == "pages":
        extra = pages(d / "ws", args.dataset)
    elif args.stage == "app":
        extra = app_pages(d / "ws", args.dataset)
    else:
        extra = train(d / "ws", args.dataset, args.train_views)
    print(json.dumps({"wall_s": time.perf_counter() - t, "peak_rss_gb": _peak_gb(), **extra}))


def run_stage(stage: str, args, dataset: str = "") -> dict:
    cmd = [sys.executable, __file__, "--stage", stage, "--dir", str(args.dir), "--views", str(args.views),
           "--train-views", str(args.train_views), "--dataset", dataset]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "2")}
    res = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if res.returncode != 0:
        sys.exit(f"stage {stage} failed:\n{res.stderr[-3000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--views", type=int, default=50_000_000)
    ap.add_argument("--dir", default=None)
    ap.add_argument("--train-views", type=int, default=300_000)
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--stage", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--dataset", default="", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.stage:
        child(args)
        return
    made = args.dir is None
    args.dir = Path(args.dir or tempfile.mkdtemp(prefix="frame-scale-"))
    args.dir.mkdir(parents=True, exist_ok=True)
    try:
        print(f"# {args.views:,}-view log, end to end\n")
        print(f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}; load average at "
              f"start {os.getloadavg()[0]:.1f}.\n")
        print("| stage | wall (s) | peak RSS (GiB) | note |\n|---|---|---|---|", flush=True)

        def row(name, r, note=""):
            print(f"| {name} | {r['wall_s']:.1f} | {r['peak_rss_gb']:.2f} | {note} |", flush=True)

        g = run_stage("generate", args)
        row("generate the CSV", g, f"{g['bytes'] / 1024**3:.2f} GiB")
        im = run_stage("import", args)
        row("import + validation (streamed to Parquet)", im,
            f"{im['rows']:,} rows kept, {im['rejected']:,} rejected; Parquet {im['parquet_bytes'] / 1024**3:.2f} GiB")
        (args.dir / "scale.csv").unlink()
        su = run_stage("summaries", args, im["dataset"])
        row("summaries (ranked ids, split, sorted copies, KPIs)", su, "once per dataset: at save (Data page) or on first open")
        pg = run_stage("pages", args, im["dataset"])
        row("all page queries below, one process", pg)
        ap = run_stage("app", args, im["dataset"])
        row("every page's first render in the app (AppTest), one process", ap, "no run of this dataset yet")
        tr = run_stage("train", args, im["dataset"])
        row(f"train one epoch on the first {tr['train_views']:,} views", tr, "today's trainer; see docstring")
        print("\n| page query (first render, cold DuckDB connection) | seconds |\n|---|---|")
        for name, sec in pg["queries"].items():
            print(f"| {name} | {sec if isinstance(sec, str) else f'{sec:.2f}'} |")
        print("\n| page, first render in the app (after the summaries; no run yet) | seconds |\n|---|---|")
        for name, sec in ap["app"].items():
            print(f"| {name} | {sec} |")
        print(f"\nLoad average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs.")
    finally:
        if not args.keep:
            if made:
                shutil.rmtree(args.dir, ignore_errors=True)
            else:
                shutil.rmtree(args.dir / "ws", ignore_errors=True)
                (args.dir / "scale.csv").unlink(missing_ok=True)


if __name__ == "__main__":
    main()
