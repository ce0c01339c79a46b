"""Import + validation speed on a Micro-video-B-scale CSV (2,111,566 rows).

Usage: python bench/bench_import.py [--rows N] [--repeat R]
Writes a CSV with the log schema (ids as strings, times in seconds, ~1 % bad rows of each
kind) to a temp folder, then times ``frame_core.data.validation.import_log`` on it (median of R).
Prints a Markdown table. Target (issue #2): ≤ 10 s on the 2-core machine.
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

from frame_core.data.validation import import_log


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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=2_111_566)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "log.csv"
        make_csv(path, args.rows)
        size_mb = path.stat().st_size / 1e6
        times = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            clean, report = import_log(path)
            times.append(time.perf_counter() - t0)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
    print(f"| rows | file | import + validate (median of {args.repeat}) | rows/s | accepted | rejected | peak RSS |")
    print("|---|---|---|---|---|---|---|")
    med = float(np.median(times))
    print(
        f"| {args.rows:,} | {size_mb:,.0f} MB CSV | {med:.2f} s | {args.rows / med:,.0f} | {report.n_clean:,} | "
        f"{report.n_rejected:,} | {peak:.1f} GB |"
    )
    print(f"\n{platform.processor() or platform.machine()}, {os.cpu_count()} cores, python {platform.python_version()}")


if __name__ == "__main__":
    main()
