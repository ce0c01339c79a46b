"""The replay estimator for logs without a world (Li et al., WSDM 2011; docs/design.md §10).

Each arm serves every user its top-K videos among those the user did **not** view before the
test period (the project's chronological split, docs/design.md §5: the last 20 % of each user's
views are the test period). A served video is a **match** when the user viewed it in the test
period; only matches are scored, with the logged outcome of the user's first test view of it.
The estimate of an arm's full-view rate is full-view matches / matches, with a 95 % bootstrap
interval over users (paired across arms). Arms: the runs, ``random`` and ``popularity`` (full
views before the test period); there is no oracle without a world.

Caveat, said in every summary: the estimate is unbiased only when the log's own choices were
uniformly random (Li et al.'s assumption). In a feed log, what was shown depended on the old
recommender, so a replay estimate says how good an arm's picks are **among what the feed
showed**, and rests on as many matches as the summary reports.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import numpy as np
import pandas as pd

from frame_core.common import schema as S
from frame_core.common.atomic import atomic_write_bytes, atomic_write_json
from frame_core.common.errors import CancelledError, InputError
from frame_core.common.safe_csv import write_csv
from frame_core.data.split import TEST, chronological_split
from frame_core.simulate.arms import load_run_arms, reference_arms, serve_block
from frame_core.simulate.experiment import BLOCK_PAIRS, check_options
from frame_core.simulate.player import leave_clip
from frame_core.simulate.report import _f, interval_tables

MIN_MATCHES = 30
"""Below this many matches in either arm, a difference is reported but not called real."""
REPLAY_COLUMNS = ["arm", "round", "users", "served", "matched", "matched_users", "full_view_rate", "mean_watch_ratio",
                  "watch_seconds", "skip_first_clip_rate"]


@dataclasses.dataclass
class Catalog:
    """Users and videos of a log, in the shape the arms score (``user_ids``, ``video_ids``,
    ``durations`` in seconds: each video's median logged duration)."""

    user_ids: np.ndarray
    video_ids: np.ndarray
    durations: np.ndarray

    @property
    def n_users(self) -> int:
        return int(self.user_ids.size)

    @property
    def n_videos(self) -> int:
        return int(self.video_ids.size)


def replay_log(source, mapping=None, time_unit: str = "s") -> pd.DataFrame:
    """The clean log to replay: a DataFrame as is, or a file / folder (its interactions.csv) imported."""
    from frame_core.data.validation import import_log

    if isinstance(source, pd.DataFrame):
        return source
    p = Path(source)
    if p.is_dir():
        p = p / "interactions.csv"
        if not p.is_file():
            raise InputError(f"no interactions.csv in {source}: give the log file to replay")
    return import_log(p, mapping=mapping, time_unit=time_unit)[0]


def run_replay(source, runs, *, out_dir, k: int = 5, seed: int = 0, timeline_nc: int = 8, n_boot: int = 2000,
               mapping=None, time_unit: str = "s", names=None, progress=None, cancel=None) -> dict:
    """Replay-estimate ``runs`` (trained on this log) and the reference arms on a log; writes
    ``results.csv`` (columns :data:`REPLAY_COLUMNS`, one round), ``views.csv`` (served videos
    with ``matched``), ``user_outcomes.csv``, ``arms.csv``, ``differences.csv``,
    ``simulation.json`` and ``summary.md`` into ``out_dir``; returns the summary dict."""
    t0 = time.perf_counter()
    k, _r, seed, timeline_nc, _b, n_boot = check_options(k, 1, seed, timeline_nc, 0.0, n_boot)
    emit = progress or (lambda event: None)
    log = replay_log(source, mapping, time_unit)
    label = "the replayed log" if isinstance(source, pd.DataFrame) else str(source)
    arms = load_run_arms(runs, log, label, seed, names) + reference_arms(seed, ("random", "popularity"))
    part = chronological_split(log)
    u_codes, users = pd.factorize(log[S.USER].astype(str), sort=True)
    v_codes, videos = pd.factorize(log[S.VIDEO].astype(str), sort=True)
    dur = pd.Series(log[S.DURATION].to_numpy(float)).groupby(v_codes).median().to_numpy()
    cat = Catalog(np.asarray(users, dtype=object).astype(str), np.asarray(videos, dtype=object).astype(str), dur)
    before = part != TEST
    import scipy.sparse as sp

    seen = sp.csr_matrix((np.ones(int(before.sum()), dtype=np.int8), (u_codes[before], v_codes[before])),
                         shape=(cat.n_users, cat.n_videos))
    test = pd.DataFrame({"u": u_codes[~before], "v": v_codes[~before], "t": log[S.TIMESTAMP].to_numpy(float)[~before],
                         "play": log[S.PLAY].to_numpy(float)[~before], "dur": log[S.DURATION].to_numpy(float)[~before]})
    test = test.sort_values(["u", "v", "t"], kind="stable").drop_duplicates(["u", "v"], keep="first")
    test_key = test["u"].to_numpy(np.int64) * cat.n_videos + test["v"].to_numpy(np.int64)
    full_before = log[S.PLAY].to_numpy(float)[before] >= log[S.DURATION].to_numpy(float)[before]
    block = max(1, BLOCK_PAIRS // max(1, cat.n_videos))
    all_views = []
    for i, a in enumerate(arms):
        a.observe(v_codes[before], full_before, cat.n_videos)
        parts = []
        for start in range(0, cat.n_users, block):
            if cancel is not None and cancel.is_set():
                raise CancelledError("replay cancelled")
            uu = np.arange(start, min(cat.n_users, start + block), dtype=np.int64)
            scores = a.scores(cat, uu, 1)
            rows, vids, ranks = serve_block(scores, seen[uu].toarray() > 0, k)
            parts.append(pd.DataFrame({"u": uu[rows], "v": vids, "rank": ranks, "score": scores[rows, vids]}))
        served = pd.concat(parts, ignore_index=True)
        key = served["u"].to_numpy(np.int64) * cat.n_videos + served["v"].to_numpy(np.int64)
        pos = np.searchsorted(test_key, key)
        pos_c = np.minimum(pos, max(0, test_key.size - 1))
        matched = (test_key.size > 0) & (test_key[pos_c] == key) if test_key.size else np.zeros(len(key), bool)
        play = np.where(matched, test["play"].to_numpy()[pos_c] if test_key.size else 0.0, np.nan)
        d = np.where(matched, test["dur"].to_numpy()[pos_c] if test_key.size else 1.0, np.nan)
        full = matched & (play >= d)
        served = served.assign(arm=a.name, round=1, matched=matched, playing_time=play, duration_time=d,
                               watch_ratio=play / d, full_view=full,
                               leave_clip=np.where(matched, leave_clip(np.nan_to_num(play), np.nan_to_num(d, nan=1.0),
                                                                       full, timeline_nc), -2))
        served[S.USER] = cat.user_ids[served["u"].to_numpy()]
        served[S.VIDEO] = cat.video_ids[served["v"].to_numpy()]
        all_views.append(served)
        emit({"event": "arm_done", "arm": a.name, "round": 1, "done": i + 1, "total": len(arms),
              "matched": int(matched.sum())})
    views = pd.concat(all_views, ignore_index=True)
    names = [a.name for a in arms]
    settings = {"log": label, "runs": [str(a.run_path) for a in arms if a.kind == "run"], "arms": names, "k": k,
                "seed": seed, "timeline_nc": timeline_nc, "bootstrap": n_boot, "users": cat.n_users,
                "videos": cat.n_videos, "test_views": int((~before).sum()),
                "test_full_view_rate": float((test["play"] >= test["dur"]).mean()) if len(test) else None}
    summary = _write(Path(out_dir), views, settings, names)
    summary["seconds"] = round(time.perf_counter() - t0, 2)
    return summary


def _write(out: Path, views: pd.DataFrame, settings: dict, arms: list[str]) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    m = views[views["matched"]]
    g, gm = views.groupby("arm", sort=False), m.groupby("arm", sort=False)
    res = pd.DataFrame({"round": 1, "users": g[S.USER].nunique(), "served": g.size(), "matched": gm.size(),
                        "matched_users": gm[S.USER].nunique(), "full_view_rate": gm["full_view"].mean(),
                        "mean_watch_ratio": gm["watch_ratio"].mean(), "watch_seconds": gm["playing_time"].sum(),
                        "skip_first_clip_rate": gm["leave_clip"].agg(lambda s: float((s == 0).mean()))},
                       index=pd.Index(arms, name="arm")).reset_index()
    res[["matched", "matched_users"]] = res[["matched", "matched_users"]].fillna(0).astype(np.int64)
    res["watch_seconds"] = res["watch_seconds"].fillna(0.0)
    gu = views.groupby(["arm", S.USER], sort=False)
    per_user = pd.DataFrame({"served": gu.size(), "matched": gu["matched"].sum(), "full_views": gu["full_view"].sum(),
                             "watch_seconds": gu["playing_time"].sum()}).reset_index()
    for c in ("matched", "full_views"):
        per_user[c] = per_user[c].astype(np.int64)
    arms_df, diffs = interval_tables(per_user, arms, settings["bootstrap"], settings["seed"], num="full_views",
                                     den="matched")
    n_match = dict(zip(res["arm"], res["matched"], strict=True))
    diffs["enough_matches"] = [min(n_match[a], n_match[b]) >= MIN_MATCHES
                               for a, b in zip(diffs["arm_a"], diffs["arm_b"], strict=True)]
    diffs["excludes_zero"] = diffs["excludes_zero"] & diffs["enough_matches"]
    write_csv(res[REPLAY_COLUMNS], out / "results.csv")
    write_csv(views[["arm", S.USER, "rank", S.VIDEO, "score", "matched", "playing_time", "duration_time", "watch_ratio",
                     "full_view"]], out / "views.csv")
    write_csv(per_user, out / "user_outcomes.csv")
    write_csv(arms_df, out / "arms.csv")
    write_csv(diffs, out / "differences.csv")
    summary = {"mode": "replay", "settings": settings, "arms": arms_df.to_dict(orient="records")}
    atomic_write_json(out / "simulation.json", summary)
    lines = ["# Replay estimate (Li et al., WSDM 2011)", "",
             f"Log `{settings['log']}` ({settings['users']} users, {settings['videos']} videos, "
             f"{settings['test_views']:,} test-period views with full-view rate {_f(settings['test_full_view_rate'])}); "
             f"top-{settings['k']} per user among videos not viewed before the test period. Only served videos the user "
             "viewed in the test period (matches) are scored. Intervals: 95 % bootstrap over users, paired.", "",
             "| arm | served | matches | users with a match | full-view rate of matches [95 % CI] |",
             "|---|---:|---:|---:|---|"]
    for r, a in zip(res.itertuples(index=False), arms_df.itertuples(index=False), strict=True):
        lines.append(f"| {r.arm} | {r.served:,} | {r.matched:,} | {r.matched_users:,} | {_f(a.full_view_rate)} "
                     f"[{_f(a.full_view_rate_lo)}, {_f(a.full_view_rate_hi)}] |")
    lines += ["", "## Differences of the matched full-view rate (a − b)", "", "| a | b | a − b [95 % CI] | real? |",
              "|---|---|---|---|"]
    for r in diffs[diffs["metric"] == "full_view_rate"].itertuples(index=False):
        real = "yes" if r.excludes_zero else "no" if r.enough_matches else f"too few matches (< {MIN_MATCHES})"
        lines.append(f"| {r.arm_a} | {r.arm_b} | {_f(r.difference)} [{_f(r.lo)}, {_f(r.hi)}] | {real} |")
    few = [a for a, m in n_match.items() if m < MIN_MATCHES]
    if few:
        lines += ["", f"**Few matches:** {', '.join(few)} rest on fewer than {MIN_MATCHES} matched views; their "
                  "intervals are not worth much and no difference involving them is called real. A larger K "
                  "matches more views."]
    lines += ["", "Unbiased only if the log's exposures were uniformly random; in a feed log the estimate is about "
              "each arm's picks among what the feed showed, and rests on the matches above."]
    atomic_write_bytes(out / "summary.md", ("\n".join(lines) + "\n").encode("utf-8"))
    return summary
