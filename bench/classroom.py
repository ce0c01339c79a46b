"""Does the one-click classroom experiment reach the same verdict as a full run?

    .venv/bin/python bench/classroom.py [--seeds 3] [--out bench/out/classroom.md]

On both bundled samples (the synthetic one with its videos, as the Compare page uses them;
KuaiRand with id embeddings), trains FRAME (N_c = 8) and the coarse model (N_c = 1) for each
seed with the classroom settings of the Compare page
(:data:`frame_core.services.run_tables.CLASSROOM_CONFIG`; empty = the engine defaults, i.e. a
full run), with the earlier 6-epoch classroom cap for contrast, and with the engine defaults
when the classroom settings differ from them. Reports test AUC mean ± std, the FRAME − coarse difference with its paired 95 % interval
over seeds, the verdict of each, and the training time. Prints Markdown.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from frame_core.data.prepare import prepare_data  # noqa: E402
from frame_core.data.split import TEST  # noqa: E402
from frame_core.evaluation.evaluate import compute_test_metrics, predict_part  # noqa: E402
from frame_core.model.config import FrameConfig  # noqa: E402
from frame_core.services.run_tables import CLASSROOM_CONFIG  # noqa: E402
from frame_core.services.workspace import BUNDLED, SAMPLE_DIR  # noqa: E402
from frame_core.training.trainer import make_scorer, train_model  # noqa: E402


def load(sample):
    from frame_core.data.validation import import_log

    log, _ = import_log(SAMPLE_DIR / sample.path, mapping=sample.mapping, time_unit=sample.time_unit)
    feats = {}
    if sample.videos:
        from frame_core.video import embed_videos

        for nc in (8, 1):
            feats[nc], _ = embed_videos(SAMPLE_DIR / sample.videos, nc, log=log)
    return log, feats


def verdict(deltas: np.ndarray) -> tuple[str, float, float]:
    """Mean FRAME − coarse difference over seeds with a t interval (95 %)."""
    from scipy import stats

    d = np.asarray(deltas, dtype="float64")
    m = float(d.mean())
    if len(d) < 2:
        return ("FRAME better" if m > 0 else "coarse better"), m, m
    half = float(stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / np.sqrt(len(d)))
    lo, hi = m - half, m + half
    v = "FRAME better" if lo > 0 else "coarse better" if hi < 0 else "no clear difference"
    return v, lo, hi


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--out", default=str(ROOT / "bench" / "out" / "classroom.md"))
    ap.add_argument("--samples", default=",".join(b.id for b in BUNDLED), help="bundled sample ids")
    args = ap.parse_args()
    lines = ["| sample | setting | FRAME N_c = 8 | coarse N_c = 1 | FRAME − coarse (95 % CI) | verdict | seconds per run |",
             "|---|---|---|---|---|---|---|"]
    for sample in [b for b in BUNDLED if b.id in args.samples.split(",")]:
        log, feats = load(sample)
        data = {nc: prepare_data(log, nc, features=feats.get(nc)) for nc in (8, 1)}
        settings = [("classroom now" + (" (= engine defaults)" if not CLASSROOM_CONFIG else ""), CLASSROOM_CONFIG),
                    ("earlier classroom cap (6 epochs, patience 2, d = 32)", {"epochs": 6, "patience": 2, "emb_dim": 32})]
        if CLASSROOM_CONFIG:
            settings.append(("full run (engine defaults)", {}))
        for setting, extra in settings:
            auc = {8: [], 1: []}
            secs = []
            for seed in range(args.seeds):
                for nc in (8, 1):
                    cfg = FrameConfig(nc=nc, seed=seed, id_embeddings=not feats, **extra)
                    t = time.perf_counter()
                    res = train_model(data[nc], cfg)
                    secs.append(time.perf_counter() - t)
                    rows, p, pc = predict_part(make_scorer(res.model, data[nc]), data[nc], TEST)
                    auc[nc].append(compute_test_metrics(data[nc], rows, p, pc)["auc"])
                    print(f"{sample.id} {setting} seed {seed} N_c={nc}: {auc[nc][-1]:.4f} ({secs[-1]:.0f} s)",
                          file=sys.stderr, flush=True)
            v, lo, hi = verdict(np.array(auc[8]) - np.array(auc[1]))
            d = float(np.mean(np.array(auc[8]) - np.array(auc[1])))
            lines.append(f"| {sample.id} | {setting} | {np.mean(auc[8]):.4f} ± {np.std(auc[8], ddof=1):.4f} | "
                         f"{np.mean(auc[1]):.4f} ± {np.std(auc[1], ddof=1):.4f} | {d:+.4f} ({lo:+.4f}, {hi:+.4f}) | "
                         f"{v} | {np.mean(secs):.0f} |")
    text = "\n".join(lines) + "\n"
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
