"""A real log whose test videos are mostly new: the 37 most active users of the bundled KuaiRand
sample (7,500 views, 3,891 videos; 69 % of the test rows are on videos with no training view).

    .venv/bin/python bench/new_videos.py [--seeds 3] [--configs '{"name": {FrameConfig fields}}']

Reports test AUC (mean ± std over seeds; on all test rows, on the rows of new videos and on
the rows of videos seen in training; FRAME's best validation AUC) of FRAME N_c = 8 and N_c = 1 with the engine defaults
(or the given configurations), the logistic regression on log duration + the user's full-view
rate (``logreg`` without the video rate), ``logreg`` with it, and the user-mean + video-mean
reference, all on the same split and test rows.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from frame_core.baselines.base import full_view  # noqa: E402
from frame_core.baselines.reference import LogRegBaseline, PopularityBaseline  # noqa: E402
from frame_core.data.prepare import prepare_data  # noqa: E402
from frame_core.data.split import TEST, TRAIN, VAL, with_split  # noqa: E402
from frame_core.data.validation import import_log  # noqa: E402
from frame_core.evaluation.evaluate import compute_test_metrics, predict_part  # noqa: E402
from frame_core.evaluation.metrics import auc  # noqa: E402
from frame_core.model.config import FrameConfig  # noqa: E402
from frame_core.services.workspace import BUNDLED, SAMPLE_DIR  # noqa: E402
from frame_core.training.trainer import best_val_auc, make_scorer, train_model  # noqa: E402


def heavy_users_log(n_users: int = 37):
    s = next(b for b in BUNDLED if b.id == "sample-kuairand")
    log, _ = import_log(SAMPLE_DIR / s.path, mapping=s.mapping, time_unit=s.time_unit)
    top = log["user_id"].value_counts().index[:n_users]
    return log[log["user_id"].isin(top)].reset_index(drop=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--configs", default='{"FRAME N_c = 8": {"nc": 8}, "coarse N_c = 1": {"nc": 1}}')
    args = ap.parse_args()
    log = heavy_users_log()
    full, part = with_split(log)
    train, val, test = (full[part == p] for p in (TRAIN, VAL, TEST))
    new = ~test["video_id"].isin(set(train["video_id"]))
    print(f"{len(log):,} views, {log['user_id'].nunique()} users, {log['video_id'].nunique():,} videos; "
          f"{new.mean():.0%} of {len(test):,} test rows are on new videos\n")
    y, new = full_view(test), new.to_numpy()

    def three(p) -> tuple[float, float, float]:
        """Test AUC on all rows, on rows of new videos and on rows of videos seen in training."""
        return auc(y, p), auc(y[new], p[new]), auc(y[~new], p[~new])

    rows = [("logistic(duration + user rate)", three(LogRegBaseline(use_video=False).fit(train, val).predict(test))),
            ("logreg (duration + user and video rates)", three(LogRegBaseline().fit(train, val).predict(test))),
            ("reference (user mean + video mean)", three(PopularityBaseline().fit(train, val).predict(test)))]
    print("| model | test AUC | on new videos | on seen videos | validation AUC |\n|---|---|---|---|---|")
    for name, kw in json.loads(args.configs).items():
        cfg0 = FrameConfig(**kw)
        data = prepare_data(log, cfg0.nc, cfg0.policy, cfg0.norm)
        aucs = []
        for seed in range(args.seeds):
            res = train_model(data, cfg0.replace(seed=seed))
            r, p, pc = predict_part(make_scorer(res.model, data), data, TEST)
            m = compute_test_metrics(data, r, p, pc)
            aucs.append((m["auc"], m["auc_cold_video"], m["auc_warm_video"], best_val_auc(res)))
        a = np.asarray(aucs)
        sd = a.std(0, ddof=1) if len(a) > 1 else np.zeros(4)
        print(f"| {name} | " + " | ".join(f"{m:.4f} ± {s:.4f}" for m, s in zip(a.mean(0), sd)) + " |", flush=True)
    for name, a in rows:
        print(f"| {name} | " + " | ".join(f"{x:.4f}" for x in a) + " | |")


if __name__ == "__main__":
    main()
