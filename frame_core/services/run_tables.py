"""Tables over finished runs for the Compare and Recommend pages: the paper-shaped summary with
Δ AUC against the coarse model, FRAME/coarse pairing, run labels in words, and the classroom
"fine versus coarse" experiment (its job specs and its results).

Runs come from :func:`frame_core.services.engine.list_finished_runs`; a run's *setting* is the
hash of everything but seed, N_c and policy (runs are averaged only within one setting).
Convention: Δ AUC = AUC(FRAME row) − AUC(coarse row of the same dataset and setting).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from frame_core.evaluation.metrics import METRIC_KEYS
from frame_core.evaluation.stats import aggregate_runs, mean_std_table

GROUP = ["dataset", "model", "nc", "policy", "embeddings", "video_score", "epochs", "emb_dim", "setting"]
"""What must match for runs to be averaged into one row of the summary table."""

CLASSROOM_PREFIX = "fvc-"
CLASSROOM_SEEDS = (0, 1, 2)
CLASSROOM_NCS = (8, 1)
CLASSROOM_CONFIG: dict = {}
"""Settings of the one-click classroom experiment on top of the engine defaults. Empty: the
earlier cap (6 epochs, patience 2, d = 32) stopped before the models separated and gave "no
clear difference" on both samples where full runs say "FRAME better"; the defaults take 10–35 s
per run on the samples (``bench/classroom.py``), so the six runs finish in about two minutes."""


def prepare_runs(df: pd.DataFrame) -> pd.DataFrame:
    """Finished runs ready for tables: integer ``nc`` (rows without one are dropped: they fit
    in no table) and ``policy`` shown as "—" for N_c = 1, where it means nothing."""
    if len(df) == 0:
        return df
    df = df.copy()
    df["nc"] = pd.to_numeric(df["nc"], errors="coerce")
    df = df[df["nc"].notna()].copy()
    df["nc"] = df["nc"].astype(int)
    df["policy"] = [("—" if n == 1 else p) for n, p in zip(df["nc"], df["policy"], strict=True)]
    return df.reset_index(drop=True)


def trained_when(created) -> str:
    """A run's ``created`` (ISO 8601, UTC) in words: "3 Dec 14:02 UTC"; "" when unknown."""
    t = pd.to_datetime(created, errors="coerce", utc=True)
    return "" if pd.isna(t) else f"{t.day} {t.strftime('%b %H:%M')} UTC"


def _auc_text(v) -> str:
    v = pd.to_numeric(v, errors="coerce")
    return "test AUC –" if pd.isna(v) else f"test AUC {float(v):.3f}"


def run_label(r) -> str:
    """A run in words, short (select boxes): model, N_c, policy, inputs, seed, test AUC and when
    it was trained, e.g. "FRAME N_c=8, watched-positive, visual, seed 0, test AUC 0.717,
    3 Dec 14:02 UTC". No folder hash."""
    pol = "" if r["nc"] == 1 else f", {r['policy']}"
    when = trained_when(r.get("created"))
    model = "coarse" if str(r["model"]).startswith("coarse") else r["model"]
    return (f"{model} N_c={r['nc']}{pol}, {r['embeddings']}, seed {r['seed']}, {_auc_text(r.get('auc'))}"
            + (f", {when}" if when else ""))


def run_title(r) -> str:
    """A run in a sentence (page headers): "FRAME with N_c = 8 clips (label policy
    watched-positive), visual clip-feature inputs, seed 0 · test AUC 0.717 · trained 3 Dec
    14:02 UTC"."""
    nc = int(r["nc"])
    model = "The coarse model (N_c = 1, one clip per video)" if nc == 1 else \
        f"{'FRAME' if r['model'] == 'FRAME' else r['model']} with N_c = {nc} clips (label policy {r['policy']})"
    inputs = "visual clip-feature inputs" if r["embeddings"] == "visual" else "learned id-embedding inputs"
    when = trained_when(r.get("created"))
    return f"{model}, {inputs}, seed {r['seed']} · {_auc_text(r.get('auc'))}" + (f" · trained {when}" if when else "")


def summary_table(runs: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(numeric aggregate, display table) of finished runs grouped by :data:`GROUP`, mean ± std
    over seeds, with ``delta_auc`` (Δ AUC vs the coarse row of the same dataset and setting;
    NaN for coarse rows and for settings without a coarse row)."""
    agg = aggregate_runs(runs, GROUP, list(METRIC_KEYS))
    agg = agg.sort_values(["dataset", "setting", "nc"], ascending=[True, True, False]).reset_index(drop=True)
    coarse = agg[agg["nc"] == 1].set_index(["dataset", "setting"])["auc_mean"]
    agg["delta_auc"] = [
        r["auc_mean"] - coarse[(r["dataset"], r["setting"])]
        if r["nc"] != 1 and (r["dataset"], r["setting"]) in coarse.index else np.nan
        for _, r in agg.iterrows()
    ]
    disp = mean_std_table(agg, GROUP, list(METRIC_KEYS)).drop(columns=["dataset"])  # one dataset at a time
    disp["Δ AUC vs coarse"] = agg["delta_auc"]
    disp = disp.rename(columns={"nc": "N_c", "embeddings": "inputs", "video_score": "video score", "emb_dim": "d",
                                "n": "runs"})
    first = ["model", "N_c", "policy", "inputs", "video score", "runs", "seeds", "AUC", "Δ AUC vs coarse"]
    return agg, disp[first + [c for c in disp.columns if c not in first]]


def with_verdicts(disp: pd.DataFrame, agg: pd.DataFrame, verdicts: pd.DataFrame) -> pd.DataFrame:
    """The display table with its verdicts (see :mod:`frame_core.services.run_verdicts`):
    ``Δ AUC vs coarse`` as text with its 95 % interval ("reference" on coarse rows, "no coarse
    run in this setting" where there is none), a ``verdict vs coarse`` column, single-seed rows
    flagged in ``seeds``, and no empty cell anywhere ("—" instead of None / NaN)."""
    from frame_core.services.run_verdicts import WORDS, interval_text

    out = disp.copy()
    delta, words = [], []
    for i in agg.index:
        a, v = agg.loc[i], verdicts.loc[i]
        if a["nc"] == 1:
            delta.append("reference (coarse)")
            words.append("—")
        elif v["verdict"]:
            delta.append(interval_text(v["delta_auc"], v["ci_low"], v["ci_high"]))
            words.append(WORDS[v["verdict"]] + (" (single seed)" if v["single_seed"] else ""))
        elif np.isfinite(a["delta_auc"]):
            delta.append(f"{a['delta_auc']:+.4f}")
            words.append("no verdict (predictions unreadable)")
        else:
            delta.append("no coarse run in this setting")
            words.append("—")
    out["Δ AUC vs coarse"] = delta
    out.insert(out.columns.get_loc("Δ AUC vs coarse") + 1, "verdict vs coarse", words)
    out["seeds"] = [f"{s} (single seed: no ± std)" if int(n) < 2 else s
                    for s, n in zip(out["seeds"].astype(str), agg["n"], strict=True)]
    return no_blanks(out)


def no_blanks(df: pd.DataFrame) -> pd.DataFrame:
    """Missing cells (None, NaN) shown as "—" (tables meant for reading, not for sorting)."""
    out = df.astype(object)
    return out.where(out.notna(), "—")


def raw_display(raw: pd.DataFrame) -> pd.DataFrame:
    """The all-runs table for reading: ``skip_hit@1`` blank where N_c = 1 (it is 1 by
    construction there), other missing cells "—", ``created`` without its UTC offset."""
    out = raw.copy()
    if "skip_hit@1" in out and "nc" in out:
        out["skip_hit@1"] = ["" if n == 1 or pd.isna(v) else f"{float(v):.4f}"
                             for n, v in zip(out["nc"], out["skip_hit@1"], strict=True)]
    if "created" in out:
        t = pd.to_datetime(out["created"], errors="coerce", utc=True)
        out["created"] = [("" if pd.isna(x) else x.strftime("%Y-%m-%d %H:%M:%S")) for x in t]
    obj = [c for c in out.columns if out[c].dtype == object]
    out[obj] = out[obj].where(out[obj].notna(), "—")
    return out


def coarse_twin(coarse: pd.DataFrame, frame_row) -> str:
    """The coarse run that best matches a FRAME run: same setting and seed, else same setting, else
    same seed, else the best coarse run by AUC. Returns its ``run_id``."""
    c = coarse.sort_values("auc", ascending=False)
    if frame_row is not None:
        for mask in ((c["setting"] == frame_row["setting"]) & (c["seed"] == frame_row["seed"]),
                     c["setting"] == frame_row["setting"], c["seed"] == frame_row["seed"]):
            if mask.any():
                return c[mask].iloc[0]["run_id"]
    return c.iloc[0]["run_id"]


def frame_and_coarse(runs: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(FRAME runs, coarse runs): FRAME runs whose setting has a coarse twin first, then by AUC
    (best first); coarse runs by AUC."""
    coarse = runs[runs["nc"] == 1].sort_values("auc", ascending=False)
    frame = runs[runs["nc"] != 1]
    paired = frame["setting"].isin(set(coarse["setting"]))
    frame = frame.assign(_paired=paired).sort_values(["_paired", "auc"], ascending=False).drop(columns="_paired")
    return frame, coarse


def classroom_specs(dataset_id: str, has_videos: bool) -> list[tuple[str, dict, str]]:
    """Job specs (kind, params, label) of the classroom experiment on one dataset: FRAME
    (N_c = 8) and coarse (N_c = 1), seeds 0–2, visual inputs when the dataset has videos."""
    specs = []
    for nc in CLASSROOM_NCS:
        for seed in CLASSROOM_SEEDS:
            cfg = {**CLASSROOM_CONFIG, "nc": nc, "seed": seed, "id_embeddings": not has_videos}
            specs.append(("train", {"dataset_id": dataset_id, "visual": bool(has_videos), "config": cfg},
                          f"fine vs coarse · {dataset_id} · N_c={nc} · seed {seed}"))
    return specs


def classroom_results(jobs) -> pd.DataFrame:
    """One row per finished job of a classroom experiment: ``nc``, ``seed`` and the test metrics
    its run reported (numeric; NaN where missing)."""
    res = pd.DataFrame([{"nc": (j.params.get("config") or {}).get("nc"), "seed": (j.params.get("config") or {}).get("seed"),
                         **{k: (j.result or {}).get(k) for k in METRIC_KEYS}} for j in jobs],
                       columns=["nc", "seed", *METRIC_KEYS])
    for k in METRIC_KEYS:
        res[k] = pd.to_numeric(res[k], errors="coerce")
    return res


def comparison_summary(res: pd.DataFrame) -> pd.DataFrame:
    """A baselines comparison's ``results.csv`` as mean ± std per model, in the order the models
    were run."""
    agg = aggregate_runs(res, ["model"], list(METRIC_KEYS), sort=False)
    return mean_std_table(agg, ["model"], list(METRIC_KEYS)).rename(columns={"n": "runs"})


def blend_weights(details: pd.DataFrame | None) -> pd.DataFrame:
    """The ensemble's blend per seed from a comparison's ``runs.csv``: one row per seed with
    each member's logit weight, the intercept, the method and the validation AUC of the blend
    and of each member. Empty when the comparison had no ensemble."""
    import json

    from frame_core.model.blend import Blend

    cols = ["seed", "method", "val_auc"]
    if details is None or "blend" not in details.columns:
        return pd.DataFrame(columns=cols)
    rows = []
    for _, r in details[details["model"] == "ensemble"].iterrows():
        try:
            b = Blend.from_dict(json.loads(r["blend"]))
        except (TypeError, ValueError, KeyError):
            continue
        row = {"seed": r["seed"], "method": b.method, "val_auc": b.val_auc}
        row.update({f"w_{m}": w for m, w in zip(b.members, b.weights, strict=True)})
        row["intercept"] = b.intercept
        row.update({f"val_auc_{m}": a for m, a in b.member_val_auc.items()})
        rows.append(row)
    return pd.DataFrame(rows) if rows else pd.DataFrame(columns=cols)
