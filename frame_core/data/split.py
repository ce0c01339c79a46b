"""The per-user chronological split (docs/design.md §5).

Per user, views are sorted by (interaction_timestamp, row order). Of a user's n views the last
floor(0.2·n) are **test**, the floor(0.1·n) before them **validation**, the rest **train**.
A user with fewer than 5 views has floor(0.2·n) = 0 test rows, so all their views train
(with n < 10, floor(0.1·n) = 0 validation rows).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from frame_core.common import schema as S
from frame_core.common.errors import InputError

TRAIN, VAL, TEST = 0, 1, 2
PART_NAMES = {TRAIN: "train", VAL: "val", TEST: "test"}


def chronological_split(log: pd.DataFrame, test_frac: float = 0.2, val_frac: float = 0.1) -> np.ndarray:
    """Return an int8 array, one entry per row of ``log``: 0 train, 1 validation, 2 test."""
    n = len(log)
    if n == 0:
        return np.zeros(0, dtype="int8")
    users = pd.factorize(log[S.USER], sort=False)[0]
    ts = log[S.TIMESTAMP].to_numpy(dtype="float64")
    order = np.lexsort((np.arange(n), ts, users))  # by user, then time, then row order
    u_sorted = users[order]
    counts = np.bincount(users)
    starts = np.cumsum(counts) - counts
    pos = np.arange(n) - starts[u_sorted]  # 0-based rank of the view within its user
    n_u = counts[u_sorted]
    n_test = np.floor(test_frac * n_u + 1e-9).astype("int64")
    n_val = np.floor(val_frac * n_u + 1e-9).astype("int64")
    part_sorted = np.full(n, TRAIN, dtype="int8")
    part_sorted[pos >= n_u - n_test - n_val] = VAL
    part_sorted[pos >= n_u - n_test] = TEST
    part = np.empty(n, dtype="int8")
    part[order] = part_sorted
    return part


def with_split(log: pd.DataFrame, part: np.ndarray | None = None) -> tuple[pd.DataFrame, np.ndarray]:
    """A clean log ready for splitting, and its split: index reset, ids as strings, a row-order
    ``interaction_timestamp`` when the log has none; ``part`` (int8, one entry per row) is the
    chronological split unless given. Raises InputError when a core column is missing."""
    missing = [c for c in (S.USER, S.VIDEO, S.PLAY, S.DURATION) if c not in log.columns]
    if missing:
        raise InputError(f"the log lacks column(s) {', '.join(missing)}; import it with import_log first")
    log = log.reset_index(drop=True)
    if S.TIMESTAMP not in log.columns:
        log = log.assign(**{S.TIMESTAMP: np.arange(len(log), dtype="float64")})
    log = log.assign(**{S.USER: log[S.USER].astype(str), S.VIDEO: log[S.VIDEO].astype(str)})
    part = chronological_split(log) if part is None else np.asarray(part, dtype="int8")
    if len(part) != len(log):
        raise ValueError("part must have one entry per row")
    return log, part
