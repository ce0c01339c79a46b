"""Training FRAME: Adam over mini-batches of views, early stopping on validation AUC.

One step (batch of B training views, their users u and videos v):

1. H_c0 for all clips, first hop over the full sparse graphs → H_up, H_un (U, d);
2. second hop only for the batch's clips (rows of R̃ᵀ selected in scipy) → H_c1;
3. clip logits (B, N_c); loss = mean BCE over the **labelled** clips of the batch
   (``clip_mask``) + λ · mean BCE(ŷ_uv, full view) (hybrid supervision, ``hybrid_lambda``).

The model scores the validation rows (video level) ``k`` times per epoch (``val_per_epoch``;
0 = auto, more checks per epoch on small logs, see
:func:`frame_core.training.schedule.checks_per_epoch`); the check with the best validation AUC
is kept (``best_epoch`` is the epoch it fell in). Training stops after ``patience`` epochs' worth
of checks (``patience · k``) without a gain of more than ``min_delta``, at the epoch cap, or when
``time_budget_s`` is spent. The learning rates follow ``lr_schedule`` with a linear warm-up over
``warmup_epochs`` (:mod:`frame_core.training.schedule`). When there is no validation row with
both classes, training runs to the cap (or the budget) and the last state is kept
(``selection = "last_epoch"``). Progress events: ``step``, ``check`` (after each validation
check: val_auc, lr, improved) and ``epoch``.

Everything is seeded from ``cfg.seed`` (init, shuffling, dropout); on CPU a given seed gives
the same result. The number of torch threads is left as the caller set it.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import torch

from frame_core.common.errors import CancelledError
from frame_core.common.perf import tune_allocator
from frame_core.data.prepare import FrameData
from frame_core.evaluation.evaluate import val_metrics
from frame_core.model.config import FrameConfig
from frame_core.model.factors import start_biases_from_data
from frame_core.model.frame import FrameModel
from frame_core.model.scorer import Scorer
from frame_core.training.batches import BatchMaker
from frame_core.training.best_state import BestState
from frame_core.training.calibration import calibrate_scores
from frame_core.training.chunked_loss import loss_and_backward
from frame_core.training.data_rules import DENSE_VIEWS_PER_VIDEO, resolve_emb_lr, resolved_for, train_views_per_video
from frame_core.training.distributed import DistContext
from frame_core.training.optimizer import adam
from frame_core.training.schedule import EarlyStopper, LRSchedule, TimeBudget, check_steps, checks_per_epoch

log = logging.getLogger(__name__)

ProgressFn = Callable[[dict[str, Any]], None]


@dataclasses.dataclass
class TrainResult:
    """A trained model (best epoch restored) and how it got there.

    ``history``: one row per epoch with columns ``epoch, loss, clip_loss, video_loss, val_auc,
    val_gauc, val_logloss`` (at the epoch's last check), ``lr``, ``epoch_seconds`` (wall),
    ``epoch_cpu_seconds`` (CPU time of all threads), ``elapsed``.
    """

    model: FrameModel
    history: pd.DataFrame
    best_epoch: int
    selection: str  # "val_auc" or "last_epoch"
    train_seconds: float
    stopped_early: bool
    batch_size: int = 0  # the effective batch size (see effective_batch_size)
    emb_lr: float = 0.0  # the learning rate the id tables used (see resolve_emb_lr)
    checks: pd.DataFrame | None = None  # one row per validation check: epoch (fractional), val_*, lr, improved
    stop_reason: str = "epochs"  # "epochs" (cap), "patience" (early stopping) or "time_budget"
    config: FrameConfig | None = None  # the concrete configuration trained (auto settings resolved)
    auto: list[dict] | None = None  # the race of auto settings: one dict per candidate (None without one)


MIN_STEPS = 16


def effective_batch_size(batch_size: int, n_train: int) -> int:
    """``batch_size``, reduced on small logs so that an epoch has at least ``MIN_STEPS`` steps
    (never below 32 views): min(batch_size, max(32, ceil(n_train / MIN_STEPS)))."""
    return int(min(batch_size, max(32, -(-n_train // MIN_STEPS))))


def build_model(data: FrameData, cfg: FrameConfig) -> FrameModel:
    """A fresh model for ``data`` with scalers fitted and tables attached (seeded by the caller)."""
    feat_dim = data.features.dim if data.features is not None else 0
    model = FrameModel(cfg, data.n_users, data.n_videos, feat_dim=feat_dim)
    model.fit_scalers(data.clip_meta, data.clip_feat, data.clip_feat_found)
    model.attach((data.graphs.RP_norm, data.graphs.RN_norm), data.clip_meta, data.warm,
                 data.clip_feat, data.clip_feat_found)
    if cfg.bias_init == "data" and model.factors is not None:
        start_biases_from_data(model, data)  # bias_init = "data"
    return model



def make_scorer(model: FrameModel, data: FrameData) -> Scorer:
    return Scorer(model, data.maps, data.durations, data.features)


AUTO_RACE_MAX_TRAIN_VIEWS = 200_000
RACE = ({"exclude_batch_edges": True, "video_score": "product"},
        {"exclude_batch_edges": False, "video_score": "mean", "emb_lr": 3e-2})
"""The settings an auto configuration races, in order (the first is the static fallback);
``emb_lr`` applies only when the configuration leaves it automatic (``None``)."""


def auto_candidates(cfg: FrameConfig, n_train: int, views_per_video: float = DENSE_VIEWS_PER_VIDEO,
                    has_features: bool = False) -> list[FrameConfig]:
    """The concrete configurations behind ``cfg``'s auto settings (docs/design.md §4).

    ``exclude_batch_edges = None`` and ``video_score = "auto"`` race the pairs in :data:`RACE`
    (an explicit value of either is kept) on logs with at most
    :data:`AUTO_RACE_MAX_TRAIN_VIEWS` training views and at least :data:`DENSE_VIEWS_PER_VIDEO`
    training views per video, and only without clip factors (``factor_dim`` resolving to 0:
    visual features, or factors turned off); otherwise only the static fallback is trained.
    With clip factors the first candidate had the better validation AUC on 7 of the 8 sweep logs
    where the race would run (the eighth by 0.0009) and 0.011 more on the mean over all 12 (README,
    "Clip factors"), so racing would mostly double the training time.

    Why the density rule: on a sparse log most test videos are new while validation rows (the
    views just before the test period) are mostly on videos seen in training, so validation
    over-rates the candidate that leans on id tables. On KuaiRand (4 views per video) the second
    candidate won the race on validation AUC in all three seeds and lost 0.02 test AUC (README,
    "Defaults from evidence")."""
    if not cfg.is_auto:
        return [cfg]
    uses_id = cfg.id_embeddings if cfg.id_embeddings is not None else not has_features
    race = (n_train <= AUTO_RACE_MAX_TRAIN_VIEWS and views_per_video >= DENSE_VIEWS_PER_VIDEO
            and not cfg.resolved_factor_dim(uses_id))
    pairs = RACE if race else RACE[:1]
    out: list[FrameConfig] = []
    for pair in pairs:
        c = cfg.replace(exclude_batch_edges=pair["exclude_batch_edges"] if cfg.exclude_batch_edges is None
                        else cfg.exclude_batch_edges,
                        video_score=pair["video_score"] if cfg.video_score == "auto" else cfg.video_score,
                        emb_lr=pair.get("emb_lr") if cfg.emb_lr is None else cfg.emb_lr)
        if c not in out:
            out.append(c)
    return out


def _ddp_loss(ddp) -> Callable:
    """``batch → LossParts`` through a DistributedDataParallel-wrapped loss module."""
    from frame_core.model.batch import LossParts

    def loss(batch):
        return LossParts(*ddp(batch))
    return loss


def best_val_auc(result: TrainResult) -> float:
    """The best validation AUC over a result's checks (NaN without validation)."""
    if result.checks is None or not len(result.checks):
        return float("nan")
    v = pd.to_numeric(result.checks["val_auc"], errors="coerce").max()
    return float(v) if np.isfinite(v) else float("nan")


def train_model(
    data: FrameData,
    cfg: FrameConfig,
    progress: ProgressFn | None = None,
    cancel=None,
    dist: DistContext | None = None,
) -> TrainResult:
    """Train FRAME on ``data`` (prepared with the same ``nc``/``policy``/``norm`` as ``cfg``),
    racing the auto settings (:func:`auto_candidates`): each candidate is trained in full and
    the one with the best validation AUC is kept (the first when there is no validation).
    ``result.config`` is the concrete configuration kept; ``result.auto`` lists the candidates
    with their validation AUC (None without a race). Progress events carry ``candidate`` and
    ``n_candidates`` during a race. See :func:`train_single` for one configuration (and ``dist``)."""
    cfg = cfg.validated()
    cands = auto_candidates(cfg, len(data.rows(0)), train_views_per_video(data), data.features is not None)
    if len(cands) == 1:
        return train_single(data, cands[0], progress, cancel, dist)
    best, race = None, []
    for i, c in enumerate(cands):
        if progress is not None:
            progress({"event": "status", "message": f"auto settings: candidate {i + 1} of {len(cands)} "
                      f"(exclude_batch_edges={c.exclude_batch_edges}, video_score={c.video_score})"})

        def tagged(event, i=i):
            if progress is not None:
                progress({**event, "candidate": i + 1, "n_candidates": len(cands)})

        res = train_single(data, c, tagged if progress is not None else None, cancel, dist)
        score = best_val_auc(res)
        race.append({"exclude_batch_edges": c.exclude_batch_edges, "video_score": c.video_score, "emb_lr": c.emb_lr,
                     "val_auc": score,
                     "best_epoch": res.best_epoch, "train_seconds": res.train_seconds})
        if best is None or (np.isfinite(score) and not score <= best_val_auc(best)):
            best = res
        else:
            del res
    best.auto = race
    best.train_seconds = float(sum(r["train_seconds"] for r in race))
    return best


def train_single(
    data: FrameData,
    cfg: FrameConfig,
    progress: ProgressFn | None = None,
    cancel=None,
    dist: DistContext | None = None,
) -> TrainResult:
    """Train one concrete configuration (auto settings fall back to their static values).

    ``progress(event)`` gets dicts with ``event`` = ``"step"`` (epoch, step, n_steps, loss,
    elapsed), ``"check"`` (check number, fractional epoch, val_auc, val_gauc, val_logloss, lr,
    improved, elapsed) or ``"epoch"`` (the history row plus ``best_epoch``, ``n_epochs``); an
    exception raised by ``progress`` stops training (tuning uses it to prune); ``cancel`` is
    any object with ``is_set()`` (e.g. ``threading.Event``): when set, training raises
    :class:`~frame_core.common.errors.CancelledError` at the next step.

    ``dist``: one rank of a ``torch.distributed`` job (:mod:`frame_core.training.distributed`):
    each step trains on this rank's share of the global batch under DistributedDataParallel,
    rank 0 validates and broadcasts the checks, and only rank 0 calibrates the result.
    """
    cfg = cfg.validated().static()
    if (cfg.nc, cfg.policy, cfg.norm) != (data.nc, data.policy, data.norm):
        raise ValueError("data was prepared with another nc / policy / norm than the config")
    cfg = resolved_for(cfg, data)  # the automatic settings that follow the data
    tune_allocator()
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    model = build_model(data, cfg)
    step_loss = model.loss if dist is None else _ddp_loss(dist.wrap(model))
    if dist is not None and dist.rank:  # the same init everywhere (above); each rank its own dropout draws
        torch.manual_seed(cfg.seed + 7919 * dist.rank)
    emb_lr = resolve_emb_lr(cfg, data)
    opt = adam(model, cfg, emb_lr)
    scorer = make_scorer(model, data)

    train_rows = data.rows(0)
    val_rows = data.rows(1)
    has_val = len(val_rows) > 0 and 0 < data.y[val_rows].sum() < len(val_rows)
    selection = "val_auc" if has_val else "last_epoch"
    make_batch = BatchMaker(data, cfg.exclude_batch_edges)
    batch_size = effective_batch_size(cfg.batch_size, len(train_rows))
    n_steps = max(1, -(-len(train_rows) // batch_size))

    k_checks = checks_per_epoch(cfg.val_per_epoch, len(train_rows), n_steps)
    at_steps = check_steps(n_steps, k_checks)
    stopper = EarlyStopper(cfg.patience * k_checks, cfg.min_delta)
    sched = LRSchedule(opt, cfg.lr_schedule, warmup_steps=round(cfg.warmup_epochs * n_steps),
                       total_steps=cfg.epochs * n_steps, patience=max(1, (cfg.patience * k_checks) // 2),
                       min_delta=cfg.min_delta)
    budget = TimeBudget(cfg.time_budget_s)
    nan_val = {"val_auc": float("nan"), "val_gauc": float("nan"), "val_logloss": float("nan")}

    history: list[dict[str, Any]] = []
    checks: list[dict[str, Any]] = []
    best_epoch, best_state = 0, BestState()
    stopped_early = stop = False
    stop_reason = "epochs"
    t0 = time.perf_counter()
    log.info("training: %d train / %d val rows, %d steps per epoch, %d checks per epoch",
             len(train_rows), len(val_rows), n_steps, k_checks)
    for epoch in range(1, cfg.epochs + 1):
        t_ep, cpu_ep = time.perf_counter(), time.process_time()
        model.train()
        perm = train_rows[rng.permutation(len(train_rows))]
        sums = np.zeros(3)
        seen = 0
        val = dict(nan_val)
        for step in range(n_steps):
            if cancel is not None and cancel.is_set():
                raise CancelledError("training cancelled")
            rows = perm[step * batch_size : (step + 1) * batch_size]
            if dist is None:  # a batch past the default size has its per-view part in chunks (same gradients)
                parts = loss_and_backward(model, make_batch(rows))
            else:
                parts = step_loss(make_batch(dist.shard(rows)))
                parts.total.backward()
            opt.step()
            opt.zero_grad(set_to_none=True)  # free the gradients now: checks and the next batch run without them
            sched.step()
            seen += len(rows)
            losses = [parts.total.item(), parts.clip.item(), parts.video.item()]
            sums += np.array(losses if dist is None else dist.mean(losses)) * len(rows)
            if progress is not None:
                progress({
                    "event": "step", "epoch": epoch, "step": step + 1, "n_steps": n_steps,
                    "loss": float(parts.total.item()), "elapsed": time.perf_counter() - t0,
                })
            if (step + 1) not in at_steps:
                continue
            # ---- validation check (k_checks per epoch, the last at the epoch's end)
            val = val_metrics(data, scorer, release=True) if has_val and (dist is None or dist.is_main) else dict(nan_val)
            spent = budget.spent
            if dist is not None:  # rank 0's check and clock decide for every rank
                *vals, spent = dist.broadcast([val["val_auc"], val["val_gauc"], val["val_logloss"], float(spent)])
                val = dict(zip(("val_auc", "val_gauc", "val_logloss"), vals))
            model.train()
            improved = stopper.update(val["val_auc"]) if has_val else True
            lowered = sched.check(val["val_auc"]) if has_val else False
            check = {"epoch": epoch - 1 + (step + 1) / n_steps, **val, "lr": sched.lrs[0],
                     "improved": improved, "lr_lowered": lowered, "elapsed": time.perf_counter() - t0}
            checks.append(check)
            if progress is not None:
                progress({"event": "check", "check": len(checks), **check})
            if improved:
                best_epoch = epoch
                best_state.keep(model)
            if has_val and stopper.should_stop:
                stop, stop_reason = True, "patience"
            elif spent:
                stop, stop_reason = True, "time_budget"
            if stop:
                break
        n_seen = max(1, seen)
        row = {
            "epoch": epoch,
            "loss": sums[0] / n_seen,
            "clip_loss": sums[1] / n_seen,
            "video_loss": sums[2] / n_seen if cfg.hybrid_lambda > 0 else float("nan"),
        }
        row.update(val)
        row["lr"] = sched.lrs[0]
        row["epoch_seconds"] = time.perf_counter() - t_ep
        row["epoch_cpu_seconds"] = time.process_time() - cpu_ep  # all threads of this process
        row["elapsed"] = time.perf_counter() - t0
        history.append(row)
        log.info("epoch %d: loss %.4f val_auc %.4f lr %.2g (%.1f s)", epoch, row["loss"], row["val_auc"], row["lr"],
                 row["epoch_seconds"])
        if progress is not None:
            progress({"event": "epoch", **row, "best_epoch": best_epoch, "n_epochs": cfg.epochs})
        if stop:
            stopped_early = True
            break
    del opt, sched  # the schedule holds the optimiser: both go, so Adam's moments are freed before scoring
    try:
        best_state.restore(model)
    finally:
        best_state.close()
    model.eval()
    if has_val and (dist is None or dist.is_main):
        calibrate_scores(model, scorer, data)
    return TrainResult(
        model=model, history=pd.DataFrame(history), best_epoch=best_epoch, selection=selection,
        train_seconds=time.perf_counter() - t0, stopped_early=stopped_early, batch_size=batch_size,
        emb_lr=emb_lr, checks=pd.DataFrame(checks), stop_reason=stop_reason, config=cfg,
    )
