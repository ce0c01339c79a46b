"""The common contract of every baseline (docs/design.md §6) and small shared helpers.

A baseline is fitted on the **training** rows of the chronological split (docs/design.md §5), may use
the **validation** rows for model selection (early stopping on validation AUC) and then scores
any rows with :meth:`Baseline.predict`: the probability that the user watches the video to the
end (label = full view, ``playing_time >= duration_time``).

Conventions shared by all baselines:

- Inputs are DataFrames in the log schema (:mod:`frame_core.common.schema`); ids are compared as
  strings. A baseline may only read ``user_id``, ``video_id`` and ``duration_time`` at predict
  time: ``playing_time`` is the label and never a feature.
- Users and videos unseen in training (cold) get a score, never an error.
- ``predict`` returns float64 probabilities strictly inside (0, 1), one per input row, in order.
- ``progress(event)`` is an optional callback taking a dict with keys ``model``, ``epoch``,
  ``loss``, ``val_auc``, ``elapsed`` (seconds); ``cancel`` is an optional object with
  ``is_set()``; when it is set, training raises :class:`frame_core.common.errors.CancelledError`.
- Library code never prints.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from frame_core.common import schema as S
from frame_core.common.errors import CancelledError
from frame_core.data.labels import is_full_view

P_EPS = 1e-7  # predictions are clipped to [P_EPS, 1 - P_EPS]

Progress = Callable[[dict], Any] | None


class Baseline:
    """Base class: subclasses set ``name`` and implement ``fit`` and ``predict``."""

    name: str = "baseline"

    def fit(
        self, train: pd.DataFrame, val: pd.DataFrame, *, seed: int = 0, progress: Progress = None, cancel=None
    ) -> Baseline:
        raise NotImplementedError

    def predict(self, df: pd.DataFrame) -> np.ndarray:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


def full_view(df: pd.DataFrame) -> np.ndarray:
    """Video-level label as float64: 1.0 for a full view, 0.0 for a skip."""
    return is_full_view(df[S.PLAY].to_numpy(), df[S.DURATION].to_numpy()).astype("float64")


def clip_proba(p) -> np.ndarray:
    """Float64 probabilities clipped into [P_EPS, 1 - P_EPS] (NaN becomes 0.5)."""
    p = np.nan_to_num(np.asarray(p, dtype="float64").ravel(), nan=0.5)
    return np.clip(p, P_EPS, 1.0 - P_EPS)


def logit(p) -> np.ndarray:
    p = clip_proba(p)
    return np.log(p) - np.log1p(-p)


def sigmoid(x) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype="float64")))


def check_cancel(cancel) -> None:
    """Raise :class:`CancelledError` if the cancel token is set."""
    if cancel is not None and cancel.is_set():
        raise CancelledError("training cancelled")


class Reporter:
    """Sends progress events with the model name and elapsed time filled in."""

    def __init__(self, model: str, progress: Progress):
        self.model = model
        self.progress = progress
        self.t0 = time.perf_counter()

    def __call__(self, epoch: int, loss: float | None = None, val_auc: float | None = None, **extra) -> None:
        if self.progress is None:
            return
        event = {
            "model": self.model,
            "epoch": int(epoch),
            "loss": None if loss is None else float(loss),
            "val_auc": None if val_auc is None else float(val_auc),
            "elapsed": time.perf_counter() - self.t0,
        }
        event.update(extra)
        self.progress(event)
