"""Learning-rate schedule, early stopping and time budget of the FRAME trainer.

Everything here counts in **validation checks**, not epochs: the trainer validates
``checks_per_epoch`` times per epoch (see :func:`checks_per_epoch`), so that small logs, where
one epoch is only a few steps, are checked often enough for early stopping and the schedule
to react before the run is over.

- :class:`LRSchedule`: a multiplier on every parameter group's base learning rate.
  ``"none"`` keeps it at 1; ``"plateau"`` multiplies it by ``factor`` after ``patience`` checks
  without an improvement of at least ``min_delta`` (never below ``min_factor``); ``"cosine"``
  decays it from 1 to ``min_factor`` over the epoch cap. Every kind starts with a linear
  warm-up from ``WARMUP_START`` to 1 over ``warmup_steps`` optimiser steps.
- :class:`EarlyStopper`: best score, improvement only when it beats the best by more than
  ``min_delta``; stops after ``patience`` checks without one.
- :class:`TimeBudget`: stops after ``seconds`` of wall time (0 = no limit).

No torch import beyond the optimiser's ``param_groups`` interface, so the logic is unit-tested
without a model (``tests/test_schedule.py``).
"""

from __future__ import annotations

import math
import time

from frame_core.model.config import LR_SCHEDULES

WARMUP_START = 0.1  # warm-up starts at 10 % of the base learning rate
AUTO_VAL_VIEWS = 60_000  # val_per_epoch = 0 (auto): about one check per this many training views
MAX_VAL_PER_EPOCH = 4


def checks_per_epoch(val_per_epoch: int, n_train: int, n_steps: int) -> int:
    """Validation checks per epoch: ``val_per_epoch`` when ≥ 1; auto (0) gives
    ``clip(round(AUTO_VAL_VIEWS / n_train), 1, MAX_VAL_PER_EPOCH)``: small logs are checked up to
    4 times per epoch, logs with ≥ 40k training views once. Never more than ``n_steps``."""
    if val_per_epoch and val_per_epoch > 0:
        k = int(val_per_epoch)
    else:
        k = int(min(MAX_VAL_PER_EPOCH, max(1, round(AUTO_VAL_VIEWS / max(1, n_train)))))
    return max(1, min(k, int(n_steps)))


def check_steps(n_steps: int, k: int) -> set[int]:
    """The 1-based steps of an epoch after which to validate: ``k`` evenly spaced, the last
    step always included."""
    return {int(round(n_steps * (i + 1) / k)) for i in range(k)} | {n_steps}


class EarlyStopper:
    """Best-score tracking with a minimum improvement and a patience in checks."""

    def __init__(self, patience: int, min_delta: float = 0.0):
        self.patience, self.min_delta = max(1, int(patience)), float(min_delta)
        self.best = -math.inf
        self.bad = 0

    def update(self, score: float) -> bool:
        """Record one check; True when it is a new best (by more than ``min_delta``)."""
        if math.isfinite(score) and (self.best == -math.inf or score > self.best + self.min_delta):
            self.best, self.bad = float(score), 0
            return True
        self.bad += 1
        return False

    @property
    def should_stop(self) -> bool:
        return self.bad >= self.patience


class LRSchedule:
    """Sets ``group["lr"] = base_lr(group) · factor`` on an optimiser's parameter groups."""

    def __init__(self, optimizer, kind: str = "none", *, warmup_steps: int = 0, total_steps: int = 1,
                 patience: int = 2, factor: float = 0.5, min_factor: float = 0.02, min_delta: float = 0.0):
        if kind not in LR_SCHEDULES:
            raise ValueError(f"unknown lr schedule {kind!r}; use one of {', '.join(LR_SCHEDULES)}")
        self.opt, self.kind = optimizer, kind
        self.base = [float(g["lr"]) for g in optimizer.param_groups]
        self.warmup_steps, self.total_steps = max(0, int(warmup_steps)), max(1, int(total_steps))
        self.patience, self.factor, self.min_factor = max(1, int(patience)), float(factor), float(min_factor)
        self.min_delta = float(min_delta)
        self.step_count = 0
        self.plateau_factor = 1.0
        self.best = -math.inf
        self.bad = 0
        self.reductions = 0
        self._apply()

    def multiplier(self) -> float:
        """The current factor on the base learning rates."""
        if self.kind == "cosine":
            t = min(1.0, max(0.0, (self.step_count - self.warmup_steps) / max(1, self.total_steps - self.warmup_steps)))
            m = self.min_factor + (1 - self.min_factor) * 0.5 * (1 + math.cos(math.pi * t))
        else:
            m = self.plateau_factor
        if self.warmup_steps and self.step_count < self.warmup_steps:
            m *= WARMUP_START + (1 - WARMUP_START) * self.step_count / self.warmup_steps
        return m

    def _apply(self) -> None:
        m = self.multiplier()
        for g, b in zip(self.opt.param_groups, self.base):
            g["lr"] = b * m

    def step(self) -> None:
        """After every optimiser step (warm-up and cosine advance per step)."""
        self.step_count += 1
        self._apply()

    def check(self, score: float) -> bool:
        """After every validation check; True when the plateau rule lowered the rate."""
        if self.kind != "plateau":
            return False
        if math.isfinite(score) and (self.best == -math.inf or score > self.best + self.min_delta):
            self.best, self.bad = float(score), 0
            return False
        self.bad += 1
        if self.bad >= self.patience and self.plateau_factor > self.min_factor:
            self.plateau_factor = max(self.min_factor, self.plateau_factor * self.factor)
            self.bad, self.reductions = 0, self.reductions + 1
            self._apply()
            return True
        return False

    @property
    def lrs(self) -> list[float]:
        return [float(g["lr"]) for g in self.opt.param_groups]


class TimeBudget:
    """Wall-clock budget in seconds; 0 or less means none."""

    def __init__(self, seconds: float, clock=time.perf_counter):
        self.seconds, self.clock = float(seconds or 0.0), clock
        self.t0 = clock()

    @property
    def spent(self) -> bool:
        return self.seconds > 0 and self.clock() - self.t0 >= self.seconds
