"""Inputs of the learned baselines: id indices with an out-of-vocabulary slot, duration buckets.

- :class:`IdVocab` maps ids seen in **training** rows to ``1 .. n`` (sorted by string id) and any
  other id (a cold user or video) to ``0``, the OOV index. Index 0 is never a training id, so
  its embedding gets no training signal; the learned models overwrite it with the average
  embedding of the training ids, weighted by their number of training views
  (:meth:`IdVocab.weights`, :func:`fill_oov_row`): a cold id is scored as "the average user /
  video". (Left at its near-zero initial value, the OOV vector is not neutral for every model:
  AFN takes ``log |e|`` and scored the KuaiRand sample's cold videos at a mean p of 0.09 against
  a true full-view share of 0.28.)
- :class:`DurationBuckets` cuts ``log1p(duration_time)`` at quantiles of the training rows into at
  most ``n_buckets`` buckets ``0 .. n-1``; out-of-range durations fall into the end buckets.
- :class:`CtrFeatures` bundles the three fields of the paper's feature-based baselines: user id,
  video id and duration bucket. ``playing_time`` is never read (it is the label).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from frame_core.common import schema as S

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

    def weights(self, train_ids) -> np.ndarray:
        """Training views per index (float64, length ``size``; 0 for the OOV slot)."""
        w = np.bincount(self.index(train_ids), minlength=self.size).astype("float64")
        w[OOV] = 0.0
        return w


def fill_oov_row(table: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """``table`` with row ``OOV`` replaced by the ``weights``-weighted mean of all rows (new tensor).

    ``weights`` has one entry per row and 0 at ``OOV``; a zero total leaves the row at 0.
    """
    w = weights.to(table.dtype)
    mean = (w[:, None] * table).sum(0) / w.sum().clamp(min=1e-12)
    return torch.cat([mean[None, :], table[OOV + 1 :]])


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

    def id_weights(self, train: pd.DataFrame) -> dict[str, np.ndarray]:
        """Training views per index of the id fields (``user``, ``video``), for :func:`fill_oov_row`."""
        return {"user": self.users.weights(train[S.USER]), "video": self.videos.weights(train[S.VIDEO])}

    def transform(self, df: pd.DataFrame) -> np.ndarray:
        return np.column_stack(
            [self.users.index(df[S.USER]), self.videos.index(df[S.VIDEO]), self.durations.index(df[S.DURATION])]
        ).astype("int64")
