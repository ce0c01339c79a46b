"""A small pointwise training loop shared by the learned baselines.

``train_pointwise`` minimises ``mean BCE(p, y) + extra_loss()`` with Adam over shuffled
mini-batches, evaluates the validation AUC after every epoch and keeps the weights of the best
epoch (early stopping with ``patience`` epochs without improvement; ties keep the earlier epoch).
When the validation rows are empty or have one class (AUC undefined), it trains ``max_epochs``
and keeps the last epoch. Everything is seeded: the initial weights are the caller's business
(construct the module inside :func:`seeded`), the batch order comes from a generator seeded with
``seed``; on CPU with a fixed thread count the result is bit-for-bit reproducible.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

from frame_core.baselines.base import Reporter, check_cancel
from frame_core.evaluation.metrics import auc


@contextlib.contextmanager
def seeded(seed: int):
    """Seed torch's CPU RNG for the block, restoring the caller's RNG state afterwards."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        yield


@dataclasses.dataclass
class TrainConfig:
    max_epochs: int = 20
    patience: int = 3
    batch_size: int = 512
    lr: float = 1e-3
    weight_decay: float = 0.0
    eval_batch_size: int = 8192


@dataclasses.dataclass
class TrainResult:
    best_epoch: int
    best_val_auc: float
    history: list[dict]


def predict_batched(forward: Callable[[torch.Tensor], torch.Tensor], X: torch.Tensor, batch_size: int) -> np.ndarray:
    """Probabilities from ``forward`` over row batches of ``X`` (no grad), float64."""
    out = []
    with torch.no_grad():
        for start in range(0, len(X), batch_size):
            out.append(forward(X[start : start + batch_size]).reshape(-1).double().cpu().numpy())
    return np.concatenate(out) if out else np.zeros(0, dtype="float64")


def train_pointwise(
    module: torch.nn.Module,
    forward: Callable[[torch.Tensor], torch.Tensor],
    X_train: torch.Tensor,
    y_train: torch.Tensor,
    X_val: torch.Tensor,
    y_val: np.ndarray,
    *,
    config: TrainConfig,
    seed: int,
    report: Reporter,
    cancel=None,
    extra_loss: Callable[[torch.Tensor], torch.Tensor] | None = None,
    before_eval: Callable[[], None] | None = None,
) -> TrainResult:
    """Train ``module`` in place; ``forward(X_batch) -> probabilities`` (shape (b,) or (b, 1)).

    ``extra_loss(X_batch)`` adds regularisation terms (a scalar tensor). ``before_eval()`` runs
    after every epoch, before the validation rows are scored (e.g. to set OOV embeddings), so
    the selected state is exactly the one that was validated. On return the module holds the
    weights of the selected epoch.
    """
    opt = torch.optim.Adam(module.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    gen = torch.Generator().manual_seed(int(seed))
    y_train = y_train.float()
    can_select = len(y_val) > 0 and 0 < float(np.sum(y_val)) < len(y_val)
    best_auc, best_epoch, best_state, stale = -np.inf, 0, None, 0
    history: list[dict] = []
    n = len(X_train)
    for epoch in range(1, config.max_epochs + 1):
        check_cancel(cancel)
        module.train()
        perm = torch.randperm(n, generator=gen)
        total, seen = 0.0, 0
        for start in range(0, n, config.batch_size):
            check_cancel(cancel)
            idx = perm[start : start + config.batch_size]
            xb, yb = X_train[idx], y_train[idx]
            p = forward(xb).reshape(-1).clamp(1e-7, 1 - 1e-7)
            loss = F.binary_cross_entropy(p, yb)
            total += float(loss.detach()) * len(idx)
            seen += len(idx)
            if extra_loss is not None:
                loss = loss + extra_loss(xb)
            opt.zero_grad()
            loss.backward()
            opt.step()
        module.eval()
        if before_eval is not None:
            before_eval()
        val_auc = auc(y_val, predict_batched(forward, X_val, config.eval_batch_size)) if can_select else float("nan")
        train_loss = total / max(seen, 1)
        history.append({"epoch": epoch, "loss": train_loss, "val_auc": val_auc})
        report(epoch=epoch, loss=train_loss, val_auc=val_auc)
        if not can_select:
            best_epoch, best_auc = epoch, float("nan")
            continue
        if val_auc > best_auc:
            best_auc, best_epoch, stale = val_auc, epoch, 0
            best_state = copy.deepcopy(module.state_dict())
        else:
            stale += 1
            if stale >= config.patience:
                break
    if best_state is not None:
        module.load_state_dict(best_state)
    module.eval()
    return TrainResult(best_epoch=best_epoch, best_val_auc=float(best_auc), history=history)
