"""How long a job will take, from this machine's own finished runs, and what a training curve
says (overfitting, the epoch kept).

**Estimates.** Every finished run records its training wall time (``metrics.json``:
``train_seconds``, ``epochs_run``) and the size of its log (``config.json``: ``data.rows``).
Throughput = views × epochs / seconds, measured per run; the estimate for a new job is
rows × expected epochs / the median throughput of the most recent runs of the same kind
(N_c = 1 or N_c > 1; all runs when there are none of that kind), where expected epochs =
min(max epochs, median epochs run). It covers training only (not video embedding, which is
cached). With no finished run on this machine there is no estimate (None): it is never
guessed.

**Curve notes** (:func:`curve_note`): from a run's ``history.csv`` (one row per epoch with
``loss`` and ``val_auc``; docs/design.md §5, early stopping on validation AUC).
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pandas as pd

from frame_core.common.atomic import read_json

RECENT = 20
OVERFIT_DROP = 0.005
"""A fall in validation AUC below the best, after the best epoch, that counts as overfitting."""


@dataclasses.dataclass(frozen=True)
class Estimate:
    """``seconds`` of training expected; ``basis`` says what it rests on, in words."""

    seconds: float
    basis: str

    @property
    def text(self) -> str:
        """"about 40 s", "about 12 min"; "under 10 s" for short runs (not "about under 10 s")."""
        rough = fmt_about(self.seconds)
        return rough if rough.startswith("under") else f"about {rough}"


def fmt_about(seconds: float) -> str:
    """A rough duration: "under 10 s", "30 s", "1 min", "12 min", "1.5 h"."""
    s = float(seconds)
    if s < 10:
        return "under 10 s"
    if s < 60:
        return f"{int(round(s / 10) * 10)} s"
    if s < 3600:
        return f"{max(1, round(s / 60))} min"
    return f"{s / 3600:.1f} h"


def measured_throughput(runs_dir: str | Path) -> pd.DataFrame:
    """One row per finished run: ``nc``, ``rows``, ``epochs_run``, ``train_seconds``,
    ``views_per_second`` (views × epochs / s), ``created``; newest first."""
    rows = []
    root = Path(runs_dir)
    if root.is_dir():
        for d in root.iterdir():
            if not (d / "DONE").exists():
                continue
            try:
                info, met = read_json(d / "config.json"), read_json(d / "metrics.json")
                n = int(info["data"]["rows"])
                ep = int(met["epochs_run"])
                sec = float(met["train_seconds"])
                nc = int(met.get("nc") or info["config"]["nc"])
            except (OSError, ValueError, KeyError, TypeError):
                continue
            if n > 0 and ep > 0 and sec > 0 and math.isfinite(sec):
                rows.append({"nc": nc, "rows": n, "epochs_run": ep, "train_seconds": sec,
                             "views_per_second": n * ep / sec, "created": str(info.get("created", ""))})
    df = pd.DataFrame(rows, columns=["nc", "rows", "epochs_run", "train_seconds", "views_per_second", "created"])
    return df.sort_values("created", ascending=False).reset_index(drop=True)


def estimate_training(runs_dir: str | Path, rows: int, nc: int, max_epochs: int,
                      measured: pd.DataFrame | None = None) -> Estimate | None:
    """Expected training seconds of one run on ``rows`` views (see module doc); None without
    any finished run to measure from."""
    df = measured_throughput(runs_dir) if measured is None else measured
    if df.empty or rows <= 0:
        return None
    same = df[(df["nc"] == 1) == (nc == 1)]
    use = (same if len(same) else df).head(RECENT)
    rate = float(use["views_per_second"].median())
    epochs = min(int(max_epochs), max(1, int(round(float(use["epochs_run"].median())))))
    seconds = rows * epochs / rate
    kind = "N_c = 1" if nc == 1 else "N_c > 1"
    basis = (f"measured on {len(use)} finished run(s) {'with ' + kind if len(same) else 'of any N_c'} on this "
             f"machine: {rate:,.0f} views × epochs per second, about {epochs} epoch(s) before early stopping")
    return Estimate(seconds, basis)


def estimate_jobs(runs_dir: str | Path, rows: int, specs: list[tuple[int, int]]) -> Estimate | None:
    """Sum of :func:`estimate_training` over ``specs`` = [(nc, max_epochs), …] run one after
    another; None when any has no estimate."""
    measured = measured_throughput(runs_dir)
    parts = [estimate_training(runs_dir, rows, nc, ep, measured) for nc, ep in specs]
    if not parts or any(p is None for p in parts):
        return None
    return Estimate(sum(p.seconds for p in parts), parts[0].basis)


def curve_note(history: pd.DataFrame, best_epoch: int | None = None) -> str:
    """What a finished training curve says, in one or two sentences: the epoch kept and, when
    validation AUC fell by more than :data:`OVERFIT_DROP` after its best while the training loss
    kept falling, that the model began to overfit. "" without validation AUC."""
    if history is None or history.empty or "val_auc" not in history:
        return ""
    h = history.dropna(subset=["val_auc"])
    if h.empty:
        return ""
    i_best = int(h["val_auc"].to_numpy().argmax())
    best = h.iloc[i_best]
    b_ep = int(best_epoch) if best_epoch is not None else int(best["epoch"])
    last = h.iloc[-1]
    kept = f"The weights of epoch {b_ep} (best validation AUC {best['val_auc']:.4f}) are kept."
    after = h.iloc[i_best + 1:]
    if len(after):
        worst_after = float(after["val_auc"].min())
        loss = history["loss"].to_numpy(dtype="float64") if "loss" in history else np.array([])
        loss_fell = len(loss) > i_best + 1 and np.isfinite(loss).all() and loss[-1] < loss[i_best]
        if best["val_auc"] - worst_after > OVERFIT_DROP and loss_fell:
            return (f"Overfitting: validation AUC peaked at epoch {int(best['epoch'])} ({best['val_auc']:.4f}) and "
                    f"fell to {float(last['val_auc']):.4f} by epoch {int(last['epoch'])} while the training loss kept "
                    f"falling: the model learned the training views, not the users. {kept} More dropout, weight "
                    "decay or a smaller embedding may help.")
        return kept
    if len(h) >= 2 and best["val_auc"] > h.iloc[-2]["val_auc"]:
        return f"{kept} Validation AUC was still rising at the last epoch: more epochs may help."
    return kept
