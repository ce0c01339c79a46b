"""A held-out-style world for the defaults sweep: users leave *inside* scenes of themes they hate.

Written for issue #11's check "worlds with clip-level tastes that this project has never seen",
with a mechanism unlike ``frame_core.synth`` and unlike the rate-based worlds of
``bench/sweep_defaults.py`` and ``bench/independent_worlds.py`` (it imports nothing from
``frame_core``):

- every video (duration log-normal, median ``median_dur`` s) is cut into 3–7 scenes at uniform
  random points (so scene cuts do not line up with clip boundaries); each scene shows one of
  ``themes`` themes;
- every user likes 1–2 themes and hates 1–2 others, and has an impatience ``m_u``; every video a
  dullness ``q_v``;
- a view plays scene after scene; in each scene the user leaves, at a uniform moment inside it,
  with probability ``p_hate`` (hated theme), ``p_like`` (liked) or ``min(0.9, p_neutral · m_u ·
  q_v)`` (neutral); a user who stays through every scene watches to the end (10 % replay up to
  half the video);
- users pick videos by a Zipf popularity; timestamps spread over 14 days;
- with ``fresh_days`` > 0 the catalogue is *fresh*, as on a micro-video feed: each video is
  published at a uniform moment of the 14 days and is picked only in the ``fresh_days`` after
  it (still by popularity), so the chronological split puts many test views on new videos.

``truth.csv`` beside the log holds each view's true probability of a full view (the product of
the scenes' stay probabilities), for the oracle AUC; training never reads it.

Usage: ``python bench/hate_world.py OUT_DIR [--users 400 --videos 300 --per-user 60 --seed 1]
[--fresh-days 2]``
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd


def generate(out: Path, users: int = 400, videos: int = 300, per_user: float = 60, themes: int = 6,
             p_hate: float = 0.75, p_neutral: float = 0.12, p_like: float = 0.03, median_dur: float = 25.0,
             seed: int = 0, fresh_days: float = 0.0, impatience_sd: float = 0.5, dull_sd: float = 0.3) -> Path:
    """Write ``out/interactions.csv`` (seconds) and ``out/truth.csv``; return the log's path."""
    rng = np.random.default_rng(seed)
    dur = np.clip(np.exp(rng.normal(np.log(median_dur), 0.5, videos)), 5, 180)
    n_sc = rng.integers(3, 8, videos)
    cuts = [np.concatenate([[0.0], np.sort(rng.uniform(0.05, 0.95, k - 1)), [1.0]]) for k in n_sc]
    theme = [rng.integers(0, themes, k) for k in n_sc]
    att = np.zeros((users, themes), dtype=int)  # +1 liked, -1 hated, 0 neutral
    for u in range(users):
        order = rng.permutation(themes)
        n_like, n_hate = rng.integers(1, 3), rng.integers(1, 3)
        att[u, order[:n_like]] = 1
        att[u, order[n_like:n_like + n_hate]] = -1
    impatience = np.exp(rng.normal(0, impatience_sd, users))
    dull = np.exp(rng.normal(0, dull_sd, videos))
    pop = 1 / np.arange(1, videos + 1) ** 0.6
    pop = rng.permutation(pop / pop.sum())
    span = 14 * 86400
    # a fresh catalogue draws more random numbers; without one the stream is the same as before
    # the option existed, so the worlds of the README keep their logs
    published = rng.uniform(-fresh_days * 86400, span, videos) if fresh_days > 0 else None

    def views(n: int) -> tuple[np.ndarray, np.ndarray]:
        """n views of one user: (videos, seconds from the start, sorted). Fresh catalogue: each
        moment picks by popularity among the videos published in the ``fresh_days`` before it."""
        if published is None:
            vids = rng.choice(videos, n, p=pop)
            return vids, np.sort(rng.uniform(0, span, n))
        times = np.sort(rng.uniform(0, span, n))
        out = np.empty(n, dtype=int)
        for i, t in enumerate(times):
            live = np.flatnonzero((published <= t) & (published > t - fresh_days * 86400))
            w = pop[live] / pop[live].sum()
            out[i] = live[rng.choice(len(live), p=w)]
        return out, times

    rows = []
    for u in range(users):
        n = rng.poisson(per_user) + 3
        vids, times = views(n)
        for v, ts in zip(vids, 1_600_000_000 + times):
            a = att[u, theme[v]]
            p = np.where(a < 0, p_hate, np.where(a > 0, p_like, np.minimum(0.9, p_neutral * impatience[u] * dull[v])))
            play = dur[v] * (1 + (rng.uniform(0, 0.5) if rng.uniform() < 0.1 else 0.0))
            for k in range(len(p)):
                if rng.uniform() < p[k]:
                    play = dur[v] * rng.uniform(cuts[v][k], cuts[v][k + 1])
                    break
            rows.append((f"u{u}", f"v{v}", round(play, 3), round(dur[v], 3), round(ts, 3), float(np.prod(1 - p))))
    df = pd.DataFrame(rows, columns=["user_id", "video_id", "playing_time", "duration_time", "interaction_timestamp",
                                     "p_true"])
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    df.drop(columns="p_true").to_csv(out / "interactions.csv", index=False)
    df[["user_id", "interaction_timestamp", "p_true"]].to_csv(out / "truth.csv", index=False)
    return out / "interactions.csv"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("--users", type=int, default=400)
    ap.add_argument("--videos", type=int, default=300)
    ap.add_argument("--per-user", type=float, default=60)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--fresh-days", type=float, default=0.0, help="videos are picked only this long after publication")
    a = ap.parse_args()
    print(generate(Path(a.out), a.users, a.videos, a.per_user, seed=a.seed, fresh_days=a.fresh_days))


if __name__ == "__main__":
    main()
