"""Autograd functions that keep less for backward (frame_core/model/lean_ops.py): the same values
and gradients as the plain torch ops, and less saved for the backward pass."""

from __future__ import annotations

import torch

from frame_core.model.lean_ops import add_rows, gathered_bmm


def _saved_bytes(fn) -> int:
    """Bytes of the distinct storages autograd keeps from ``fn()``'s forward."""
    seen = {}

    def pack(t):
        seen[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        fn()
    return sum(seen.values())


def test_add_rows_matches_index_add_and_its_gradients():
    g = torch.Generator().manual_seed(0)
    base = torch.randn(6, 3, generator=g, dtype=torch.float64, requires_grad=True)
    src = torch.randn(5, 3, generator=g, dtype=torch.float64, requires_grad=True)
    index = torch.tensor([0, 2, 2, 5, 1])
    for alpha in (1.0, -1.0, 0.5):
        assert torch.equal(add_rows(base, index, src, alpha), base.index_add(0, index, src, alpha=alpha))
        assert torch.autograd.gradcheck(lambda b, s, a=alpha: add_rows(b, index, s, a), (base, src))
    # hand check of the source gradient: row k of src gets alpha · grad[index[k]]
    up = torch.arange(18, dtype=torch.float64).view(6, 3)
    (gs,) = torch.autograd.grad(add_rows(base, index, src, -1.0), src, up)
    assert torch.equal(gs, -up[index])


def test_add_rows_keeps_only_the_index():
    base = torch.randn(100, 64, requires_grad=True)
    src = torch.randn(4000, 64) * torch.ones(1, requires_grad=True)  # a non-leaf source
    index = torch.randint(0, 100, (4000,))
    plain = _saved_bytes(lambda: base.index_add(0, index, src, alpha=-1))
    lean = _saved_bytes(lambda: add_rows(base, index, src, -1.0))
    assert plain >= 4000 * 64 * 4  # torch keeps the (4000, 64) source
    assert lean == 4000 * 8  # only the int64 index


def test_gathered_bmm_matches_the_gathered_product_and_its_gradients():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(7, 4, generator=g, dtype=torch.float64, requires_grad=True)
    w = torch.randn(5, 4, 2, generator=g, dtype=torch.float64, requires_grad=True)
    idx = torch.randint(0, 7, (5, 3), generator=g)
    assert torch.allclose(gathered_bmm(x, idx, w), torch.bmm(x[idx], w))
    assert torch.autograd.gradcheck(lambda a, b: gathered_bmm(a, idx, b), (x, w))
    up = torch.randn(5, 3, 2, generator=g, dtype=torch.float64)
    got = torch.autograd.grad(gathered_bmm(x, idx, w), (x, w), up)
    want = torch.autograd.grad(torch.bmm(x[idx], w), (x, w), up)
    assert all(torch.allclose(a, b) for a, b in zip(got, want, strict=True))


def test_gathered_bmm_does_not_keep_the_gathered_rows():
    x = torch.randn(1000, 64) * torch.ones(1, requires_grad=True)
    w = torch.randn(2000, 64, 2, requires_grad=True)
    idx = torch.randint(0, 1000, (2000, 8))
    plain = _saved_bytes(lambda: torch.bmm(torch.index_select(x, 0, idx.reshape(-1)).view(2000, 8, 64), w))
    lean = _saved_bytes(lambda: gathered_bmm(x, idx, w))
    gathered = 2000 * 8 * 64 * 4
    assert plain >= gathered
    assert lean < gathered // 2  # x (1000, 64), the index and w only
