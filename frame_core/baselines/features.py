"""Inputs of the learned baselines: id indices with an out-of-vocabulary slot, duration buckets.

- :class:`IdVocab` maps ids seen in **training** rows to ``1 .. n`` (sorted by string id) and any
  other id (a cold user or video) to ``0``, the OOV index. Index 0 is never a training id, so a
  model's OOV embedding stays at its small initial value: a near-neutral "unknown" vector.
- :class:`DurationBuckets` cuts ``log1p(duration_time)`` at quantiles of the training rows into at
  most ``n_buckets`` buckets ``0 .. n-1``; out-of-range durations fall into the end buckets.
- :class:`CtrFeatures` bundles the three fields of the paper's feature-based baselines: user id,
  video id and duration bucket. ``playing_time`` is never read (it is the label).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import schema as S

OOV = 0


class IdVocab:
    """Training ids → ``1 .. n``; unknown ids → ``OOV`` (0). ``size`` = n + 1."""

    def __init__(self, ids):
        self.ids = pd.Index(np.sort(pd.unique(np.asarray(ids).astype(str))))

    @property
    def size(self) -> int:
        return len(self.ids) + 1

    def index(self, ids) -> np.ndarray:
        idx = self.ids.get_indexer(np.asarray(ids).astype(str)).astype("int64")
        return np.where(idx >= 0, idx + 1, OOV)


class DurationBuckets:
    """Quantile buckets of ``log1p(duration seconds)`` fitted on training rows."""

    def __init__(self, durations, n_buckets: int = 10):
        x = np.log1p(np.maximum(np.asarray(durations, dtype="float64"), 0.0))
        if len(x) == 0:
            self.cuts = np.zeros(0)
        else:
            qs = np.quantile(x, np.linspace(0, 1, n_buckets + 1)[1:-1])
            self.cuts = np.unique(qs)

    @property
    def size(self) -> int:
        return len(self.cuts) + 1

    def index(self, durations) -> np.ndarray:
        x = np.log1p(np.maximum(np.asarray(durations, dtype="float64"), 0.0))
        return np.searchsorted(self.cuts, x, side="right").astype("int64")


class CtrFeatures:
    """The three categorical fields (user, video, duration bucket) as an int64 (n, 3) matrix."""

    fields = ("user", "video", "duration_bucket")

    def __init__(self, train: pd.DataFrame, n_buckets: int = 10):
        self.users = IdVocab(train[S.USER])
        self.videos = IdVocab(train[S.VIDEO])
        self.durations = DurationBuckets(train[S.DURATION], n_buckets)

    @property
    def sizes(self) -> tuple[int, int, int]:
        return (self.users.size, self.videos.size, self.durations.size)

    def transform(self, df: pd.DataFrame) -> np.ndarray:
        return np.column_stack(
            [self.users.index(df[S.USER]), self.videos.index(df[S.VIDEO]), self.durations.index(df[S.DURATION])]
        ).astype("int64")
