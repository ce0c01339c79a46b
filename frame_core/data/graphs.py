"""Id maps and the positive / negative user–clip graphs (docs/design.md §3).

A *clip* is a (video, clip index) pair with the global index ``video_index * nc + clip``.
``R^P`` and ``R^N`` are 0/1 matrices of shape (n_users, n_videos · nc) built from **training
rows only**: ``R^P[u, c] = 1`` when u has a positive label on clip c in some training view,
``R^N[u, c] = 1`` likewise for a negative label. Both are kept sparse (scipy CSR for
inspection, ``torch.sparse_csr_tensor`` for propagation); no dense user × clip matrix is
ever made.

Normalisation ``R̃``:
- ``"symmetric"`` (default): ``D_u^-1/2 · R · D_c^-1/2`` with the degrees of R itself;
- ``"row"``: ``D_u^-1 · R`` (each user's row averages its clips).
Rows or columns of degree 0 stay 0.
"""

from __future__ import annotations

import dataclasses
import warnings
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import scipy.sparse as sp

from frame_core.common import schema as S
from frame_core.common.errors import InputError
from frame_core.data.labels import ClipLabels, clip_labels
from frame_core.data.split import TRAIN

if TYPE_CHECKING:  # torch is imported where a tensor is made: inspecting graphs (the app) never pays for it
    import torch

NORMS = ("symmetric", "row")


@dataclasses.dataclass(frozen=True)
class IdMaps:
    """Contiguous 0-based indices for user and video ids, fixed once per dataset.

    ``users[i]`` is the id of user index i (strings); the same for ``videos``.
    """

    users: np.ndarray
    videos: np.ndarray

    @classmethod
    def from_log(cls, log: pd.DataFrame) -> "IdMaps":
        return cls(
            users=pd.unique(log[S.USER].to_numpy(dtype=object)).astype(object),
            videos=pd.unique(log[S.VIDEO].to_numpy(dtype=object)).astype(object),
        )

    @property
    def n_users(self) -> int:
        return len(self.users)

    @property
    def n_videos(self) -> int:
        return len(self.videos)

    def user_index(self, ids) -> np.ndarray:
        """Index of each id, -1 for ids not in the map (cold users)."""
        return pd.Index(self.users).get_indexer(np.asarray(ids, dtype=object)).astype("int64")

    def video_index(self, ids) -> np.ndarray:
        """Index of each id, -1 for ids not in the map."""
        return pd.Index(self.videos).get_indexer(np.asarray(ids, dtype=object)).astype("int64")

    def to_dict(self) -> dict:
        return {"users": [str(u) for u in self.users], "videos": [str(v) for v in self.videos]}

    @classmethod
    def from_dict(cls, d: dict) -> "IdMaps":
        return cls(users=np.asarray(d["users"], dtype=object), videos=np.asarray(d["videos"], dtype=object))


def binary_matrix(rows: np.ndarray, cols: np.ndarray, shape: tuple[int, int]) -> sp.csr_matrix:
    """0/1 CSR matrix with ones at (rows, cols); duplicates collapse to 1."""
    m = sp.csr_matrix(
        (np.ones(len(rows), dtype="float32"), (np.asarray(rows, "int64"), np.asarray(cols, "int64"))),
        shape=shape,
    )
    m.sum_duplicates()
    m.data[:] = 1.0
    return m


def normalize(R: sp.csr_matrix, mode: str = "symmetric") -> sp.csr_matrix:
    """Normalised copy of a 0/1 CSR matrix (float32). See the module docstring."""
    if mode not in NORMS:
        raise InputError(f"unknown normalisation {mode!r}; use one of {', '.join(NORMS)}")
    R = R.tocsr().astype("float32")
    du = np.asarray(R.sum(axis=1)).ravel()
    with np.errstate(divide="ignore"):
        if mode == "row":
            inv_u = np.where(du > 0, 1.0 / du, 0.0).astype("float32")
            return sp.diags(inv_u).dot(R).tocsr()
        dc = np.asarray(R.sum(axis=0)).ravel()
        inv_u = np.where(du > 0, du ** -0.5, 0.0).astype("float32")
        inv_c = np.where(dc > 0, dc ** -0.5, 0.0).astype("float32")
    out = R.copy()
    out.data *= inv_u[np.repeat(np.arange(R.shape[0]), np.diff(R.indptr))] * inv_c[R.indices]
    return out


def to_torch_csr(R: sp.csr_matrix) -> torch.Tensor:
    """scipy CSR → ``torch.sparse_csr_tensor`` (float32, int64 indices)."""
    import torch

    R = R.tocsr()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
        return torch.sparse_csr_tensor(
            torch.from_numpy(R.indptr.astype("int64")),
            torch.from_numpy(R.indices.astype("int64")),
            torch.from_numpy(R.data.astype("float32")),
            size=R.shape,
            check_invariants=False,  # built by scipy from sorted, deduplicated CSR
        )


@dataclasses.dataclass
class UserClipGraphs:
    """Binary and normalised positive / negative graphs over (n_users, n_videos · nc)."""

    RP: sp.csr_matrix
    RN: sp.csr_matrix
    RP_norm: sp.csr_matrix
    RN_norm: sp.csr_matrix
    nc: int
    norm: str

    def torch(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(R̃p, R̃n) as torch sparse CSR tensors."""
        return to_torch_csr(self.RP_norm), to_torch_csr(self.RN_norm)

    @property
    def shape(self) -> tuple[int, int]:
        return self.RP.shape


def build_graphs(
    user_idx: np.ndarray,
    video_idx: np.ndarray,
    labels: ClipLabels,
    part: np.ndarray,
    n_users: int,
    n_videos: int,
    norm: str = "symmetric",
) -> UserClipGraphs:
    """Graphs from the labelled clips of **training** views only.

    ``user_idx``/``video_idx``/``part`` have one entry per view (row); ``labels.row`` points
    into them. Rows whose ``part`` is not TRAIN never reach a graph.
    """
    nc = labels.nc
    keep = np.asarray(part)[labels.row] == TRAIN
    rows = labels.row[keep]
    u = np.asarray(user_idx)[rows]
    c = np.asarray(video_idx)[rows] * nc + labels.clip[keep]
    lab = labels.label[keep]
    shape = (n_users, n_videos * nc)
    RP = binary_matrix(u[lab == 1], c[lab == 1], shape)
    RN = binary_matrix(u[lab == 0], c[lab == 0], shape)
    return UserClipGraphs(RP=RP, RN=RN, RP_norm=normalize(RP, norm), RN_norm=normalize(RN, norm), nc=nc, norm=norm)


def graphs_for_log(
    log: pd.DataFrame, part: np.ndarray, nc: int, policy: str, maps: IdMaps | None = None, norm: str = "symmetric"
) -> tuple[IdMaps, ClipLabels, UserClipGraphs]:
    """Convenience: id maps, labels of every row, and training graphs for a clean log."""
    maps = maps or IdMaps.from_log(log)
    labels = clip_labels(log[S.PLAY].to_numpy(), log[S.DURATION].to_numpy(), nc, policy)
    g = build_graphs(
        maps.user_index(log[S.USER]), maps.video_index(log[S.VIDEO]), labels, part,
        maps.n_users, maps.n_videos, norm,
    )
    return maps, labels, g
