"""Comparing finished runs and explaining their scores (Compare and Recommend pages).

Pure pandas/numpy functions over run tables and prediction tables:

- :func:`roc_points` / :func:`pr_points`: ROC and precision–recall curves from (y, p), thinned to
  at most ``max_points`` points (the AUC is computed by :mod:`frame_core.evaluation.metrics`, not from the
  thinned curve);
- :func:`per_user_comparison`: per-user AUC or logloss of two runs on their shared test rows;
- :func:`clip_contributions`: how much each clip's probability moves the video score
  (leave-one-clip-out), for the mean and product video scores of docs/design.md §2.

Conventions: ``y`` = 1 for a full view; ``p`` = predicted probability of a full view; a
positive difference always means **run A is better** (higher AUC, or lower logloss).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from frame_core.evaluation import metrics as M
from frame_core.evaluation.stats import aggregate_runs, fmt_mean_std, mean_std_table  # noqa: F401 (run tables)

# (column, display name, higher is better)
METRICS: tuple[tuple[str, str, bool], ...] = tuple((k, M.METRIC_TITLES[k], k not in M.LOWER_IS_BETTER) for k in M.METRIC_KEYS)
METRIC_NAMES = {k: n for k, n, _ in METRICS}


def _thin(df: pd.DataFrame, max_points: int) -> pd.DataFrame:
    if len(df) <= max_points:
        return df.reset_index(drop=True)
    idx = np.unique(np.linspace(0, len(df) - 1, max_points).round().astype(int))
    return df.iloc[idx].reset_index(drop=True)


def _cum_counts(y, p) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, float]:
    y = np.asarray(y, dtype="float64").ravel()
    p = np.asarray(p, dtype="float64").ravel()
    order = np.argsort(-p, kind="mergesort")
    ys, ps = y[order], p[order]
    last = np.r_[np.flatnonzero(np.diff(ps) != 0), len(ps) - 1] if len(ps) else np.zeros(0, dtype=int)
    tp = np.cumsum(ys)[last]
    fp = np.cumsum(1 - ys)[last]
    return tp, fp, ps[last], float(ys.sum()), float(len(ys) - ys.sum())


def roc_points(y, p, max_points: int = 400) -> pd.DataFrame:
    """ROC curve: columns ``fpr``, ``tpr``, ``threshold`` from (0, 0) to (1, 1). Empty when y
    has a single class."""
    tp, fp, thr, n_pos, n_neg = _cum_counts(y, p)
    if n_pos == 0 or n_neg == 0:
        return pd.DataFrame(columns=["fpr", "tpr", "threshold"])
    df = pd.DataFrame({"fpr": np.r_[0.0, fp / n_neg], "tpr": np.r_[0.0, tp / n_pos], "threshold": np.r_[np.inf, thr]})
    return _thin(df, max_points)


def pr_points(y, p, max_points: int = 400) -> pd.DataFrame:
    """Precision–recall curve: columns ``recall``, ``precision``, ``threshold``, by decreasing
    threshold. Empty when there is no positive."""
    tp, fp, thr, n_pos, _ = _cum_counts(y, p)
    if n_pos == 0:
        return pd.DataFrame(columns=["recall", "precision", "threshold"])
    df = pd.DataFrame({"recall": tp / n_pos, "precision": tp / np.maximum(tp + fp, 1), "threshold": thr})
    return _thin(df, max_points)


def average_precision(y, p) -> float:
    """Step-wise average precision (area under the PR curve); NaN without positives."""
    tp, fp, _, n_pos, _ = _cum_counts(y, p)
    if n_pos == 0:
        return float("nan")
    recall = tp / n_pos
    precision = tp / np.maximum(tp + fp, 1)
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


KEY = ("user_id", "video_id", "interaction_timestamp")


def join_predictions(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    """Inner join of two runs' test predictions on (user_id, video_id, interaction_timestamp,
    occurrence): columns user_id, video_id, y, p_a, p_b (y from run A)."""
    keys = [k for k in KEY if k in a.columns and k in b.columns]
    if not {"user_id", "video_id"} <= set(keys):
        raise ValueError("both prediction tables need user_id and video_id")

    def prep(df: pd.DataFrame, tag: str) -> pd.DataFrame:
        d = df[keys + ["y", "p_full"]].copy()
        d["user_id"] = d["user_id"].astype(str)
        d["video_id"] = d["video_id"].astype(str)
        d["_occ"] = d.groupby(keys).cumcount()
        return d.rename(columns={"p_full": f"p_{tag}", "y": f"y_{tag}"})

    j = prep(a, "a").merge(prep(b, "b"), on=keys + ["_occ"], how="inner")
    j = j.rename(columns={"y_a": "y"}).drop(columns=["_occ", "y_b"])
    return j


def per_user_values(users, y, p, metric: str) -> pd.DataFrame:
    """Per-user ``auc`` (users with both classes) or ``logloss`` (every user): columns
    ``user_id``, ``n`` (rows), ``value``."""
    df = pd.DataFrame({"user_id": np.asarray(users).astype(str), "y": np.asarray(y, "float64"),
                       "p": np.clip(np.asarray(p, "float64"), M.EPS, 1 - M.EPS)})
    if metric == "logloss":
        df["ll"] = -(df["y"] * np.log(df["p"]) + (1 - df["y"]) * np.log(1 - df["p"]))
        g = df.groupby("user_id").agg(n=("y", "size"), value=("ll", "mean"))
        return g.reset_index()
    if metric != "auc":
        raise ValueError("metric must be 'auc' or 'logloss'")
    df["rank"] = df.groupby("user_id")["p"].rank(method="average")
    g = df.groupby("user_id").agg(n=("y", "size"), pos=("y", "sum"))
    g["rank_pos"] = df[df["y"] == 1].groupby("user_id")["rank"].sum()
    g = g[(g["pos"] > 0) & (g["pos"] < g["n"])]
    neg = g["n"] - g["pos"]
    g["value"] = (g["rank_pos"] - g["pos"] * (g["pos"] + 1) / 2) / (g["pos"] * neg)
    return g[["n", "value"]].reset_index()


def per_user_comparison(a: pd.DataFrame, b: pd.DataFrame, metric: str = "auc", tol: float = 1e-9) -> pd.DataFrame:
    """Per-user metric of run A and run B on their shared test rows.

    Returns ``user_id``, ``n``, ``a``, ``b``, ``diff`` (positive = A better: higher AUC or lower
    logloss) and ``outcome`` ("A better", "B better", "tie"). For AUC only users with both a
    full view and a skip among the shared rows are included.
    """
    j = join_predictions(a, b)
    va = per_user_values(j["user_id"], j["y"], j["p_a"], metric).rename(columns={"value": "a"})
    vb = per_user_values(j["user_id"], j["y"], j["p_b"], metric)[["user_id", "value"]].rename(columns={"value": "b"})
    out = va.merge(vb, on="user_id", how="inner")
    out["diff"] = out["a"] - out["b"] if metric == "auc" else out["b"] - out["a"]
    out["outcome"] = np.where(out["diff"] > tol, "A better", np.where(out["diff"] < -tol, "B better", "tie"))
    return out.sort_values("diff", ascending=False).reset_index(drop=True)


def clip_contributions(p_clip, mode: str) -> pd.DataFrame:
    """Leave-one-clip-out effect of each clip on the video score.

    ``p_clip``: the N_c not-skip probabilities of one (user, video). For ``mode="product"`` the
    score is ∏ p_c and dropping clip c multiplies it by 1/p_c: the clip's contribution is
    ``log p_c`` (its share of the log score, ≤ 0). For ``mode="mean"`` the contribution is
    ``score − mean of the other clips``. Columns: ``clip``, ``p_clip``, ``score_without``,
    ``contribution`` (negative = this clip pulls the score down), ``rank`` (1 = pulls down most).
    """
    p = np.clip(np.asarray(p_clip, dtype="float64").ravel(), M.EPS, 1 - M.EPS)
    n = len(p)
    if mode == "product":
        score = float(np.prod(p))
        without = score / p
        contrib = np.log(p)
    elif mode == "mean":
        score = float(p.mean())
        without = (p.sum() - p) / (n - 1) if n > 1 else np.full(n, np.nan)
        contrib = score - without if n > 1 else np.zeros(n)
    else:
        raise ValueError("mode must be 'mean' or 'product'")
    out = pd.DataFrame({"clip": np.arange(n), "p_clip": p, "score_without": without, "contribution": contrib})
    out["rank"] = out["contribution"].rank(method="first").astype(int)
    return out
