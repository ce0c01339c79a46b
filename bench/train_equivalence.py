"""Test AUC of the engine's default FRAME on a few logs, to check that a speed change keeps it.

Trains ``FrameConfig()`` (engine defaults, ``--epochs`` cap) on each world of
``bench/sweep_defaults.py`` named in ``--worlds`` (both bundled samples and worlds generated
independently of ``frame_core.synth``), and prints one JSON line per (world, seed) with the test
AUC (video level), the best epoch and the median epoch time. Run it once with the code before a
change (``PYTHONPATH=/path/to/old/checkout``) and once after, and compare the AUC columns.

Usage::

    OMP_NUM_THREADS=1 python bench/train_equivalence.py --worlds synthetic,kuairand,indep_dense,hate_dense
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--worlds", default="synthetic,kuairand,indep_dense,hate_dense")
    ap.add_argument("--seeds", default="0")
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--root", default="/tmp/frame_equiv")
    ap.add_argument("--set", action="append", default=[], help="FrameConfig override NAME=JSON_VALUE")
    args = ap.parse_args(argv)
    from sweep_defaults import load_world

    import frame_core
    from frame_core.data.prepare import prepare_data
    from frame_core.data.split import TEST
    from frame_core.evaluation import metrics as M
    from frame_core.evaluation.evaluate import predict_part
    from frame_core.model.config import FrameConfig
    from frame_core.training.trainer import make_scorer, train_model

    over = {k: json.loads(v) for k, v in (s.split("=", 1) for s in args.set)}
    for world in args.worlds.split(","):
        log = load_world(world, Path(args.root))
        for seed in [int(s) for s in args.seeds.split(",")]:
            cfg = FrameConfig(epochs=args.epochs, seed=seed, **over).validated()
            data = prepare_data(log, cfg.nc, cfg.policy, cfg.norm)
            t0 = time.perf_counter()
            res = train_model(data, cfg)
            rows, p_full, _ = predict_part(make_scorer(res.model, data), data, TEST)
            auc = M.auc(data.y[rows], p_full)
            print(json.dumps({"world": world, "seed": seed, "auc": round(float(auc), 4), "best_epoch": res.best_epoch,
                              "epochs": len(res.history), "epoch_s": round(float(res.history["epoch_seconds"].median()), 2),
                              "train_s": round(time.perf_counter() - t0, 1), "code": str(Path(frame_core.__file__).parent),
                              **({"set": over} if over else {})}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
