"""Adam with its state allocated before the first step (frame_core/training/optimizer.py)."""

from __future__ import annotations

import pytest
import torch

from frame_core.data.prepare import prepare_data
from frame_core.training.data_rules import resolve_emb_lr
from frame_core.training.optimizer import adam, allocate_state
from frame_core.training.trainer import build_model

from .engine_world import fast_config, random_log


def _steps(opt: torch.optim.Optimizer, params: list[torch.Tensor], n: int = 4) -> None:
    """n steps with fixed pseudo-random gradients (the same for every call)."""
    g = torch.Generator().manual_seed(3)
    for _ in range(n):
        opt.zero_grad(set_to_none=True)
        for p in params:
            p.grad = torch.randn(p.shape, generator=g)
        opt.step()


@pytest.mark.parametrize("kw", [{"fused": True}, {"foreach": False}, {"amsgrad": True, "weight_decay": 0.01}])
def test_preallocated_state_gives_the_lazy_updates_bit_for_bit(kw):
    torch.manual_seed(0)
    lazy = [torch.randn(50, 4, requires_grad=True), torch.randn(7, requires_grad=True)]
    early = [p.detach().clone().requires_grad_() for p in lazy]
    opt_lazy = torch.optim.Adam([{"params": lazy[:1]}, {"params": lazy[1:], "lr": 0.05}], lr=0.01, **kw)
    opt_early = allocate_state(torch.optim.Adam([{"params": early[:1]}, {"params": early[1:], "lr": 0.05}], lr=0.01, **kw))
    assert all(opt_early.state[p]["exp_avg"].shape == p.shape for p in early)  # allocated before any step
    assert float(opt_early.state[early[0]]["step"]) == 0.0
    _steps(opt_lazy, lazy)
    _steps(opt_early, early)
    for a, b in zip(lazy, early, strict=True):
        assert torch.equal(a, b)
    for a, b in zip(lazy, early, strict=True):
        sa, sb = opt_lazy.state[a], opt_early.state[b]
        assert sa.keys() == sb.keys()
        assert all(torch.equal(sa[k], sb[k]) and sa[k].dtype == sb[k].dtype for k in sa)


def test_preallocated_state_matches_under_a_float64_default_and_a_late_first_gradient():
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        lazy = [torch.randn(6, 3, requires_grad=True), torch.randn(4, requires_grad=True)]
        early = [p.detach().clone().requires_grad_() for p in lazy]
        opt_lazy = torch.optim.Adam(lazy, lr=0.01, foreach=False)
        opt_early = allocate_state(torch.optim.Adam(early, lr=0.01, foreach=False))
        for step in range(3):
            for opt, ps in ((opt_lazy, lazy), (opt_early, early)):
                opt.zero_grad(set_to_none=True)
                ps[0].grad = torch.full(ps[0].shape, 0.5 + step)
                if step:  # the second parameter gets no gradient in the first step
                    ps[1].grad = torch.full(ps[1].shape, -1.0 * step)
                opt.step()
        for a, b in zip(lazy, early, strict=True):
            assert torch.equal(a, b)
            sa, sb = opt_lazy.state[a], opt_early.state[b]
            assert all(torch.equal(sa[k], sb[k]) and sa[k].dtype == sb[k].dtype for k in sa)
    finally:
        torch.set_default_dtype(old)


def test_a_stepped_optimiser_is_left_alone():
    p = torch.randn(3, requires_grad=True)
    opt = torch.optim.Adam([p], lr=0.1)
    p.grad = torch.ones(3)
    opt.step()
    before = opt.state[p]["exp_avg"].clone()
    assert allocate_state(opt) is opt
    assert torch.equal(opt.state[p]["exp_avg"], before) and float(opt.state[p]["step"]) == 1.0


def test_the_trainer_optimiser_starts_with_state_for_every_parameter():
    data = prepare_data(random_log(seed=5), 2)
    cfg = fast_config(nc=2, user_embedding=True)
    model = build_model(data, cfg)
    opt = adam(model, cfg, resolve_emb_lr(cfg, data))
    assert opt.defaults["fused"]  # float32 parameters on the CPU: one fused kernel per step
    params = [p for g in opt.param_groups for p in g["params"]]
    assert len(params) == len(list(model.parameters()))
    for p in params:
        s = opt.state[p]
        assert s["exp_avg"].shape == p.shape and not s["exp_avg"].any() and not s["exp_avg_sq"].any()
