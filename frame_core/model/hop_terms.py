"""The first hop of a training step without building H_c0 for every clip (docs/design.md §4,
"Speed").

H_c0 is a sum of terms, one per input of a clip c (position k_c, standardised metadata z_c,
standardised visual features f_c, id embedding e_c, warm mask w_c)::

    H_c0[c] = P[k_c] + W_m z_c + W_f f_c + b + w_c · e_c          (b = the metadata and feature biases)

so the first hop over the stacked graphs S = [R̃p; R̃n] (2U, C) is::

    S · H_c0 = (S · onehot(k)) P + (S · Z) W_mᵀ + (S · F) W_fᵀ + (S · 1) bᵀ + S · (w ⊙ E)

Every left factor but the last is a constant of the graphs and the clip tables: :class:`HopTerms`
computes them once when the graphs are attached ((2U, N_c), (2U, 4), (2U, f) and (2U, 1)), and a
step multiplies them by the small weight matrices. The graphs hold training labels and w marks
the clips with a training label, so S has entries only in warm columns and S · (w ⊙ E) = S · E:
one sparse product with the id table, whose backward writes the table's whole gradient (and that
of its rows gathered for the batch) into one (C, d) buffer. A training step therefore never
materialises H_c0 (C, d), its gradient, or the mask products over every clip; only the batch's
distinct clips get their H_c0 rows. The values equal :meth:`FrameModel.h_c0_all` followed by
:func:`~frame_core.model.sparse.first_hop` up to float rounding (tested in
``tests/test_hop_terms.py``).
"""

from __future__ import annotations

import numpy as np
import torch

from frame_core.model.lean_ops import add_rows
from frame_core.model.sparse import EdgeRemoval, FirstHopFn


class HopTerms:
    """The constant left factors of the first hop (see the module docstring).

    ``S``/``St``: the stacked normalised graphs [R̃p; R̃n] (2U, C) and its transpose, torch CSR
    (:class:`~frame_core.model.sparse.GraphOps`' own, not copied); ``clip_pos`` (C,) the
    position of each clip; ``meta_z`` (C, 4) standardised metadata; ``feat_z`` (C, f)
    standardised features or None; ``warm`` (C,) 1 where a clip has a training label.
    ``S_id``/``St_id``: the graphs for the id term: ``S``/``St`` themselves, or copies with the
    columns of cold clips emptied should any hold an edge (never, when the graphs come from
    training labels as they do)."""

    def __init__(self, S: torch.Tensor, St: torch.Tensor, clip_pos: torch.Tensor, nc: int, meta_z: torch.Tensor,
                 feat_z: torch.Tensor | None, warm: np.ndarray):
        C = S.shape[1]
        onehot = torch.zeros(C, nc)
        onehot[torch.arange(C), clip_pos] = 1.0
        right = [onehot, meta_z, torch.ones(C, 1)] + ([feat_z] if feat_z is not None and feat_z.shape[1] else [])
        prod = torch.sparse.mm(S, torch.cat(right, 1)) if S.values().numel() else torch.zeros(
            S.shape[0], sum(r.shape[1] for r in right))
        self.s_pos, self.s_meta, self.s_sum = prod[:, :nc], prod[:, nc:nc + meta_z.shape[1]], prod[:, nc + meta_z.shape[1]:][:, :1]
        self.s_feat = prod[:, nc + meta_z.shape[1] + 1:] if len(right) == 4 else None
        self.S_id, self.St_id = S, St
        cold = torch.from_numpy(np.asarray(warm) == 0)
        if S.values().numel() and bool(cold[S.col_indices()].any()):  # keep S · (w ⊙ E) exact for any mask
            keep = (~cold).to(S.values().dtype)
            self.S_id = torch.sparse_csr_tensor(S.crow_indices(), S.col_indices(), S.values() * keep[S.col_indices()],
                                                size=S.shape)
            rows_t = torch.repeat_interleave(torch.arange(St.shape[0]), St.crow_indices().diff())
            self.St_id = torch.sparse_csr_tensor(St.crow_indices(), St.col_indices(), St.values() * keep[rows_t],
                                                 size=St.shape)


def h0_rows(model, sel: torch.Tensor, e_sel: torch.Tensor | None = None) -> torch.Tensor:
    """H_c0 rows (m, d) of the clips ``sel`` (m,) (global clip indices): the same values as
    ``model.h_c0_all()[sel]``. ``e_sel``: their raw id-embedding rows when already gathered
    (the training step gathers them inside the first hop's sparse product)."""
    # P[k] for the m clips as a product with their one-hot positions: its backward is one small
    # matmul, where indexing's backward is an accumulating scatter into N_c rows
    h = torch.nn.functional.one_hot(model.clip_pos[sel], model.nc).to(model.pos.weight.dtype) @ model.pos.weight
    if model.meta is not None:
        # Z W_mᵀ + b rather than nn.Linear: the weight's gradient is then (Zᵀ G)ᵀ, about 6× faster
        # on the CPU than Linear's Gᵀ Z for a 4-wide Z
        h = h + (model.meta_z[sel] @ model.meta.weight.t() + model.meta.bias)
    if model.feat is not None:
        h = h + model.feat(model.clip_feat[sel])
    if model.clip_id is not None:
        e = model.clip_id.weight[sel] if e_sel is None else e_sel
        h = h + e * model.warm[sel][:, None]
    return h


def all_first_hop(model) -> tuple[torch.Tensor, torch.Tensor]:
    """(R̃p·H_c0, R̃n·H_c0), each (U, d), over the whole graph without building H_c0: the
    scorer's first hop (call under ``torch.no_grad``)."""
    agg_p, agg_n, _, _ = training_first_hop(model, torch.zeros(0, dtype=torch.int64), None)
    return agg_p, agg_n


def training_first_hop(model, sel: torch.Tensor, remove: EdgeRemoval | None
                       ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """(R̃p·H_c0, R̃n·H_c0) with ``remove``'s edges taken out, the H_c0 rows of the clips
    ``sel`` (m,) and their raw id embeddings (m, d) (None without id embeddings), for a
    :class:`~frame_core.model.frame.FrameModel` ``model`` with :class:`HopTerms` attached.

    Returns (U, d), (U, d), (m, d), (m, d) | None; the same values as
    ``first_hop(graph, model.h_c0_all(), remove, sel)`` (module docstring)."""
    t: HopTerms = model.hop_terms
    U = model.n_users
    agg = t.s_pos @ model.pos.weight
    bias = None
    if model.meta is not None:
        agg = agg + t.s_meta @ model.meta.weight.t()
        bias = model.meta.bias
    if model.feat is not None:
        if t.s_feat is not None:
            agg = agg + t.s_feat @ model.feat.weight.t()
        bias = model.feat.bias if bias is None else bias + model.feat.bias
    if bias is not None:
        agg = agg + t.s_sum * bias
    e_sel = None
    if model.clip_id is not None:
        empty = torch.zeros(0, dtype=torch.int64)
        agg_id, e_sel = FirstHopFn.apply(model.clip_id.weight, t.S_id, t.St_id, empty, empty,
                                        model.clip_id.weight.new_zeros(0), sel)
        agg = agg + agg_id
    h0_sel = h0_rows(model, sel, e_sel)
    if remove is not None:
        rows = torch.cat([remove.pos_users, remove.neg_users + U])
        at = torch.cat([remove.pos_rows, remove.neg_rows])
        values = torch.cat([remove.pos_values, remove.neg_values]).to(agg.dtype)
        if rows.numel():
            agg = add_rows(agg, rows, torch.index_select(h0_sel, 0, at) * values[:, None], alpha=-1)
    return agg[:U], agg[U:], h0_sel, e_sel
