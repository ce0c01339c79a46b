"""Users' viewing histories in time order for the sequential baselines (``alpine``, ``mtin``).

The **history store** holds the training and validation rows only (docs/design.md §5: a user's
test rows are the last ones, so the store never contains a test row, and every test row's
history is the user's whole training + validation record). Events are sorted by user, then
``interaction_timestamp``, then their order in (train, val).

:meth:`HistoryStore.windows` gives, for each scored row, the positions in the store of the
user's last ``length`` events **strictly earlier** than the row's timestamp (optionally only
full views or only skips), as an int64 ``(n, length)`` matrix, oldest first, left-padded with
``-1``. A training row therefore sees only what came before it, never its own label. A row
without a timestamp (a "what would we recommend now" query) sees all of the user's events; a
cold user (no event in the store) gets an all-padding window.

The time gap between an event and the scored row is in seconds (``gaps``); the models use it
through quantile buckets of log-gaps fitted on the training rows' windows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from frame_core.common import schema as S

PAD = -1


def _timestamps(df: pd.DataFrame) -> np.ndarray:
    """``interaction_timestamp`` as float64 seconds; +inf where missing (all history counts)."""
    if S.TIMESTAMP not in df.columns:
        return np.full(len(df), np.inf)
    ts = pd.to_numeric(df[S.TIMESTAMP], errors="coerce").to_numpy(dtype="float64")
    return np.where(np.isnan(ts), np.inf, ts)


class HistoryStore:
    """Training + validation events sorted by (user, time); see the module doc.

    Attributes (one entry per event, in store order): ``users`` (str), ``videos`` (str),
    ``durations`` (float64 seconds), ``labels`` (int64, 1 = full view, 0 = skip), ``ts``
    (float64 seconds), ``origin`` (int8, 0 = training row, 1 = validation row) and ``row``
    (int64, the row's position in its own frame).
    """

    def __init__(self, train: pd.DataFrame, val: pd.DataFrame, labels_train: np.ndarray, labels_val: np.ndarray):
        frames = [train, val]
        users = np.concatenate([f[S.USER].astype(str).to_numpy(dtype=object) for f in frames])
        videos = np.concatenate([f[S.VIDEO].astype(str).to_numpy(dtype=object) for f in frames])
        dur = np.concatenate([pd.to_numeric(f[S.DURATION], errors="coerce").to_numpy(dtype="float64") for f in frames])
        ts = np.concatenate([_timestamps(f) for f in frames])
        ts = np.where(np.isfinite(ts), ts, np.nan)
        if np.isnan(ts).any():  # no clock: the rows' order within each frame is the clock
            ts = np.concatenate([np.arange(len(f), dtype="float64") + (0 if i == 0 else len(train))
                                 for i, f in enumerate(frames)])
        labels = np.concatenate([np.asarray(labels_train), np.asarray(labels_val)]).astype("int64")
        origin = np.concatenate([np.zeros(len(train), "int8"), np.ones(len(val), "int8")])
        row = np.concatenate([np.arange(len(train)), np.arange(len(val))]).astype("int64")
        self.user_index = pd.Index(np.sort(pd.unique(users)))
        codes = self.user_index.get_indexer(users)
        order = np.lexsort((np.arange(len(users)), ts, codes))
        self.users, self.videos, self.durations = users[order], videos[order], dur[order]
        self.labels, self.ts, self.origin, self.row = labels[order], ts[order], origin[order], row[order]
        self.codes = codes[order].astype("int64")
        self.latest = float(np.max(self.ts)) if len(self.ts) else 0.0

    def __len__(self) -> int:
        return len(self.users)

    def query_times(self, df: pd.DataFrame) -> np.ndarray:
        return _timestamps(df)

    def windows(self, df: pd.DataFrame, length: int, label: int | None = None) -> np.ndarray:
        """Store positions of each row's last ``length`` earlier events (see module doc).

        ``label`` = 1 keeps only full views, 0 only skips, ``None`` all events.
        """
        n = len(df)
        out = np.full((n, int(length)), PAD, dtype="int64")
        if n == 0 or len(self) == 0 or length <= 0:
            return out
        keep = np.arange(len(self)) if label is None else np.flatnonzero(self.labels == int(label))
        if len(keep) == 0:
            return out
        ev_codes, ev_ts = self.codes[keep], self.ts[keep]
        q_codes = self.user_index.get_indexer(df[S.USER].astype(str).to_numpy(dtype=object)).astype("int64")
        q_ts = self.query_times(df)
        # one integer key per (user, time): rank every timestamp among events and queries
        all_ts = np.unique(np.concatenate([ev_ts, q_ts[np.isfinite(q_ts)]]))
        span = len(all_ts) + 2
        ev_key = ev_codes * span + np.searchsorted(all_ts, ev_ts) + 1
        q_rank = np.where(np.isfinite(q_ts), np.searchsorted(all_ts, np.where(np.isfinite(q_ts), q_ts, 0.0)) + 1,
                          span - 1)
        known = q_codes >= 0
        q_key = np.where(known, q_codes, 0) * span + q_rank
        end = np.searchsorted(ev_key, q_key, side="left")  # events strictly earlier than the row
        start = np.searchsorted(ev_key, np.where(known, q_codes, 0) * span, side="left")
        end = np.where(known, end, start)
        pos = end[:, None] - int(length) + np.arange(int(length))[None, :]
        valid = pos >= start[:, None]
        out[valid] = keep[pos[valid]]
        return out

    def gaps(self, df: pd.DataFrame, windows: np.ndarray) -> np.ndarray:
        """Seconds between each window event and its row (float64, same shape; NaN at padding).

        A row without a timestamp is measured from the latest event in the store."""
        q_ts = self.query_times(df)
        q_ts = np.where(np.isfinite(q_ts), q_ts, self.latest)
        ev_ts = np.where(windows >= 0, self.ts[np.maximum(windows, 0)], np.nan)
        return np.maximum(q_ts[:, None] - ev_ts, 0.0)
