"""Clip labels (docs/design.md §2).

Every video is split into ``nc`` clips of equal duration. With ``r = playing_time /
duration_time``:

- **full view** (``r >= 1``, loops included): all ``nc`` clips are positive (label 1);
- **skip** (``r < 1``): the clip where the user left, ``k = min(floor(r * nc), nc - 1)``, is
  negative (label 0). Leaving exactly on a boundary counts for the next clip
  (``r = 0.25``, ``nc = 4`` gives ``k = 1``).
- policy ``"paper"`` (the slides): nothing else is labelled;
- policy ``"watched-positive"`` (the public reference code; the default): clips ``0 .. k-1``,
  which the user watched through, are positive too.

A positive clip label means "the user got past this clip, given that it was reached".
``nc = 1`` is the coarse-grained model: a full view is positive, any skip negative.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from frame_core.common import schema as S
from frame_core.common.errors import InputError

POLICIES = ("watched-positive", "paper")
DEFAULT_POLICY = "watched-positive"
MAX_NC = 64
# floor(r * nc) is computed as floor(play * nc / dur + EPS) so that a leave that is exactly on
# a boundary in decimal (0.7 s of 2.8 s, nc = 4) is not pushed back a clip by rounding.
_EPS = 1e-9


def check_nc(nc) -> int:
    try:
        nc_int = int(nc)
    except (TypeError, ValueError):
        raise InputError(f"N_c must be a whole number from 1 to {MAX_NC}, got {nc!r}") from None
    if nc_int != nc or not 1 <= nc_int <= MAX_NC:
        raise InputError(f"N_c must be a whole number from 1 to {MAX_NC}, got {nc!r}")
    return nc_int


def check_policy(policy: str) -> str:
    if policy not in POLICIES:
        raise InputError(f"unknown label policy {policy!r}; use one of {', '.join(POLICIES)}")
    return policy


def skip_clip(playing_time, duration_time, nc: int) -> np.ndarray:
    """Index of the clip where each view ended: ``min(floor(r * nc), nc - 1)``, int64.

    For full views (``r >= 1``) this is ``nc - 1``; callers tell full views apart with
    :func:`is_full_view`.
    """
    nc = check_nc(nc)
    p = np.asarray(playing_time, dtype="float64")
    d = np.asarray(duration_time, dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        x = np.floor(p * nc / d + _EPS)
    x = np.clip(np.nan_to_num(x, nan=0.0, posinf=nc - 1, neginf=0.0), 0, nc - 1)
    return x.astype("int64")


def is_full_view(playing_time, duration_time) -> np.ndarray:
    """True where ``playing_time >= duration_time`` (r ≥ 1)."""
    return np.asarray(playing_time, dtype="float64") >= np.asarray(duration_time, dtype="float64")


@dataclasses.dataclass(frozen=True)
class ClipLabels:
    """Labelled clips in long form. All arrays have one entry per labelled (view, clip):

    - ``row``: position of the view in the input (0-based), int64;
    - ``clip``: clip index 0 .. nc-1, int64;
    - ``label``: 1 = positive (watched through / full view), 0 = negative (left here), int8.
    Entries are grouped by ``row`` in input order, clips ascending within a row.
    """

    row: np.ndarray
    clip: np.ndarray
    label: np.ndarray
    nc: int
    policy: str

    def __len__(self) -> int:
        return len(self.row)


def clip_labels(playing_time, duration_time, nc: int, policy: str = DEFAULT_POLICY) -> ClipLabels:
    """Vectorised clip labels for every view (no Python loop over rows)."""
    nc = check_nc(nc)
    policy = check_policy(policy)
    p = np.asarray(playing_time, dtype="float64")
    d = np.asarray(duration_time, dtype="float64")
    full = is_full_view(p, d)
    k = skip_clip(p, d, nc)
    if policy == "paper":
        n_lab = np.where(full, nc, 1)
        first = np.where(full, 0, k)
    else:
        n_lab = np.where(full, nc, k + 1)
        first = np.zeros_like(k)
    rows = np.repeat(np.arange(len(p), dtype="int64"), n_lab)
    starts = np.cumsum(n_lab) - n_lab
    offset = np.arange(len(rows), dtype="int64") - np.repeat(starts, n_lab)
    clip = np.repeat(first, n_lab) + offset
    label = np.ones(len(rows), dtype="int8")
    skip_rows = ~full[rows]
    label[skip_rows & (clip == k[rows])] = 0
    return ClipLabels(row=rows, clip=clip, label=label, nc=nc, policy=policy)


def labels_frame(log: pd.DataFrame, nc: int, policy: str = DEFAULT_POLICY) -> pd.DataFrame:
    """Labelled clips as a DataFrame: user_id, video_id, clip (0-based), label (1/0)."""
    lab = clip_labels(log[S.PLAY].to_numpy(), log[S.DURATION].to_numpy(), nc, policy)
    return pd.DataFrame(
        {
            S.USER: log[S.USER].to_numpy()[lab.row],
            S.VIDEO: log[S.VIDEO].to_numpy()[lab.row],
            "clip": lab.clip,
            "label": lab.label,
        }
    )
