"""Baselines on the Recommend page: their test predictions from a finished comparison (for ROC
and precision–recall curves next to a FRAME run's) and a fitted baseline's top-K for one user.

Conventions (docs/design.md §5–§6): the split is the comparison's chronological split
(:func:`frame_core.baselines.compare.split_log`), so a baseline fitted here sees exactly the
training and validation rows it saw in ``compare``; label = full view; ``p_full`` is
P(full view). A user's **candidates** are the dataset's videos the user did not view in the
training rows (as :meth:`frame_core.runs.run.Run.candidates`), each with its median logged
``duration_time`` (seconds). Candidates carry no timestamp, so a sequential baseline reads the
user's whole training + validation history ("what would we recommend now").
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from frame_core.common import schema as S
from frame_core.common.errors import InputError

NOT_FOR_CANDIDATES = ("frame", "coarse", "ensemble")  # FRAME runs are scored by the run itself


def candidate_models() -> list[str]:
    """The comparison's models that can score a user's candidates here (the baselines)."""
    from frame_core.baselines.registry import MODEL_NAMES

    return [m for m in MODEL_NAMES if m not in NOT_FOR_CANDIDATES]


def comparison_predictions(out_dir: Path) -> pd.DataFrame | None:
    """``test_predictions.csv`` of a finished comparison (model, seed, user_id, video_id, y,
    p_full), or None when it is missing or unreadable (e.g. run with ``save_predictions=False``)."""
    try:
        df = pd.read_csv(Path(out_dir) / "test_predictions.csv", dtype={"user_id": str, "video_id": str})
    except (OSError, ValueError):
        return None
    if not {"model", "seed", "y", "p_full"} <= set(df.columns):
        return None
    return df


def first_seed_curves(preds: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Per model (in file order), the test rows of its lowest seed (columns y, p_full)."""
    out: dict[str, pd.DataFrame] = {}
    for model in pd.unique(preds["model"]):
        rows = preds[preds["model"] == model]
        out[str(model)] = rows[rows["seed"] == rows["seed"].min()][["y", "p_full"]].reset_index(drop=True)
    return out


def fit_baseline(log: pd.DataFrame, name: str, *, seed: int = 0, max_epochs: int | None = None):
    """A baseline fitted on the log's training rows (validation rows for early stopping)."""
    from frame_core.baselines.compare import split_log
    from frame_core.baselines.registry import make_model

    if name not in candidate_models():
        raise InputError(f"{name!r} cannot score candidates here; use one of {', '.join(candidate_models())}")
    train, val, _ = split_log(log)
    return make_model(name, max_epochs=max_epochs).fit(train, val, seed=int(seed))


def baseline_top_k(model, log_parts: pd.DataFrame, user: str, k: int = 10) -> pd.DataFrame:
    """The user's top-``k`` candidates by the baseline's P(full view): columns ``rank``,
    ``video_id``, ``duration_time`` (s), ``p_full``; ties keep video-id order."""
    seen = set(log_parts.loc[(log_parts[S.USER] == str(user)) & (log_parts["part"] == 0), S.VIDEO])
    dur = log_parts.groupby(S.VIDEO, sort=True)[S.DURATION].median()
    cand = dur[~dur.index.isin(list(seen))]
    if cand.empty:
        return pd.DataFrame(columns=["rank", S.VIDEO, S.DURATION, "p_full"])
    q = pd.DataFrame({S.USER: str(user), S.VIDEO: cand.index.astype(str), S.DURATION: cand.to_numpy()})
    p = model.predict(q)
    order = np.argsort(-p, kind="stable")[: int(k)]
    return pd.DataFrame({"rank": np.arange(1, len(order) + 1), S.VIDEO: q[S.VIDEO].to_numpy()[order],
                         S.DURATION: q[S.DURATION].to_numpy()[order], "p_full": p[order]})
