"""Sequential baselines on a world where only the order of a user's views carries the signal.

    OMP_NUM_THREADS=1 .venv/bin/python bench/order_world.py [--worlds 3] [--users 70] [--per-user 40]

The world is ``tests/test_sequential_baselines.order_world``: each user alternates runs of 5–11
full views and 5–11 skips of random videos, so user and video full-view rates carry (almost)
nothing. Prints test AUC (mean ± std over the worlds) of ``popularity``, ``logreg``, a logistic
regression on the same last-50 history seen as a bag (full-view share and size), ``alpine`` and
``mtin`` (their defaults: 20 epochs at most, early stopping on validation AUC).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from frame_core.baselines import make_model  # noqa: E402
from frame_core.baselines.base import full_view  # noqa: E402
from frame_core.baselines.compare import split_log  # noqa: E402
from frame_core.evaluation.metrics import auc  # noqa: E402
from tests.test_sequential_baselines import bag_of_history_auc, order_world  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--worlds", type=int, default=3)
    ap.add_argument("--users", type=int, default=70)
    ap.add_argument("--per-user", type=int, default=40)
    args = ap.parse_args()
    scores: dict[str, list[float]] = {}
    seconds: dict[str, list[float]] = {}
    for w in range(args.worlds):
        train, val, test = split_log(order_world(n_users=args.users, per_user=args.per_user, seed=w))
        y = full_view(test)
        scores.setdefault("bag of history (logistic)", []).append(bag_of_history_auc(train, val, test))
        for name in ("popularity", "logreg", "alpine", "mtin"):
            t0 = time.perf_counter()
            p = make_model(name).fit(train, val, seed=0).predict(test)
            seconds.setdefault(name, []).append(time.perf_counter() - t0)
            scores.setdefault(name, []).append(auc(y, p))
    print(f"{args.worlds} worlds, {args.users} users x {args.per_user} views; test AUC mean ± std (ddof 1)\n")
    print("| model | test AUC | fit + predict (s, mean) |\n|---|---:|---:|")
    for name, vals in scores.items():
        sec = f"{np.mean(seconds[name]):.1f}" if name in seconds else "–"
        print(f"| {name} | {np.mean(vals):.4f} ± {np.std(vals, ddof=1):.4f} | {sec} |")


if __name__ == "__main__":
    main()
