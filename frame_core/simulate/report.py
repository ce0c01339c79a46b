"""Tables, intervals and files of a simulated A/B test (docs/design.md §10).

Files written into the output folder:

- ``results.csv``: one row per arm and round: ``arm, round, users`` (users served at least one
  video), ``served`` (views), ``full_view_rate`` (full views / served), ``mean_watch_ratio``
  (mean of playing / duration over served views; loops count above 1), ``watch_seconds``
  (total seconds watched), ``skip_first_clip_rate`` (share of served views left inside the
  first of ``timeline_nc`` clips).
- ``views.csv``: every served view: arm, round, user_id, rank, video_id, score, playing_time,
  duration_time, watch_ratio, full_view, leave_clip (−1 for a full view), like, follow, forward.
- ``user_outcomes.csv``: per arm and user over all rounds: served, full_views,
  full_view_rate, watch_seconds, mean_watch_ratio.
- ``arms.csv``: per arm over all rounds, with 95 % bootstrap intervals over users: full-view
  rate, watch seconds per user, and the share of the random → oracle gap closed.
- ``differences.csv``: per pair of arms, the paired differences (a − b) of the full-view rate and
  of watch seconds per user, with 95 % intervals and whether the interval excludes 0.
- ``refits.csv`` (rounds > 1 with refits), ``simulation.json`` (settings and arm table) and
  ``summary.md`` (the same, for people).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from frame_core.common import schema as S
from frame_core.common.atomic import atomic_write_bytes, atomic_write_json
from frame_core.common.safe_csv import write_csv
from frame_core.simulate import bootstrap as B

RESULT_COLUMNS = ["arm", "round", "users", "served", "full_view_rate", "mean_watch_ratio", "watch_seconds",
                  "skip_first_clip_rate"]
VIEW_COLUMNS = ["arm", "round", S.USER, "rank", S.VIDEO, "score", "playing_time", "duration_time", "watch_ratio",
                "full_view", "leave_clip", "like", "follow", "forward"]


def results_table(views: pd.DataFrame, arms: list[str]) -> pd.DataFrame:
    """``results.csv``: one row per arm and round (arms in ``arms`` order)."""
    g = views.groupby(["arm", "round"], sort=False)
    res = pd.DataFrame({
        "users": g[S.USER].nunique(), "served": g.size(), "full_view_rate": g["full_view"].mean(),
        "mean_watch_ratio": g["watch_ratio"].mean(), "watch_seconds": g["playing_time"].sum(),
        "skip_first_clip_rate": g["leave_clip"].agg(lambda s: float((s == 0).mean())),
    }).reset_index()
    res["_o"] = res["arm"].map({a: i for i, a in enumerate(arms)})
    return res.sort_values(["_o", "round"]).drop(columns="_o")[RESULT_COLUMNS].reset_index(drop=True)


def user_table(views: pd.DataFrame, users: np.ndarray, arms: list[str]) -> pd.DataFrame:
    """``user_outcomes.csv``: every arm × every user (0 served when an arm served nobody)."""
    g = views.groupby(["arm", S.USER], sort=False)
    agg = pd.DataFrame({"served": g.size(), "full_views": g["full_view"].sum(), "watch_seconds": g["playing_time"].sum(),
                        "ratio_sum": g["watch_ratio"].sum()})
    idx = pd.MultiIndex.from_product([arms, list(users)], names=["arm", S.USER])
    agg = agg.reindex(idx, fill_value=0).reset_index()
    agg["served"] = agg["served"].astype(np.int64)
    agg["full_views"] = agg["full_views"].astype(np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        agg["full_view_rate"] = np.where(agg["served"] > 0, agg["full_views"] / agg["served"].where(agg["served"] > 0, 1),
                                         np.nan)
        agg["mean_watch_ratio"] = np.where(agg["served"] > 0, agg["ratio_sum"] / agg["served"].where(agg["served"] > 0, 1),
                                           np.nan)
    return agg[["arm", S.USER, "served", "full_views", "full_view_rate", "watch_seconds", "mean_watch_ratio"]]


def interval_tables(users: pd.DataFrame, arms: list[str], n_boot: int, seed: int,
                    num: str = "full_views", den: str = "served") -> tuple[pd.DataFrame, pd.DataFrame]:
    """(arms.csv, differences.csv) from ``user_outcomes`` with a paired bootstrap over users."""
    per = {a: users[users["arm"] == a] for a in arms}
    rate = B.ratio_draws({a: per[a][num].to_numpy(float) for a in arms}, {a: per[a][den].to_numpy(float) for a in arms},
                         n_boot, seed)
    watch = B.mean_draws({a: per[a]["watch_seconds"].to_numpy(float) for a in arms}, n_boot, seed)
    point_rate = {a: _ratio(per[a][num].sum(), per[a][den].sum()) for a in arms}
    point_watch = {a: float(per[a]["watch_seconds"].mean()) if len(per[a]) else float("nan") for a in arms}
    rows = []
    gap = "random" in arms and "oracle" in arms
    for a in arms:
        lo, hi = B.interval(rate[a])
        wlo, whi = B.interval(watch[a])
        row = {"arm": a, "users": int((per[a][den] > 0).sum()), den: int(per[a][den].sum()),
               num: int(per[a][num].sum()), "full_view_rate": point_rate[a], "full_view_rate_lo": lo,
               "full_view_rate_hi": hi, "watch_seconds_per_user": point_watch[a], "watch_seconds_per_user_lo": wlo,
               "watch_seconds_per_user_hi": whi}
        if gap:
            width = point_rate["oracle"] - point_rate["random"]
            with np.errstate(invalid="ignore", divide="ignore"):
                draws = (rate[a] - rate["random"]) / (rate["oracle"] - rate["random"])
            row["gap_closed"] = (point_rate[a] - point_rate["random"]) / width if width else float("nan")
            row["gap_closed_lo"], row["gap_closed_hi"] = B.interval(draws)
        rows.append(row)
    diffs = []
    for i, a in enumerate(arms):
        for b in arms[i + 1:]:
            for metric, draws, point in (("full_view_rate", rate, point_rate), ("watch_seconds_per_user", watch, point_watch)):
                lo, hi = B.interval(draws[a] - draws[b])
                d = point[a] - point[b]
                diffs.append({"arm_a": a, "arm_b": b, "metric": metric, "difference": d, "lo": lo, "hi": hi,
                              "excludes_zero": bool(np.isfinite(lo) and (lo > 0 or hi < 0))})
    return pd.DataFrame(rows), pd.DataFrame(diffs, columns=["arm_a", "arm_b", "metric", "difference", "lo", "hi",
                                                           "excludes_zero"])


def _ratio(a, b) -> float:
    return float(a) / float(b) if b else float("nan")


def _f(x, digits=4) -> str:
    return "–" if x is None or not np.isfinite(x) else f"{x:.{digits}f}"


def summary_markdown(settings: dict, arms_df: pd.DataFrame, diffs: pd.DataFrame, results: pd.DataFrame,
                     refits: list[dict] | None = None) -> str:
    """``summary.md``: settings, the arms with intervals, the differences, the per-round table."""
    refits = refits or []
    lines = ["# Simulated A/B test", "",
             f"World `{settings['world']}` ({settings['users']} users, {settings['videos']} videos); top-{settings['k']} "
             f"per user and round, {settings['rounds']} round(s), seed {settings['seed']}; between rounds: "
             f"{settings['refit']}" + (f" (at most {settings['refit_budget_s']:g} s per refit)" if settings["rounds"] > 1 and
                                       settings["refit_budget_s"] > 0 else "") + ".",
             f"Intervals: 95 % percentile bootstrap over users, {settings['bootstrap']} resamples, paired across arms; "
             "common random numbers, so two arms serving the same video to the same user see the same outcome.", ""]
    cut = [r for r in refits if r.get("stop_reason") == "time_budget"]
    if cut:
        lines += [f"**Note:** the time budget cut {len(cut)} of {len(refits)} refit(s) short ("
                  + ", ".join(f"{r['arm']} before round {r['round']}" for r in cut[:4])
                  + "): later rounds then depend on this machine's speed and are not exactly reproducible. "
                  "A larger --refit-budget avoids it.", ""]
    lines += [
             "| arm | served | full-view rate [95 % CI] | watch s per user [95 % CI] | gap closed (random → oracle) |",
             "|---|---:|---|---|---|"]
    for r in arms_df.itertuples(index=False):
        gap = (f"{_f(r.gap_closed, 3)} [{_f(r.gap_closed_lo, 3)}, {_f(r.gap_closed_hi, 3)}]"
               if hasattr(r, "gap_closed") else "–")
        lines.append(f"| {r.arm} | {r.served:,} | {_f(r.full_view_rate)} [{_f(r.full_view_rate_lo)}, "
                     f"{_f(r.full_view_rate_hi)}] | {_f(r.watch_seconds_per_user, 1)} [{_f(r.watch_seconds_per_user_lo, 1)}, "
                     f"{_f(r.watch_seconds_per_user_hi, 1)}] | {gap} |")
    lines += ["", "## Differences between arms (a − b)", "",
              "| a | b | full-view rate a − b [95 % CI] | real? | watch s per user a − b [95 % CI] | real? |",
              "|---|---|---|---|---|---|"]
    for (a, b), g in diffs.groupby(["arm_a", "arm_b"], sort=False):
        fr = g[g["metric"] == "full_view_rate"].iloc[0]
        ws = g[g["metric"] == "watch_seconds_per_user"].iloc[0]
        lines.append(f"| {a} | {b} | {fr.difference:+.4f} [{fr.lo:+.4f}, {fr.hi:+.4f}] | "
                     f"{'yes' if fr.excludes_zero else 'no'} | {ws.difference:+.1f} [{ws.lo:+.1f}, {ws.hi:+.1f}] | "
                     f"{'yes' if ws.excludes_zero else 'no'} |")
    lines += ["", "\"real?\": yes when the 95 % interval excludes 0.", "", "## Per round", "",
              "| arm | round | users | served | full-view rate | mean watch ratio | watch s | skip in first clip |",
              "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results.itertuples(index=False):
        lines.append(f"| {r.arm} | {r.round} | {r.users} | {r.served} | {r.full_view_rate:.4f} | "
                     f"{r.mean_watch_ratio:.4f} | {r.watch_seconds:.1f} | {r.skip_first_clip_rate:.4f} |")
    return "\n".join(lines) + "\n"


def write_outputs(out: Path, views: pd.DataFrame, settings: dict, refits: list[dict], mode: str = "world") -> dict:
    """Write every file of the module docstring into ``out``; returns the summary dict."""
    out.mkdir(parents=True, exist_ok=True)
    arms = list(settings["arms"])
    users = np.asarray(sorted(views[S.USER].unique())) if len(views) else np.zeros(0, dtype=object)
    results = results_table(views, arms)
    per_user = user_table(views, users, arms)
    arms_df, diffs = interval_tables(per_user, arms, settings["bootstrap"], settings["seed"])
    write_csv(results, out / "results.csv")
    write_csv(views[VIEW_COLUMNS], out / "views.csv")
    write_csv(per_user, out / "user_outcomes.csv")
    write_csv(arms_df, out / "arms.csv")
    write_csv(diffs, out / "differences.csv")
    if refits:
        write_csv(pd.DataFrame(refits), out / "refits.csv")
    summary = {"mode": mode, "settings": settings, "arms": arms_df.to_dict(orient="records")}
    atomic_write_json(out / "simulation.json", summary)
    atomic_write_bytes(out / "summary.md", summary_markdown(settings, arms_df, diffs, results, refits).encode("utf-8"))
    return summary
