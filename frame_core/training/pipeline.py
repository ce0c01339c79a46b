"""End to end: clean log → prepared data → trained model → evaluated run directory.

:func:`train_run` is what the CLI (``train``), the ablation runner and the app's background job
call. It writes the run directory described in :mod:`frame_core.runs.store`, with ``DONE`` last.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import logging
import os
import shutil
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from frame_core import runs as R
from frame_core.common.atomic import (
    atomic_torch_save,
    atomic_write_bytes,
    atomic_write_json,
    atomic_write_npy,
    atomic_write_npz,
)
from frame_core.common.errors import CancelledError, InputError
from frame_core.common.perf import allocator_in_use, release_free_memory
from frame_core.common.safe_csv import write_csv
from frame_core.data.prepare import FrameData, log_sha256, prepare_data
from frame_core.data.split import TEST
from frame_core.evaluation.evaluate import compute_test_metrics, predict_part, prediction_tables, val_metrics
from frame_core.model.config import FrameConfig
from frame_core.training.trainer import ProgressFn, TrainResult, make_scorer, train_model

log = logging.getLogger(__name__)


def now_utc() -> str:
    """The current UTC time, ISO 8601 to the second (run records)."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def prepare_out(out_dir: Path, overwrite: bool) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"{out_dir} exists and is not a folder")
    if out_dir.exists() and any(out_dir.iterdir()):
        if not overwrite:
            raise InputError(f"run folder {out_dir} already exists and is not empty; choose another --out or overwrite")
        if not (out_dir / R.CONFIG).exists():
            raise InputError(f"{out_dir} is not empty and not a run folder; refusing to overwrite it")
        (out_dir / R.DONE).unlink(missing_ok=True)  # unlisted from now on
        for p in out_dir.iterdir():
            if p.is_dir():
                shutil.rmtree(p)
            else:
                p.unlink()
    out_dir.mkdir(parents=True, exist_ok=True)


class _ProgressWriter:
    """Forwards events to the caller and keeps ``progress.json`` fresh (at most ~2 writes/s)."""

    def __init__(self, out_dir: Path, progress: ProgressFn | None):
        self.out_dir, self.progress, self.last = out_dir, progress, 0.0

    def __call__(self, event: dict) -> None:
        now = time.monotonic()
        if event.get("event") != "step" or now - self.last > 0.5:
            self.last = now
            atomic_write_json(self.out_dir / R.PROGRESS, {**event, "time": now_utc()})
        if self.progress is not None:
            self.progress(event)


def train_run(
    log_df: pd.DataFrame,
    out_dir: str | os.PathLike,
    config: FrameConfig | None = None,
    *,
    features=None,
    progress: ProgressFn | None = None,
    cancel=None,
    source: str | None = None,
    name: str | None = None,
    overwrite: bool = False,
    data: FrameData | None = None,
    dist=None,
) -> R.Run | None:
    """Train FRAME on a clean log and write a finished run to ``out_dir``; returns the loaded run.

    ``log_df``: clean log (``import_log`` output). ``config``: defaults when None.
    ``features``: optional ``ClipFeatures`` for the same N_c. ``progress`` and
    ``cancel`` as in :func:`frame_core.training.trainer.train_model`. ``source``/``name`` are recorded in
    config.json. ``data`` reuses prepared data (same log, nc, policy, norm) across seeds.
    On any error the run is marked ``failed`` (``cancelled`` on cancel) and the error re-raised;
    ``DONE`` is then never written.

    ``dist`` (a :class:`~frame_core.training.distributed.DistContext`): one rank of a
    distributed job; every rank prepares the data and trains, only rank 0 touches ``out_dir``
    and returns the run (the other ranks return None).
    """
    config = (config or FrameConfig()).validated()
    out_dir = Path(out_dir)
    if dist is not None and not dist.is_main:
        return _train_other_rank(log_df, config, features, data, dist)
    try:
        prepare_out(out_dir, overwrite)
    except BaseException:
        if dist is not None:
            dist.all_ok(False)  # let the other ranks stop instead of waiting
        raise
    if dist is not None:
        dist.all_ok(True)
    info: dict[str, Any] = {
        "status": "running", "created": now_utc(), "name": name or out_dir.name, "pid": os.getpid(),
        "host": socket.gethostname(), "config": config.to_dict(), "seed": config.seed,
        "versions": R.library_versions(), "allocator": allocator_in_use(), "features": None,
        "data": {"source": source, "sha256": log_sha256(log_df), "rows": int(len(log_df))},
    }
    if dist is not None:  # how the run was trained; the run contract is otherwise the same
        info["distributed"] = {"world_size": dist.world_size, "backend": dist.backend}
    atomic_write_json(out_dir / R.CONFIG, info)
    writer = _ProgressWriter(out_dir, progress)
    with recording_failure(out_dir, info):
        writer({"event": "prepare", "elapsed": 0.0})
        if data is None:
            try:
                data = prepare_data(log_df, config.nc, config.policy, config.norm, features=features)
            except BaseException:
                if dist is not None:
                    dist.all_ok(False)
                raise
        info["data"].update(data.summary())
        if data.features is not None:
            info["features"] = {"dim": data.features.dim, "rows": len(data.features),
                                "clips_found": int(data.clip_feat_found.sum())}
        atomic_write_json(out_dir / R.CONFIG, info)
        if dist is not None and not dist.all_ok(True):
            raise InputError("another rank could not prepare the data")
        result = train_model(data, config, progress=writer, cancel=cancel, dist=dist)
        _write_results(out_dir, data, config, result, info)
        del result  # the returned Run loads its own copy from disk
        gc.collect()  # the trained model may sit in reference cycles: free it before the load
        release_free_memory()  # and hand training's peak back before the run is loaded and scored
    return R.load_run(out_dir)


def _train_other_rank(log_df: pd.DataFrame, config: FrameConfig, features, data: FrameData | None, dist) -> None:
    """A rank other than 0 of :func:`train_run`: wait for rank 0's run folder, prepare the same
    data, train in step with the other ranks, write nothing."""
    if not dist.all_ok(True):
        raise InputError("rank 0 could not create the run folder")
    try:
        if data is None:
            data = prepare_data(log_df, config.nc, config.policy, config.norm, features=features)
    except BaseException:
        dist.all_ok(False)
        raise
    if not dist.all_ok(True):
        raise InputError("another rank could not prepare the data")
    train_model(data, config, dist=dist)
    return None


@contextlib.contextmanager
def recording_failure(out_dir: Path, info: dict) -> Iterator[None]:
    """Around a run's work: on a cancel the run's ``config.json`` says ``cancelled``, on any
    other exception ``failed`` with the error; the exception is re-raised (``DONE`` is never
    written then)."""
    try:
        yield
    except CancelledError:
        info.update(status="cancelled", finished=now_utc())
        atomic_write_json(out_dir / R.CONFIG, info)
        raise
    except BaseException as exc:
        info.update(status="failed", finished=now_utc(), error=f"{type(exc).__name__}: {exc}")
        atomic_write_json(out_dir / R.CONFIG, info)
        raise


def _write_results(out_dir: Path, data: FrameData, config: FrameConfig, result: TrainResult, info: dict) -> None:
    model = result.model
    scorer = make_scorer(model, data)
    rows, p_full, p_clip = predict_part(scorer, data, TEST)
    metrics = compute_test_metrics(data, rows, p_full, p_clip)
    metrics.update(val_metrics(data, scorer))
    metrics.update(
        best_epoch=int(result.best_epoch), epochs_run=int(len(result.history)), selection=result.selection,
        stopped_early=bool(result.stopped_early), stop_reason=result.stop_reason,
        train_seconds=float(result.train_seconds),
        batch_size=int(result.batch_size), emb_lr=float(result.emb_lr),
        nc=config.nc, policy=config.policy, seed=config.seed,
        video_score=result.config.video_score, exclude_batch_edges=result.config.exclude_batch_edges,
    )
    if result.auto is not None:
        metrics["auto"] = result.auto
    if result.config.to_dict() != config.to_dict():
        # config.json names what was trained (the race's pick, the data rules' values: the weights'
        # layout depends on factor_share); the request, with its auto settings, stays beside it
        info["requested_config"] = config.to_dict()
        info["config"] = result.config.to_dict()
    if result.selection != "val_auc":
        metrics["selection_note"] = "no validation rows with both classes: the last epoch was kept"
    scorer.release()
    pred, clip = prediction_tables(data, rows, p_full, p_clip)
    write_csv(result.history, out_dir / R.HISTORY)
    atomic_torch_save(out_dir / R.WEIGHTS, model.state_dict())
    atomic_write_json(out_dir / R.ID_MAPS, data.maps.to_dict())
    atomic_write_npy(out_dir / R.DURATIONS, data.durations)
    atomic_write_npz(out_dir / R.GRAPH_POS, data.graphs.RP)
    atomic_write_npz(out_dir / R.GRAPH_NEG, data.graphs.RN)
    if data.features is not None:
        data.features.save(out_dir)
    write_csv(pred, out_dir / R.TEST_PRED)
    write_csv(clip, out_dir / R.TEST_CLIP_PRED)
    atomic_write_json(out_dir / R.METRICS, metrics)
    info.update(status="finished", finished=now_utc(), train_seconds=float(result.train_seconds))
    atomic_write_json(out_dir / R.CONFIG, info)
    atomic_write_json(out_dir / R.PROGRESS, {"event": "done", "time": now_utc()})
    atomic_write_bytes(out_dir / R.DONE, (now_utc() + "\n").encode())
    log.info("run written to %s: test AUC %.4f", out_dir, metrics.get("auc", np.nan))
