"""One comparison path for FRAME, the coarse model and the baselines (the paper's Table 3).

Every model is trained on the **same** chronological split (docs/design.md §5: per user, the last
floor(0.2·n) views test, the floor(0.1·n) before them validation, the rest training), selected
on validation AUC by its own early stopping, and scored with
:func:`frame_core.evaluation.metrics.video_metrics` on the **same** test rows (label = full view).

Outputs written to ``out_dir`` (all atomically, CSVs formula-safe):

- ``results.csv``: one row per (model, seed); columns exactly ``model, seed, auc, gauc,
  logloss, recall@3, ndcg@3, recall@5, ndcg@5``;
- ``results.md``: the paper's Table 3 shape, one row per model, ``mean ± std`` over seeds
  (sample std, ddof = 1; the mean alone when there is one seed), the best mean of each column in
  bold (highest, except logloss: lowest; ties at the shown 4 decimals are all bold);
- ``runs.csv``: model, seed, val_auc, best_epoch, fit_seconds (how each run was selected) and,
  for ``ensemble``, ``blend`` (its weights as JSON, :class:`frame_core.model.blend.Blend`);
- ``test_predictions.csv`` (unless ``save_predictions=False``): model, seed, user_id, video_id,
  interaction_timestamp, y, p_full for every test row, for ROC/PR curves and per-user analyses;
- ``comparison.json``: split sizes, models, seeds and training-length overrides;
- ``verdict.csv``: model_a, model_b, delta_auc, ci_low, ci_high, verdict, reason: FRAME (else the
  first model) against every other model on the same test rows, a paired bootstrap over test
  users plus the seed spread (:mod:`frame_core.evaluation.verdict`); also in ``results.md``.

``progress(event)`` receives dicts with ``event`` = ``"run_start"`` (model, seed, run, n_runs),
``"epoch"`` (a model's epoch event: model, epoch, loss, val_auc, elapsed, plus seed, run,
n_runs) and ``"run_done"`` (model, seed, run, n_runs and the test metrics). ``run`` counts from
1. ``cancel.is_set()`` is checked between runs and inside training.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np
import pandas as pd

from frame_core.baselines.base import check_cancel, full_view
from frame_core.baselines.ensemble import MEMBERS as ENSEMBLE_MEMBERS
from frame_core.baselines.registry import make_model, parse_models
from frame_core.common import schema as S
from frame_core.common.errors import InputError
from frame_core.common.seeds import parse_seeds
from frame_core.data.split import TEST, TRAIN, VAL, with_split
from frame_core.evaluation import verdict as V
from frame_core.evaluation.metrics import LOWER_IS_BETTER, METRIC_KEYS, METRIC_TITLES, video_metrics
from frame_core.evaluation.stats import aggregate_runs, fmt_mean_std

RESULT_COLUMNS = ("model", "seed", *METRIC_KEYS)


def split_log(log: pd.DataFrame, part: np.ndarray | None = None) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Train, validation and test rows of a clean log (ids as strings, index reset)."""
    log, part = with_split(log, part)
    train, val, test = (log[part == p].reset_index(drop=True) for p in (TRAIN, VAL, TEST))
    if len(train) == 0:
        raise InputError("no training rows: the log is too small to split")
    if len(test) == 0:
        raise InputError("no test rows: users need at least 5 views each to have a test view")
    return train, val, test


def run_comparison(
    log: pd.DataFrame,
    models,
    seeds: int | list[int] = 3,
    progress=None,
    cancel=None,
    out_dir: str | Path | None = None,
    *,
    max_epochs: int | None = None,
    patience: int | None = None,
    save_predictions: bool = True,
    part: np.ndarray | None = None,
    features_for_nc=None,
) -> pd.DataFrame:
    """Train and test every model × seed; return the ``results.csv`` table (see module doc).

    ``log`` is a clean log (``import_log`` output). ``models``: names or a comma-separated string
    (``all`` / ``baselines`` expand). ``part`` overrides the chronological split (tests only).
    ``features_for_nc`` (nc → visual clip features, called once per N_c) gives ``frame`` and
    ``coarse`` visual clip embeddings and ``alpine`` / ``mtin`` each video's mean clip vector; the
    other baselines never see them.
    """
    names = parse_models(models)
    seed_list = parse_seeds(seeds)
    feats_cache: dict = {}

    def cached_features(nc: int):
        if nc not in feats_cache:
            feats_cache[nc] = features_for_nc(nc)
        return feats_cache[nc]

    feats_for_nc = cached_features if features_for_nc is not None else None
    train, val, test = split_log(log, part)
    y_test = full_view(test)
    n_runs = len(names) * len(seed_list)
    emit = progress if progress is not None else (lambda event: None)
    rows, details, preds, scored = [], [], [], []
    keep_members = "ensemble" in names
    fitted: dict[int, dict] = {}  # seed → members of the ensemble already fitted for that seed
    run = 0
    for name in names:
        for seed in seed_list:
            check_cancel(cancel)
            run += 1
            ctx = {"model": name, "seed": seed, "run": run, "n_runs": n_runs}
            emit({"event": "run_start", **ctx})

            def on_epoch(event: dict, ctx=ctx) -> None:
                emit({**event, "event": "epoch", **ctx})

            model = make_model(name, max_epochs=max_epochs, patience=patience, features_for_nc=feats_for_nc)
            if name == "ensemble":
                model.fitted = fitted.get(seed, {})
            t0 = time.perf_counter()
            model.fit(train, val, seed=seed, progress=on_epoch, cancel=cancel)
            fit_seconds = time.perf_counter() - t0
            if keep_members and name in ENSEMBLE_MEMBERS:
                fitted.setdefault(seed, {})[name] = model
            p = model.predict(test)
            scored.append({"p": np.asarray(p, dtype="float64")})
            metrics = video_metrics(pd.DataFrame({S.USER: test[S.USER].to_numpy(), "y": y_test, "p_full": p}))
            rows.append({"model": name, "seed": seed, **metrics})
            details.append(
                {
                    "model": name,
                    "seed": seed,
                    "val_auc": getattr(model, "val_auc", float("nan")),
                    "best_epoch": getattr(model, "best_epoch", 1),
                    "fit_seconds": round(fit_seconds, 3),
                    "blend": json.dumps(model.blend_.to_dict()) if name == "ensemble" else "",
                }
            )
            if save_predictions:
                preds.append(
                    pd.DataFrame(
                        {
                            "model": name,
                            "seed": seed,
                            S.USER: test[S.USER].to_numpy(),
                            S.VIDEO: test[S.VIDEO].to_numpy(),
                            S.TIMESTAMP: test[S.TIMESTAMP].to_numpy(),
                            "y": y_test.astype("int8"),
                            "p_full": p,
                        }
                    )
                )
            emit({"event": "run_done", **ctx, **metrics})
    results = pd.DataFrame(rows, columns=list(RESULT_COLUMNS))
    if out_dir is not None:
        facts = V.DataFacts(
            new_video_share=float((~test[S.VIDEO].isin(set(train[S.VIDEO]))).mean()),
            visual=features_for_nc is not None,
            median_views_per_video=float(pd.concat([train[S.VIDEO], val[S.VIDEO], test[S.VIDEO]]).value_counts().median()),
            test_users=int(test[S.USER].nunique()),
        )
        scores = {(r["model"], r["seed"]): p for r, p in zip(rows, [d["p"] for d in scored], strict=True)}
        verdicts = verdict_table(names, seed_list, scores, y_test, test[S.USER].to_numpy(), facts)
        info = {
            "models": names,
            "seeds": seed_list,
            "max_epochs": max_epochs,
            "patience": patience,
            "rows": {"train": len(train), "val": len(val), "test": len(test)},
            "users": int(pd.concat([train[S.USER], val[S.USER], test[S.USER]]).nunique()),
            "videos": int(pd.concat([train[S.VIDEO], val[S.VIDEO], test[S.VIDEO]]).nunique()),
            "test_full_view_share": float(y_test.mean()),
            "engine_inputs": "visual clip features" if features_for_nc is not None else "id embeddings",
        }
        write_outputs(out_dir, results, pd.DataFrame(details), pd.concat(preds) if preds else None, info, verdicts)
    return results


def verdict_table(names: list[str], seeds: list[int], scores: dict, y: np.ndarray, users: np.ndarray,
                  facts: V.DataFacts | None) -> pd.DataFrame:
    """``verdict.csv``: FRAME (else the first model) against each other model, all seeds of a
    model as one group (:func:`frame_core.evaluation.verdict.paired_verdict`). Empty with one
    model or when the test rows lack a class."""
    ref = "frame" if "frame" in names else names[0]
    out = []
    for other in (n for n in names if n != ref):
        try:
            v = V.paired_verdict(y, users, [scores[(ref, s)] for s in seeds], [scores[(other, s)] for s in seeds],
                                 seeds_a=seeds, seeds_b=seeds)
        except InputError:
            continue
        out.append(V.verdict_row(ref, other, v, facts))
    return pd.DataFrame(out, columns=list(V.VERDICT_COLUMNS))


def verdict_markdown(verdicts: pd.DataFrame) -> str:
    """The verdicts as a Markdown table (empty string when there are none)."""
    if verdicts is None or verdicts.empty:
        return ""
    words = {V.A_BETTER: "A better", V.B_BETTER: "B better", V.NO_CLEAR: "no clear difference"}
    lines = ["| A | B | ΔAUC (A − B) | 95 % interval | verdict | likely reason |", "|---|---|---:|---|---|---|"]
    for _, r in verdicts.iterrows():
        lines.append(f"| {r['model_a']} | {r['model_b']} | {r['delta_auc']:+.4f} | {r['ci_low']:+.4f} to "
                     f"{r['ci_high']:+.4f} | {words.get(r['verdict'], r['verdict'])} | {r['reason'] or '—'} |")
    return ("Verdict: paired difference in test AUC on the same test rows, 95 % interval from a bootstrap over "
            "test users plus the spread over seeds.\n\n" + "\n".join(lines) + "\n")


# ------------------------------------------------------------------------------- tables
def summary_table(results: pd.DataFrame) -> pd.DataFrame:
    """Per model (in first-appearance order): ``<metric>_mean``, ``<metric>_std`` (sample std,
    see :mod:`frame_core.evaluation.stats`) and ``n_seeds``."""
    agg = aggregate_runs(results, ["model"], list(METRIC_KEYS), sort=False)
    return agg.rename(columns={"n": "n_seeds"}).drop(columns="seeds").set_index("model")


def results_markdown(results: pd.DataFrame, caption: str | None = None) -> str:
    """The paper's Table 3 as Markdown: mean ± std per model, best per column in bold."""
    summ = summary_table(results)
    header = "| Model | " + " | ".join(METRIC_TITLES[k] for k in METRIC_KEYS) + " |"
    lines = [header, "|---|" + "---:|" * len(METRIC_KEYS)]
    best = {}
    for k in METRIC_KEYS:
        means = summ[f"{k}_mean"].round(4)
        means = means[np.isfinite(means)]
        best[k] = (means.min() if k in LOWER_IS_BETTER else means.max()) if len(means) else None
    for model, row in summ.iterrows():
        cells = []
        for k in METRIC_KEYS:
            mean, std = row[f"{k}_mean"], row[f"{k}_std"]
            text = fmt_mean_std(mean, std) if math.isfinite(mean) else "n/a"
            if best[k] is not None and math.isfinite(mean) and round(mean, 4) == best[k]:
                text = f"**{text}**"
            cells.append(text)
        lines.append(f"| {model} | " + " | ".join(cells) + " |")
    n_seeds = sorted(set(summ["n_seeds"].astype(int)))
    seeds_text = "/".join(str(n) for n in n_seeds)
    default_caption = (
        f"Test metrics (label = full view), mean ± std over {seeds_text} seed(s). "
        "Best per column in bold; higher is better except Logloss."
    )
    return (caption or default_caption) + "\n\n" + "\n".join(lines) + "\n"


def write_outputs(
    out_dir: str | Path,
    results: pd.DataFrame,
    details: pd.DataFrame,
    predictions: pd.DataFrame | None,
    info: dict,
    verdicts: pd.DataFrame | None = None,
) -> None:
    """Write results.csv, results.md, runs.csv, comparison.json, verdict.csv (and test_predictions.csv)."""
    from frame_core.common.atomic import atomic_write_bytes
    from frame_core.common.safe_csv import write_csv

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_csv(results, out / "results.csv")
    write_csv(details, out / "runs.csv")
    if predictions is not None:
        write_csv(predictions, out / "test_predictions.csv")
    if verdicts is not None:
        write_csv(verdicts, out / "verdict.csv")
    md = results_markdown(results) + ("\n" + verdict_markdown(verdicts) if verdicts is not None and len(verdicts) else "")
    atomic_write_bytes(out / "results.md", md.encode("utf-8"))
    atomic_write_bytes(out / "comparison.json", json.dumps(info, indent=2, default=str).encode("utf-8"))
