"""What the Recommend page shows beside a run's top-K: a dataset's users with their activity,
and each user's held-out views (validation and test), so recommendations can be checked against
what the user actually did. The ranking itself is :meth:`frame_core.runs.run.Run.recommend`.

Conventions: ``part`` is the chronological split of docs/design.md (0 train, 1 validation,
2 test); ``skip_clip`` is the clip where a skip ended (−1 for a full view).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from frame_core.common import schema as S
from frame_core.data.labels import is_full_view, skip_clip
from frame_core.data.split import PART_NAMES, TRAIN, with_split


def split_log(log: pd.DataFrame) -> pd.DataFrame:
    """A copy of a clean log with string ids and its split ``part`` column."""
    out, part = with_split(log)
    return out.assign(part=part)


def user_activity(log_parts: pd.DataFrame) -> pd.DataFrame:
    """Per user (index): ``views`` and ``held_out`` (validation + test views), most held-out
    views first: the users whose recommendations can best be checked come first."""
    counts = log_parts.groupby(S.USER).agg(views=(S.VIDEO, "size"), held_out=("part", lambda p: int((p != TRAIN).sum())))
    return counts.sort_values(["held_out", "views"], ascending=False)


def heldout_views(log_parts: pd.DataFrame, user: str, nc: int) -> pd.DataFrame:
    """The user's validation and test views with ``full_view`` (bool), ``skip_clip`` (for the
    run's N_c; −1 for a full view) and ``part_name``."""
    v = log_parts[(log_parts[S.USER] == str(user)) & (log_parts["part"] != TRAIN)].copy()
    if v.empty:
        return v.assign(full_view=pd.Series(dtype=bool), skip_clip=pd.Series(dtype="int64"),
                        part_name=pd.Series(dtype=str))
    full = is_full_view(v[S.PLAY].to_numpy(), v[S.DURATION].to_numpy())
    v["full_view"] = full
    v["skip_clip"] = np.where(full, -1, skip_clip(v[S.PLAY].to_numpy(), v[S.DURATION].to_numpy(), nc))
    v["part_name"] = v["part"].map(PART_NAMES)
    return v


def outcome_text(row) -> str:
    """What the user did with a video, in words (``row`` from :func:`heldout_views`, or None)."""
    if row is None:
        return "not viewed"
    if row["full_view"]:
        return f"full view ({row['part_name']})"
    return f"left in clip {int(row['skip_clip'])} at {row[S.PLAY]:.1f} s ({row['part_name']})"


def heldout_check(run, log_parts: pd.DataFrame, user: str) -> pd.DataFrame:
    """The user's validation and test views scored by ``run``, with the predicted rank each
    video gets among the user's candidates (1 = the run's top recommendation; the user's
    held-out videos are candidates because they are not in the training rows) and what the
    user actually did. Columns: ``video_id``, ``part_name``, ``p_full``, ``predicted rank``,
    ``candidates``, ``what the user did``, ``full_view``; best predicted first."""
    held = heldout_views(log_parts, user, run.nc)
    cols = [S.VIDEO, "part_name", "p_full", "predicted rank", "candidates", "what the user did", "full_view"]
    if held.empty:
        return pd.DataFrame(columns=cols)
    cand = run.candidates(user)
    vids = np.asarray(run.maps.videos, dtype=object)
    pool = pd.DataFrame({S.USER: str(user), S.VIDEO: [str(v) for v in vids[cand]],
                         S.DURATION: np.asarray(run.durations)[cand]})
    pool_p = np.sort(run.predict(pool)["p_full"].to_numpy())
    p = run.predict(held[[S.USER, S.VIDEO, S.DURATION]])["p_full"].to_numpy()
    rank = len(pool_p) - np.searchsorted(pool_p, p, side="right") + 1  # 1 + candidates scored strictly higher
    out = pd.DataFrame({S.VIDEO: held[S.VIDEO].to_numpy(), "part_name": held["part_name"].to_numpy(), "p_full": p,
                        "predicted rank": rank, "candidates": len(pool_p),
                        "what the user did": [outcome_text(r) for _, r in held.iterrows()],
                        "full_view": held["full_view"].to_numpy()})
    return out.sort_values("p_full", ascending=False, kind="mergesort").reset_index(drop=True)


def explain_score(run, attributor, user: str, video: str) -> dict:
    """:meth:`frame_core.model.attribution.Attributor.explain` for ids: the score of ``video``
    for ``user`` against the user's average candidate, split into its parts."""
    from frame_core.runs.run import _index_of

    u = int(_index_of(run._user_index, pd.Series([str(user)], dtype="string"))[0])
    v = int(_index_of(run._video_index, pd.Series([str(video)], dtype="string"))[0])
    if v < 0:
        raise ValueError(f"video {video} is not in this run's id map")
    return attributor.explain(u, v, run.candidates(user))
