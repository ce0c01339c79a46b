"""LightGCN (He et al., SIGIR 2020) on the user–video graph, trained for P(full view).

**Graph.** Bipartite, from **training rows only**: an edge (u, v) when u watched v to the end in
some training view (a full view, ``playing_time >= duration_time``). ``R`` is the 0/1 user ×
video matrix of those edges and ``R̃ = D_u^-1/2 · R · D_v^-1/2`` (degree-0 rows and columns stay
0), which is LightGCN's symmetric normalisation of the block adjacency ``[[0, R], [Rᵀ, 0]]``.
Both ``R̃`` and ``R̃ᵀ`` are ``torch.sparse_csr_tensor``.

**Propagation** (LightGCN's ``computer()``): ``E_u⁰, E_v⁰`` are id embeddings;
``E_u^{k+1} = R̃ · E_v^k``, ``E_v^{k+1} = R̃ᵀ · E_u^k``; the final embeddings are the mean over
``k = 0 .. L`` (α_k = 1 / (L + 1)). No feature transforms, no non-linearities.

**Score and loss.** ``p(u, v) = σ(a · ⟨e_u, e_v⟩ + b)`` with a learned scalar scale ``a``
(initialised to 1) and bias ``b`` (initialised to the training logit of the full-view rate). The
model is trained with **pointwise BCE on the observed training views** (full view 1, skip 0),
not BPR with sampled negatives: skips are real negatives here, and BCE makes ``p`` a calibrated
probability so that logloss is meaningful. L2 on the batch's layer-0 embeddings (weight
``l2``, LightGCN's ``weight_decay``) as in the original. Early stopping on validation AUC.

**Defaults** (dim 64, 3 layers, Adam lr 5e-3, batch 1024, ``l2`` 0.1) were picked on the
validation AUC of the KuaiRand sample from a small grid (``l2`` ∈ {1e-4 … 1}, lr ∈ {1e-3, 5e-3},
1–3 layers); the original's ``l2`` = 1e-4 overfits within two epochs with a pointwise loss.

**Cold ids.** Users and videos without training rows map to index 0, a node without edges whose
layer-0 embedding is fixed at zero. Its *final* embedding is the mean of the final embeddings of
the training ids weighted by their number of training views, so a cold video is scored as "the
average video" for this user (``σ(a · ⟨e_u, ē_v⟩ + b)``, the user's general propensity) and a
cold user as the average user. (With a zero vector instead, every cold video would get ``σ(b)``
for every user: an AUC of exactly 0.5 among the 38 % of KuaiRand test rows with cold videos.)
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch
from torch import nn

from frame_core.baselines.base import Baseline, Reporter, check_cancel, clip_proba, full_view, logit
from frame_core.baselines.features import IdVocab, fill_oov_row
from frame_core.baselines.training import TrainConfig, seeded, train_pointwise
from frame_core.common import schema as S
from frame_core.data.graphs import binary_matrix, normalize


def sparse_csr(R: sp.csr_matrix) -> torch.Tensor:
    """scipy CSR → float32 ``torch.sparse_csr_tensor`` (invariants checked once)."""
    R = R.tocsr()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta", category=UserWarning)
        return torch.sparse_csr_tensor(
            torch.from_numpy(R.indptr.astype("int64")),
            torch.from_numpy(R.indices.astype("int64")),
            torch.from_numpy(R.data.astype("float32")),
            size=R.shape,
            check_invariants=True,
        )


class LightGCNModule(nn.Module):
    """Embeddings + LightGCN propagation. Index 0 of each side is the OOV node: no edges, a zero
    layer-0 embedding, and as final embedding the view-weighted mean of the training ids' ones."""

    def __init__(
        self,
        R_norm: sp.csr_matrix,
        dim: int,
        n_layers: int,
        init_bias: float,
        user_weights: np.ndarray,
        video_weights: np.ndarray,
        init_std: float = 0.1,
    ):
        super().__init__()
        self.register_buffer("user_weights", torch.as_tensor(user_weights, dtype=torch.float32))
        self.register_buffer("video_weights", torch.as_tensor(video_weights, dtype=torch.float32))
        n_users, n_videos = R_norm.shape
        self.R = sparse_csr(R_norm)
        self.Rt = sparse_csr(R_norm.T.tocsr())
        self.n_layers = int(n_layers)
        self.user_emb = nn.Embedding(n_users, dim, padding_idx=0)
        self.video_emb = nn.Embedding(n_videos, dim, padding_idx=0)
        for emb in (self.user_emb, self.video_emb):
            nn.init.normal_(emb.weight, std=init_std)
            with torch.no_grad():
                emb.weight[0].zero_()
        self.scale = nn.Parameter(torch.ones(()))
        self.bias = nn.Parameter(torch.tensor(float(init_bias)))

    def propagate(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Final user and video embeddings: the mean of layers 0 .. L; row 0 = weighted mean of the rest."""
        eu, ev = self.user_emb.weight, self.video_emb.weight
        users, videos = [eu], [ev]
        for _ in range(self.n_layers):
            eu, ev = torch.sparse.mm(self.R, ev), torch.sparse.mm(self.Rt, eu)
            users.append(eu)
            videos.append(ev)
        U, V = torch.stack(users).mean(0), torch.stack(videos).mean(0)
        return fill_oov_row(U, self.user_weights), fill_oov_row(V, self.video_weights)

    def score(self, pairs: torch.Tensor, U: torch.Tensor, V: torch.Tensor) -> torch.Tensor:
        dot = (U[pairs[:, 0]] * V[pairs[:, 1]]).sum(-1)
        return torch.sigmoid(self.scale * dot + self.bias)

    def forward(self, pairs: torch.Tensor) -> torch.Tensor:
        U, V = self.propagate()
        return self.score(pairs, U, V)


class LightGCNBaseline(Baseline):
    """LightGCN with BCE on observed views (see the module docstring)."""

    name = "lightgcn"

    def __init__(self, dim: int = 64, n_layers: int = 3, l2: float = 0.1, config: TrainConfig | None = None):
        self.dim = int(dim)
        self.n_layers = int(n_layers)
        self.l2 = float(l2)
        self.config = config or TrainConfig(lr=5e-3, batch_size=1024)

    def _pairs(self, df: pd.DataFrame) -> torch.Tensor:
        return torch.from_numpy(
            np.column_stack([self.users_.index(df[S.USER]), self.videos_.index(df[S.VIDEO])]).astype("int64")
        )

    def fit(self, train, val, *, seed: int = 0, progress=None, cancel=None) -> LightGCNBaseline:
        check_cancel(cancel)
        y = full_view(train)
        self.users_, self.videos_ = IdVocab(train[S.USER]), IdVocab(train[S.VIDEO])
        pairs = self._pairs(train)
        pos = y > 0
        R = binary_matrix(pairs[pos, 0].numpy(), pairs[pos, 1].numpy(), (self.users_.size, self.videos_.size))
        g = float(y.mean()) if len(y) else 0.5
        with seeded(seed):
            self.model_ = model = LightGCNModule(
                normalize(R, "symmetric"),
                self.dim,
                self.n_layers,
                logit([g])[0],
                self.users_.weights(train[S.USER]),
                self.videos_.weights(train[S.VIDEO]),
            )

        def extra_loss(xb: torch.Tensor) -> torch.Tensor:
            e_u, e_v = model.user_emb(xb[:, 0]), model.video_emb(xb[:, 1])
            return self.l2 * 0.5 * (e_u.pow(2).sum() + e_v.pow(2).sum()) / len(xb)

        result = train_pointwise(
            model,
            model,
            pairs,
            torch.from_numpy(y),
            self._pairs(val),
            full_view(val),
            config=self.config,
            seed=seed,
            report=Reporter(self.name, progress),
            cancel=cancel,
            extra_loss=extra_loss,
        )
        self.best_epoch, self.val_auc, self.history = result.best_epoch, result.best_val_auc, result.history
        return self

    def predict(self, df: pd.DataFrame) -> np.ndarray:
        with torch.no_grad():
            U, V = self.model_.propagate()
            p = self.model_.score(self._pairs(df), U, V)
        return clip_proba(p.double().numpy())
