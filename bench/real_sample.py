"""FRAME on the real KuaiRand sample versus simple references, same split and test rows.

Models (test AUC etc. at video level, docs/design.md §5):

- FRAME with N_c = 8 and the coarse model N_c = 1 (``FrameConfig`` defaults, id embeddings +
  clip metadata; the sample has no videos), over ``--seeds`` seeds;
- reference: user mean + video mean (``PopularityBaseline``);
- logistic regression on log duration + the user's mean full-view rate
  (``LogRegBaseline(use_video=False)``), and with the video's rate too (``LogRegBaseline()``).

Usage::

    .venv/bin/python bench/real_sample.py [--seeds 3] [--log PATH]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_LOG = ROOT.parent / "shared" / "data" / "kuairand_like_hate" / "processed_standard_kcore_15.tsv"
MAPPING = ["play_time_ms=playing_time", "duration_ms=duration_time", "time_ms=interaction_timestamp"]


def main(argv=None) -> int:
    sys.path.insert(0, str(ROOT))
    from frame_core.baselines.reference import LogRegBaseline, PopularityBaseline
    from frame_core.data.prepare import prepare_data
    from frame_core.data.validation import import_log
    from frame_core.evaluation import metrics as M
    from frame_core.experiments.ablation import results_markdown
    from frame_core.model.config import FrameConfig
    from frame_core.training.pipeline import train_run

    ap = argparse.ArgumentParser()
    ap.add_argument("--log", default=str(DEFAULT_LOG))
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--nc", default="8,1")
    ap.add_argument("--config", default="{}", help="JSON overrides of FrameConfig")
    args = ap.parse_args(argv)
    import json

    log, report = import_log(args.log, mapping=MAPPING, time_unit="ms")
    print(f"{report.n_clean:,} rows kept of {report.n_input:,} ({report.rejected})", file=sys.stderr)
    rows = []
    data = None
    with tempfile.TemporaryDirectory() as tmp:
        for nc in [int(x) for x in args.nc.split(",")]:
            cfg0 = FrameConfig(**{**json.loads(args.config), "nc": nc})
            data = prepare_data(log, nc, cfg0.policy, cfg0.norm)
            for seed in range(args.seeds):
                run = train_run(log, Path(tmp) / f"nc{nc}_s{seed}", cfg0.replace(seed=seed), data=data)
                m = run.metrics
                rows.append({"model": "coarse (N_c = 1)" if nc == 1 else f"FRAME (N_c = {nc})", "nc": nc,
                             "seed": seed, **m})
                print(f"nc={nc} seed={seed} auc={m['auc']:.4f} cold-video auc={m['auc_cold_video']} "
                      f"best epoch {m['best_epoch']}", file=sys.stderr)
    part = data.part
    tr, va, te = log[part == 0], log[part == 1], log[part == 2]
    y = data.y[part == 2]
    for name, model in (("reference (user mean + video mean)", PopularityBaseline()),
                        ("logreg (log duration + user rate)", LogRegBaseline(use_video=False)),
                        ("logreg (log duration + user rate + video rate)", LogRegBaseline())):
        model.fit(tr, va)
        pred = pd.DataFrame({"user_id": te["user_id"].to_numpy(), "y": y, "p_full": model.predict(te)})
        m = M.video_metrics(pred)
        rows.append({"model": name, "nc": np.nan, "seed": 0, **m, "skip_hit@1": np.nan})
    res = pd.DataFrame(rows)
    print(results_markdown(res, f"KuaiRand sample ({len(log):,} views, {log['user_id'].nunique()} users)"))
    cold = data.summary()["test_rows_cold_video"]
    print(f"test rows: {int((part == 2).sum()):,}, of which {cold:,} with videos not seen in training")
    return 0


if __name__ == "__main__":
    sys.exit(main())
