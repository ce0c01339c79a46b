"""Why one video outranks the user's average candidate: an exact split of the score difference.

A clip's embedding in FRAME (docs/design.md §4, "Model") is a sum of parts::

    H_c = α0 · (pos_k + b)  +  α0 · M_c  +  α0 · X_c  +  α1 · H_c1
          └ same for every  └ metadata   └ content   └ graph neighbourhood: the two-hop
            video at k        (duration,   (visual     embedding from the users who watched
                              clip times)  features    or skipped this clip in training
                                           or id)

(``b`` = the metadata and feature biases; ``M_c`` = the metadata map without bias, ``X_c`` =
the clip's masked id embedding plus the feature map without bias; ``H_c1`` is σ(0) for a clip
without training edges.) The user side (H_up, H_un, a user bias) is fixed for one user.

For a video v and each candidate w of the same user, the score s (the run's calibrated
P(full view) = mean or product of the clip probabilities, as the run scores) is evaluated with
every mix of the three parts taken from v or from w, clip position by clip position (2³ = 8
evaluations). The Shapley value of each part over those mixes splits s(v) − s(w) exactly; the
average over candidates splits s(v) − mean_w s(w) exactly: **the parts add up to the score
difference** against the user's average candidate (tested). Units: probability.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import torch

from frame_core.model.heads import video_probs
from frame_core.model.hop_terms import all_first_hop

PARTS = ("metadata", "content", "graph")
PART_TITLES = {
    "metadata": "duration and clip timing",
    "content": "clip content or ids",
    "graph": "graph neighbourhood",
}
PART_HELP = {
    "metadata": "The video's length and its clips' start and end times (the clip metadata in H_c0).",
    "content": "What the clips hold: their visual features, or their learned id embeddings (and clip factors) with id inputs.",
    "graph": "Who watched or skipped these clips in training (the two-hop embedding H_c1 through the user–clip graphs).",
}
MAX_CANDIDATES = 512


class Attributor:
    """Explains scores of one FRAME model (:class:`~frame_core.model.frame.FrameModel` with
    graphs attached). :meth:`prepare` propagates the graphs once; :meth:`explain` is cheap."""

    def __init__(self, model):
        self.model = model
        self._parts: dict[str, torch.Tensor] | None = None

    @torch.no_grad()
    def prepare(self) -> "Attributor":
        m = self.model
        was = m.training
        m.eval()
        try:
            a0, a1 = float(m.alpha01[0]), float(m.alpha01[1])
            V, nc, d = m.n_videos, m.nc, m.d
            base = m.pos.weight.clone()
            if m.meta is not None:
                base = base + m.meta.bias
            if m.feat is not None:
                base = base + m.feat.bias
            meta = m.meta_z @ m.meta.weight.t() if m.meta is not None else torch.zeros(m.n_clips, d)
            content = torch.zeros(m.n_clips, d)
            if m.clip_id is not None:
                content = content + m.clip_id.weight * m.warm[:, None]
            if m.feat is not None:
                content = content + m.clip_feat @ m.feat.weight.t()
            hup, hun = m.interest_from_agg(*all_first_hop(m))  # the first hop without H_c0 (model/hop_terms.py)
            graph = m.two_hop(hup, hun)
            self._hup, self._hun = hup, hun
            # clip factors (model.factors): <p_u, q_c> + b_u + b_c, counted with the clip's "content"
            self._fac = m.factors.tables(m.warm_user, m.warm) if m.factors is not None else None
            self._parts = {
                "base": (a0 * base)[None].expand(V, nc, d),
                "metadata": (a0 * meta).view(V, nc, d),
                "content": (a0 * content).view(V, nc, d),
                "graph": (a1 * graph).view(V, nc, d),
            }
        finally:
            m.train(was)
        return self

    @torch.no_grad()
    def _factor_logits(self, user: int, videos: torch.Tensor) -> torch.Tensor | None:
        """The clip-factor term (k, nc) of one user (−1 = cold: its row is zero) for ``videos`` (k,)."""
        if self._fac is None:
            return None
        fu, fc = self._fac
        u = fu[user if user >= 0 else fu.shape[0] - 1]
        c = fc.view(self.model.n_videos, self.model.nc, -1)[videos]  # (k, nc, k + 1)
        return c[..., :-1] @ u[:-1] + c[..., -1] + u[-1]

    @torch.no_grad()
    def _scores(self, user: int, h_c: torch.Tensor, fz: torch.Tensor | None = None) -> np.ndarray:
        """Calibrated video scores (n,) for clip embeddings ``h_c`` (n, nc, d) of one user
        (id-map index, −1 = cold), plus the clip-factor logits ``fz`` (n, nc) when given."""
        m = self.model
        if user >= 0:
            hup, hun = self._hup[user], self._hun[user]
        else:
            hup = hun = m.cold_user()
        n = h_c.shape[0]
        uidx = torch.full((n,), int(user), dtype=torch.long)
        z = m.clip_logits(hup.expand(n, -1), hun.expand(n, -1), h_c, uidx)
        if fz is not None:
            z = z + fz
        z = z * float(m.calib[0]) + float(m.calib[1])
        return video_probs(z.double(), m.cfg.video_score).numpy()

    @torch.no_grad()
    def explain(self, user: int, video: int, candidates: np.ndarray, seed: int = 0) -> dict:
        """Split ``s(video) − mean s(candidate)`` for ``user`` (id-map indices; user −1 = cold)
        into :data:`PARTS`. ``candidates``: id-map video indices (at most
        :data:`MAX_CANDIDATES`, a seeded sample, are used). Returns ``score``, ``baseline``
        (the mean candidate score), ``difference``, ``parts`` {part: probability},
        ``n_candidates``."""
        if self._parts is None:
            self.prepare()
        m = self.model
        was = m.training
        m.eval()
        try:
            cand = np.asarray(candidates, dtype="int64")
            if len(cand) == 0:
                raise ValueError("no candidate videos to compare with")
            if len(cand) > MAX_CANDIDATES:
                cand = np.sort(np.random.default_rng(seed).choice(cand, MAX_CANDIDATES, replace=False))
            P = self._parts
            ct = torch.from_numpy(cand)
            k = len(cand)
            # every subset S of the parts taken from `video`, the rest from the candidates
            subsets = [frozenset(c) for r in range(len(PARTS) + 1) for c in itertools.combinations(PARTS, r)]
            scores = {}
            for S in subsets:
                h = P["base"][cand].clone()
                for p in PARTS:
                    h += P[p][video].expand(k, -1, -1) if p in S else P[p][ct]
                src = torch.full((k,), int(video), dtype=torch.long) if "content" in S else ct
                scores[S] = self._scores(user, h, self._factor_logits(user, src))
            n = len(PARTS)
            phi = {}
            for p in PARTS:
                tot = np.zeros(k)
                for S in subsets:
                    if p in S:
                        continue
                    w = math.factorial(len(S)) * math.factorial(n - len(S) - 1) / math.factorial(n)
                    tot += w * (scores[S | {p}] - scores[S])
                phi[p] = float(tot.mean())
            score = float(scores[frozenset(PARTS)][0])
            baseline = float(scores[frozenset()].mean())
        finally:
            m.train(was)
        return {"score": score, "baseline": baseline, "difference": score - baseline, "parts": phi,
                "n_candidates": k}
