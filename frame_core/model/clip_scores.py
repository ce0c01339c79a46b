"""Clip logits from FRAME's representations (docs/design.md §4): the two clip MLPs, the
optional weighted inner products (``interaction = "mlp+dot"``) and the per-user bias, as a mixin
of :class:`~frame_core.model.frame.FrameModel` (which owns the parameters it reads:
``mlp_p``, ``mlp_n``, ``dot_p``, ``dot_n``, ``alpha_pn``, ``user_b``).

``logit_uc = αp · z_p − αn · z_n (+ b_u)``, z = MLP(h_u ‖ h_c) (+ ⟨w ⊙ h_u, h_c⟩).
"""

from __future__ import annotations

import torch

from frame_core.model.lean_ops import gathered_bmm, rows_at


class ClipScores:
    """Scoring methods of :class:`~frame_core.model.frame.FrameModel` (see the module docstring)."""

    def clip_logits(self, h_up: torch.Tensor, h_un: torch.Tensor, h_c: torch.Tensor,
                    user_idx: torch.Tensor | None = None) -> torch.Tensor:
        """Clip logits for n views: ``h_up``/``h_un`` (n, d), ``h_c`` (n, nc, d); ``user_idx`` (n,)
        (−1 for cold users) is only used by ``user_bias``. Returns (n, nc)."""
        ap = self.mlp_p.first_user(h_up)[:, None, :] + self.mlp_p.first_clip(h_c)
        an = self.mlp_n.first_user(h_un)[:, None, :] + self.mlp_n.first_clip(h_c)
        dp = dn = None
        if self.dot_p is not None:
            dp = ((h_up * self.dot_p)[:, None, :] * h_c).sum(-1)
            dn = ((h_un * self.dot_n)[:, None, :] * h_c).sum(-1)
        return self.logits_from_first(ap, an, user_idx, dp, dn)

    def clip_projections(self, h_cu: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The clip halves of both MLPs' first layers for m clips: (m, h1), (m, h1)."""
        return self.mlp_p.first_clip(h_cu), self.mlp_n.first_clip(h_cu)

    def clip_logits_indexed(self, h_up: torch.Tensor, h_un: torch.Tensor, h_cu: torch.Tensor, inv: torch.Tensor,
                            user_idx: torch.Tensor | None = None) -> torch.Tensor:
        """Same as :meth:`clip_logits` with ``h_c = h_cu[inv]``, but projects each distinct clip
        once: ``h_cu`` (m, d) distinct clips, ``inv`` (n, nc) indices into them. Returns (n, nc)."""
        cp, cn = self.clip_projections(h_cu)
        hc = (h_cu, inv) if self.dot_p is not None else None
        return self.clip_logits_gathered(h_up, h_un, rows_at(cp, inv), rows_at(cn, inv), hc, user_idx)

    def clip_logits_gathered(self, h_up: torch.Tensor, h_un: torch.Tensor, cp: torch.Tensor, cn: torch.Tensor,
                             hc: tuple[torch.Tensor, torch.Tensor] | None,
                             user_idx: torch.Tensor | None = None) -> torch.Tensor:
        """Clip logits (n, nc) from each view's rows: interests ``h_up``/``h_un`` (n, d), its clips'
        :meth:`clip_projections` ``cp``/``cn`` (n, nc, h1) and, with ``interaction = "mlp+dot"``,
        its clips' H_c as ``hc = (h_cu, inv)``: distinct clips (m, d) and each view's rows of them
        (n, nc), gathered inside :func:`~frame_core.model.lean_ops.gathered_bmm`."""
        ap = self.mlp_p.first_user(h_up)[:, None, :] + cp
        an = self.mlp_n.first_user(h_un)[:, None, :] + cn
        dp = dn = None
        if self.dot_p is not None:
            w = torch.stack([h_up * self.dot_p, h_un * self.dot_n], -1)  # (n, d, 2)
            dpn = gathered_bmm(*hc, w)  # (n, nc, 2): both inner products, no (n, nc, d) product kept
            dp, dn = dpn[..., 0], dpn[..., 1]
        return self.logits_from_first(ap, an, user_idx, dp, dn)

    def logits_from_first(self, ap: torch.Tensor, an: torch.Tensor, user_idx: torch.Tensor | None,
                          dp: torch.Tensor | None = None, dn: torch.Tensor | None = None) -> torch.Tensor:
        """From the first-layer pre-activations of both MLPs (n, nc, h1), and with
        ``interaction = "mlp+dot"`` the weighted inner products ``dp``/``dn`` (n, nc), to logits (n, nc)."""
        zp, zn = self.mlp_p.rest(ap), self.mlp_n.rest(an)
        if dp is not None:
            zp, zn = zp + dp, zn + dn
        z = self.alpha_pn[0] * zp - self.alpha_pn[1] * zn
        if self.user_b is not None and user_idx is not None:
            b = self.user_b(user_idx.clamp_min(0)).squeeze(-1) * (user_idx >= 0).float()
            z = z + b[:, None]
        return z


