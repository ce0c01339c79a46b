"""Reference points: ``popularity`` (shrunk user and video full-view rates) and ``logreg``.

Both are fitted on training rows only. ``y`` is the full-view label (1 if
``playing_time >= duration_time``), ``n`` the number of training rows.

**popularity** (user mean + video mean). With ``k`` = ``prior`` (default 5) pseudo-views:

- global rate ``g = Σ y / n`` (clipped into [1e-7, 1 − 1e-7]);
- user rate ``ū_u = (s_u + k·g) / (n_u + k)`` where ``s_u`` is the user's training full views and
  ``n_u`` the user's training rows; video rate ``v̄_v`` likewise over the video's training rows;
- score ``p(u, v) = σ(logit ū_u + logit v̄_v − logit g)``.

The shrinkage pulls users and videos with few views towards ``g``; a cold user (``n_u = 0``) has
``ū_u = g``, so the score falls back to the video's rate, a cold video to the user's rate, and a
cold pair to ``g``. Combining in logit space (the naive-Bayes odds product) keeps the score in
(0, 1) without clipping tricks.

**logreg**: scikit-learn ``LogisticRegression`` (L2, ``C`` = 1) on standardised features

- ``log1p(duration_time)`` (seconds),
- ``logit ū_u`` and, unless ``use_video=False``, ``logit v̄_v`` (shrunk rates as above).

On the training rows the two rates are **leave-one-out** (the row's own label removed:
``(s_u − y + k·g) / (n_u − 1 + k)``), so the model does not learn to trust a rate that already
contains the label it predicts; at predict time all training rows count.

Neither model has hyper-parameters tuned on validation; ``fit`` records the validation AUC in
the ``val_auc`` attribute and one progress event for uniformity with the trained baselines.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from frame_core.baselines.base import Baseline, Reporter, check_cancel, clip_proba, full_view, logit, sigmoid
from frame_core.common import schema as S
from frame_core.evaluation.metrics import auc


def _sklearn():
    """scikit-learn's ``(LogisticRegression, StandardScaler)``, imported on first use: the engine's
    training processes import this module but never fit a logistic regression, and scikit-learn
    costs them about 65 MB of memory and half a second of start-up."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    return LogisticRegression, StandardScaler


class RateTable:
    """Shrunk full-view rates of one id column: ``(s + k·g) / (n + k)``; unseen ids get ``g``."""

    def __init__(self, ids, y: np.ndarray, g: float, prior: float):
        ids = pd.Series(np.asarray(ids).astype(str), name="id")
        grouped = pd.DataFrame({"id": ids, "y": y}).groupby("id", sort=True)["y"]
        self.sums = grouped.sum()
        self.counts = grouped.size().astype("float64")
        self.g = float(g)
        self.prior = float(prior)

    def _lookup(self, ids) -> tuple[np.ndarray, np.ndarray]:
        ids = pd.Index(np.asarray(ids).astype(str))
        s = self.sums.reindex(ids).to_numpy(dtype="float64")
        n = self.counts.reindex(ids).to_numpy(dtype="float64")
        return np.nan_to_num(s), np.nan_to_num(n)

    def rate(self, ids) -> np.ndarray:
        s, n = self._lookup(ids)
        return (s + self.prior * self.g) / (n + self.prior)

    def loo_rate(self, ids, y: np.ndarray) -> np.ndarray:
        """Leave-one-out rate for rows that are themselves in the table (training rows)."""
        s, n = self._lookup(ids)
        return (s - y + self.prior * self.g) / (n - 1.0 + self.prior)


def global_rate(y: np.ndarray) -> float:
    return float(clip_proba([y.mean() if len(y) else 0.5])[0])


class PopularityBaseline(Baseline):
    """User-mean + video-mean full-view rate, shrunk towards the global rate (see module doc)."""

    name = "popularity"

    def __init__(self, prior: float = 5.0):
        if prior <= 0:
            raise ValueError("prior must be > 0")
        self.prior = float(prior)

    def fit(self, train, val, *, seed: int = 0, progress=None, cancel=None) -> PopularityBaseline:
        check_cancel(cancel)
        y = full_view(train)
        self.g_ = global_rate(y)
        self.users_ = RateTable(train[S.USER], y, self.g_, self.prior)
        self.videos_ = RateTable(train[S.VIDEO], y, self.g_, self.prior)
        self.val_auc = auc(full_view(val), self.predict(val)) if len(val) else float("nan")
        Reporter(self.name, progress)(epoch=1, loss=None, val_auc=self.val_auc)
        return self

    def predict(self, df: pd.DataFrame) -> np.ndarray:
        z = logit(self.users_.rate(df[S.USER])) + logit(self.videos_.rate(df[S.VIDEO])) - logit([self.g_])[0]
        return clip_proba(sigmoid(z))


class LogRegBaseline(Baseline):
    """Logistic regression on log duration and the shrunk user (and video) rates."""

    name = "logreg"

    def __init__(self, prior: float = 5.0, use_video: bool = True, C: float = 1.0):
        self.prior = float(prior)
        self.use_video = bool(use_video)
        self.C = float(C)

    def _features(self, df: pd.DataFrame, y: np.ndarray | None = None) -> np.ndarray:
        users, videos = df[S.USER], df[S.VIDEO]
        if y is None:
            ur, vr = self.users_.rate(users), self.videos_.rate(videos)
        else:
            ur, vr = self.users_.loo_rate(users, y), self.videos_.loo_rate(videos, y)
        cols = [np.log1p(np.maximum(df[S.DURATION].to_numpy(dtype="float64"), 0.0)), logit(ur)]
        if self.use_video:
            cols.append(logit(vr))
        return np.column_stack(cols)

    def fit(self, train, val, *, seed: int = 0, progress=None, cancel=None) -> LogRegBaseline:
        check_cancel(cancel)
        y = full_view(train)
        self.g_ = global_rate(y)
        self.users_ = RateTable(train[S.USER], y, self.g_, self.prior)
        self.videos_ = RateTable(train[S.VIDEO], y, self.g_, self.prior)
        X = self._features(train, y)
        LogisticRegression, StandardScaler = _sklearn()
        self.scaler_ = StandardScaler().fit(X)
        self.single_class_ = len(np.unique(y)) < 2
        if not self.single_class_:
            self.clf_ = LogisticRegression(C=self.C, max_iter=1000, random_state=seed)
            self.clf_.fit(self.scaler_.transform(X), y.astype("int64"))
        self.val_auc = auc(full_view(val), self.predict(val)) if len(val) else float("nan")
        Reporter(self.name, progress)(epoch=1, loss=None, val_auc=self.val_auc)
        return self

    def to_dict(self) -> dict:
        """The fitted model as plain JSON-able data (rates per id, scaler, coefficients)."""
        def table(t: RateTable) -> dict:
            return {"ids": [str(i) for i in t.sums.index], "sums": t.sums.to_numpy().tolist(),
                    "counts": t.counts.to_numpy().tolist()}

        out = {"prior": self.prior, "use_video": self.use_video, "C": self.C, "g": self.g_,
               "users": table(self.users_), "videos": table(self.videos_), "single_class": self.single_class_,
               "scaler_mean": self.scaler_.mean_.tolist(), "scaler_scale": self.scaler_.scale_.tolist()}
        if not self.single_class_:
            out.update(coef=self.clf_.coef_.tolist(), intercept=self.clf_.intercept_.tolist())
        return out

    @classmethod
    def from_dict(cls, d: dict) -> LogRegBaseline:
        """The model :meth:`to_dict` wrote, ready to :meth:`predict` (no refit, no pickle)."""
        m = cls(prior=d["prior"], use_video=d["use_video"], C=d["C"])
        m.g_ = float(d["g"])

        def table(t: dict) -> RateTable:
            r = RateTable.__new__(RateTable)
            idx = pd.Index([str(i) for i in t["ids"]], name="id")
            r.sums = pd.Series(np.asarray(t["sums"], dtype="float64"), index=idx)
            r.counts = pd.Series(np.asarray(t["counts"], dtype="float64"), index=idx)
            r.g, r.prior = m.g_, m.prior
            return r

        m.users_, m.videos_ = table(d["users"]), table(d["videos"])
        LogisticRegression, StandardScaler = _sklearn()
        m.scaler_ = StandardScaler()
        m.scaler_.mean_ = np.asarray(d["scaler_mean"], dtype="float64")
        m.scaler_.scale_ = np.asarray(d["scaler_scale"], dtype="float64")
        m.scaler_.var_ = m.scaler_.scale_ ** 2
        m.scaler_.n_features_in_ = len(m.scaler_.mean_)
        m.single_class_ = bool(d["single_class"])
        if not m.single_class_:
            m.clf_ = LogisticRegression(C=m.C)
            m.clf_.coef_ = np.asarray(d["coef"], dtype="float64")
            m.clf_.intercept_ = np.asarray(d["intercept"], dtype="float64")
            m.clf_.classes_ = np.array([0, 1])
            m.clf_.n_features_in_ = m.clf_.coef_.shape[1]
        return m

    def predict(self, df: pd.DataFrame) -> np.ndarray:
        if len(df) == 0:
            return np.zeros(0, dtype="float64")
        if self.single_class_:
            return np.full(len(df), self.g_, dtype="float64")
        X = self.scaler_.transform(self._features(df))
        return clip_proba(self.clf_.predict_proba(X)[:, 1])
