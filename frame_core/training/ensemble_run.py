"""Training the ensemble (FRAME + coarse + logreg, :mod:`frame_core.model.blend`) into a run
folder that obeys the run contract (docs/design.md §8) like a FRAME run.

Folder layout (``config.json`` has ``"kind": "ensemble"``)::

    config.json, metrics.json, history.csv, test_predictions.csv, test_clip_predictions.csv, DONE
    members/frame/     a complete FRAME run folder (N_c from the config)
    members/coarse/    a complete FRAME run folder with N_c = 1
    logreg.json        the fitted logistic regression (JSON, no pickle)
    blend.json         the blend weights fitted on the validation rows

The members are trained exactly as on their own (same split, early stopping on validation AUC),
the blend is fitted on the validation rows, and the test rows are scored once. Test clip
probabilities are the FRAME member's. ``history.csv`` stacks the members' histories with a
``member`` column.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from frame_core import runs as R
from frame_core.baselines.base import full_view
from frame_core.baselines.reference import LogRegBaseline
from frame_core.common import schema as S
from frame_core.common.atomic import atomic_write_bytes, atomic_write_json
from frame_core.common.safe_csv import write_csv
from frame_core.data.prepare import log_sha256
from frame_core.data.split import TEST, TRAIN, VAL, with_split
from frame_core.evaluation.metrics import video_metrics
from frame_core.model.blend import fit_blend
from frame_core.model.config import FrameConfig
from frame_core.training.pipeline import now_utc, prepare_out, recording_failure, train_run

MEMBER_DIR = "members"
BLEND = "blend.json"
LOGREG = "logreg.json"


def train_ensemble_run(log_df: pd.DataFrame, out_dir: str | os.PathLike, config: FrameConfig | None = None, *,
                       features_for_nc=None, progress=None, cancel=None, source: str | None = None,
                       name: str | None = None, overwrite: bool = False):
    """Train the ensemble on a clean log and write its run folder; returns the loaded
    :class:`~frame_core.runs.ensemble.EnsembleRun`. ``config`` is the FRAME member's (the coarse
    member uses it with N_c = 1); ``features_for_nc`` (nc → clip features) gives both FRAME
    members visual inputs."""
    config = (config or FrameConfig()).validated()
    out_dir = Path(out_dir)
    prepare_out(out_dir, overwrite)
    info = {"kind": "ensemble", "status": "running", "created": now_utc(), "name": name or out_dir.name,
            "pid": os.getpid(), "config": config.to_dict(), "seed": config.seed, "members": ["frame", "coarse", "logreg"],
            "versions": R.library_versions(), "features": None,
            "data": {"source": source, "sha256": log_sha256(log_df), "rows": int(len(log_df))}}
    atomic_write_json(out_dir / R.CONFIG, info)
    with recording_failure(out_dir, info):
        members = {}
        for member, nc in (("frame", config.nc), ("coarse", 1)):
            feats = features_for_nc(nc) if features_for_nc is not None else None
            members[member] = train_run(log_df, out_dir / MEMBER_DIR / member, config.replace(nc=nc), features=feats,
                                        progress=progress, cancel=cancel, source=source, name=f"{info['name']}/{member}")
        log, part = with_split(log_df)
        train, val, test = (log[part == p].reset_index(drop=True) for p in (TRAIN, VAL, TEST))
        logreg = LogRegBaseline().fit(train, val, seed=config.seed, cancel=cancel)

        def scores(df: pd.DataFrame) -> dict[str, np.ndarray]:
            return {"frame": members["frame"].predict(df)["p_full"].to_numpy(),
                    "coarse": members["coarse"].predict(df)["p_full"].to_numpy(), "logreg": logreg.predict(df)}

        blend = fit_blend(scores(val), full_view(val))
        p = blend.predict(scores(test))
        y = full_view(test)
        pred = pd.DataFrame({S.USER: test[S.USER].to_numpy(), S.VIDEO: test[S.VIDEO].to_numpy(),
                             S.TIMESTAMP: test[S.TIMESTAMP].to_numpy(), "y": y.astype("int8"), "p_full": p})
        metrics = dict(video_metrics(pred))
        metrics.update(val_auc=blend.val_auc, member_val_auc=blend.member_val_auc, blend=blend.to_dict(),
                       nc=config.nc, seed=config.seed, n_test=int(len(test)),
                       train_seconds=float(sum(m.metrics.get("train_seconds", 0.0) for m in members.values())),
                       best_epoch=members["frame"].metrics.get("best_epoch"))
        clip = pd.read_csv(members["frame"].path / R.TEST_CLIP_PRED, dtype={S.USER: str, S.VIDEO: str})
        history = pd.concat([m.history.assign(member=k) for k, m in members.items()], ignore_index=True)
        atomic_write_json(out_dir / LOGREG, logreg.to_dict())
        atomic_write_json(out_dir / BLEND, blend.to_dict())
        write_csv(history, out_dir / R.HISTORY)
        write_csv(pred, out_dir / R.TEST_PRED)
        write_csv(clip, out_dir / R.TEST_CLIP_PRED)
        atomic_write_json(out_dir / R.METRICS, metrics)
        info.update(status="finished", finished=now_utc(), features=members["frame"].info.get("features"))
        atomic_write_json(out_dir / R.CONFIG, info)
        atomic_write_bytes(out_dir / R.DONE, (now_utc() + "\n").encode())
    return R.load_run(out_dir)
