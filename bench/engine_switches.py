"""What each FrameConfig switch does to test AUC on a log (default: the bundled synthetic sample).

Every variant changes one setting of the defaults and is trained over ``--seeds`` seeds on the
same chronological split; the table reports test AUC (video level) as mean ± std, the change
against the defaults, and the mean best epoch. With ``--videos`` (default: the sample's videos)
H_c0 uses visual clip features from ``frame_core.video.embed_videos`` (computed once per N_c);
``--no-videos`` uses id embeddings. The reference row is user mean + video mean.

Usage::

    .venv/bin/python bench/engine_switches.py [--seeds 3] [--log L] [--videos DIR | --no-videos]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_data" / "synthetic"

VARIANTS: list[tuple[str, dict]] = [
    ("defaults (N_c = 8)", {}),
    ("coarse N_c = 1", {"nc": 1}),
    ("N_c = 4", {"nc": 4}),
    ("policy paper", {"policy": "paper"}),
    ("video score mean", {"video_score": "mean"}),
    ("hybrid λ = 0", {"hybrid_lambda": 0.0}),
    ("interaction mlp (no inner product)", {"interaction": "mlp"}),
    ("shared W", {"shared_w": True}),
    ("separate W", {"shared_w": False}),
    ("row normalisation", {"norm": "row"}),
    ("αp, αn fixed 0.8 / 0.2", {"learn_alpha_pn": False, "alpha_p": 0.8, "alpha_n": 0.2}),
    ("α0 = 0 (no H_c0 residual)", {"alpha0": 0.0}),
    ("no clip metadata", {"metadata": False}),
    ("per-user bias", {"user_bias": True}),
    ("batch edges kept in the graph", {"exclude_batch_edges": False}),
    ("activation sigmoid", {"activation": "sigmoid"}),
]


def main(argv=None) -> int:
    sys.path.insert(0, str(ROOT))
    from frame_core.data.prepare import prepare_data
    from frame_core.data.split import TEST
    from frame_core.data.validation import import_log
    from frame_core.evaluation.evaluate import compute_test_metrics, predict_part
    from frame_core.experiments.ablation import reference_metrics
    from frame_core.model.config import FrameConfig
    from frame_core.training.trainer import make_scorer, train_model

    ap = argparse.ArgumentParser()
    ap.add_argument("--log", default=str(SAMPLE / "interactions.csv"))
    ap.add_argument("--videos", default=str(SAMPLE / "videos"))
    ap.add_argument("--no-videos", action="store_true")
    ap.add_argument("--id-embeddings", action="store_true", help="add the 'id embeddings with features' row")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--only", help="comma-separated variant numbers (0-based) to run")
    ap.add_argument("--map", action="append", default=[])
    ap.add_argument("--time-unit", default="s")
    args = ap.parse_args(argv)
    log, _ = import_log(args.log, mapping=args.map, time_unit=args.time_unit)
    videos = None if args.no_videos else args.videos
    feats: dict[int, object] = {}

    def features(nc: int):
        if videos is None:
            return None
        if nc not in feats:
            from frame_core.video import embed_videos

            feats[nc] = embed_videos(videos, nc, log=log)[0]
        return feats[nc]

    variants = list(VARIANTS)
    if args.id_embeddings and videos is not None:
        variants.append(("id embeddings with features", {"id_embeddings": True}))
    if args.only:
        keep = {int(i) for i in args.only.split(",")}
        variants = [v for i, v in enumerate(variants) if i in keep or i == 0]
    base = FrameConfig()
    rows, cache = [], {}
    for name, change in variants:
        cfg0 = base.replace(**change)
        key = (cfg0.nc, cfg0.policy, cfg0.norm)
        if key not in cache:
            cache[key] = prepare_data(log, cfg0.nc, cfg0.policy, cfg0.norm, features=features(cfg0.nc))
        data = cache[key]
        aucs, epochs, t0 = [], [], time.perf_counter()
        for seed in range(args.seeds):
            res = train_model(data, cfg0.replace(seed=seed))
            r, p, pc = predict_part(make_scorer(res.model, data), data, TEST)
            aucs.append(compute_test_metrics(data, r, p, pc)["auc"])
            epochs.append(res.best_epoch)
        rows.append({"setting": name, "change": json.dumps(change), "auc_mean": np.mean(aucs),
                     "auc_std": np.std(aucs), "best_epoch": np.mean(epochs),
                     "seconds_per_run": (time.perf_counter() - t0) / args.seeds})
        print(f"{name}: {np.mean(aucs):.4f} ± {np.std(aucs):.4f}", file=sys.stderr, flush=True)
    ref = reference_metrics(next(iter(cache.values())))
    df = pd.DataFrame(rows)
    d0 = df["auc_mean"].iloc[0]
    src = "visual features" if videos else "id embeddings"
    print(f"Test AUC over {args.seeds} seeds, {len(log):,} views, H_c0 from {src}; "
          f"reference (user mean + video mean) {ref['auc']:.4f}\n")
    print("| setting | test AUC | Δ vs defaults | best epoch |\n|---|---|---|---|")
    for _, r in df.iterrows():
        print(f"| {r['setting']} | {r['auc_mean']:.4f} ± {r['auc_std']:.4f} | {r['auc_mean'] - d0:+.4f} "
              f"| {r['best_epoch']:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
