"""Per-page cost of one session, cold and warm: what each page computes on its first render and
on a re-render, measured in-process with ``streamlit.testing.v1.AppTest``.

    .venv/bin/python bench/bench_session.py [--epochs 2] [--profile "Graph Inspector"] [--top 25]

Builds the same workspace as ``bench/bench_load.py`` (a FRAME N_c = 4 and a coarse run on each
bundled sample), then walks Home → Skip Explorer → Graph Inspector → Compare → Recommend on both
samples three times: in a first session (cold caches: what the first user pays), in a second,
new session (the caches the first one filled are shared across sessions: what every further
concurrent user pays), and again in that second session (a re-render). Prints the wall and CPU
seconds of each script run. ``--profile PAGE`` prints the ``cProfile`` top functions (by
cumulative time) of that page's warm run in the new session, the cost a load test multiplies.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_load import SAMPLES, WALK, prepare  # noqa: E402

FILES = {"Home": "home", "Skip Explorer": "skip_explorer", "Graph Inspector": "graph_inspector",
         "Compare": "compare", "Recommend": "recommend"}


PROFILE: dict = {"on": False, "prof": None}


def _profiled_pages() -> None:
    """Wrap ``StreamlitPage.run`` (the page script, run in AppTest's script thread, where a
    profiler enabled by the bench's own thread would see nothing) in cProfile when asked."""
    from streamlit.navigation.page import StreamlitPage

    plain = StreamlitPage.run

    def run(self):
        if not PROFILE["on"]:
            return plain(self)
        prof = PROFILE["prof"] = cProfile.Profile()
        prof.enable()
        try:
            return plain(self)
        finally:
            prof.disable()

    StreamlitPage.run = run


def walk(at, ds: str, label: str, rows: list, profile: str | None, top: int, which: str) -> None:
    at.selectbox(key="dataset_picker").set_value(ds).run()
    for title in WALK:
        prof = PROFILE["on"] = profile == title and label == which
        w, c = time.perf_counter(), time.process_time()
        at.switch_page(f"app_pages/{FILES[title]}.py").run()
        PROFILE["on"] = False
        rows.append((ds, title, label, time.perf_counter() - w, time.process_time() - c))
        if at.exception:
            raise SystemExit(f"{ds} {title}: {[e.value for e in at.exception]}")
        if prof:
            s = io.StringIO()
            pstats.Stats(PROFILE["prof"], stream=s).sort_stats("cumulative").print_stats(top)
            print(f"\n## cProfile: {title} on {ds}, {label}\n\n```\n{s.getvalue()}\n```\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--profile", choices=WALK, default=None)
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--run", choices=["first session", "new session", "re-render"], default="new session",
                    help="which run of the page --profile profiles")
    ap.add_argument("--workspace", type=Path, default=None,
                    help="a workspace prepared by an earlier run (skips training, so the first session also pays "
                         "the imports, as a fresh server does)")
    args = ap.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from streamlit.testing.v1 import AppTest

    _profiled_pages()
    ws = args.workspace
    if ws is None:
        ws = Path(tempfile.mkdtemp(prefix="session-")) / "workspace"
        prepare(ws, args.epochs)
    os.environ["FRAME_WORKSPACE"] = str(ws)
    home = str(ROOT / "app" / "Home.py")
    rows: list = []
    first = AppTest.from_file(home, default_timeout=600)
    first.run()
    second = AppTest.from_file(home, default_timeout=600)
    second.run()
    for ds in SAMPLES:
        walk(first, ds, "first session", rows, args.profile, args.top, args.run)
    for ds in SAMPLES:
        walk(second, ds, "new session", rows, args.profile, args.top, args.run)
        walk(second, ds, "re-render", rows, args.profile, args.top, args.run)
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}\n")
    print("| dataset | page | run | wall (s) | CPU (s) |\n|---|---|---|---|---|")
    for ds, title, label, w, c in rows:
        print(f"| {ds} | {title} | {label} | {w:.2f} | {c:.2f} |")


if __name__ == "__main__":
    main()
