"""Visual clip features versus id embeddings, and scores for videos never seen in training.

    .venv/bin/python bench/visual_features.py [--seeds 3] [--cold-share 0.2]

On the bundled synthetic sample (``sample_data/synthetic``: log + WebM videos):

1. **Warm protocol** — the usual split (docs/design.md §5). FRAME N_c = 8 with visual features
   (``--videos``), N_c = 8 with id embeddings, and N_c = 1 with the same visual features.
2. **Cold-video protocol** — a share of the videos (``--cold-share``, drawn with seed 0) is made
   *new*: every view of theirs that would not be a test row is removed, repeatedly, until all
   their remaining views are test rows under the chronological split of the filtered log. Their
   test rows are then scored by a model that never saw them in training, so only content (and
   metadata) can rank them. Reported: AUC on those cold rows (``auc_cold_video`` in
   ``metrics.json``) for visual features and for id embeddings.

Every number is the mean ± std over ``--seeds`` seeds of real training runs (engine defaults).
Prints Markdown tables.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from frame_core.data.split import TEST, chronological_split  # noqa: E402
from frame_core.data.validation import import_log  # noqa: E402

SAMPLE = ROOT / "sample_data" / "synthetic"


def cold_video_log(log: pd.DataFrame, share: float, seed: int = 0) -> tuple[pd.DataFrame, set[str]]:
    """Drop views of a random ``share`` of videos until all their views are test rows."""
    rng = np.random.default_rng(seed)
    videos = np.sort(log["video_id"].unique())
    cold = set(rng.choice(videos, size=max(1, int(share * len(videos))), replace=False).tolist())
    for _ in range(50):
        part = chronological_split(log)
        bad = log["video_id"].isin(cold).to_numpy() & (part != TEST)
        if not bad.any():
            break
        log = log.loc[~bad].reset_index(drop=True)
    return log, cold


def train(log_path: Path, out: Path, nc: int, seed: int, videos: Path | None) -> dict:
    cmd = [sys.executable, "-m", "frame_core", "train", str(log_path), "--nc", str(nc), "--seed", str(seed),
           "--out", str(out), "--overwrite"]
    cmd += ["--videos", str(videos)] if videos is not None else ["--no-videos"]
    subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=ROOT,
                   env={**os.environ, "FRAME_WORKSPACE": str(out.parent / "ws")})
    return json.loads((out / "metrics.json").read_text())


def fmt(values: list[float]) -> str:
    v = np.asarray([x for x in values if x is not None], dtype=float)
    return f"{v.mean():.4f} ± {v.std(ddof=1) if len(v) > 1 else 0.0:.4f}" if len(v) else "n/a"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--cold-share", type=float, default=0.2)
    args = ap.parse_args()
    log_path = SAMPLE / "interactions.csv"
    videos = SAMPLE / "videos"
    seeds = list(range(args.seeds))
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        settings = [("FRAME N_c = 8, visual features", 8, videos), ("FRAME N_c = 8, id embeddings", 8, None),
                    ("coarse N_c = 1, visual features", 1, videos), ("coarse N_c = 1, id embeddings", 1, None)]
        print("### Warm protocol (bundled synthetic sample, usual split)\n")
        print("| setting | test AUC | GAUC | Logloss |\n|---|---:|---:|---:|")
        for name, nc, vids in settings:
            ms = [train(log_path, tmp / f"w{nc}{vids is not None}{s}", nc, s, vids) for s in seeds]
            print(f"| {name} | {fmt([m['auc'] for m in ms])} | {fmt([m['gauc'] for m in ms])} | "
                  f"{fmt([m['logloss'] for m in ms])} |")

        log, _ = import_log(log_path)
        cold_log, cold = cold_video_log(log, args.cold_share)
        cold_path = tmp / "cold.csv"
        cold_log.to_csv(cold_path, index=False)
        part = chronological_split(cold_log)
        n_cold_rows = int((cold_log["video_id"].isin(cold).to_numpy() & (part == TEST)).sum())
        print(f"\n### Cold-video protocol ({len(cold)} of {log['video_id'].nunique()} videos new; "
              f"{n_cold_rows:,} of {int((part == TEST).sum()):,} test rows are on them)\n")
        print("| setting | AUC on new videos | AUC on seen videos | test AUC (all) |\n|---|---:|---:|---:|")
        for name, nc, vids in settings[:2]:
            ms = [train(cold_path, tmp / f"c{nc}{vids is not None}{s}", nc, s, vids) for s in seeds]
            print(f"| {name} | {fmt([m.get('auc_cold_video') for m in ms])} | "
                  f"{fmt([m.get('auc_warm_video') for m in ms])} | {fmt([m['auc'] for m in ms])} |")
        print(f"\nMean ± std over seeds {seeds}; engine defaults otherwise (`python -m frame_core train`).")


if __name__ == "__main__":
    main()
