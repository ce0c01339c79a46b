"""Evaluation metrics (docs/design.md §5). Pure functions over arrays and DataFrames.

Conventions:
- ``y`` is the video-level label: 1 = full view (r ≥ 1), 0 = skip. ``p`` is the predicted
  probability of a full view.
- **AUC** is pooled over all rows; ties in ``p`` count one half (Mann–Whitney). NaN when only
  one class is present.
- **GAUC** is the per-user AUC weighted by the user's number of rows, over users that have
  both classes. NaN when no user has both.
- **Logloss** uses the natural log with ``p`` clipped to [1e-7, 1 − 1e-7].
- **Recall@K / NDCG@K**: per user, rows are ranked by ``p`` descending; ties keep input row
  order (a stable sort), so the result is deterministic. Recall@K = hits in the top K /
  the user's relevant count. NDCG@K = DCG@K / ideal DCG@K with gain 1/log2(rank + 1).
  Users with no relevant row are skipped; users with fewer than K rows use what they have.
  The mean is over users with at least one relevant row (NaN if none).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

EPS = 1e-7
KS = (3, 5)
METRIC_KEYS = ("auc", "gauc", "logloss", "recall@3", "ndcg@3", "recall@5", "ndcg@5")
"""The test metrics of a run, in table order (the one list of metric keys)."""
RUN_METRIC_KEYS = (*METRIC_KEYS, "val_auc", "skip_hit@1", "best_epoch", "train_seconds")
"""What run tables show per run: the test metrics, validation AUC, skip localisation, training."""
METRIC_TITLES = {"auc": "AUC", "gauc": "GAUC", "logloss": "Logloss", "recall@3": "Recall@3", "ndcg@3": "NDCG@3",
                 "recall@5": "Recall@5", "ndcg@5": "NDCG@5", "val_auc": "val AUC", "skip_hit@1": "skip hit@1"}
LOWER_IS_BETTER = frozenset({"logloss"})


def _arrays(y, p) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y, dtype="float64").ravel()
    p = np.asarray(p, dtype="float64").ravel()
    if y.shape != p.shape:
        raise ValueError(f"y and p differ in length: {len(y)} vs {len(p)}")
    return y, p


def auc(y, p) -> float:
    """Pooled ROC AUC with tie correction; NaN if y has a single class."""
    y, p = _arrays(y, p)
    n_pos = float(y.sum())
    n_neg = float(len(y) - n_pos)
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = pd.Series(p).rank(method="average").to_numpy()
    return float((ranks[y == 1].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def gauc(users, y, p) -> float:
    """Row-weighted mean of per-user AUC over users with both classes (vectorised)."""
    y, p = _arrays(y, p)
    df = pd.DataFrame({"u": pd.factorize(np.asarray(users, dtype=object))[0], "y": y, "p": p})
    df["rank"] = df.groupby("u")["p"].rank(method="average")
    g = df.groupby("u").agg(n=("y", "size"), pos=("y", "sum"))
    g["rank_pos"] = df[df["y"] == 1].groupby("u")["rank"].sum()
    g = g[(g["pos"] > 0) & (g["pos"] < g["n"])]
    if len(g) == 0:
        return float("nan")
    neg = g["n"] - g["pos"]
    a = (g["rank_pos"] - g["pos"] * (g["pos"] + 1) / 2) / (g["pos"] * neg)
    return float((a * g["n"]).sum() / g["n"].sum())


def logloss(y, p, eps: float = EPS) -> float:
    """Mean binary cross-entropy (natural log), p clipped to [eps, 1 - eps]."""
    y, p = _arrays(y, p)
    if len(y) == 0:
        return float("nan")
    p = np.clip(p, eps, 1 - eps)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def ranking_metrics(users, y, p, ks=KS) -> dict[str, float]:
    """Recall@K and NDCG@K for each K (keys ``recall@K``, ``ndcg@K``)."""
    y, p = _arrays(y, p)
    u = pd.factorize(np.asarray(users, dtype=object))[0]
    n = len(y)
    out: dict[str, float] = {}
    if n == 0:
        return {f"{m}@{k}": float("nan") for k in ks for m in ("recall", "ndcg")}
    order = np.lexsort((np.arange(n), -p, u))  # user, then p descending, then row order
    u_s, y_s = u[order], y[order]
    counts = np.bincount(u_s)
    starts = np.cumsum(counts) - counts
    rank = np.arange(n) - starts[u_s]  # 0-based
    rel = np.bincount(u_s, weights=y_s, minlength=len(counts))
    users_ok = rel > 0
    if not users_ok.any():
        return {f"{m}@{k}": float("nan") for k in ks for m in ("recall", "ndcg")}
    gain = y_s / np.log2(rank + 2.0)
    for k in ks:
        top = rank < k
        hits = np.bincount(u_s[top], weights=y_s[top], minlength=len(counts))
        dcg = np.bincount(u_s[top], weights=gain[top], minlength=len(counts))
        disc = np.concatenate([[0.0], np.cumsum(1.0 / np.log2(np.arange(k) + 2.0))])
        idcg = disc[np.minimum(rel, k).astype("int64")]
        out[f"recall@{k}"] = float(np.mean(hits[users_ok] / rel[users_ok]))
        out[f"ndcg@{k}"] = float(np.mean(dcg[users_ok] / idcg[users_ok]))
    return out


def video_metrics(
    df: pd.DataFrame, user_col: str = "user_id", label_col: str = "y", pred_col: str = "p_full"
) -> dict[str, float]:
    """All test metrics of docs/design.md §5 for one prediction table (keys: ``METRIC_KEYS``)."""
    users, y, p = df[user_col].to_numpy(), df[label_col].to_numpy(), df[pred_col].to_numpy()
    out = {"auc": auc(y, p), "gauc": gauc(users, y, p), "logloss": logloss(y, p)}
    rk = ranking_metrics(users, y, p)
    for k in KS:
        out[f"recall@{k}"] = rk[f"recall@{k}"]
        out[f"ndcg@{k}"] = rk[f"ndcg@{k}"]
    return out


def skip_localisation(true_clip, clip_probs, train_skip_clips, nc: int) -> dict[str, float]:
    """Hit rate @1 of the clip with the lowest predicted not-skip probability.

    ``true_clip``: (n,) int, the clip where each skipped test view ended. ``clip_probs``:
    (n, nc) predicted per-clip not-skip probabilities ŷ_uc. ``train_skip_clips``: skip clips of
    the training views, for the position prior (always guess their most common clip).
    Returns ``hit@1`` (model), ``random`` (1/nc) and ``prior``; NaN when n = 0. Ties in
    ``clip_probs`` go to the earliest clip.
    """
    true_clip = np.asarray(true_clip, dtype="int64").ravel()
    probs = np.asarray(clip_probs, dtype="float64").reshape(len(true_clip), nc)
    if len(true_clip) == 0:
        return {"hit@1": float("nan"), "random": 1.0 / nc, "prior": float("nan")}
    pred = probs.argmin(axis=1)
    train = np.asarray(train_skip_clips, dtype="int64").ravel()
    mode = int(np.bincount(train, minlength=nc).argmax()) if len(train) else 0
    return {
        "hit@1": float(np.mean(pred == true_clip)),
        "random": 1.0 / nc,
        "prior": float(np.mean(true_clip == mode)),
    }
