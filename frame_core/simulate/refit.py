"""Refitting a run arm between rounds of a simulation (docs/design.md §10).

Decision: **refit, not fine-tune.** Before round r + 1 a run arm is trained again from its
run's own configuration (same N_c, policy, seed, epochs and early stopping, visual features) on
the world's log plus every view this arm served in rounds 1..r, within a wall-time budget
(``FrameConfig.time_budget_s``; training keeps the best validation check reached in time). A
refit that ends on validation (patience or its epochs) is reproducible; one cut by the budget
depends on the machine's speed, so ``refits.csv`` records ``stop_reason`` and the summary
warns when the budget cut a refit. The served views are always
**training** rows; the world's log keeps its usual chronological split, so validation and test
rows (and so early stopping) are the same for every refit. Each refit is an ordinary run folder
(the run contract), written to a temporary folder and removed after the arm has loaded it.
"""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from frame_core.common import schema as S
from frame_core.common.errors import InputError
from frame_core.data.split import TRAIN, chronological_split


def refittable(arm) -> None:
    """InputError unless ``arm``'s run can be refit (FRAME runs can; ensembles cannot)."""
    if not hasattr(arm.run, "features") or not hasattr(arm.run, "config"):
        raise InputError(f"run {arm.name} is an ensemble, which cannot be refit between rounds; "
                         "use --refit-budget 0 (models stay fixed) or a FRAME run")


def served_log_rows(world_log: pd.DataFrame, views: pd.DataFrame, round_: int) -> pd.DataFrame:
    """Served views (``user_id, video_id, playing_time, duration_time, rank`` and flags) as
    rows of the log schema, time-stamped after the world's log (one day per round)."""
    t0 = float(pd.to_numeric(world_log[S.TIMESTAMP]).max()) if len(world_log) else 0.0
    rows = pd.DataFrame({S.USER: views[S.USER].astype(str), S.VIDEO: views[S.VIDEO].astype(str),
                         S.PLAY: views["playing_time"].to_numpy(dtype=float),
                         S.DURATION: views["duration_time"].to_numpy(dtype=float),
                         S.TIMESTAMP: t0 + 86400.0 * round_ + views["rank"].to_numpy(dtype=float)})
    for c in S.OPTIONAL_FLAGS:
        if c in world_log.columns:
            rows[c] = views[c].to_numpy() if c in views.columns else 0
    for c in world_log.columns:
        if c not in rows.columns:
            rows[c] = np.nan
    return rows[list(world_log.columns)].astype(world_log.dtypes.to_dict(), errors="ignore")


def refit_arm(arm, world_log: pd.DataFrame, served: list[pd.DataFrame], budget_s: float, *, cancel=None,
              progress=None) -> dict:
    """Refit ``arm.run`` on ``world_log`` + ``served`` (log-schema rows) within ``budget_s``
    seconds and swap it in; returns {val_auc, train_seconds, rows}."""
    from frame_core.data.prepare import prepare_data
    from frame_core.training.pipeline import train_run

    refittable(arm)
    extra = pd.concat(served, ignore_index=True) if served else world_log.iloc[:0]
    log = pd.concat([world_log, extra], ignore_index=True)
    part = np.concatenate([chronological_split(world_log), np.full(len(extra), TRAIN, dtype="int8")])
    cfg = dataclasses.replace(arm.run.config, time_budget_s=float(budget_s))
    data = prepare_data(log, cfg.nc, cfg.policy, cfg.norm, features=arm.run.features, part=part)
    with tempfile.TemporaryDirectory(prefix="frame-refit-") as tmp:
        run = train_run(log, Path(tmp) / "run", cfg, features=arm.run.features, data=data, progress=progress,
                        cancel=cancel, source=f"refit of {arm.name}")
        run.scorer  # noqa: B018 - build the scorer while the folder exists
        _ = run.train_graph_pos, run.train_graph_neg
    arm.run = run
    return {"val_auc": run.metrics.get("val_auc"), "train_seconds": run.metrics.get("train_seconds"),
            "epochs_run": run.metrics.get("epochs_run"), "stop_reason": run.metrics.get("stop_reason"),
            "rows": len(log)}
