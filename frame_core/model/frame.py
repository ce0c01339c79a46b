"""The FRAME model in PyTorch (docs/design.md, "Model").

Notation (U users, V videos, N_c clips per video, C = V·N_c clips, d = ``emb_dim``)::

    H_c0 = clip input embeddings                                   (C, d)
    H_up = σ(R̃p · H_c0 · Wp1)        H_un = σ(R̃n · H_c0 · Wn1)     (U, d) user interest
    H_cp = σ(R̃pᵀ · H_up · Wp2)       H_cn = σ(R̃nᵀ · H_un · Wn2)    (C, d) two-hop clips
    H_c1 = (H_cp + H_cn) / 2          H_c  = α0 · H_c0 + α1 · H_c1
    z_p  = MLP_p(h_up ‖ h_c)          z_n  = MLP_n(h_un ‖ h_c)
           (+ ⟨w_p ⊙ h_up, h_c⟩ and ⟨w_n ⊙ h_un, h_c⟩ with ``interaction = "mlp+dot"``)
    logit_uc = αp · z_p − αn · z_n   (+ b_u with ``user_bias``)
    ŷ_uc = sigmoid(logit_uc)          probability that u does not skip clip c
    ŷ_uv = mean_c ŷ_uc  or  Π_c ŷ_uc  (``video_score``)

H_c0 of clip c (position k = c mod N_c) is the sum of
- a learned id embedding (``id_embeddings``), **masked to zero for cold clips** (no training
  label): an untrained random vector would give cold clips a random score;
- a position embedding of k, shared by all videos;
- a linear map of the standardised clip metadata (``metadata``; see ``features.META_NAMES``);
- a linear map of the standardised visual features (when given; zeros where missing).

So a clip of a video never seen in training still gets a content/metadata embedding through
the α0·H_c0 residual. A user with no training rows (or unknown) has ``H_up = σ(0)`` (a zero row
in R̃). The user representation is only H_up / H_un, as in FRAME;
``user_bias`` (off by default) adds a per-user logit offset for comparison, and
``user_embedding`` (off by default) a learned per-user vector to both aggregations
(H_up = σ((R̃p·H_c0 + e_u)·Wp1), the same e_u in H_un), masked to zero for users without
training edges, so that cold and unknown users keep the σ(0) interest.

Two measured departures from the slides, both switches (see ``FrameConfig``):
- ``interaction = "mlp+dot"`` adds a weighted inner product between the user interest and the
  clip embedding to each MLP score (zero at initialisation, so training starts from plain
  FRAME); an MLP over a concatenation learns such matches slowly.
- During training the batch's own (user, clip) edges are taken out of R̃ for that step
  (:class:`EdgeRemoval`, ``exclude_batch_edges``); otherwise a view's label reaches its own
  score through the graph (its edge *is* its label), which evaluation rows never have.

Graphs are sparse CSR (never a dense user × clip matrix). A training step's first hop never
builds H_c0 for every clip (:mod:`~frame_core.model.hop_terms`); the second hop uses
:func:`~frame_core.model.sparse.spmm`, whose backward multiplies by a precomputed CSR transpose
(docs/design.md §4, "Speed").
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F
from torch import nn

from frame_core.data.features import META_DIM
from frame_core.model.batch import Batch, LossParts, batch_clip_index
from frame_core.model.clip_scores import ClipScores
from frame_core.model.cold_videos import as_new
from frame_core.model.cold_videos import draw as draw_cold
from frame_core.model.config import FrameConfig
from frame_core.model.factors import ClipFactors
from frame_core.model.heads import ClipMLP, video_log_probs
from frame_core.model.hop_terms import HopTerms, training_first_hop
from frame_core.model.lean_ops import add_rows, rows_at
from frame_core.model.sparse import EdgeRemoval, GraphOps, first_hop, spmm

_ACT = {
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "relu": torch.relu,
    "leaky_relu": lambda x: F.leaky_relu(x, 0.2),
}


_ACT_INPLACE = {
    "sigmoid": torch.sigmoid_,
    "tanh": torch.tanh_,
    "relu": torch.relu_,
    "leaky_relu": lambda x: F.leaky_relu_(x, 0.2),
}


class FrameModel(ClipScores, nn.Module):
    """FRAME over fixed id maps. ``n_users``, ``n_videos``: sizes of the id maps; ``feat_dim``:
    width f of visual clip features (0 = none).

    Learned state lives in ``state_dict()`` (parameters plus the standardisation buffers).
    Data-derived tables (graphs, clip metadata, features, warm mask) are attached with
    :meth:`attach` and are not part of the state dict.
    """

    def __init__(self, cfg: FrameConfig, n_users: int, n_videos: int, feat_dim: int = 0):
        super().__init__()
        cfg = cfg.static() if cfg.is_auto else cfg  # the trainer races auto settings; a bare model uses the fallback
        self.cfg = cfg
        self.nc = nc = cfg.nc
        self.n_users, self.n_videos, self.n_clips = n_users, n_videos, n_videos * nc
        d = cfg.emb_dim
        self.d = d
        self.feat_dim = feat_dim
        self.act = _ACT[cfg.activation]
        self.use_id = cfg.id_embeddings if cfg.id_embeddings is not None else feat_dim == 0
        self.clip_id = nn.Embedding(self.n_clips, d) if self.use_id else None
        if self.clip_id is not None:
            nn.init.normal_(self.clip_id.weight, std=0.1)
        self.pos = nn.Embedding(nc, d)
        nn.init.normal_(self.pos.weight, std=0.1)
        self.meta = nn.Linear(META_DIM, d) if cfg.metadata else None
        self.register_buffer("meta_mean", torch.zeros(META_DIM))
        self.register_buffer("meta_std", torch.ones(META_DIM))
        self.feat = nn.Linear(feat_dim, d) if feat_dim else None
        self.register_buffer("feat_mean", torch.zeros(feat_dim))
        self.register_buffer("feat_std", torch.ones(feat_dim))
        # calibration of the clip logits, fitted on validation after training: scoring uses
        # a · logit + b (a > 0); (1, 0) is the identity (see trainer.calibrate_scores)
        self.register_buffer("calib", torch.tensor([1.0, 0.0]))
        self.w_p1 = nn.Linear(d, d, bias=False)
        self.w_p2 = nn.Linear(d, d, bias=False)
        if not cfg.shared_w:
            self.w_n1 = nn.Linear(d, d, bias=False)
            self.w_n2 = nn.Linear(d, d, bias=False)
        a01 = torch.tensor([cfg.alpha0, cfg.alpha1])
        apn = torch.tensor([cfg.alpha_p, cfg.alpha_n])
        if cfg.learn_alpha01:
            self.alpha01 = nn.Parameter(a01)
        else:
            self.register_buffer("alpha01", a01)
        if cfg.learn_alpha_pn:
            self.alpha_pn = nn.Parameter(apn)
        else:
            self.register_buffer("alpha_pn", apn)
        self.mlp_p = ClipMLP(d, cfg.mlp_sizes, cfg.dropout)
        self.mlp_n = ClipMLP(d, cfg.mlp_sizes, cfg.dropout)
        if cfg.interaction == "mlp+dot":  # weighted inner products, zero at init (= plain FRAME)
            self.dot_p = nn.Parameter(torch.zeros(d))
            self.dot_n = nn.Parameter(torch.zeros(d))
        else:
            self.dot_p = self.dot_n = None
        self.user_b = nn.Embedding(n_users, 1) if cfg.user_bias else None
        if self.user_b is not None:
            nn.init.zeros_(self.user_b.weight)
        self.user_e = nn.Embedding(n_users, d) if cfg.user_embedding else None
        if self.user_e is not None:
            nn.init.normal_(self.user_e.weight, std=0.1)
        k = cfg.resolved_factor_dim(self.use_id)
        self.factors = ClipFactors(n_users, self.n_clips, k, nc, bool(cfg.factor_share)) if k else None
        # data tables (not persistent): set by attach()
        self.graph: GraphOps | None = None
        self.register_buffer("clip_meta", torch.zeros(0, META_DIM), persistent=False)
        self.register_buffer("meta_z", torch.zeros(0, META_DIM), persistent=False)
        self.register_buffer("clip_feat", torch.zeros(0, feat_dim), persistent=False)
        self.register_buffer("warm", torch.zeros(0), persistent=False)
        self.register_buffer("warm_user", torch.zeros(0), persistent=False)
        self.register_buffer("clip_pos", torch.arange(self.n_clips) % nc, persistent=False)

    # ------------------------------------------------------------------ data
    @property
    def w_n1_(self) -> nn.Linear:
        return self.w_p1 if self.cfg.shared_w else self.w_n1

    @property
    def w_n2_(self) -> nn.Linear:
        return self.w_p2 if self.cfg.shared_w else self.w_n2

    def fit_scalers(self, clip_meta: np.ndarray, clip_feat: np.ndarray | None, feat_found: np.ndarray | None) -> None:
        """Set the standardisation buffers from the clip tables (once, before training)."""
        m = torch.from_numpy(np.asarray(clip_meta, dtype="float32"))
        if len(m):
            self.meta_mean.copy_(m.mean(0))
            self.meta_std.copy_(m.std(0, unbiased=False).clamp_min(1e-3))
        if self.feat_dim and clip_feat is not None and feat_found is not None and feat_found.any():
            f = torch.from_numpy(np.asarray(clip_feat, dtype="float32")[feat_found])
            self.feat_mean.copy_(f.mean(0))
            self.feat_std.copy_(f.std(0, unbiased=False).clamp_min(1e-6))

    def attach(self, graphs_norm: tuple[sp.csr_matrix, sp.csr_matrix], clip_meta: np.ndarray, warm: np.ndarray,
               clip_feat: np.ndarray | None = None, feat_found: np.ndarray | None = None) -> "FrameModel":
        """Attach the normalised graphs (R̃p, R̃n: scipy CSR (U, C)), raw clip metadata (C, 4),
        warm mask (C,) and raw visual features (C, f) with their found mask (C,)."""
        RP, RN = graphs_norm
        if RP.shape != (self.n_users, self.n_clips):
            raise ValueError(f"graph shape {RP.shape} does not match the model ({self.n_users}, {self.n_clips})")
        self.graph = GraphOps(RP, RN)
        self.clip_meta = torch.from_numpy(np.asarray(clip_meta, dtype="float32"))
        self.meta_z = (self.clip_meta - self.meta_mean) / self.meta_std  # standardised, (C, 4)
        self.warm = torch.from_numpy(np.asarray(warm, dtype="float32"))
        self.warm_user = torch.from_numpy(((np.diff(RP.indptr) + np.diff(RN.indptr)) > 0).astype("float32"))
        if self.feat_dim:
            self.clip_feat = self.standardise_feat(clip_feat, feat_found)
        self.hop_terms = HopTerms(self.graph.S, self.graph.St, self.clip_pos, self.nc, self.meta_z,
                                  self.clip_feat if self.feat_dim else None, np.asarray(warm))
        return self

    def standardise_feat(self, feat: np.ndarray | None, found: np.ndarray | None) -> torch.Tensor:
        """Raw visual features (m, f) → standardised tensor, zero rows where not found."""
        f = torch.from_numpy(np.asarray(feat, dtype="float32"))
        f = (f - self.feat_mean) / self.feat_std
        if found is not None:
            f = f * torch.from_numpy(np.asarray(found, dtype="float32"))[:, None]
        return f

    # ------------------------------------------------------------------ embeddings
    def clip_input(self, clip_ids: torch.Tensor, position: torch.Tensor, meta: torch.Tensor,
                   feat: torch.Tensor | None, warm: torch.Tensor) -> torch.Tensor:
        """H_c0 rows for m clips. ``clip_ids`` (m,) global index or -1; ``position`` (m,) 0..nc-1;
        ``meta`` (m, 4) raw metadata; ``feat`` (m, f) standardised features or None;
        ``warm`` (m,) 1.0 where the id embedding may be used. Returns (m, d)."""
        h = self.pos(position)
        if self.clip_id is not None:
            h = h + self.clip_id(clip_ids.clamp_min(0)) * warm[:, None]
        if self.meta is not None:
            h = h + self.meta((meta - self.meta_mean) / self.meta_std)
        if self.feat is not None and feat is not None:
            h = h + self.feat(feat)
        return h

    def h_c0_all(self) -> torch.Tensor:
        """H_c0 of every clip of the id map: (C, d). Same values as :meth:`clip_input` over all
        clips, computed with fewer full-size temporaries (biases folded into the position term)."""
        V, nc, d = self.n_videos, self.nc, self.d
        shift = self.pos.weight  # (nc, d)
        if self.meta is not None:
            shift = shift + self.meta.bias
        if self.feat is not None:
            shift = shift + self.feat.bias
        # one (V, nc, d) buffer, built in place and never through a view (an in-place op on a view
        # makes autograd copy the whole gradient in the backward)
        h = None
        if self.meta is not None:
            h = torch.matmul(self.meta_z.view(V, nc, -1), self.meta.weight.t())
        if self.feat is not None:
            f = torch.matmul(self.clip_feat.view(V, nc, -1), self.feat.weight.t())
            h = f if h is None else h.add_(f)
        if self.clip_id is not None:
            w, m = self.clip_id.weight.view(V, nc, d), self.warm.view(V, nc, 1)
            h = w * m if h is None else h.addcmul_(w, m)
        h = shift.expand(V, nc, d).clone() if h is None else h.add_(shift)
        return h.view(self.n_clips, d)

    def user_interest(self, h0: torch.Tensor, remove: "EdgeRemoval | None" = None) -> tuple[torch.Tensor, torch.Tensor]:
        return self.interest_and_rows(h0, remove)[:2]  # first hop: (H_up, H_un) (U, d) from H_c0 (C, d)

    def interest_and_rows(self, h0: torch.Tensor, remove: "EdgeRemoval | None" = None,
                          sel: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """:meth:`user_interest` plus the rows ``h0[sel]`` (m, d), in one :func:`first_hop`
        (one sparse product over the stacked graphs; one (C, d) gradient buffer)."""
        agg_p, agg_n, picked = first_hop(self.graph, h0, remove, sel)
        return *self.interest_from_agg(agg_p, agg_n), picked

    def interest_from_agg(self, agg_p: torch.Tensor, agg_n: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(H_up, H_un) (U, d) from the aggregations R̃p·H_c0 and R̃n·H_c0 (U, d)."""
        if self.user_e is not None:  # masked to zero for users without training edges (= cold users)
            e = self.user_e.weight * self.warm_user[:, None]
            agg_p, agg_n = agg_p + e, agg_n + e
        return self.act(self.w_p1(agg_p)), self.act(self.w_n1_(agg_n))

    def two_hop(self, h_up: torch.Tensor, h_un: torch.Tensor, clips: np.ndarray | None = None,
                remove: "EdgeRemoval | None" = None) -> torch.Tensor:
        """Second hop: H_c1 = (σ(R̃pᵀ H_up Wp2) + σ(R̃nᵀ H_un Wn2)) / 2 for the given global clip
        indices (m,) (all C clips when None). Returns (m, d). With ``remove``, its
        ``*_rows`` index into ``clips`` (positions 0..m-1)."""
        g = self.graph
        xp, xn = self.w_p2(h_up), self.w_n2_(h_un)
        if clips is None:
            sp_, spt, sn_, snt = g.RPt, g.RP, g.RNt, g.RN
        else:
            sp_, spt, sn_, snt = g.clip_rows(clips)
        agg_p = spmm(sp_, spt, xp)
        if remove is not None:
            agg_p = add_rows(agg_p, remove.pos_rows, rows_at(xp, remove.pos_users) * remove.pos_values[:, None], alpha=-1)
        if not torch.is_grad_enabled():  # inference over all clips: keep one (m, d) buffer
            act_ = _ACT_INPLACE[self.cfg.activation]
            out = act_(agg_p)
            agg_n = spmm(sn_, snt, xn)
            if remove is not None:
                agg_n.index_add_(0, remove.neg_rows, rows_at(xn, remove.neg_users) * remove.neg_values[:, None], alpha=-1)
            return out.add_(act_(agg_n)).mul_(0.5)
        agg_n = spmm(sn_, snt, xn)
        if remove is not None:
            agg_n = add_rows(agg_n, remove.neg_rows, rows_at(xn, remove.neg_users) * remove.neg_values[:, None], alpha=-1)
        return 0.5 * (self.act(agg_p) + self.act(agg_n))

    def cold_user(self) -> torch.Tensor:
        """H_up = H_un of a user without training edges: σ(0), shape (d,)."""
        return self.act(torch.zeros(self.d))

    def cold_two_hop(self) -> torch.Tensor:
        """H_c1 of a clip without training edges: σ(0), shape (d,)."""
        return self.cold_user()

    def combine(self, h0: torch.Tensor, h1: torch.Tensor) -> torch.Tensor:
        """H_c = α0 · H_c0 + α1 · H_c1 (same shapes)."""
        return self.alpha01[0] * h0 + self.alpha01[1] * h1

    # ------------------------------------------------------------------ forward and loss
    def forward(self, users: torch.Tensor, videos: torch.Tensor, remove: EdgeRemoval | None = None) -> torch.Tensor:
        """Clip logits (B, N_c); see :meth:`logits_and_penalty`."""
        return self.logits_and_penalty(users, videos, remove)[0]

    def logits_and_penalty(self, users: torch.Tensor, videos: torch.Tensor,
                           remove: EdgeRemoval | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Clip logits (B, N_c) for B (user, video) pairs: the whole FRAME pass.

        ``users`` (B,) id-map user indices, −1 for a user without a row in the graphs (scored
        with the cold interest σ(0)); ``videos`` (B,) id-map video indices (≥ 0; videos outside
        the id map are scored by :class:`~frame_core.model.scorer.Scorer`, which embeds them
        from their metadata and features). ``remove``: edges to take out of R̃ for this pass,
        with ``*_rows`` indexing the sorted distinct clips of the batch (see
        :func:`frame_core.training.batches.batch_edges`).

        The first hop runs over the whole graph (:mod:`~frame_core.model.hop_terms`), the second
        only for the batch's distinct clips. ``sigmoid`` of the result is ŷ_uc, the probability of
        not skipping clip c. Also returns the weighted penalties, ``id_l2`` · mean ‖e_c‖² over the
        batch's (view, clip) pairs plus ``factor_l2`` · :meth:`ClipFactors.penalty`, or None.
        """
        h_up, h_un, h_cu, clips, inv, penalty, warm_clip = self.shared_pass(videos, remove)
        z = self.view_logits(h_up, h_un, h_cu, users, inv)
        if self.factors is None:
            return z, penalty
        f, fac_penalty = self.factors.with_penalty(users, clips, self.warm_user, warm_clip)
        if self.cfg.factor_l2 > 0:
            penalty = self.cfg.factor_l2 * fac_penalty if penalty is None else penalty + self.cfg.factor_l2 * fac_penalty
        return z + f, penalty

    def shared_pass(self, videos: torch.Tensor, remove: EdgeRemoval | None = None) -> tuple:
        """The part of a pass that all the batch's views share: (H_up, H_un (U, d), H_c of the
        batch's distinct clips (m, d), the views' clips (B, N_c) and their positions among the
        distinct clips (B, N_c), the id-embedding penalty ``id_l2`` · mean ‖e_c‖² or None, and
        the warm mask (C,) the clip factors use this step: :attr:`warm`, or with ``cold_dropout``
        a copy where the step's new-video stand-ins (:meth:`cold_videos`) are cold)."""
        clips, uniq, inv = batch_clip_index(videos, self.nc)
        agg_p, agg_n, h0_u, e_u = training_first_hop(self, uniq, remove)  # never all of H_c0
        h_up, h_un = self.interest_from_agg(agg_p, agg_n)
        h1 = self.two_hop(h_up, h_un, uniq.numpy(), remove)
        h0_u, h1, warm_clip = as_new(self, uniq, self.cold_videos(uniq), h0_u, e_u, h1)  # cold_dropout
        h_cu = self.combine(h0_u, h1)  # (m, d): the batch's distinct clips
        penalty = None
        if e_u is not None and self.cfg.id_l2 > 0:  # mean over the batch's (view, clip) pairs
            counts = torch.bincount(inv.reshape(-1), minlength=len(uniq)).to(e_u.dtype)
            penalty = self.cfg.id_l2 * (counts * e_u.pow(2).sum(-1)).sum() / inv.numel()
        return h_up, h_un, h_cu, clips, inv, penalty, warm_clip

    def cold_videos(self, uniq: torch.Tensor) -> torch.Tensor | None:
        """The batch's clips trained as new this step (``cold_dropout``): :func:`~frame_core.model.cold_videos.draw`."""
        return draw_cold(self, uniq)

    def view_logits(self, h_up: torch.Tensor, h_un: torch.Tensor, h_cu: torch.Tensor, users: torch.Tensor,
                    inv: torch.Tensor) -> torch.Tensor:
        """FRAME's clip logits (b, N_c) of b views (without the clip factors) from the shared part
        (:meth:`shared_pass`): ``users`` (b,) (−1 = cold: the interest σ(0)), ``inv`` (b, N_c)."""
        h_up, h_un, rows = self.with_cold_row(h_up, h_un, users)
        return self.clip_logits_indexed(rows_at(h_up, rows), rows_at(h_un, rows), h_cu, inv, users)

    def with_cold_row(self, h_up: torch.Tensor, h_un: torch.Tensor, users: torch.Tensor) -> tuple:
        """(H_up, H_un) with σ(0) as row U when some ``users`` are −1 (cold), and each user's row."""
        cold = users < 0
        if not bool(cold.any()):
            return h_up, h_un, users
        c = self.cold_user()[None, :]
        return torch.cat([h_up, c]), torch.cat([h_un, c]), torch.where(cold, torch.full_like(users, self.n_users), users)

    def loss(self, batch: Batch) -> LossParts:
        """Training loss of one batch (docs/design.md, "Model"): the mean BCE over the batch's
        **labelled** clips, plus ``hybrid_lambda`` × the mean BCE of ŷ_uv against the full-view
        label (hybrid supervision; ŷ_uv aggregated as ``cfg.video_score`` says), plus the
        penalties of :meth:`logits_and_penalty` (id embeddings, clip factors)."""
        logits, penalty = self.logits_and_penalty(batch.users, batch.videos, batch.remove)
        mask = batch.clip_mask
        w = mask.to(logits.dtype)  # the mean over labelled clips, without a boolean gather
        clip_loss = F.binary_cross_entropy_with_logits(logits, batch.clip_y, weight=w, reduction="sum") / w.sum()
        total = clip_loss if penalty is None else clip_loss + penalty
        if self.cfg.hybrid_lambda > 0:
            lp, l1p = video_log_probs(logits, self.cfg.video_score)
            video_loss = -(batch.y * lp + (1 - batch.y) * l1p).mean()
            return LossParts(total + self.cfg.hybrid_lambda * video_loss, clip_loss, video_loss)
        return LossParts(total, clip_loss, torch.zeros(()))
