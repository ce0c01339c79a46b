"""Percentile bootstrap over users, paired across arms (docs/design.md §10).

Convention: a resample draws ``n`` users with replacement from the ``n`` users; every arm is
evaluated on the **same** resampled users, so a difference between two arms is computed within
each resample (paired), which is what makes it tight when the arms' outcomes are correlated
(common random numbers). A rate is a ratio of sums over the resampled users (full views /
served views), a per-user amount a mean over them. The interval is the (α/2, 1 − α/2)
percentile of the resampled statistic; the point estimate is the statistic on all users.
"""

from __future__ import annotations

import numpy as np


def resample_indices(n: int, n_boot: int, seed: int, chunk: int = 256):
    """Yield (b, n) int arrays of user indices, ``n_boot`` rows in all, in chunks (bounded memory)."""
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0xB007]))
    done = 0
    while done < n_boot:
        b = min(chunk, n_boot - done)
        yield rng.integers(0, n, size=(b, n)) if n else np.zeros((b, 0), dtype=np.int64)
        done += b


def ratio_draws(num: dict[str, np.ndarray], den: dict[str, np.ndarray], n_boot: int, seed: int) -> dict[str, np.ndarray]:
    """For each arm, ``n_boot`` resampled values of sum(num) / sum(den) over users (NaN when the
    resampled denominator is 0). All arms share the resampled users. Arrays are per user, in
    the same user order for every arm."""
    n = len(next(iter(num.values())))
    out = {a: [] for a in num}
    for idx in resample_indices(n, n_boot, seed):
        for a in num:
            s_num = num[a][idx].sum(axis=1)
            s_den = den[a][idx].sum(axis=1)
            with np.errstate(invalid="ignore", divide="ignore"):
                out[a].append(np.where(s_den > 0, s_num / np.where(s_den > 0, s_den, 1), np.nan))
    return {a: np.concatenate(v) if v else np.zeros(0) for a, v in out.items()}


def mean_draws(values: dict[str, np.ndarray], n_boot: int, seed: int) -> dict[str, np.ndarray]:
    """For each arm, ``n_boot`` resampled means over users of ``values[arm]`` (shared resamples)."""
    ones = {a: np.ones_like(v, dtype=np.float64) for a, v in values.items()}
    return ratio_draws({a: np.asarray(v, dtype=np.float64) for a, v in values.items()}, ones, n_boot, seed)


def interval(draws: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """Percentile interval of the finite draws; (NaN, NaN) when there are none."""
    d = np.asarray(draws, dtype=np.float64)
    d = d[np.isfinite(d)]
    if d.size == 0:
        return float("nan"), float("nan")
    a = (1.0 - level) / 2.0
    lo, hi = np.quantile(d, [a, 1.0 - a])
    return float(lo), float(hi)
