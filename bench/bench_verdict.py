"""Speed of the verdict's paired bootstrap (frame_core/evaluation/verdict.py) at a realistic size.

    .venv/bin/python bench/bench_verdict.py [--rows 100000] [--users 5000] [--seeds 3] [--boot 1000]

Builds random test rows (users, labels, scores for 2 × seeds runs) and times
``paired_verdict``: every run's AUC on 1,000 bootstrap replicates over test users. Prints Markdown.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from frame_core.evaluation.verdict import paired_verdict  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--users", type=int, default=5_000)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--boot", type=int, default=1_000)
    a = ap.parse_args()
    rng = np.random.default_rng(0)
    users = rng.integers(0, a.users, a.rows).astype(str)
    signal = rng.normal(size=a.rows)
    y = (signal + rng.normal(size=a.rows) > 0).astype(int)
    runs = [1 / (1 + np.exp(-(signal + rng.normal(size=a.rows)))) for _ in range(2 * a.seeds)]
    seeds = list(range(a.seeds))
    t0 = time.perf_counter()
    v = paired_verdict(y, users, runs[:a.seeds], runs[a.seeds:], seeds_a=seeds, seeds_b=seeds, n_boot=a.boot)
    dt = time.perf_counter() - t0
    print("| test rows | test users | runs | bootstrap replicates | seconds | verdict |")
    print("|---:|---:|---:|---:|---:|---|")
    print(f"| {a.rows:,} | {a.users:,} | {2 * a.seeds} | {a.boot:,} | {dt:.2f} | {v.verdict} "
          f"(Δ {v.delta_auc:+.4f}, {v.ci_low:+.4f} to {v.ci_high:+.4f}) |")


if __name__ == "__main__":
    main()
