"""Mean ± std over seeds: the one aggregator of the project (run tables, ablation, comparison).

Convention: the **sample** standard deviation (``ddof = 1``), as papers report "mean ± std over
seeds"; it is NaN for a group with a single run, and a single-run cell shows the mean alone
(:func:`fmt_mean_std`), never "± 0".
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from frame_core.evaluation.metrics import METRIC_KEYS, METRIC_TITLES


def aggregate_runs(runs: pd.DataFrame, by: list[str], metrics: list[str] | None = None, sort: bool = True) -> pd.DataFrame:
    """Mean, sample std (ddof = 1; NaN for one run) and count per group.

    Columns: the ``by`` columns, ``n`` (runs in the group), ``seeds`` (sorted seed list as text)
    and for each metric ``<m>_mean`` and ``<m>_std``. Metrics missing from ``runs`` are skipped;
    NaN metric values are ignored in mean and std. ``sort=False`` keeps the groups in order of
    first appearance.
    """
    metrics = [m for m in (metrics or list(METRIC_KEYS)) if m in runs.columns]
    cols = list(by) + ["n", "seeds"] + [f"{m}_{s}" for m in metrics for s in ("mean", "std")]
    if len(runs) == 0:
        return pd.DataFrame(columns=cols)
    df = runs.copy()
    for m in metrics:
        df[m] = pd.to_numeric(df[m], errors="coerce")
    g = df.groupby(list(by), dropna=False, sort=sort)
    out = g.size().rename("n").to_frame()
    if "seed" in df.columns:
        out["seeds"] = g["seed"].agg(
            lambda s: ", ".join(str(int(x)) for x in sorted(pd.to_numeric(s, errors="coerce").dropna())))
    else:
        out["seeds"] = ""
    for m in metrics:
        out[f"{m}_mean"] = g[m].mean()
        out[f"{m}_std"] = g[m].std(ddof=1)
    return out.reset_index()[cols]


def fmt_mean_std(mean: float, std: float, digits: int = 4) -> str:
    """``"0.7512 ± 0.0021"``; the mean alone when std is NaN (one run); ``"–"`` without a mean."""
    if mean is None or not np.isfinite(mean):
        return "–"
    if std is None or not np.isfinite(std):
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


def mean_std_table(agg: pd.DataFrame, by: list[str], metrics: list[str] | None = None, digits: int = 4) -> pd.DataFrame:
    """``aggregate_runs`` output as text cells ``mean ± std`` with display names as headers."""
    metrics = [m for m in (metrics or list(METRIC_KEYS)) if f"{m}_mean" in agg.columns]
    out = agg[list(by) + ["n", "seeds"]].copy()
    for m in metrics:
        out[METRIC_TITLES.get(m, m)] = [fmt_mean_std(a, b, digits) for a, b in zip(agg[f"{m}_mean"], agg[f"{m}_std"], strict=True)]
    return out
