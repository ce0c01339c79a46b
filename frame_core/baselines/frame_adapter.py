"""FRAME (``frame``, N_c = 8) and the coarse model (``coarse``, N_c = 1) behind the Baseline contract.

A thin adapter over the engine (:mod:`frame_core.data.prepare`, :mod:`frame_core.training.trainer`,
:mod:`frame_core.model.scorer`), so that the comparison trains FRAME on exactly the rows, split and
selection metric of the baselines:

- ``fit(train, val)`` concatenates the two, marks them part 0 / part 1 and calls
  ``prepare_data(log, nc, part=...)`` then ``train_model(data, FrameConfig(nc=..., seed=...))``
  (early stopping on validation AUC, best epoch kept). Graphs come from the training rows only.
- ``predict(df)`` scores pairs with the engine's :class:`~frame_core.model.scorer.Scorer`, as
  ``Run.predict`` does: unknown users get the cold-user embedding, unknown videos are embedded
  from their ``duration_time``.

All other settings are the engine's defaults (``FrameConfig``); ``config`` overrides them, e.g.
``{"epochs": 10}``. ``features_for_nc`` (nc → visual clip features) gives FRAME and the coarse
model the videos' content, as in the paper's comparison; without it they use id embeddings.
Engine progress events of kind ``"epoch"`` are forwarded in the baselines' format (model,
epoch, loss, val_auc, elapsed); step events are dropped.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from frame_core.baselines.base import Baseline, check_cancel, clip_proba
from frame_core.common import schema as S


class FrameAdapter(Baseline):
    """The engine's FRAME model with ``nc`` clips per video."""

    def __init__(self, name: str = "frame", nc: int = 8, config: dict | None = None, features_for_nc=None):
        self.name = name
        self.nc = int(nc)
        self.config = dict(config or {})
        self.features_for_nc = features_for_nc  # nc -> ClipFeatures (visual clip features) or None

    def fit(self, train, val, *, seed: int = 0, progress=None, cancel=None) -> FrameAdapter:
        from frame_core.data.prepare import prepare_data
        from frame_core.model.config import FrameConfig
        from frame_core.training.trainer import train_model

        check_cancel(cancel)
        log = pd.concat([train, val], ignore_index=True)
        part = np.concatenate([np.zeros(len(train), "int8"), np.ones(len(val), "int8")])
        cfg = FrameConfig(**{**self.config, "nc": self.nc, "seed": int(seed)}).validated()
        feats = self.features_for_nc(self.nc) if self.features_for_nc is not None else None
        self.data_ = data = prepare_data(log, self.nc, policy=cfg.policy, norm=cfg.norm, part=part, features=feats)

        def forward(event: dict) -> None:
            if progress is not None and event.get("event") == "epoch":
                progress(
                    {
                        "model": self.name,
                        "epoch": int(event["epoch"]),
                        "loss": float(event["loss"]),
                        "val_auc": float(event["val_auc"]),
                        "elapsed": float(event.get("elapsed", 0.0)),
                    }
                )

        result = train_model(data, cfg, progress=forward, cancel=cancel)
        self.model_ = result.model
        self.best_epoch = int(result.best_epoch)
        hist = result.history
        self.val_auc = float(hist.loc[hist["epoch"] == result.best_epoch, "val_auc"].iloc[0]) if len(hist) else np.nan
        return self

    def predict(self, df: pd.DataFrame) -> np.ndarray:
        from frame_core.model.scorer import Scorer

        if not hasattr(self, "scorer_"):
            self.scorer_ = Scorer(self.model_, self.data_.maps, self.data_.durations, self.data_.features).prepare()
        maps = self.data_.maps
        users = df[S.USER].astype(str).to_numpy(dtype=object)
        videos = df[S.VIDEO].astype(str).to_numpy(dtype=object)
        dur = pd.to_numeric(df[S.DURATION], errors="coerce").to_numpy(dtype="float64")
        dur = np.where(np.isfinite(dur) & (dur > 0), dur, 0.0)
        p_full, _ = self.scorer_.score_indices(maps.user_index(users), maps.video_index(videos), dur, videos)
        return clip_proba(p_full)
