"""Import + validation speed on a Micro-video-B-scale CSV (2,111,566 rows), against
``pyarrow.csv.read_csv`` of the same file, in one run.

Usage: python bench/bench_import.py [--rows N] [--repeat R] [--pandas]
Writes a CSV with the log schema (ids as strings, times in seconds, ~1 % bad rows of two
kinds) to a temp folder, then, alternating R times: ``pyarrow.csv.read_csv`` of the file
(the floor), and ``frame_core.data.stream_import.import_to_parquet`` (streamed parse, every
row check, the report and the stored Parquet: what importing a dataset does). ``--pandas``
also times the old pandas path (``import_log_pandas``, the whole file as one frame). Prints a
Markdown table with wall and CPU times (medians) and the ratio to read_csv. Targets: issue 2,
≤ 10 s; issue 13, ≤ 2 × read_csv.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.csv as pcsv

from frame_core.data.stream_import import import_to_parquet
from frame_core.data.validation import import_log_pandas


def make_csv(path: Path, rows: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    users = rng.integers(0, 22_049, rows)
    videos = rng.integers(0, 61_903, rows)
    dur = np.round(rng.uniform(5, 60, rows), 3)
    play = np.round(dur * rng.uniform(0, 1.4, rows), 3)
    ts = 1.7e9 + np.arange(rows, dtype="float64")
    df = pd.DataFrame({
        "user_id": np.char.add("u", users.astype(str)),
        "video_id": np.char.add("v", videos.astype(str)),
        "playing_time": play.astype(object),
        "duration_time": dur,
        "interaction_timestamp": ts,
    })
    bad = rng.choice(rows, size=rows // 100, replace=False)
    df.loc[bad[: len(bad) // 3], "duration_time"] = 0.0
    df.loc[bad[len(bad) // 3: 2 * len(bad) // 3], "playing_time"] = "n/a"
    df.to_csv(path, index=False)


def _timed(fn) -> tuple[float, float, object]:
    t, c = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - t, time.process_time() - c, out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=2_111_566)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--pandas", action="store_true", help="also time the old pandas path")
    args = ap.parse_args()
    res: dict[str, list[tuple[float, float]]] = {"read_csv": [], "import": [], "pandas": []}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "log.csv"
        make_csv(path, args.rows)
        size_mb = path.stat().st_size / 1e6
        for _ in range(args.repeat):
            w, c, _t = _timed(lambda: pcsv.read_csv(path))
            res["read_csv"].append((w, c))
            w, c, report = _timed(lambda: import_to_parquet(path, Path(tmp) / "log.parquet", tmp_dir=tmp))
            res["import"].append((w, c))
            if args.pandas:
                w, c, _p = _timed(lambda: import_log_pandas(path))
                res["pandas"].append((w, c))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
    med = {k: (float(np.median([x[0] for x in v])), float(np.median([x[1] for x in v]))) for k, v in res.items() if v}
    print(f"{args.rows:,} rows, {size_mb:,.0f} MB CSV; {report.n_clean:,} accepted, {report.n_rejected:,} rejected; "
          f"medians of {args.repeat} alternating runs; peak RSS of the whole benchmark {peak:.1f} GB.\n")
    print("| what | wall (s) | CPU (s) | wall / read_csv | CPU / read_csv |\n|---|---|---|---|---|")
    names = {"read_csv": "`pyarrow.csv.read_csv` (parse only)",
             "import": "import + validation, streamed to Parquet (`import_to_parquet`)",
             "pandas": "old pandas path (`import_log_pandas`, one frame)"}
    for k, (w, c) in med.items():
        print(f"| {names[k]} | {w:.2f} | {c:.2f} | {w / med['read_csv'][0]:.2f} | {c / med['read_csv'][1]:.2f} |")
    print(f"\n{platform.processor() or platform.machine()}, {os.cpu_count()} cores, python "
          f"{platform.python_version()}; load average {os.getloadavg()[0]:.1f} at the end (the machine is shared).")


if __name__ == "__main__":
    main()
