"""Is a synthetic world informative at clip level? A quick proxy, without the FRAME engine.

Usage::

    python bench/synth_proxy.py sample_data/synthetic [--nc 8] [--visual]

It splits the log as docs/design.md §5 says (per user, chronological: 70 / 10 / 20 %), fits small
logistic models on the validation rows with features computed from the training rows only, and
reports test AUC (label: full view) for:

- ``user+video mean``: the reference: smoothed full-view rates of the user and of the video;
- ``+ video-level theme taste``: adds the user's full-view rate on videos containing each theme
  (every theme of a video gets the video's label: what N_c = 1 can learn from content);
- ``+ clip-level theme taste``: adds the user's pass rate per theme over clips, with the
  ``watched-positive`` labels of N_c clips (clips before the skip clip positive, the skip clip
  negative, every clip positive on a full view); each clip takes the theme that covers most of
  it (what FRAME with visual clip features can learn);
- with ``--visual``: the same clip-level feature with themes replaced by k-means clusters of a
  handcrafted descriptor computed from the decoded WebM files (hue, saturation, brightness,
  texture energy, motion energy), plus the clusters' purity against the true themes.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from frame_core.data.split import TEST, TRAIN, VAL, chronological_split  # noqa: E402
from frame_core.synth import THEMES, load_world  # noqa: E402


def _logit(p):
    p = np.clip(p, 1e-4, 1 - 1e-4)
    return np.log(p / (1 - p))


def _smoothed_rate(keys, y, n_keys, prior, strength=5.0):
    pos = np.bincount(keys, weights=y, minlength=n_keys)
    cnt = np.bincount(keys, minlength=n_keys)
    return (pos + strength * prior) / (cnt + strength)


def clip_themes(world: dict, video_ids, nc: int) -> np.ndarray:
    """(n_videos, nc) theme covering most of each clip."""
    out = np.zeros((len(video_ids), nc), dtype=np.int64)
    for i, vid in enumerate(video_ids):
        entry = world["videos"][vid]
        dur = entry["duration"]
        edges = np.linspace(0.0, dur, nc + 1)
        for c in range(nc):
            lo, hi = edges[c], edges[c + 1]
            best, best_t = -1.0, 0
            for s, e, t in entry["scenes"]:
                ov = min(hi, e) - max(lo, s)
                if ov > best:
                    best, best_t = ov, t
            out[i, c] = best_t
    return out


def visual_clip_clusters(videos_dir: Path, video_ids, nc: int, k: int, seed: int = 0) -> np.ndarray:
    """(n_videos, nc) k-means cluster of a handcrafted per-clip descriptor from the WebM files."""
    import cv2
    from sklearn.cluster import KMeans

    feats = np.zeros((len(video_ids), nc, 9))
    for i, vid in enumerate(video_ids):
        cap = cv2.VideoCapture(str(videos_dir / f"{vid}.webm"))
        frames = []
        while True:
            ok, fr = cap.read()
            if not ok:
                break
            frames.append(fr)
        frames = np.stack(frames)
        n = len(frames)
        edges = np.linspace(0, n, nc + 1)
        for c in range(nc):
            lo, hi = int(edges[c]), max(int(edges[c]) + 1, int(edges[c + 1]))
            idx = np.unique(np.linspace(lo, hi - 1, 3).round().astype(int))
            hsv = np.stack([cv2.cvtColor(frames[j], cv2.COLOR_BGR2HSV) for j in idx]).astype(np.float32)
            h = hsv[..., 0] * (2 * np.pi / 180)
            s, v = hsv[..., 1] / 255, hsv[..., 2] / 255
            gray = v
            gx = np.abs(np.diff(gray, axis=2)).mean()
            gy = np.abs(np.diff(gray, axis=1)).mean()
            motion = np.abs(np.diff(gray, axis=0)).mean() if len(idx) > 1 else 0.0
            feats[i, c] = [
                (np.cos(h) * s).mean(), (np.sin(h) * s).mean(), s.mean(), v.mean(), v.std(),
                gx, gy, motion, (gx + gy) / (v.std() + 1e-3) * 0.1,
            ]
    flat = feats.reshape(-1, feats.shape[-1])
    flat = (flat - flat.mean(0)) / (flat.std(0) + 1e-9)
    km = KMeans(n_clusters=k, n_init=4, random_state=seed).fit(flat)
    return km.labels_.reshape(len(video_ids), nc)


def clip_taste_feature(labels_theme, u, v, y, r, part, n_users, n_themes, nc):
    """Per row: sum over the video's clips of log P(pass clip | user, theme), from training rows."""
    k = np.minimum(np.floor(r * nc + 1e-9).astype(int), nc - 1)
    tr = np.flatnonzero(part == TRAIN)
    pos = np.zeros((n_users, n_themes))
    neg = np.zeros((n_users, n_themes))
    for c in range(nc):
        th = labels_theme[v[tr], c]
        is_pos = (y[tr] == 1) | (c < k[tr])
        is_neg = (y[tr] == 0) & (c == k[tr])
        np.add.at(pos, (u[tr][is_pos], th[is_pos]), 1)
        np.add.at(neg, (u[tr][is_neg], th[is_neg]), 1)
    prior = (neg.sum(0) + 1) / (pos.sum(0) + neg.sum(0) + 2)
    a = 3.0
    skip = (neg + a * prior[None]) / (pos + neg + a)
    return np.log(1 - skip[u[:, None], labels_theme[v]]).sum(axis=1)


def theme_sets(labels: np.ndarray, n_themes: int) -> np.ndarray:
    """(n_videos, n_themes) bool: which themes (or clusters) occur in each video."""
    has = np.zeros((len(labels), n_themes), dtype=bool)
    for c in range(labels.shape[1]):
        has[np.arange(len(labels)), labels[:, c]] = True
    return has


def video_taste_feature(has, u, v, y, part, n_users, n_themes):
    """Per row: the user's (smoothed) full-view rates on training videos sharing the video's themes."""
    tr = np.flatnonzero(part == TRAIN)
    pos = np.zeros((n_users, n_themes))
    cnt = np.zeros((n_users, n_themes))
    for t in range(n_themes):
        m = has[v[tr], t]
        np.add.at(pos[:, t], u[tr][m], y[tr][m])
        np.add.at(cnt[:, t], u[tr][m], 1)
    prior = y[tr].mean()
    rate = (pos + 3 * prior) / (cnt + 3)
    lr = _logit(rate)
    return (lr[u] * has[v]).sum(1) / has[v].sum(1), np.where(has[v], np.log(rate[u]), 0).sum(1)


def evaluate(feats: dict[str, np.ndarray], y, part) -> dict[str, float]:
    out = {}
    va, te = part == VAL, part == TEST
    for name, x in feats.items():
        x = np.column_stack(x)
        mu, sd = x[va].mean(0), x[va].std(0) + 1e-9
        model = LogisticRegression(C=1.0, max_iter=1000).fit((x[va] - mu) / sd, y[va])
        out[name] = roc_auc_score(y[te], model.decision_function((x[te] - mu) / sd))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("world_dir")
    ap.add_argument("--nc", type=int, default=8)
    ap.add_argument("--visual", action="store_true")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    wdir = Path(args.world_dir)
    log = pd.read_csv(wdir / "interactions.csv", dtype={"user_id": str, "video_id": str})
    world = load_world(wdir)
    part = chronological_split(log)
    u, users = pd.factorize(log["user_id"])
    video_ids = list(world["videos"])
    vindex = {vid: i for i, vid in enumerate(video_ids)}
    v = log["video_id"].map(vindex).to_numpy()
    r = (log["playing_time"] / log["duration_time"]).to_numpy()
    y = (r >= 1).astype(float)
    n_users, n_videos, n_themes = len(users), len(video_ids), len(THEMES)
    tr = part == TRAIN
    prior = y[tr].mean()
    um = _logit(_smoothed_rate(u[tr], y[tr], n_users, prior))[u]
    vm = _logit(_smoothed_rate(v[tr], y[tr], n_videos, prior))[v]
    ct = clip_themes(world, video_ids, args.nc)
    clip_f = clip_taste_feature(ct, u, v, y, r, part, n_users, n_themes, args.nc)
    # Video level: every theme of every scene, however short (the N_c = 1 model's best case).
    scene_themes = np.zeros((n_videos, n_themes), dtype=bool)
    for i, vid in enumerate(video_ids):
        for _, _, t in world["videos"][vid]["scenes"]:
            scene_themes[i, t] = True
    vid_f, vid_f2 = video_taste_feature(scene_themes, u, v, y, part, n_users, n_themes)
    feats = {
        "user+video mean": [um, vm],
        "+ video-level theme taste (N_c=1 analogue)": [um, vm, vid_f, vid_f2],
        f"+ clip-level theme taste (N_c={args.nc})": [um, vm, clip_f],
        "+ both": [um, vm, vid_f, vid_f2, clip_f],
    }
    if args.visual:
        clusters = visual_clip_clusters(wdir / "videos", video_ids, args.nc, n_themes)
        purity = sum(np.bincount(ct[clusters == c]).max() for c in np.unique(clusters)) / clusters.size
        print(f"visual k-means clusters (k={n_themes}) purity against true clip themes: {purity:.3f}")
        vis_f = clip_taste_feature(clusters, u, v, y, r, part, n_users, n_themes, args.nc)
        vis_vf, vis_vf2 = video_taste_feature(theme_sets(clusters, n_themes), u, v, y, part, n_users, n_themes)
        feats["+ video-level visual-cluster taste"] = [um, vm, vis_vf, vis_vf2]
        feats[f"+ clip-level visual-cluster taste (N_c={args.nc})"] = [um, vm, vis_f]
    res = evaluate(feats, y, part)
    print(f"rows {len(log):,} (train {tr.sum():,}, val {(part == VAL).sum():,}, test {(part == TEST).sum():,}); "
          f"users {n_users}, videos {n_videos}; full-view share {y.mean():.3f}")
    for name, auc in res.items():
        print(f"  test AUC {auc:.4f}  {name}")
    print(f"({time.perf_counter() - t0:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
