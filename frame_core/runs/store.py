"""Training runs on disk: the run folder layout, status and listing (the run contract).

A run directory holds::

    config.json               settings (FrameConfig), status, data sha256, library versions, seed
    progress.json             the latest progress event (for pollers; rewritten while training)
    history.csv               one row per epoch: loss, clip_loss, video_loss, val_auc, …, elapsed
    metrics.json              test metrics (auc, gauc, logloss, recall@3, ndcg@3, recall@5, ndcg@5),
                              val_auc, skip localisation, best_epoch, train_seconds, …
    weights.pt                the model's state_dict (torch.save; load with weights_only=True)
    id_maps.json              user and video ids in index order
    video_durations.npy       float64 (n_videos,), seconds
    graph_pos.npz, graph_neg.npz   binary training graphs R^P, R^N (scipy CSR, no pickle)
    clip_features.npy, clip_features_index.json   visual features (only when used)
    test_predictions.csv      user_id, video_id, interaction_timestamp, y, p_full
    test_clip_predictions.csv user_id, video_id, interaction_timestamp, y, skip_clip, p_clip_0..
    DONE                      written last: a run is *finished* only when this file exists

Every file is written atomically (temporary file in the same folder, then ``os.replace``), and
``DONE`` is written after everything else, so a crash, kill or cancel never leaves a run that
is listed as finished. ``config.json``'s ``status`` is ``running``, ``finished``, ``failed`` or
``cancelled``; :func:`list_runs` reports a ``running`` run whose process is gone as
``interrupted``. Nothing is pickled: ids and feature info are JSON / ``.npy``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from frame_core.common.atomic import read_json
from frame_core.common.errors import InputError
from frame_core.evaluation.metrics import RUN_METRIC_KEYS

DONE = "DONE"
CONFIG = "config.json"
PROGRESS = "progress.json"
HISTORY = "history.csv"
METRICS = "metrics.json"
WEIGHTS = "weights.pt"
ID_MAPS = "id_maps.json"
DURATIONS = "video_durations.npy"
GRAPH_POS = "graph_pos.npz"
GRAPH_NEG = "graph_neg.npz"
TEST_PRED = "test_predictions.csv"
TEST_CLIP_PRED = "test_clip_predictions.csv"
STATUSES = ("running", "finished", "failed", "cancelled", "interrupted")


def library_versions() -> dict[str, str]:
    import platform

    import scipy

    from frame_core import __version__ as fv  # type: ignore[attr-defined]

    return {"python": platform.python_version(), "torch": torch.__version__, "numpy": np.__version__,
            "pandas": pd.__version__, "scipy": scipy.__version__, "frame_core": str(fv)}


def _pid_alive(pid) -> bool:
    try:
        os.kill(int(pid), 0)
    except (OSError, ValueError, TypeError):
        return False
    return True


def finished_at(run_dir: str | os.PathLike) -> float | None:
    """When the run finished (``DONE``'s modification time, Unix seconds), or None when it is
    not a finished run. Pages key their caches on it, so a re-trained folder is reloaded."""
    try:
        return (Path(run_dir) / DONE).stat().st_mtime
    except OSError:
        return None


def runs_signature(root: str | os.PathLike) -> tuple:
    """A cheap fingerprint of the finished runs under ``root``: (folder name, finished time)
    pairs, sorted. Changes whenever a run finishes, is re-trained or is removed."""
    root = Path(root)
    if not root.is_dir():
        return ()
    return tuple((d.name, t) for d in sorted(root.iterdir()) if (t := finished_at(d)) is not None)


def run_status(run_dir: str | os.PathLike) -> str:
    """``finished`` iff ``DONE`` exists; otherwise the config's status, with ``running`` runs
    whose process (same host) is gone reported as ``interrupted``."""
    run_dir = Path(run_dir)
    if (run_dir / DONE).exists():
        return "finished"
    try:
        cfg = read_json(run_dir / CONFIG)
    except (OSError, ValueError):
        return "interrupted"
    if not isinstance(cfg, dict):
        return "interrupted"
    status = cfg.get("status", "running")
    if status == "finished":  # config written but DONE never was
        return "interrupted"
    if status == "running":
        import socket

        if cfg.get("host") == socket.gethostname() and not _pid_alive(cfg.get("pid")):
            return "interrupted"
    return status if status in STATUSES else "interrupted"


# ---------------------------------------------------------------------- listing


def _listing_rows(root: Path, include_unfinished: bool):
    """(row, problem) per run sub-folder of ``root``; ``problem`` is the one-line reason a
    finished run cannot be used (:func:`frame_core.runs.check.run_problem`), else None."""
    from frame_core.runs.check import run_problem

    if not root.is_dir():
        return
    for d in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        done = (d / DONE).exists()
        if not (d / CONFIG).exists() and not done:
            continue
        status = run_status(d)
        if status != "finished" and not include_unfinished:
            continue
        problem = run_problem(d) if status == "finished" else None
        try:
            info = read_json(d / CONFIG)
        except (OSError, ValueError):
            info = {}
        info = info if isinstance(info, dict) else {}
        cfg = info.get("config") if isinstance(info.get("config"), dict) else {}
        data = info.get("data") if isinstance(info.get("data"), dict) else {}
        row = {
            "run_id": d.name, "path": str(d), "status": status, "created": info.get("created"),
            "name": info.get("name"), "dataset": data.get("source"), "data_sha256": data.get("sha256"),
            "nc": cfg.get("nc"), "policy": cfg.get("policy"), "video_score": cfg.get("video_score"),
            "seed": cfg.get("seed"), "features": bool(info.get("features")), "error": info.get("error"),
            "kind": info.get("kind", "frame"),
        }
        met = {}
        if status == "finished" and problem is None:
            try:
                met = read_json(d / METRICS)
            except (OSError, ValueError):
                met = {}
        for k in RUN_METRIC_KEYS:
            v = met.get(k)
            row[k] = float("nan") if v is None else v
        yield row, problem


LIST_COLUMNS = ["run_id", "path", "status", "created", "name", "dataset", "data_sha256", "nc", "policy",
                "video_score", "seed", "features", *RUN_METRIC_KEYS, "error", "kind"]


def list_runs(root: str | os.PathLike, include_unfinished: bool = False) -> pd.DataFrame:
    """Runs in the sub-folders of ``root`` (one level), newest first.

    By default only finished runs (``DONE`` present) that can be used; a finished run whose
    folder is damaged is listed by :func:`unusable_runs` instead, never here. With
    ``include_unfinished`` also running, failed, cancelled and interrupted ones. Columns:
    ``run_id`` (folder name), ``path``, ``status``, ``created``, ``name``, ``dataset``,
    ``data_sha256``, ``nc``, ``policy``, ``video_score``, ``seed``, ``features`` (bool), the
    metrics in ``RUN_METRIC_KEYS`` (NaN when missing), ``error`` and ``kind``.
    """
    rows = [row for row, problem in _listing_rows(Path(root), include_unfinished) if problem is None]
    df = pd.DataFrame(rows, columns=LIST_COLUMNS)
    if len(df):
        df = df.sort_values(["created", "run_id"], ascending=False, na_position="last").reset_index(drop=True)
    return df


def unusable_runs(root: str | os.PathLike) -> pd.DataFrame:
    """Finished runs under ``root`` whose folder cannot be used (damaged or tampered with):
    columns ``run_id``, ``path``, ``dataset`` (None when ``config.json`` itself is unreadable)
    and ``problem`` (one line: "run <id> cannot be used: <reason>"), sorted by ``run_id``."""
    from frame_core.runs.check import unusable_message

    rows = [{"run_id": row["run_id"], "path": row["path"],
             "dataset": None if row["dataset"] is None else str(row["dataset"]),
             "problem": unusable_message(row["path"], problem)}
            for row, problem in _listing_rows(Path(root), False) if problem is not None]
    return pd.DataFrame(rows, columns=["run_id", "path", "dataset", "problem"])


def finished_info(run_dir: str | os.PathLike) -> dict:
    """``config.json`` of a **finished**, undamaged run folder; InputError (one line) for a
    folder that is not a run folder, whose run did not finish, or that cannot be used
    (:func:`frame_core.runs.check.checked_info`)."""
    from frame_core.runs.check import checked_info

    run_dir = Path(run_dir)
    if not (run_dir / CONFIG).exists() and not (run_dir / DONE).exists():
        raise InputError(f"{run_dir} is not a run folder (no {CONFIG})")
    status = run_status(run_dir)
    if status != "finished":
        raise InputError(f"run {run_dir.name} did not finish (status: {status}); train it again")
    return checked_info(run_dir)
