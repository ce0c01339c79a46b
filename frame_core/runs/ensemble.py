"""A finished ensemble run (written by :mod:`frame_core.training.ensemble_run`) loaded back:
its members (two FRAME runs and the logistic regression) and the blend, behind the same
inference API as a FRAME run (``predict``, ``recommend``, ``candidates``, ``nc``, ``maps``)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd

from frame_core.baselines.reference import LogRegBaseline
from frame_core.common import schema as S
from frame_core.common.atomic import read_json
from frame_core.model.blend import Blend
from frame_core.model.config import FrameConfig
from frame_core.runs.run import Run, load_frame_run, top_k
from frame_core.runs.store import HISTORY, METRICS, TEST_PRED

MEMBER_DIR = "members"


@dataclasses.dataclass
class EnsembleRun:
    """``frame`` and ``coarse`` are the member runs; ``logreg`` the fitted reference model;
    ``blend`` the weights. Clip probabilities (``p_clip_*``) are the FRAME member's."""

    path: Path
    info: dict
    config: FrameConfig
    metrics: dict
    frame: Run
    coarse: Run
    logreg: LogRegBaseline
    blend: Blend

    @property
    def nc(self) -> int:
        return self.frame.nc

    @property
    def maps(self):
        return self.frame.maps

    @property
    def history(self) -> pd.DataFrame:
        return pd.read_csv(self.path / HISTORY)

    def test_predictions(self) -> pd.DataFrame:
        return pd.read_csv(self.path / TEST_PRED, dtype={S.USER: str, S.VIDEO: str})

    def predict(self, df: pd.DataFrame) -> pd.DataFrame:
        """As :meth:`frame_core.runs.run.Run.predict`: ``user_id, video_id, p_full,
        p_clip_0 ..``; ``p_full`` is the blend, ``p_clip_*`` the FRAME member's."""
        out = self.frame.predict(df)
        rows = out[[S.USER, S.VIDEO]].copy()
        dur = pd.to_numeric(df[S.DURATION], errors="coerce").to_numpy() if S.DURATION in df.columns else np.zeros(len(df))
        rows[S.DURATION] = np.where(np.isfinite(dur) & (dur > 0), dur, 0.0)
        scores = {"frame": out["p_full"].to_numpy(), "coarse": self.coarse.predict(df)["p_full"].to_numpy(),
                  "logreg": self.logreg.predict(rows)}
        out["p_full"] = self.blend.predict(scores)
        return out

    def candidates(self, user) -> np.ndarray:
        return self.frame.candidates(user)

    def recommend(self, user, k: int = 10) -> pd.DataFrame:
        """The top-``k`` unseen videos by the blended score (see :meth:`Run.recommend`)."""
        return top_k(self, self.frame.durations, user, k)


def load_ensemble_run(run_dir: Path, info: dict) -> EnsembleRun:
    """Load a finished ensemble folder (its status was checked by the caller)."""
    run_dir = Path(run_dir)
    return EnsembleRun(
        path=run_dir, info=info, config=FrameConfig.from_dict(info["config"]), metrics=read_json(run_dir / METRICS),
        frame=load_frame_run(run_dir / MEMBER_DIR / "frame"), coarse=load_frame_run(run_dir / MEMBER_DIR / "coarse"),
        logreg=LogRegBaseline.from_dict(read_json(run_dir / "logreg.json")),
        blend=Blend.from_dict(read_json(run_dir / "blend.json")),
    )
