"""Evaluation of a trained FRAME model (docs/design.md §5).

Test metrics are at **video level** (label = full view) and come from
:func:`frame_core.evaluation.metrics.video_metrics`: AUC, GAUC, logloss, Recall@3/5, NDCG@3/5. Skip
localisation (:func:`frame_core.evaluation.metrics.skip_localisation`) is reported on the skipped test
rows: the hit rate @1 of the clip with the lowest ŷ_uc against the true skip clip, next to
random (1/N_c) and the position prior (most common skip clip among the training skips).

Validation and test rows never enter a graph: :mod:`frame_core.data.prepare` builds the graphs from
training rows only, and this module only reads predictions.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from frame_core.common import schema as S
from frame_core.data.prepare import FrameData
from frame_core.data.split import TEST, TRAIN, VAL
from frame_core.evaluation import metrics as M
from frame_core.model.scorer import Scorer

PRED_COLUMNS = (S.USER, S.VIDEO, S.TIMESTAMP, "y", "p_full")


def clip_columns(nc: int) -> list[str]:
    return [f"p_clip_{c}" for c in range(nc)]


def predict_part(scorer: Scorer, data: FrameData, part: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(rows, p_full (n,), p_clip (n, nc)) for the rows of one split part."""
    rows = data.rows(part)
    p_full, p_clip = scorer.prepare(data.video_idx[rows]).score_indices(data.user_idx[rows], data.video_idx[rows])
    return rows, p_full, p_clip


def prediction_tables(data: FrameData, rows: np.ndarray, p_full: np.ndarray, p_clip: np.ndarray
                      ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Video-level table (``PRED_COLUMNS``) and clip-level table (user_id, video_id,
    interaction_timestamp, y, skip_clip (−1 for full views), p_clip_0 .. p_clip_{nc-1})."""
    log = data.log
    base = {
        S.USER: log[S.USER].to_numpy()[rows],
        S.VIDEO: log[S.VIDEO].to_numpy()[rows],
        S.TIMESTAMP: log[S.TIMESTAMP].to_numpy()[rows],
        "y": data.y[rows].astype("int8"),
    }
    pred = pd.DataFrame({**base, "p_full": p_full})
    skip = np.where(data.y[rows] > 0, -1, data.skip[rows])
    clip = pd.DataFrame({**base, "skip_clip": skip})
    clip = pd.concat([clip, pd.DataFrame(p_clip, columns=clip_columns(data.nc))], axis=1)
    return pred, clip


def compute_test_metrics(data: FrameData, rows: np.ndarray, p_full: np.ndarray, p_clip: np.ndarray) -> dict:
    """Video-level test metrics, cold-start breakdown and skip localisation for test ``rows``."""
    pred, _ = prediction_tables(data, rows, p_full, p_clip)
    out: dict = dict(M.video_metrics(pred, user_col=S.USER, label_col="y", pred_col="p_full"))
    train = data.part == TRAIN
    cold_video = ~np.isin(data.video_idx[rows], np.unique(data.video_idx[train]))
    cold_user = ~np.isin(data.user_idx[rows], np.unique(data.user_idx[train]))
    y = data.y[rows]
    out["n_test"] = int(len(rows))
    out["n_test_cold_video"] = int(cold_video.sum())
    out["n_test_cold_user"] = int(cold_user.sum())
    out["auc_warm_video"] = M.auc(y[~cold_video], p_full[~cold_video])
    out["auc_cold_video"] = M.auc(y[cold_video], p_full[cold_video])
    skipped = y == 0
    train_skips = data.skip[train & (data.y == 0)]
    loc = M.skip_localisation(data.skip[rows][skipped], p_clip[skipped], train_skips, data.nc)
    out["n_test_skips"] = int(skipped.sum())
    out["skip_hit@1"] = loc["hit@1"]
    out["skip_hit@1_random"] = loc["random"]
    out["skip_hit@1_prior"] = loc["prior"]
    # The protocol's metric (docs/design.md §5) takes the clip with the lowest ŷ_uc. Under watched-positive, ŷ_uc is
    # conditional on reaching c, so the most likely skip clip is argmax_c Π_{j<c} ŷ_uj · (1 − ŷ_uc);
    # report that "survival" variant too.
    out["skip_hit@1_survival"] = M.skip_localisation(
        data.skip[rows][skipped], -skip_distribution(p_clip[skipped]), train_skips, data.nc
    )["hit@1"]
    return out


def skip_distribution(p_clip: np.ndarray) -> np.ndarray:
    """P(the view ends in clip c | it is a skip) from per-clip pass probabilities (n, nc):
    proportional to Π_{j<c} p_j · (1 − p_c), normalised per row."""
    p = np.clip(np.asarray(p_clip, dtype="float64"), 1e-12, 1.0)
    reach = np.concatenate([np.ones((len(p), 1)), np.cumprod(p, axis=1)[:, :-1]], axis=1)
    d = reach * (1.0 - p)
    s = d.sum(axis=1, keepdims=True)
    return np.divide(d, s, out=np.full_like(d, 1.0 / max(1, p.shape[1])), where=s > 0)


def val_metrics(data: FrameData, scorer: Scorer, release: bool = False) -> dict:
    """val_auc, val_gauc, val_logloss of the current model on the validation rows (NaN when
    there are none). The one place validation metrics are computed: the trainer (after each
    check, with ``release`` to free the scorer's tables before the next steps) and the run
    writer both call it."""
    rows, p, _ = predict_part(scorer, data, VAL)
    if release:
        scorer.release()
    if len(rows) == 0:
        return {"val_auc": float("nan"), "val_gauc": float("nan"), "val_logloss": float("nan")}
    y = data.y[rows]
    return {
        "val_auc": M.auc(y, p),
        "val_gauc": M.gauc(data.user_idx[rows], y, p),
        "val_logloss": M.logloss(y, p),
    }


__all__ = ["PRED_COLUMNS", "TEST", "clip_columns", "predict_part", "prediction_tables", "compute_test_metrics", "val_metrics"]
