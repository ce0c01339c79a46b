"""Sparse building blocks of FRAME's graph convolution (docs/design.md, "Graphs").

- :func:`spmm`: CSR × dense with a backward through the precomputed CSR transpose (never a
  dense user × clip matrix);
- :class:`GraphOps`: R̃p / R̃n (U, C) and their transposes in the forms the model needs;
- :func:`first_hop`: both graphs' first hop in one sparse product over the stacked
  [R̃p; R̃n] (2U, C), with the batch's edges taken out and a row gather of H_c0, whose backward
  writes every gradient of H_c0 into **one** (C, d) buffer (docs/design.md §4, "Speed");
- :class:`EdgeRemoval` / :func:`edge_values`: a training batch's own edges, to take out of R̃
  for that step so that a view's label never reaches its own score through the graph.
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np
import scipy.sparse as sp
import torch

from frame_core.data.graphs import to_torch_csr


class _SpMM(torch.autograd.Function):
    """``A @ X`` for a constant sparse CSR ``A`` (m, n) and dense ``X`` (n, d); the backward
    uses the CSR transpose ``At`` (n, m) given alongside."""

    @staticmethod
    def forward(ctx, A, At, X):  # noqa: D401
        ctx.At = At
        return torch.sparse.mm(A, X)

    @staticmethod
    def backward(ctx, G):
        return None, None, torch.sparse.mm(ctx.At, G.contiguous())


def spmm(A: torch.Tensor, At: torch.Tensor, X: torch.Tensor) -> torch.Tensor:
    """Sparse (CSR) × dense product with a cheap backward. Shapes: A (m, n), At (n, m), X (n, d)."""
    if A.shape[0] == 0 or A.shape[1] == 0 or A.values().numel() == 0:
        return X.new_zeros((A.shape[0], X.shape[1])) + 0.0 * X.sum()
    return _SpMM.apply(A, At, X)


class GraphOps:
    """Normalised graphs in the forms the model needs.

    ``S``/``St``: the stacked [R̃p; R̃n] (2U, C) and its transpose (C, 2U), torch CSR, for the
    first hop (:func:`first_hop`, :mod:`~frame_core.model.hop_terms`); ``RPt_sp``/``RNt_sp``:
    scipy CSR (C, U) for cheap row selection of a batch's clips (the second hop). ``RP``/``RN``
    (U, C) and ``RPt``/``RNt`` (C, U), torch CSR, are built on first use (only a second hop over
    every clip needs them), so that a training process holds three copies of the graphs, not
    seven (about 0.2 GB less at Micro-video-B scale).
    """

    def __init__(self, RP_norm: sp.csr_matrix, RN_norm: sp.csr_matrix):
        self.shape = RP_norm.shape
        self._norm = (RP_norm, RN_norm)
        self.RPt_sp = RP_norm.T.tocsr()
        self.RNt_sp = RN_norm.T.tocsr()
        stacked = sp.vstack([RP_norm.tocsr(), RN_norm.tocsr()], format="csr")
        self.S = to_torch_csr(stacked)
        self.St = to_torch_csr(stacked.T.tocsr())

    @functools.cached_property
    def RP(self) -> torch.Tensor:
        return to_torch_csr(self._norm[0])

    @functools.cached_property
    def RN(self) -> torch.Tensor:
        return to_torch_csr(self._norm[1])

    @functools.cached_property
    def RPt(self) -> torch.Tensor:
        return to_torch_csr(self.RPt_sp)

    @functools.cached_property
    def RNt(self) -> torch.Tensor:
        return to_torch_csr(self.RNt_sp)

    def clip_rows(self, clips: np.ndarray) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Rows of R̃pᵀ and R̃nᵀ for the given global clip indices, with their transposes:
        (Sp (m, U), Spᵀ (U, m), Sn, Snᵀ) as torch CSR."""
        sp_rows = self.RPt_sp[clips]
        sn_rows = self.RNt_sp[clips]
        return (
            to_torch_csr(sp_rows), to_torch_csr(sp_rows.T.tocsr()),
            to_torch_csr(sn_rows), to_torch_csr(sn_rows.T.tocsr()),
        )


class FirstHopFn(torch.autograd.Function):
    """See :func:`first_hop`. Non-tensor-gradient inputs: S (2U, C), St (C, 2U), the removed
    edges as (rows in 0..2U-1, clips, values), and the clip rows ``sel`` to gather."""

    @staticmethod
    def forward(ctx, h0, S, St, rows, clips, values, sel):  # noqa: D401
        agg = torch.sparse.mm(S, h0) if S.values().numel() else h0.new_zeros((S.shape[0], h0.shape[1]))
        if rows.numel():
            agg.index_add_(0, rows, h0[clips] * values[:, None], alpha=-1)
        ctx.St, ctx.n_clips = St, h0.shape[0]
        ctx.save_for_backward(rows, clips, values, sel)
        return agg, h0[sel]

    @staticmethod
    def backward(ctx, g_agg, g_sel):
        rows, clips, values, sel = ctx.saved_tensors
        if g_agg is None:
            g = g_sel.new_zeros((ctx.n_clips, g_sel.shape[1]))
        else:
            g_agg = g_agg.contiguous()
            St = ctx.St
            g = torch.sparse.mm(St, g_agg) if St.values().numel() else g_agg.new_zeros((ctx.n_clips, g_agg.shape[1]))
            if rows.numel():
                g.index_add_(0, clips, g_agg[rows] * values[:, None], alpha=-1)
        if g_sel is not None:
            g.index_add_(0, sel, g_sel)
        return g, None, None, None, None, None, None


def first_hop(graph: "GraphOps", h0: torch.Tensor, remove: "EdgeRemoval | None" = None,
              sel: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(R̃p·H_c0, R̃n·H_c0, H_c0[sel]) with ``remove``'s edges taken out of R̃p / R̃n.

    ``h0`` (C, d); ``sel`` (m,) global clip indices (none when None). Returns (U, d), (U, d),
    (m, d). The same values as two :func:`spmm` calls, two ``index_add`` and an index of
    ``h0``, but one sparse product over the stacked graph forward and backward, and in the
    backward one (C, d) gradient buffer that the removed edges and the gathered rows are added
    into in place (each separate use of ``h0`` otherwise allocates and fills its own (C, d)
    gradient: docs/design.md §4, "Speed")."""
    U = graph.shape[0]
    empty_i = torch.zeros(0, dtype=torch.int64)
    if remove is not None:
        rows = torch.cat([remove.pos_users, remove.neg_users + U])
        clips = torch.cat([remove.pos_clips, remove.neg_clips])
        values = torch.cat([remove.pos_values, remove.neg_values]).to(h0.dtype)
    else:
        rows, clips, values = empty_i, empty_i, h0.new_zeros(0)
    sel = empty_i if sel is None else sel
    agg, picked = FirstHopFn.apply(h0, graph.S, graph.St, rows, clips, values, sel)
    return agg[:U], agg[U:], picked


@dataclasses.dataclass
class EdgeRemoval:
    """Edges to take out of R̃p / R̃n for one training step (the batch's own labelled clips), so
    that a view's label never reaches its own score through the graph.

    ``*_users`` (k,) user index, ``*_clips`` (k,) global clip index, ``*_values`` (k,) the
    edge's entry in R̃, ``*_rows`` (k,) the position of the clip in the step's clip subset.
    """

    pos_users: torch.Tensor
    pos_clips: torch.Tensor
    pos_values: torch.Tensor
    pos_rows: torch.Tensor
    neg_users: torch.Tensor
    neg_clips: torch.Tensor
    neg_values: torch.Tensor
    neg_rows: torch.Tensor


class EdgeLookup:
    """Entries of a CSR matrix ``R`` by (row, column), vectorised: the matrix's (row, column) keys
    are sorted once, each query is a binary search."""

    def __init__(self, R: sp.csr_matrix):
        R = R.tocsr()
        R.sort_indices()
        self.n_cols = np.int64(R.shape[1])
        self.keys = np.repeat(np.arange(R.shape[0], dtype="int64"), np.diff(R.indptr)) * self.n_cols + R.indices.astype("int64")
        self.data = R.data

    def rows(self, users: np.ndarray, clips: np.ndarray) -> np.ndarray:
        """``R[users[i], clips[i, j]]`` (0 where there is no edge): ``users`` (n,), ``clips``
        (n, k) → float32 (n, k)."""
        clips = np.asarray(clips, dtype="int64")
        if not len(self.keys):
            return np.zeros(clips.shape, dtype="float32")
        q = (np.asarray(users, dtype="int64")[:, None] * self.n_cols + clips).ravel()
        pos = np.minimum(np.searchsorted(self.keys, q), len(self.keys) - 1)
        return np.where(self.keys[pos] == q, self.data[pos], 0.0).astype("float32").reshape(clips.shape)

    def views(self, users: np.ndarray, videos: np.ndarray, nc: int, chunk: int = 1 << 17) -> np.ndarray:
        """Each view's entries ``R[users[i], videos[i] · nc + j]`` (n, nc) float32, the clip
        indices built ``chunk`` views at a time, so the temporaries stay a few MB whatever n (at
        Micro-video-B scale the whole log at once held about 0.5 GB of them)."""
        out = np.zeros((len(users), nc), dtype="float32")
        for s in range(0, len(users), chunk):
            clips = np.asarray(videos[s : s + chunk], dtype="int64")[:, None] * nc + np.arange(nc)
            out[s : s + chunk] = self.rows(users[s : s + chunk], clips)
        return out


def edge_values(R: sp.csr_matrix, users: np.ndarray, clips: np.ndarray) -> np.ndarray:
    """Entries ``R[users[i], clips[i, j]]`` of a CSR matrix (0 where there is no edge), vectorised.
    ``users`` (n,), ``clips`` (n, k) → float32 (n, k) (:class:`EdgeLookup`)."""
    return EdgeLookup(R).rows(users, clips)
