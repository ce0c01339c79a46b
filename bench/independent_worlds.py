"""Worlds with clip-level tastes, generated independently of ``frame_core.synth.world``.

The engine issue checks FRAME on "worlds generated independently of this project (same log
schema, clip-level tastes, no video)". This script writes such worlds with a different
mechanism from ``frame_core.synth`` (it imports nothing from ``frame_core``), so that a default
that only suits our own generator shows up here:

- each video has a duration (log-normal, 4–120 s), a quality ``q_v`` and 2–7 *segments* of
  unequal length; each segment carries a latent vector ``s`` (dimension ``--dim``);
- each user has a taste vector ``t_u`` and a patience ``b_u``;
- while playing a segment the user leaves at a constant rate per second
  ``h = base · exp(−(b_u + q_v + strength · ⟨t_u, s⟩))``; a user who survives every segment
  watches to the end (playing_time = duration, sometimes a replay up to 1.6 × duration);
- users pick videos by a Zipf popularity, in time order (``interaction_timestamp`` in seconds).

The three terms are what the reference (user mean + video mean) can and cannot see: ``b_u`` and
``q_v`` are main effects, the segment tastes are interactions that live at clip level.

Usage::

    python bench/independent_worlds.py OUT_DIR [--users 1500 --videos 800 --views 60000 --seed 1]
    python bench/independent_worlds.py --eval [--worlds W1,W2,...] [--seeds 1]

``--eval`` generates the preset worlds below into ``/tmp/frame_indep`` and runs
``python -m frame_core ablate LOG --nc 1,8 --no-videos`` on each (engine defaults), printing
test AUC of N_c = 8, N_c = 1 and the user-mean + video-mean reference on the same test rows,
and the oracle (the world's own probability of a full view) on those rows.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

PRESETS = {
    # name: users, videos, views, latent dim, taste strength, segments (lo, hi), seed
    "dense": dict(users=1500, videos=800, views=60_000, dim=8, strength=1.0, seg=(2, 7), seed=11),
    "sparse": dict(users=4000, videos=3000, views=80_000, dim=8, strength=1.0, seg=(2, 7), seed=12),
    "strong": dict(users=1000, videos=500, views=40_000, dim=4, strength=1.6, seg=(3, 6), seed=13),
    "weak": dict(users=2000, videos=1000, views=60_000, dim=16, strength=0.6, seg=(2, 5), seed=14),
    "heavy": dict(users=600, videos=400, views=60_000, dim=8, strength=1.0, seg=(2, 7), seed=15),
    "sharp": dict(users=1000, videos=500, views=80_000, dim=4, strength=2.5, seg=(2, 7), seed=17),
    "themes": dict(users=1500, videos=800, views=60_000, dim=10, strength=1.5, seg=(2, 7), seed=16, topics=True),
}


def leave_time(rng: np.random.Generator, rate, lengths, duration: float, loop_share: float, loop_max: float) -> float:
    """Seconds played: segment by segment, the user leaves after an exponential time at the
    segment's per-second ``rate``; a user who survives every segment plays the whole video, and
    with probability ``loop_share`` a replay of up to ``loop_max`` × duration on top."""
    t = 0.0
    for k in range(len(lengths)):
        stay = rng.exponential(1 / rate[k])
        if stay < lengths[k]:
            return t + stay
        t += lengths[k]
    return duration * (1 + (rng.uniform(0, loop_max) if rng.uniform() < loop_share else 0.0))


def generate(out: Path, users: int, videos: int, views: int, dim: int = 8, strength: float = 1.0,
             seg: tuple[int, int] = (2, 7), seed: int = 0, topics: bool = False) -> Path:
    """Write ``out/interactions.csv`` (docs/design.md §1 columns, seconds) and return its path.

    ``topics``: each segment is one of ``dim`` discrete topics (a one-hot vector) instead of a
    continuous latent vector. ``truth.csv`` beside it holds each row's true probability of a full
    view (user_id, interaction_timestamp, p_true), for the oracle AUC; the engine never reads it."""
    rng = np.random.default_rng(seed)
    dur = np.clip(np.exp(rng.normal(np.log(20), 0.7, videos)), 4, 120)
    q = rng.normal(0, 0.5, videos)
    n_seg = rng.integers(seg[0], seg[1] + 1, videos)
    # segment boundaries as fractions of the video (unequal lengths)
    bounds = [np.concatenate([[0.0], np.sort(rng.uniform(0, 1, k - 1)), [1.0]]) for k in n_seg]
    if topics:
        seg_vec = [np.eye(dim)[rng.integers(0, dim, k)] for k in n_seg]
    else:
        seg_vec = [rng.normal(0, 1 / np.sqrt(dim), (k, dim)) for k in n_seg]
    taste = rng.normal(0, 1, (users, dim))
    patience = rng.normal(0, 0.5, users)

    pop = 1.0 / np.arange(1, videos + 1) ** 0.8
    pop = rng.permutation(pop / pop.sum())
    per_user = rng.poisson(views / users, users) + 1
    u = np.repeat(np.arange(users), per_user)
    v = rng.choice(videos, len(u), p=pop)
    base = 0.04  # leaves per second at zero log-rate
    play = np.empty(len(u))
    p_true = np.empty(len(u))  # the world's probability of a full view (for the oracle AUC)
    for i in range(len(u)):
        vi, ui = v[i], u[i]
        rate = base * np.exp(-(patience[ui] + q[vi] + strength * (seg_vec[vi] @ taste[ui])))
        lengths = np.diff(bounds[vi]) * dur[vi]
        p_true[i] = np.exp(-(rate * lengths).sum())
        play[i] = leave_time(rng, rate, lengths, dur[vi], loop_share=0.15, loop_max=0.6)
    ts = 1_600_000_000 + np.cumsum(rng.integers(1, 600, len(u)))  # monotone per user (rows in user order)
    df = pd.DataFrame({
        "user_id": [f"user{x}" for x in u],
        "video_id": [f"clip{x}" for x in v],
        "playing_time": np.round(play, 3),
        "duration_time": np.round(dur[v], 3),
        "interaction_timestamp": ts,
    })
    out.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"user_id": df["user_id"], "interaction_timestamp": ts, "p_true": p_true}).to_csv(
        out / "truth.csv", index=False)  # outside the log: the engine never sees it
    df = df.sample(frac=1.0, random_state=seed)  # row order must not matter
    path = out / "interactions.csv"
    df.to_csv(path, index=False)
    return path


def evaluate(worlds: list[str], seeds: str, root: Path, config: str | None = None) -> str:
    rows = []
    for name in worlds:
        log = generate(root / name, **PRESETS[name])
        out = root / f"ablate_{name}"
        cmd = [sys.executable, "-m", "frame_core", "ablate", str(log), "--nc", "1,8", "--seeds", seeds,
               "--no-videos", "--out", str(out), "--overwrite"] + (["--config", config] if config else [])
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env={**os.environ})
        res = pd.read_csv(out / "results.csv")
        mean_auc = res.groupby(res["nc"].fillna(0))["auc"].mean()  # over seeds; nc 0 = the reference row
        test = pd.read_csv(out / "runs" / "nc8_seed0" / "test_predictions.csv")
        test = test.merge(pd.read_csv(log.parent / "truth.csv"), on=["user_id", "interaction_timestamp"])
        oracle = roc_auc_score(test["y"], test["p_true"])
        rows.append((name, mean_auc[8], mean_auc[1], mean_auc[0], oracle))
    lines = ["| world | FRAME N_c = 8 | coarse N_c = 1 | reference (user mean + video mean) | oracle |",
             "|---|---|---|---|---|"]
    for name, fine, coarse, ref, oracle in rows:
        lines.append(f"| {name} | {fine:.4f} | {coarse:.4f} | {ref:.4f} | {oracle:.4f} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out", nargs="?")
    ap.add_argument("--users", type=int, default=1500)
    ap.add_argument("--videos", type=int, default=800)
    ap.add_argument("--views", type=int, default=60_000)
    ap.add_argument("--dim", type=int, default=8)
    ap.add_argument("--strength", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--eval", action="store_true")
    ap.add_argument("--worlds", default=",".join(PRESETS))
    ap.add_argument("--seeds", default="1")
    ap.add_argument("--root", default="/tmp/frame_indep")
    ap.add_argument("--config", help="FrameConfig JSON passed to ablate (default: engine defaults)")
    a = ap.parse_args(argv)
    if a.eval:
        print(evaluate([w.strip() for w in a.worlds.split(",") if w.strip()], a.seeds, Path(a.root), a.config))
        return 0
    if not a.out:
        ap.error("OUT_DIR is required without --eval")
    print(generate(Path(a.out), a.users, a.videos, a.views, a.dim, a.strength, seed=a.seed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
