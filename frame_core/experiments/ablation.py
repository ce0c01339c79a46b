"""Fine- versus coarse-grained comparison: the N_c ablation (the paper's Table 4 shape).

:func:`run_ablation` trains FRAME for every N_c in a list × every seed on the same clean log
(same chronological split, so the same test rows), writes each run into
``OUT/runs/nc{N}_seed{S}/`` (a normal run folder, see :mod:`frame_core.runs.store`), and adds a
**reference** row, user mean + video mean (``frame_core.baselines.reference.PopularityBaseline``),
fitted on the same training rows and scored on the same test rows. N_c = 1 is the coarse model.

Outputs in ``OUT``:

- ``results.csv``: one row per (model, seed): ``model, nc, seed, auc, gauc, logloss, recall@3,
  ndcg@3, recall@5, ndcg@5, val_auc, skip_hit@1, best_epoch, train_seconds, run_dir``;
- ``results.md``: mean ± std over seeds per model (Markdown), N_c ascending, reference last.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import pandas as pd

from frame_core.common import schema as S
from frame_core.common.atomic import atomic_write_bytes
from frame_core.common.errors import CancelledError, InputError
from frame_core.common.safe_csv import write_csv
from frame_core.common.seeds import parse_seeds
from frame_core.data.labels import check_nc
from frame_core.data.prepare import prepare_data
from frame_core.data.split import TEST, TRAIN, VAL
from frame_core.evaluation import metrics as M
from frame_core.evaluation.metrics import METRIC_KEYS
from frame_core.evaluation.stats import aggregate_runs, fmt_mean_std
from frame_core.model.config import FrameConfig
from frame_core.training.pipeline import train_run

log = logging.getLogger(__name__)

RESULT_COLUMNS = ("model", "nc", "seed", *METRIC_KEYS, "val_auc", "skip_hit@1", "best_epoch", "train_seconds",
                  "run_dir")
REFERENCE = "reference (user mean + video mean)"


def model_name(nc: int) -> str:
    return "coarse (N_c = 1)" if nc == 1 else f"FRAME (N_c = {nc})"


def parse_ncs(text) -> list[int]:
    """``"1,4,8"`` or an iterable → sorted unique N_c values; InputError on bad entries."""
    if isinstance(text, str):
        parts = [p.strip() for p in text.split(",") if p.strip()]
        if not parts:
            raise InputError("give at least one N_c, e.g. --nc 1,4,8")
        try:
            vals = [int(p) for p in parts]
        except ValueError:
            raise InputError(f"--nc must be whole numbers separated by commas, got {text!r}") from None
    else:
        vals = [int(v) for v in text]
    return sorted({check_nc(v) for v in vals})


def reference_metrics(data) -> dict:
    """User mean + video mean fitted on the training rows of ``data``, scored on its test rows."""
    from frame_core.baselines.reference import PopularityBaseline

    lg = data.log
    train, val, test = lg[data.part == TRAIN], lg[data.part == VAL], lg[data.part == TEST]
    model = PopularityBaseline().fit(train, val)
    pred = pd.DataFrame({S.USER: test[S.USER].to_numpy(), "y": data.y[data.part == TEST],
                         "p_full": model.predict(test)})
    out = M.video_metrics(pred, user_col=S.USER, label_col="y", pred_col="p_full")
    out["val_auc"] = float(getattr(model, "val_auc", np.nan))
    return out


def summary_table(results: pd.DataFrame) -> pd.DataFrame:
    """Mean and sample std over seeds per model (:func:`frame_core.evaluation.stats.aggregate_runs`):
    columns ``model, nc, runs`` and ``<metric>_mean``, ``<metric>_std`` for each metric in
    ``METRIC_KEYS`` and skip hit@1; N_c ascending, reference last."""
    df = aggregate_runs(results, ["model", "nc"], [*METRIC_KEYS, "skip_hit@1"], sort=False)
    df = df.rename(columns={"n": "runs"}).drop(columns="seeds")
    if len(df):
        df["_ref"] = df["model"] == REFERENCE
        df = df.sort_values(["_ref", "nc"]).drop(columns="_ref").reset_index(drop=True)
    return df


def results_markdown(results: pd.DataFrame, title: str | None = None) -> str:
    """The summary as a Markdown table: mean ± std (4 decimals) over seeds; one-run cells show
    the mean alone."""
    summ = summary_table(results)
    head = ["model", "runs", *METRIC_KEYS, "skip hit@1"]
    lines = []
    if title:
        lines += [f"# {title}", ""]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for _, r in summ.iterrows():
        cells = [str(r["model"]), str(int(r["runs"]))]
        cells += [fmt_mean_std(r[f"{k}_mean"], r[f"{k}_std"]) for k in (*METRIC_KEYS, "skip_hit@1")]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def run_ablation(
    log_df: pd.DataFrame,
    out_dir: str | os.PathLike,
    ncs=(1, 4, 8),
    seeds=3,
    base_config: FrameConfig | None = None,
    *,
    features_for_nc=None,
    progress=None,
    cancel=None,
    source: str | None = None,
    reference: bool = True,
    overwrite: bool = False,
) -> pd.DataFrame:
    """Train FRAME for each N_c × seed on ``log_df`` and write ``results.csv``/``results.md``.

    ``base_config``: settings shared by all runs (its ``nc`` and ``seed`` are replaced).
    ``features_for_nc``: optional callable ``nc -> ClipFeatures`` (visual features per N_c).
    ``progress(event)`` receives the engine's events plus ``run`` (index), ``n_runs``, ``nc``,
    ``seed``; ``cancel`` as in training. Returns the per-run results table (``RESULT_COLUMNS``).
    """
    ncs = parse_ncs(ncs)
    seeds = parse_seeds(seeds)
    base = (base_config or FrameConfig()).validated()
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise InputError(f"{out} exists and is not a folder")
    out.mkdir(parents=True, exist_ok=True)
    n_runs = len(ncs) * len(seeds)
    rows: list[dict] = []
    i = 0
    data = None
    for nc in ncs:
        feats = features_for_nc(nc) if features_for_nc is not None else None
        data = prepare_data(log_df, nc, base.policy, base.norm, features=feats)
        for seed in seeds:
            if cancel is not None and cancel.is_set():
                raise CancelledError("ablation cancelled")
            cfg = base.replace(nc=nc, seed=seed)
            run_dir = out / "runs" / f"nc{nc}_seed{seed}"

            def forward(ev, _i=i, _nc=nc, _seed=seed):
                if progress is not None:
                    progress({**ev, "run": _i, "n_runs": n_runs, "nc": _nc, "seed": _seed})

            run = train_run(log_df, run_dir, cfg, features=feats, progress=forward, cancel=cancel,
                            source=source, name=f"ablation nc{nc} seed{seed}", overwrite=overwrite, data=data)
            m = run.metrics
            rows.append({"model": model_name(nc), "nc": nc, "seed": seed,
                         **{k: m.get(k) for k in (*METRIC_KEYS, "val_auc", "skip_hit@1", "best_epoch",
                                                   "train_seconds")},
                         "run_dir": str(run_dir)})
            i += 1
            log.info("ablation %d/%d: nc=%d seed=%d auc=%.4f", i, n_runs, nc, seed, m.get("auc") or np.nan)
    if reference and data is not None:
        ref = reference_metrics(data)
        for seed in seeds:  # deterministic: the same numbers for every seed, std 0
            rows.append({"model": REFERENCE, "nc": np.nan, "seed": seed,
                         **{k: ref.get(k) for k in (*METRIC_KEYS, "val_auc")}, "skip_hit@1": np.nan,
                         "best_epoch": np.nan, "train_seconds": np.nan, "run_dir": ""})
    results = pd.DataFrame(rows, columns=list(RESULT_COLUMNS))
    write_csv(results, out / "results.csv")
    atomic_write_bytes(out / "results.md", results_markdown(results, "N_c ablation").encode("utf-8"))
    return results
