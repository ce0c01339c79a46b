"""Scoring heads of FRAME: the clip MLPs and the clip → video aggregation.

- :class:`ClipMLP`: MLP over (h_u ‖ h_c) → one logit, with the first layer split into its
  user and clip halves so that scoring can project each user and each clip once;
- :func:`video_log_probs` / :func:`video_probs`: ŷ_uv from clip logits, as the mean of the clip
  probabilities (the slides) or their product (a discrete-time survival model: under the
  ``watched-positive`` policy a clip label means "got past this clip, given it was reached").
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


class ClipMLP(nn.Module):
    """MLP over (h_u ‖ h_c) → 1 logit. The first layer is split into its user and clip halves so
    that scoring can project each user and each clip once and add the projections."""

    def __init__(self, d: int, sizes: tuple[int, ...], dropout: float):
        super().__init__()
        dims = [2 * d, *sizes]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:]))
        self.out = nn.Linear(dims[-1], 1)
        self.dropout = nn.Dropout(dropout)
        self.d = d

    def first_user(self, h_u: torch.Tensor) -> torch.Tensor:
        """(…, d) → (…, h1): the user half of the first layer, bias included."""
        lin = self.layers[0]
        return F.linear(h_u, lin.weight[:, : self.d], lin.bias)

    def first_clip(self, h_c: torch.Tensor) -> torch.Tensor:
        """(…, d) → (…, h1): the clip half of the first layer, no bias."""
        return F.linear(h_c, self.layers[0].weight[:, self.d :])

    def rest(self, a: torch.Tensor) -> torch.Tensor:
        """From the first layer's pre-activation (…, h1) to the logit (…). In training the last
        ReLU, its dropout and the output layer run as :class:`_ReluDropOut` (same values and
        gradients, less memory kept for the backward)."""
        p = self.dropout.p
        for lin in self.layers[1:]:
            a = lin(dropout(torch.relu(a), p, self.training))
        keep = dropout_keep(a, p) if self.training else None
        if keep is None:
            return self.out(dropout(torch.relu(a), p, self.training)).squeeze(-1)
        return _ReluDropOut.apply(a, keep, keep_scale(p), self.out.weight, self.out.bias).squeeze(-1)


class _ReluDropOut(torch.autograd.Function):
    """``out(relu(a) ⊙ keep · scale)`` for the output layer ``out`` (weight (1, h), bias (1,)):
    the same values and gradients as the three ops one after another, but the backward keeps only
    ``a`` and the boolean mask (5 bytes an element) where autograd would keep the ReLU's output,
    the float mask and the dropped activations (12 bytes an element: about 0.1 GB at
    Micro-video-A scale for both MLPs); it recomputes the dropped activations for the weight's
    gradient."""

    @staticmethod
    def forward(ctx, a, keep, scale, weight, bias):  # noqa: D401
        m = keep.to(a.dtype).mul_(scale)
        x = torch.relu(a).mul_(m)
        ctx.scale = scale
        ctx.save_for_backward(a, keep, weight)
        return F.linear(x, weight, bias)

    @staticmethod
    def backward(ctx, g):
        a, keep, weight = ctx.saved_tensors
        m = keep.to(a.dtype).mul_(ctx.scale)
        gx = g.matmul(weight)  # (…, h)
        gw = gb = None
        if ctx.needs_input_grad[3]:
            x = torch.relu(a).mul_(m)
            gw = g.reshape(-1, g.shape[-1]).t().mm(x.reshape(-1, x.shape[-1]))
        if ctx.needs_input_grad[4]:
            gb = g.reshape(-1, g.shape[-1]).sum(0)
        ga = gx.mul_(m).masked_fill_(a <= 0, 0.0) if ctx.needs_input_grad[0] else None
        return ga, None, None, gw, gb


_DROP_LEVELS = 65536


def dropout(x: torch.Tensor, p: float, training: bool) -> torch.Tensor:
    """Inverted dropout: each element is zeroed with probability p (to 1/65,536) and the rest
    scaled by 1 / (1 − p), in training only. The same as ``F.dropout`` in distribution, about
    three times faster on the CPU: the mask comes from 16 random bits per element drawn by
    NumPy's SFC64 generator (torch's CPU Bernoulli draws cost ≈ 60 ms for the (15,695 × 8 × 64)
    activations of a scale-A step), seeded from torch's generator, so ``torch.manual_seed``
    still makes training deterministic."""
    drop = int(round(p * _DROP_LEVELS))
    if not training or drop <= 0 or x.numel() == 0:
        return x
    if drop >= _DROP_LEVELS:
        return x * 0.0
    keep = dropout_keep(x, p)
    return x * keep.to(x.dtype).mul_(keep_scale(p))


def keep_scale(p: float) -> float:
    """The factor :func:`dropout` scales kept elements by: 1 / (1 − p), with p rounded to
    1/65,536 as the mask draws it (for 0 ≤ p < 1)."""
    return _DROP_LEVELS / (_DROP_LEVELS - int(round(p * _DROP_LEVELS)))


def dropout_keep(x: torch.Tensor, p: float) -> torch.Tensor | None:
    """The boolean keep mask of :func:`dropout` for a tensor shaped like ``x`` (one draw from
    torch's generator), or None where dropout does nothing or drops everything (p ≤ 0 or ≥ 1 to
    1/65,536, or an empty ``x``)."""
    drop = int(round(p * _DROP_LEVELS))
    if drop <= 0 or drop >= _DROP_LEVELS or x.numel() == 0:
        return None
    seed = int(torch.randint(0, 2**62, (1,)).item())
    bits = np.frombuffer(np.random.Generator(np.random.SFC64(seed)).bytes(2 * x.numel()), dtype=np.uint16)
    return torch.from_numpy(bits >= drop).view(x.shape)


def log1mexp(x: torch.Tensor) -> torch.Tensor:
    """log(1 − exp(x)) for x ≤ 0, numerically stable."""
    x = x.clamp(max=-1e-7)
    return torch.where(x > -0.6931, torch.log(-torch.expm1(x)), torch.log1p(-torch.exp(x)))


def video_log_probs(logits: torch.Tensor, mode: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(log ŷ_uv, log(1 − ŷ_uv)) from clip logits (n, nc); ``mode`` "product" or "mean"."""
    _check_mode(mode)
    if mode == "product":
        lp = F.logsigmoid(logits).sum(-1)
        return lp, log1mexp(lp)
    p = torch.sigmoid(logits).mean(-1).clamp(1e-7, 1 - 1e-7)
    return torch.log(p), torch.log1p(-p)


def video_probs(logits: torch.Tensor, mode: str) -> torch.Tensor:
    """ŷ_uv (n,) from clip logits (n, nc)."""
    _check_mode(mode)
    if mode == "product":
        return torch.exp(F.logsigmoid(logits).sum(-1))
    return torch.sigmoid(logits).mean(-1)


def _check_mode(mode: str) -> None:
    if mode not in ("product", "mean"):
        raise ValueError(f"video score must be 'product' or 'mean' here, got {mode!r}")
