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
