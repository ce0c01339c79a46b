"""Autograd functions that keep less for the backward pass than their plain torch forms.

Same values and gradients as the plain ops (``tests/test_lean_ops.py``); they differ only in
what they hold between forward and backward, which sets a training step's peak memory:

- :func:`add_rows`: ``base.index_add(0, index, src, alpha=alpha)``. torch's ``index_add`` saves
  ``src`` for its backward (to know its shape); the edge-removal terms of a step are
  (removed edges, d) matrices, 43 MB at Micro-video-A scale, kept only for that. Here only
  the index is kept.
- :func:`gathered_bmm`: ``torch.bmm(x[idx], w)`` for rows ``x`` (m, d) gathered by ``idx``
  (n, k) and per-view matrices ``w`` (n, d, j). The plain form saves the gathered (n, k, d)
  tensor (32 MB at Micro-video-A scale, where x is (m, d) with m < n·k); here x is kept
  (the step keeps it anyway) and the rows are gathered again in the backward.

:func:`rows_at` is the row gather both use (``x[idx]`` through ``index_select``).
"""

from __future__ import annotations

import torch


class _AddRows(torch.autograd.Function):
    @staticmethod
    def forward(ctx, base: torch.Tensor, index: torch.Tensor, src: torch.Tensor, alpha: float) -> torch.Tensor:
        ctx.save_for_backward(index)
        ctx.alpha = alpha
        return base.index_add(0, index, src, alpha=alpha)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (index,) = ctx.saved_tensors
        g_src = None
        if ctx.needs_input_grad[2]:
            g_src = grad.index_select(0, index)
            if ctx.alpha != 1:
                g_src = g_src.mul_(ctx.alpha)
        return (grad if ctx.needs_input_grad[0] else None), None, g_src, None


def add_rows(base: torch.Tensor, index: torch.Tensor, src: torch.Tensor, alpha: float = 1.0) -> torch.Tensor:
    """``base.index_add(0, index, src, alpha=alpha)`` (a new tensor), keeping only ``index`` for
    the backward. ``base`` (r, d), ``index`` (k,) int64 rows of ``base``, ``src`` (k, d)."""
    return _AddRows.apply(base, index, src, float(alpha))


class _GatheredBmm(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, idx: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x, idx, w)
        return torch.bmm(rows_at(x, idx), w)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        x, idx, w = ctx.saved_tensors
        g_x = g_w = None
        if ctx.needs_input_grad[2]:
            g_w = torch.bmm(rows_at(x, idx).transpose(1, 2), grad)
        if ctx.needs_input_grad[0]:
            g_rows = torch.bmm(grad, w.transpose(1, 2))  # (n, k, d)
            g_x = torch.zeros_like(x).index_add_(0, idx.reshape(-1), g_rows.reshape(-1, x.shape[1]))
        return g_x, None, g_w


def rows_at(x: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """``x[idx]`` for a 2-D ``x`` (m, h) and an index tensor of any shape, as ``index_select``:
    the same values, with a backward that adds rows (``index_add``) instead of the sort-based
    accumulating ``index_put`` of advanced indexing."""
    return torch.index_select(x, 0, idx.reshape(-1)).view(*idx.shape, x.shape[1])


def gathered_bmm(x: torch.Tensor, idx: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """``torch.bmm(x[idx], w)``: ``x`` (m, d), ``idx`` (n, k) int64 rows of ``x``, ``w`` (n, d, j)
    → (n, k, j), keeping ``x``, ``idx`` and ``w`` (not the gathered (n, k, d)) for the backward."""
    return _GatheredBmm.apply(x, idx, w)
