"""Learning-rate schedule, early stopping with min_delta, validation frequency and time budget
(frame_core.schedule and its hooks in the trainer; issue #11)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from frame_core.common.errors import InputError
from frame_core.data.prepare import prepare_data
from frame_core.model.config import FrameConfig
from frame_core.training.schedule import EarlyStopper, LRSchedule, TimeBudget, check_steps, checks_per_epoch
from frame_core.training.trainer import train_model

from .engine_world import fast_config, random_log


def _opt(lr=0.01, emb=0.1):
    a, b = torch.nn.Parameter(torch.zeros(2)), torch.nn.Parameter(torch.zeros(2))
    return torch.optim.SGD([{"params": [a]}, {"params": [b], "lr": emb}], lr=lr)


def test_early_stopper_min_delta_and_patience():
    s = EarlyStopper(patience=3, min_delta=0.01)
    assert s.update(0.70)  # first finite score is a best
    assert not s.update(0.705)  # better, but by less than min_delta: a plateau
    assert not s.update(0.709)
    assert not s.should_stop
    assert s.update(0.72)  # beats 0.70 + 0.01: counter resets
    assert s.best == 0.72 and s.bad == 0
    for _ in range(3):
        s.update(0.7201)
    assert s.should_stop
    s0 = EarlyStopper(patience=2, min_delta=0.0)
    s0.update(0.5)
    assert s0.update(0.5001)  # with min_delta 0 any gain counts
    assert not s0.update(float("nan"))


def test_plateau_lowers_every_group_and_warmup_ramps():
    opt = _opt()
    sch = LRSchedule(opt, "plateau", warmup_steps=10, patience=2, factor=0.5, min_factor=0.1, min_delta=0.01)
    assert sch.lrs == pytest.approx([0.001, 0.01])  # warm-up starts at 10 %
    for _ in range(5):
        sch.step()
    assert sch.lrs[0] == pytest.approx(0.01 * (0.1 + 0.9 * 0.5))
    for _ in range(5):
        sch.step()
    assert sch.lrs == pytest.approx([0.01, 0.1])  # warm-up done
    assert not sch.check(0.70)
    assert not sch.check(0.705)  # plateau check 1 (gain < min_delta)
    assert sch.check(0.706)  # check 2: lowered
    assert sch.lrs == pytest.approx([0.005, 0.05])  # both groups keep their ratio
    for _ in range(20):
        sch.check(0.5)
    assert sch.lrs == pytest.approx([0.001, 0.01])  # floor min_factor
    none = LRSchedule(_opt(), "none")
    assert not none.check(0.1) and not none.check(0.1)
    assert none.lrs == pytest.approx([0.01, 0.1])


def test_cosine_decays_to_floor():
    sch = LRSchedule(_opt(), "cosine", total_steps=100, min_factor=0.02)
    seen = []
    for _ in range(100):
        sch.step()
        seen.append(sch.lrs[0])
    assert all(a >= b - 1e-12 for a, b in zip(seen, seen[1:]))  # monotone decay
    assert seen[49] == pytest.approx(0.01 * (0.02 + 0.98 * 0.5), rel=1e-2)
    assert seen[-1] == pytest.approx(0.01 * 0.02)


def test_checks_per_epoch_and_steps():
    assert checks_per_epoch(0, 500, 16) == 4  # small log: auto → 4
    assert checks_per_epoch(0, 30_000, 16) == 2
    assert checks_per_epoch(0, 200_000, 16) == 1
    assert checks_per_epoch(3, 200_000, 16) == 3
    assert checks_per_epoch(8, 100, 2) == 2  # never more than the steps
    assert check_steps(16, 4) == {4, 8, 12, 16}
    assert check_steps(5, 1) == {5}


def test_time_budget_with_fake_clock():
    now = [0.0]
    b = TimeBudget(10, clock=lambda: now[0])
    assert not b.spent
    now[0] = 10.5
    assert b.spent
    assert not TimeBudget(0, clock=lambda: 1e9).spent


def test_config_fields_validated():
    FrameConfig(lr_schedule="cosine", val_per_epoch=3, min_delta=1e-3, warmup_epochs=0.5).validated()
    with pytest.raises(InputError):
        FrameConfig(lr_schedule="step").validated()
    with pytest.raises(InputError):
        FrameConfig(val_per_epoch=-1).validated()
    with pytest.raises(InputError):
        FrameConfig(min_delta=-0.1).validated()
    d = FrameConfig().to_dict()
    assert {"lr_schedule", "val_per_epoch", "min_delta", "warmup_epochs", "time_budget_s"} <= set(d)
    assert FrameConfig.from_dict(d) == FrameConfig()


@pytest.fixture(scope="module")
def plateau_log():
    # labels drawn independently of users and videos: validation AUC has nothing to learn, so it
    # plateaus at once (the built-in plateau); only noise moves it
    return random_log(n_users=20, n_videos=30, per_user=20, seed=5, full_share=0.5)


def test_trainer_stops_on_plateau_with_min_delta(plateau_log):
    cfg = fast_config(nc=2, epochs=40, patience=2, val_per_epoch=2, min_delta=0.5)  # no gain can reach 0.5
    data = prepare_data(plateau_log, 2)
    res = train_model(data, cfg)
    # best is the first check; patience 2 epochs × 2 checks → stop after 4 more checks (epoch 3)
    assert res.stop_reason == "patience" and res.stopped_early
    assert len(res.checks) == 5
    assert res.best_epoch == 1
    assert len(res.history) == 3
    assert list(res.checks["improved"]) == [True, False, False, False, False]


def test_trainer_plateau_schedule_lowers_lr(plateau_log):
    cfg = fast_config(nc=2, epochs=6, patience=2, val_per_epoch=2, min_delta=0.5, lr_schedule="plateau")
    data = prepare_data(plateau_log, 2)
    res = train_model(data, cfg)
    # lr patience = (2 × 2) // 2 = 2 checks: lowered at check 3, before early stopping at check 5
    assert res.checks["lr_lowered"].tolist()[:3] == [False, False, True]
    assert res.checks["lr"].iloc[2] == pytest.approx(cfg.lr * 0.5)
    assert res.history["lr"].iloc[-1] < cfg.lr


def test_trainer_time_budget(plateau_log):
    cfg = fast_config(nc=2, epochs=1000, patience=1000, time_budget_s=1e-9)
    res = train_model(prepare_data(plateau_log, 2), cfg)
    assert res.stop_reason == "time_budget"
    assert len(res.history) == 1 and np.isfinite(res.history["loss"].iloc[0])
