"""A finished run loaded from disk, and the inference API over it (:meth:`Run.predict`).

The folder layout is described in :mod:`frame_core.runs.store`; weights load with
``weights_only=True`` and nothing is unpickled.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch

from frame_core.common import schema as S
from frame_core.common.atomic import read_json
from frame_core.common.errors import InputError
from frame_core.common.safe_npy import load_npy
from frame_core.data.features import ClipFeatures, clip_metadata
from frame_core.data.graphs import IdMaps, normalize
from frame_core.model.config import FrameConfig
from frame_core.model.frame import FrameModel
from frame_core.model.scorer import Scorer
from frame_core.runs.store import (
    DURATIONS,
    GRAPH_NEG,
    GRAPH_POS,
    HISTORY,
    ID_MAPS,
    METRICS,
    TEST_CLIP_PRED,
    TEST_PRED,
    WEIGHTS,
    finished_info,
)


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
    features: ClipFeatures | None
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

    def recommend(self, user, k: int = 10) -> pd.DataFrame:
        """The top-``k`` videos for ``user`` by predicted probability of a full view.

        Candidates are the videos of the run's id map that the user did **not** view in the
        training rows (read from the run's training graphs: every training view left at least
        one labelled clip). A user the run has never seen gets cold-start scores over every
        video. Returns columns ``rank`` (1-based), ``user_id``, ``video_id``,
        ``duration_time`` (s), ``p_full``, ``p_clip_0 .. p_clip_{nc-1}``; ties keep id-map order.
        """
        return top_k(self, self.durations, user, k)

    def candidates(self, user) -> np.ndarray:
        """Id-map indices of the videos ``user`` did not view in the training rows (all videos
        for a user the run has never seen), ascending."""
        seen = np.zeros(self.maps.n_videos, dtype=bool)
        u = _index_of(self._user_index, pd.Series([str(user)], dtype="string"))[0]
        if u >= 0:
            for g in (self.train_graph_pos, self.train_graph_neg):
                seen[g.indices[g.indptr[u]:g.indptr[u + 1]] // self.nc] = True
        return np.flatnonzero(~seen)

    @functools.cached_property
    def train_graph_pos(self) -> sp.csr_matrix:
        """The binary training graph R^P (users × clips), as stored in the run folder."""
        return sp.load_npz(self.path / GRAPH_POS).tocsr()

    @functools.cached_property
    def train_graph_neg(self) -> sp.csr_matrix:
        """The binary training graph R^N (users × clips), as stored in the run folder."""
        return sp.load_npz(self.path / GRAPH_NEG).tocsr()

    @functools.cached_property
    def _user_index(self) -> pd.Index:
        return pd.Index([str(x) for x in self.maps.users], dtype="string")

    @functools.cached_property
    def _video_index(self) -> pd.Index:
        return pd.Index([str(x) for x in self.maps.videos], dtype="string")


def top_k(run, durations: np.ndarray, user, k: int) -> pd.DataFrame:
    """``run.predict`` over ``run.candidates(user)`` (videos of ``run.maps``, durations in
    seconds per id-map video), best ``k`` by ``p_full`` with a 1-based ``rank``; ties keep
    id-map order. Shared by FRAME and ensemble runs."""
    cand = run.candidates(user)
    df = pd.DataFrame({S.USER: str(user), S.VIDEO: [str(v) for v in np.asarray(run.maps.videos, dtype=object)[cand]],
                       S.DURATION: durations[cand]})
    pred = run.predict(df)
    pred.insert(2, S.DURATION, df[S.DURATION].to_numpy())
    top = pred.sort_values("p_full", ascending=False, kind="mergesort").head(max(0, int(k))).reset_index(drop=True)
    top.insert(0, "rank", np.arange(1, len(top) + 1))
    return top


def _index_of(index: pd.Index, values: pd.Series) -> np.ndarray:
    """Position of each value in ``index`` (−1 where absent or missing), hashing each distinct
    value once."""
    codes, uniq = pd.factorize(values)
    pos = np.append(index.get_indexer(uniq).astype("int64"), -1)  # code −1 (missing) → −1
    return pos[codes]


def load_model_files(run_dir: Path, config: FrameConfig, info: dict) -> tuple[FrameModel, IdMaps, np.ndarray, ClipFeatures | None]:
    """Rebuild the model of a run directory from its JSON / npy / npz / state_dict files."""
    maps = IdMaps.from_dict(read_json(run_dir / ID_MAPS))
    durations = load_npy(run_dir / DURATIONS)
    RP = sp.load_npz(run_dir / GRAPH_POS).tocsr()
    RN = sp.load_npz(run_dir / GRAPH_NEG).tocsr()
    features = ClipFeatures.load(run_dir) if info.get("features") else None
    feat_dim = features.dim if features is not None else 0
    model = FrameModel(config, maps.n_users, maps.n_videos, feat_dim=feat_dim)
    state = torch.load(run_dir / WEIGHTS, map_location="cpu", weights_only=True)
    state.setdefault("calib", torch.tensor([1.0, 0.0]))  # runs written before calibration existed
    model.load_state_dict(state, assign=True)  # the loaded tensors become the weights: no second copy
    del state
    nc = config.nc
    warm = (np.diff(RP.tocsc().indptr) + np.diff(RN.tocsc().indptr)) > 0
    clip_feat = found = None
    if features is not None:
        clip_feat, found = features.gather(maps.videos, nc)
    model.attach((normalize(RP, config.norm), normalize(RN, config.norm)), clip_metadata(durations, nc), warm,
                 clip_feat, found)
    model.eval()
    return model, maps, durations, features


def load_frame_run(run_dir: str | os.PathLike) -> Run:
    """Load a **finished** FRAME run folder; raises InputError for a folder that is not one.
    (:func:`frame_core.runs.loader.load_run` loads any kind of run.)"""
    run_dir = Path(run_dir)
    info = finished_info(run_dir)
    config = FrameConfig.from_dict(info["config"])
    model, maps, durations, features = load_model_files(run_dir, config, info)
    metrics = read_json(run_dir / METRICS)
    return Run(path=run_dir, info=info, config=config, metrics=metrics, maps=maps, model=model,
               durations=durations, features=features)
