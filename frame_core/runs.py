"""Training runs on disk: layout, atomic writes, listing, loading and the inference API.

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

import dataclasses
import functools
import io
import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch

from . import schema as S
from .atomic import atomic_open, atomic_write_bytes
from .config import FrameConfig
from .errors import InputError
from .features import FeatureTable, clip_metadata
from .graphs import IdMaps, normalize
from .inference import Scorer
from .model import FrameModel

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


# ---------------------------------------------------------------------- atomic writes
def json_safe(obj: Any) -> Any:
    """Replace NaN/inf by None and numpy scalars by Python ones, recursively."""
    if isinstance(obj, dict):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def atomic_write_json(path: str | os.PathLike, obj: Any) -> None:
    atomic_write_bytes(path, json.dumps(json_safe(obj), indent=2, allow_nan=False).encode("utf-8"))


def atomic_write_npy(path: str | os.PathLike, arr: np.ndarray) -> None:
    buf = io.BytesIO()
    np.save(buf, np.asarray(arr), allow_pickle=False)
    atomic_write_bytes(path, buf.getvalue())


def atomic_write_npz(path: str | os.PathLike, m: sp.spmatrix) -> None:
    buf = io.BytesIO()
    sp.save_npz(buf, sp.csr_matrix(m), compressed=True)
    atomic_write_bytes(path, buf.getvalue())


def atomic_write_csv(path: str | os.PathLike, df: pd.DataFrame) -> None:
    """Formula-safe CSV (see :mod:`frame_core.safe_csv`), written atomically."""
    from .safe_csv import write_csv

    write_csv(df, path)


def atomic_torch_save(path: str | os.PathLike, state: dict) -> None:
    """``torch.save`` into a temporary file in the same folder, then ``os.replace``."""
    with atomic_open(path) as fh:
        torch.save(state, fh)


def read_json(path: str | os.PathLike) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def library_versions() -> dict[str, str]:
    import platform

    import scipy

    from . import __version__ as fv  # type: ignore[attr-defined]

    return {"python": platform.python_version(), "torch": torch.__version__, "numpy": np.__version__,
            "pandas": pd.__version__, "scipy": scipy.__version__, "frame_core": str(fv)}


def _pid_alive(pid) -> bool:
    try:
        os.kill(int(pid), 0)
    except (OSError, ValueError, TypeError):
        return False
    return True


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
    status = cfg.get("status", "running")
    if status == "finished":  # config written but DONE never was
        return "interrupted"
    if status == "running":
        import socket

        if cfg.get("host") == socket.gethostname() and not _pid_alive(cfg.get("pid")):
            return "interrupted"
    return status if status in STATUSES else "interrupted"


# ---------------------------------------------------------------------- listing
METRIC_COLUMNS = ("auc", "gauc", "logloss", "recall@3", "ndcg@3", "recall@5", "ndcg@5", "val_auc",
                  "skip_hit@1", "best_epoch", "train_seconds")


def list_runs(root: str | os.PathLike, include_unfinished: bool = False) -> pd.DataFrame:
    """Runs in the sub-folders of ``root`` (one level), newest first.

    By default only finished runs (``DONE`` present). With ``include_unfinished`` also running,
    failed, cancelled and interrupted ones. Columns: ``run_id`` (folder name), ``path``,
    ``status``, ``created``, ``name``, ``dataset``, ``data_sha256``, ``nc``, ``policy``,
    ``video_score``, ``seed``, ``features`` (bool), the metrics in ``METRIC_COLUMNS`` (NaN when
    missing) and ``error``.
    """
    root = Path(root)
    rows = []
    if root.is_dir():
        for d in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
            if not (d / CONFIG).exists():
                continue
            status = run_status(d)
            if status != "finished" and not include_unfinished:
                continue
            try:
                info = read_json(d / CONFIG)
            except (OSError, ValueError):
                info = {}
            cfg = info.get("config", {})
            row = {
                "run_id": d.name, "path": str(d), "status": status, "created": info.get("created"),
                "name": info.get("name"), "dataset": info.get("data", {}).get("source"),
                "data_sha256": info.get("data", {}).get("sha256"),
                "nc": cfg.get("nc"), "policy": cfg.get("policy"), "video_score": cfg.get("video_score"),
                "seed": cfg.get("seed"), "features": bool(info.get("features")), "error": info.get("error"),
            }
            met = {}
            if status == "finished":
                try:
                    met = read_json(d / METRICS)
                except (OSError, ValueError):
                    met = {}
            for k in METRIC_COLUMNS:
                v = met.get(k)
                row[k] = float("nan") if v is None else v
            rows.append(row)
    cols = ["run_id", "path", "status", "created", "name", "dataset", "data_sha256", "nc", "policy",
            "video_score", "seed", "features", *METRIC_COLUMNS, "error"]
    df = pd.DataFrame(rows, columns=cols)
    if len(df):
        df = df.sort_values(["created", "run_id"], ascending=False, na_position="last").reset_index(drop=True)
    return df


# ---------------------------------------------------------------------- loading
@dataclasses.dataclass
class Run:
    """A finished run loaded from disk. :meth:`predict` is the public inference API."""

    path: Path
    info: dict
    config: FrameConfig
    metrics: dict
    maps: IdMaps
    model: FrameModel
    durations: np.ndarray
    features: FeatureTable | None
    _scorer: Scorer | None = dataclasses.field(default=None, repr=False)

    @property
    def nc(self) -> int:
        return self.config.nc

    @property
    def history(self) -> pd.DataFrame:
        return pd.read_csv(self.path / HISTORY)

    def test_predictions(self) -> pd.DataFrame:
        return pd.read_csv(self.path / TEST_PRED, dtype={S.USER: str, S.VIDEO: str})

    def test_clip_predictions(self) -> pd.DataFrame:
        return pd.read_csv(self.path / TEST_CLIP_PRED, dtype={S.USER: str, S.VIDEO: str})

    @property
    def scorer(self) -> Scorer:
        if self._scorer is None:
            self._scorer = Scorer(self.model, self.maps, self.durations, self.features).prepare()
        return self._scorer

    def predict(self, df: pd.DataFrame) -> pd.DataFrame:
        """Score user–video pairs.

        ``df`` needs ``user_id`` and ``video_id``; ``duration_time`` (seconds) is used for videos
        the run has never seen (missing → 0 s). Ids are compared as strings. Returns a new
        DataFrame in the input's row order with columns ``user_id, video_id, p_full,
        p_clip_0 .. p_clip_{nc-1}`` (probabilities of a full view and of not skipping each clip).
        Users and videos the run has never seen get a cold-start score, never an error.
        """
        missing = [c for c in (S.USER, S.VIDEO) if c not in df.columns]
        if missing:
            raise InputError(f"cannot predict: the table lacks column(s) {', '.join(missing)}")
        users = df[S.USER].astype("string").reset_index(drop=True)
        videos = df[S.VIDEO].astype("string").reset_index(drop=True)
        uidx = _index_of(self._user_index, users)
        vidx = _index_of(self._video_index, videos)
        if S.DURATION in df.columns:
            dur = pd.to_numeric(df[S.DURATION], errors="coerce").to_numpy(dtype="float64")
        else:
            dur = np.zeros(len(df))
        dur = np.where(np.isfinite(dur) & (dur > 0), dur, 0.0)
        vid_obj = videos.to_numpy(dtype=object) if (vidx < 0).any() else None
        p_full, p_clip = self.scorer.score_indices(uidx, vidx, dur, vid_obj)
        out = pd.DataFrame({S.USER: users, S.VIDEO: videos, "p_full": p_full})
        clip_df = pd.DataFrame(p_clip, columns=[f"p_clip_{c}" for c in range(self.nc)])
        return pd.concat([out, clip_df], axis=1)

    @functools.cached_property
    def _user_index(self) -> pd.Index:
        return pd.Index([str(x) for x in self.maps.users], dtype="string")

    @functools.cached_property
    def _video_index(self) -> pd.Index:
        return pd.Index([str(x) for x in self.maps.videos], dtype="string")


def _index_of(index: pd.Index, values: pd.Series) -> np.ndarray:
    """Position of each value in ``index`` (−1 where absent or missing), hashing each distinct
    value once."""
    codes, uniq = pd.factorize(values)
    pos = np.append(index.get_indexer(uniq).astype("int64"), -1)  # code −1 (missing) → −1
    return pos[codes]


def load_model_files(run_dir: Path, config: FrameConfig, info: dict) -> tuple[FrameModel, IdMaps, np.ndarray, FeatureTable | None]:
    """Rebuild the model of a run directory from its JSON / npy / npz / state_dict files."""
    maps = IdMaps.from_dict(read_json(run_dir / ID_MAPS))
    durations = np.load(run_dir / DURATIONS, allow_pickle=False)
    RP = sp.load_npz(run_dir / GRAPH_POS).tocsr()
    RN = sp.load_npz(run_dir / GRAPH_NEG).tocsr()
    features = FeatureTable.load(run_dir) if info.get("features") else None
    feat_dim = features.dim if features is not None else 0
    model = FrameModel(config, maps.n_users, maps.n_videos, feat_dim=feat_dim)
    state = torch.load(run_dir / WEIGHTS, map_location="cpu", weights_only=True)
    model.load_state_dict(state)
    nc = config.nc
    warm = (np.diff(RP.tocsc().indptr) + np.diff(RN.tocsc().indptr)) > 0
    clip_feat = found = None
    if features is not None:
        clip_feat, found = features.gather(maps.videos, nc)
    model.attach((normalize(RP, config.norm), normalize(RN, config.norm)), clip_metadata(durations, nc), warm,
                 clip_feat, found)
    model.eval()
    return model, maps, durations, features


def load_run(run_dir: str | os.PathLike) -> Run:
    """Load a **finished** run; raises InputError for a folder that is not one."""
    run_dir = Path(run_dir)
    if not (run_dir / CONFIG).exists():
        raise InputError(f"{run_dir} is not a run folder (no {CONFIG})")
    status = run_status(run_dir)
    if status != "finished":
        raise InputError(f"run {run_dir.name} did not finish (status: {status}); train it again")
    info = read_json(run_dir / CONFIG)
    config = FrameConfig.from_dict(info["config"])
    model, maps, durations, features = load_model_files(run_dir, config, info)
    metrics = read_json(run_dir / METRICS)
    return Run(path=run_dir, info=info, config=config, metrics=metrics, maps=maps, model=model,
               durations=durations, features=features)
