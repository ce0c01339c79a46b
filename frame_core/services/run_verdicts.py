"""Verdicts over finished run folders for the Compare page: each FRAME row of the runs table
against the coarse row of the same setting, and the classroom experiment's N_c = 8 group
against its N_c = 1 group (:mod:`frame_core.evaluation.verdict`: paired bootstrap over test
users plus the seed spread, on the test rows the runs share).

``read_predictions(path) -> DataFrame`` reads a run's ``test_predictions.csv`` (the page
passes its cached reader). Verdicts that cannot be computed (no shared rows, one class) are
left out, never guessed.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from frame_core.common.errors import InputError
from frame_core.evaluation import verdict as V

WORDS = {V.A_BETTER: "FRAME better", V.B_BETTER: "coarse better", V.NO_CLEAR: "no clear difference"}
"""Short words of a verdict for table cells (A = the FRAME row, B = the coarse row)."""


def group_verdict(runs_a: pd.DataFrame, runs_b: pd.DataFrame, read_predictions, n_boot: int = V.N_BOOT
                  ) -> V.Verdict | None:
    """Verdict of the runs ``runs_a`` (rows with ``path`` and ``seed``) against ``runs_b``;
    None when their predictions cannot be compared."""
    try:
        pa = [read_predictions(p) for p in runs_a["path"]]
        pb = [read_predictions(p) for p in runs_b["path"]]
        sa = sorted_seeds(runs_a)
        sb = sorted_seeds(runs_b)
        order_a = np.argsort(runs_a["seed"].to_numpy()) if sa is not None else np.arange(len(pa))
        order_b = np.argsort(runs_b["seed"].to_numpy()) if sb is not None else np.arange(len(pb))
        return V.compare_runs([pa[i] for i in order_a], [pb[i] for i in order_b], seeds_a=sa, seeds_b=sb,
                              n_boot=n_boot)
    except (InputError, ValueError, KeyError):
        return None


def sorted_seeds(runs: pd.DataFrame) -> list[int] | None:
    s = pd.to_numeric(runs["seed"], errors="coerce")
    return None if s.isna().any() else sorted(int(x) for x in s)


def summary_verdicts(runs: pd.DataFrame, agg: pd.DataFrame, group: list[str], read_predictions,
                     facts: V.DataFacts | None = None, n_boot: int = V.N_BOOT) -> pd.DataFrame:
    """One row per row of ``agg`` (the summary table, same index): ``verdict`` (a verdict key,
    "" for coarse rows and rows without a coarse row of their setting), ``delta_auc``,
    ``ci_low``, ``ci_high``, ``sentence``, ``reason``, ``single_seed``."""
    out = pd.DataFrame({"verdict": "", "delta_auc": np.nan, "ci_low": np.nan, "ci_high": np.nan, "sentence": "",
                        "reason": "", "single_seed": agg["n"].astype(int).to_numpy() < 2}, index=agg.index)

    def members(row) -> pd.DataFrame:
        mask = np.ones(len(runs), dtype=bool)
        for g in group:
            mask &= (runs[g].astype(str) == str(row[g])).to_numpy()
        return runs[mask]

    coarse_rows = {(r["dataset"], r["setting"]): r for _, r in agg[agg["nc"] == 1].iterrows()}
    for i, row in agg.iterrows():
        if row["nc"] == 1 or (row["dataset"], row["setting"]) not in coarse_rows:
            continue
        a, b = members(row), members(coarse_rows[(row["dataset"], row["setting"])])
        v = group_verdict(a, b, read_predictions, n_boot)
        if v is None:
            continue
        row_facts = dataclasses.replace(facts, visual=row.get("embeddings") == "visual") if facts is not None else None
        out.loc[i, ["verdict", "delta_auc", "ci_low", "ci_high"]] = [v.verdict, v.delta_auc, v.ci_low, v.ci_high]
        out.loc[i, "sentence"] = V.verdict_sentence(v)
        out.loc[i, "reason"] = V.likely_reason(v, row_facts)
        out.loc[i, "single_seed"] = v.single_seed
    return out


def interval_text(delta: float, lo: float, hi: float) -> str:
    """"+0.0123 (95 % CI −0.0040 to +0.0286)"; "—" without a value."""
    if not np.isfinite(delta):
        return "—"
    return f"{delta:+.4f} (95 % CI {lo:+.4f} to {hi:+.4f})"


def read_verdicts(out_dir) -> pd.DataFrame | None:
    """``verdict.csv`` of a finished comparison (see :func:`frame_core.baselines.compare.verdict_table`)
    or None when missing or unreadable (comparisons made before verdicts existed)."""
    from pathlib import Path

    try:
        df = pd.read_csv(Path(out_dir) / "verdict.csv", keep_default_na=False)
    except (OSError, ValueError):
        return None
    return df if set(V.VERDICT_COLUMNS) <= set(df.columns) else None


def verdict_display(df: pd.DataFrame) -> pd.DataFrame:
    """A comparison's verdicts for reading: A, B, ΔAUC with its interval, the verdict in words
    naming the better model, and the likely reason."""
    words = []
    for _, r in df.iterrows():
        words.append(f"{r['model_a']} better" if r["verdict"] == V.A_BETTER else f"{r['model_b']} better"
                     if r["verdict"] == V.B_BETTER else "no clear difference")
    return pd.DataFrame({"A": df["model_a"], "B": df["model_b"],
                         "ΔAUC (A − B), 95 % CI": [interval_text(float(d), float(lo), float(hi)) for d, lo, hi in
                                                   zip(df["delta_auc"], df["ci_low"], df["ci_high"], strict=True)],
                         "verdict": words, "likely reason": [r if r else "—" for r in df["reason"]]})


def row_highlights(agg: pd.DataFrame, verdicts: pd.DataFrame) -> list[str]:
    """How each summary row is highlighted, following its verdict: "reference" (coarse rows),
    "better" (FRAME clearly better than its coarse row), "worse" (clearly worse) or "" (within
    noise, or no verdict). A losing row is never marked "better"."""
    out = []
    for i in agg.index:
        if agg.loc[i, "nc"] == 1:
            out.append("reference")
        else:
            v = verdicts.loc[i, "verdict"]
            out.append("better" if v == V.A_BETTER else "worse" if v == V.B_BETTER else "")
    return out
