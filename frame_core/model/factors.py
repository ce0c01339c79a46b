"""Clip factors: a regularised user × clip latent-factor term added to FRAME's clip logit
(docs/design.md §4, "Clip factors").

For user u and clip c (a (video, position) pair, global index ``video · N_c + position``)::

    f_uc = ⟨p_u, q_c⟩ + b_u + b_c          p_u, q_c ∈ R^k,  b_u, b_c ∈ R

is added to the clip logit before the sigmoid, so ŷ_uc = sigmoid(FRAME_uc + f_uc). The training
loss adds ``factor_l2 · (mean_B ‖p_u‖² + mean_{B × N_c} ‖q_c‖²)`` over the batch's users and
clips (biases are not penalised).

Why (README, "Clip factors"): with learned id embeddings FRAME's user representation is only an
aggregation of clip embeddings, with no free per-user parameters and no penalty on the id tables;
on worlds with clip-level tastes a plain, L2-regularised factorisation of the same clip labels
was 0.04–0.05 test AUC ahead of it, and the sum of both keeps the best of each.

With ``factor_share`` each clip's factor is its video's plus its own, q_c = q_v(c) + δ_c, with
the penalty ``factor_l2 · (… + mean_B ‖q_v‖²)`` on the video part as well, so a clip with few
labels leans on what its video's other clips learned. It gains validation AUC on dense logs and
loses on the others (README, "What the clip labels are worth"), so by default it is on from 80
training views per video (``frame_core.training.data_rules.resolve_factor_share``) and a switch
that ``tune`` searches. Here ``q`` holds δ_c and ``qv`` holds q_v.

Cold cases get exactly zero: a user without training edges (``warm_user`` = 0, or index −1) has
p_u = 0 and b_u = 0, and a clip without a training label (``warm`` = 0, or a video outside the
id map) has q_c = 0 and b_c = 0, so their score comes from FRAME alone.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


class ClipFactors(nn.Module):
    """``p`` (U, k), ``q`` (C, k), ``bu`` (U, 1), ``bc`` (C, 1), and with ``share`` ``qv``
    (C / nc, k) per video; see the module docstring. Clip c belongs to video c // ``nc``."""

    TABLES = ("p.weight", "q.weight", "bu.weight", "bc.weight", "qv.weight")

    def __init__(self, n_users: int, n_clips: int, k: int, nc: int = 1, share: bool = False):
        super().__init__()
        self.k, self.nc = k, nc
        self.p = nn.Embedding(n_users, k)
        self.q = nn.Embedding(n_clips, k)
        self.bu = nn.Embedding(n_users, 1)
        self.bc = nn.Embedding(n_clips, 1)
        self.qv = nn.Embedding(n_clips // nc, k) if share else None
        for t in (self.p, self.q, self.qv):
            if t is not None:
                nn.init.normal_(t.weight, std=0.05)
        nn.init.zeros_(self.bu.weight)
        nn.init.zeros_(self.bc.weight)

    def forward(self, users: torch.Tensor, clips: torch.Tensor, warm_user: torch.Tensor,
                warm_clip: torch.Tensor) -> torch.Tensor:
        """f_uc (B, N_c) for ``users`` (B,) id-map indices (−1 = cold) and ``clips`` (B, N_c)
        global clip indices; ``warm_user`` (U,) / ``warm_clip`` (C,) are 1.0 where a user / clip
        has training edges / labels, else 0.0."""
        return self.with_penalty(users, clips, warm_user, warm_clip)[0]

    def with_penalty(self, users: torch.Tensor, clips: torch.Tensor, warm_user: torch.Tensor,
                     warm_clip: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(:meth:`forward`, :meth:`penalty`) from one gather of the batch's rows, so that the
        backward writes one gradient per table (each gather of an embedding table makes and fills
        its own full-size gradient)."""
        return self.from_rows(self.gather(users, clips), users, clips, warm_user, warm_clip)

    def gather(self, users: torch.Tensor, clips: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """The batch's rows of the tables: p (B, k), q (B, N_c, k), b_u (B, 1), b_c (B, N_c, 1),
        and with ``share`` q_v (B, k) of each view's video."""
        u = users.clamp_min(0)
        rows = (self.p(u), self.q(clips), self.bu(u), self.bc(clips))
        return rows if self.qv is None else (*rows, self.qv(clips[:, 0] // self.nc))

    def from_rows(self, rows: tuple[torch.Tensor, ...], users: torch.Tensor, clips: torch.Tensor,
                  warm_user: torch.Tensor, warm_clip: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(:meth:`forward`, :meth:`penalty`) from rows taken by :meth:`gather` (or a slice of
        them with the matching ``users`` and ``clips``)."""
        p_raw, q_raw, bu, bc = rows[:4]
        u = users.clamp_min(0)
        mu = warm_user[u] * (users >= 0).to(warm_user.dtype)  # (B,)
        mc = warm_clip[clips]  # (B, nc)
        if len(rows) > 4:  # factor_share: q_c = q_v + δ_c
            q_raw = q_raw + rows[4][:, None, :]
        pu, qc = p_raw * mu[:, None], q_raw * mc[..., None]
        f = (qc * pu[:, None, :]).sum(-1) + (bu[:, 0] * mu)[:, None] + bc[..., 0] * mc
        return f, self._penalty_of(rows, users)

    def penalty(self, users: torch.Tensor, clips: torch.Tensor) -> torch.Tensor:
        """mean_B ‖p_u‖² + mean_{B × N_c} ‖q_c‖² (+ mean_B ‖q_v‖² with ``share``) over a batch
        (cold users count with 0)."""
        return self._penalty_of(self.gather(users, clips), users)

    @staticmethod
    def _penalty_of(rows: tuple[torch.Tensor, ...], users: torch.Tensor) -> torch.Tensor:
        """:meth:`penalty` from rows taken by :meth:`gather` (q holds δ_c, the last row q_v)."""
        known = (users >= 0).to(rows[0].dtype)
        pen = (rows[0] * known[:, None]).pow(2).sum(-1).mean() + rows[1].pow(2).sum(-1).mean()
        return pen + rows[4].pow(2).sum(-1).mean() if len(rows) > 4 else pen

    @torch.no_grad()
    def tables(self, warm_user: torch.Tensor, warm_clip: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Scoring tables with the cold masks applied: per user ``[p_u | b_u]`` (U + 1, k + 1),
        whose last row (unknown / cold user) is zero, and per clip ``[q_c | b_c]`` (C, k + 1), so
        that f_uc = ⟨user row[:k], clip row[:k]⟩ + user row[k] + clip row[k]."""
        user = torch.cat([self.p.weight, self.bu.weight], 1) * warm_user[:, None]
        user = torch.cat([user, user.new_zeros(1, self.k + 1)])
        q = self.q.weight if self.qv is None else self.q.weight + self.qv.weight.repeat_interleave(self.nc, 0)
        clip = torch.cat([q, self.bc.weight], 1) * warm_clip[:, None]
        return user, clip


BIAS_PRIOR = 5.0
"""Pseudo-labels at the overall rate added to every user's and clip's count by :func:`data_biases`."""


def data_biases(users: np.ndarray, clips: np.ndarray, labels: np.ndarray, n_users: int, n_clips: int,
                prior: float = BIAS_PRIOR) -> tuple[np.ndarray, np.ndarray, float]:
    """An additive logit baseline of clip labels, to start the factors' biases from
    (``bias_init = "data"``): for labelled (user, clip) pairs ``users``/``clips`` (n,) with
    ``labels`` (n,) 1 = got past the clip, the overall rate g and, per user and per clip, the
    rate shrunk towards g by ``prior`` pseudo-labels, r = (passes + prior · g) / (n + prior).
    Returns (b_u (U,), b_c (C,), logit g) with b = logit r − logit g (0 for ids without labels)."""
    y = np.asarray(labels, dtype="float64")
    g = float(np.clip(y.mean(), 1e-3, 1 - 1e-3)) if len(y) else 0.5

    def offsets(idx: np.ndarray, size: int) -> np.ndarray:
        n = np.bincount(idx, minlength=size).astype("float64")
        s = np.bincount(idx, weights=y, minlength=size)
        r = np.clip((s + prior * g) / (n + prior), 1e-4, 1 - 1e-4)
        return (np.log(r / (1 - r)) - np.log(g / (1 - g))).astype("float32")

    return offsets(np.asarray(users, "int64"), n_users), offsets(np.asarray(clips, "int64"), n_clips), float(
        np.log(g / (1 - g)))


@torch.no_grad()
def start_biases_from_data(model, data) -> None:
    """``bias_init = "data"``: a :class:`~frame_core.model.frame.FrameModel`'s factor biases b_u
    and b_c from :func:`data_biases` of the training rows' clip labels of ``data`` (a
    :class:`~frame_core.data.prepare.FrameData`), and the overall rate's logit in MLP_p's output
    bias (divided by α_p), so that a clip logit starts at logit g + b_u + b_c plus the MLPs' own
    output."""
    rows = data.rows(0)
    mask = data.clip_mask[rows]
    clips = data.video_idx[rows][:, None] * data.nc + np.arange(data.nc)[None, :]
    users = np.broadcast_to(data.user_idx[rows][:, None], mask.shape)
    b_u, b_c, g = data_biases(users[mask], clips[mask], data.clip_y[rows][mask], model.n_users, model.n_clips)
    model.factors.bu.weight.copy_(torch.from_numpy(b_u)[:, None])
    model.factors.bc.weight.copy_(torch.from_numpy(b_c)[:, None])
    model.mlp_p.out.bias.add_(g / float(model.alpha_pn[0]))
