"""FRAME training and scoring benchmark at the paper's dataset scales, without video.

Scales (docs/design.md §6): **A** = Micro-video-A (12,739 users, 58,291 videos, 342,694 views) and
**B** = Micro-video-B (22,049 / 61,903 / 2,111,566). Logs come from
``frame_core.synth.world.generate_world(..., video=False)`` (generated once into ``--workdir``).

For each scale, in a fresh subprocess (so peak RSS is per scale):

- train FRAME with N_c = 8, d = 64 (other settings: ``FrameConfig`` defaults) for ``--epochs``
  epochs with early stopping off, through :func:`frame_core.training.pipeline.train_run` (the whole
  path: import, split, labels, graphs, training, evaluation, run folder);
- epoch time = median of the per-epoch times in ``history.csv`` (training steps plus the
  validation pass);
- peak RSS = ``resource.getrusage(RUSAGE_SELF).ru_maxrss`` of that process after scoring (before
  the floor below); the process runs with the allocator the command line uses (tcmalloc where
  installed, see ``frame_core/common/perf.py``), named in the table;
- scoring throughput of ``Run.predict`` (user–video pairs/s) on ``--pairs`` random pairs from
  the log, after one warm-up call (the one-off graph propagation is reported separately);
- the memory a dense user × clip float32 matrix would need (what the reference code stores);
- the **sparse-product floor**: the median time of one forward + backward sparse product at that
  scale, ``[R̃p; R̃n] · H`` with H (C, d) and its backward ``[R̃p; R̃n]ᵀ · G`` (the first hop of
  one training step, :func:`frame_core.model.sparse.first_hop`, with nothing else), on the run's
  own graphs; the table reports epoch / floor, the number of such products an epoch costs.

Targets on a 2-core machine (issue #13): A ≤ 10 s per epoch and ≤ 2 GB; B ≤ 60 s per epoch and
≤ 4 GB; scoring ≥ 200,000 pairs/s. Prints a Markdown table.

Usage::

    .venv/bin/python bench/bench_train.py --scales A,B --epochs 2
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

SCALES = {
    "A": {"users": 12_739, "videos": 58_291, "views": 342_694},
    "B": {"users": 22_049, "videos": 61_903, "views": 2_111_566},
}
TARGETS = {"A": (10.0, 2.0), "B": (60.0, 4.0)}
MIN_PAIRS_PER_S = 200_000


def generate(scale: str, workdir: Path) -> Path:
    s = SCALES[scale]
    out = workdir / f"scale_{scale}"
    log = out / "interactions.csv"
    if not log.exists():
        from frame_core.synth import generate_world

        generate_world(out, users=s["users"], videos=s["videos"], per_user=s["views"] / s["users"], seed=0,
                       video=False)
    return log


def run_scale(scale: str, workdir: Path, epochs: int, nc: int, emb: int, pairs: int, batch_size: int | None) -> dict:
    """Train + score one scale in this process; returns the measurements."""
    import numpy as np
    import pandas as pd
    import torch

    from frame_core.common.perf import allocator_in_use
    from frame_core.data.validation import import_log
    from frame_core.model.config import FrameConfig
    from frame_core.training.pipeline import train_run

    log_path = generate(scale, workdir)
    t0 = time.perf_counter()
    log, _ = import_log(log_path)
    t_import = time.perf_counter() - t0
    kw = {"nc": nc, "emb_dim": emb, "epochs": epochs, "patience": epochs + 1}
    if batch_size:
        kw["batch_size"] = batch_size
    cfg = FrameConfig(**kw).validated()
    run_dir = workdir / f"run_{scale}_{int(time.time())}"
    t0 = time.perf_counter()
    run = train_run(log, run_dir, cfg, source=str(log_path))
    t_total = time.perf_counter() - t0
    hist = pd.read_csv(run_dir / "history.csv")

    rng = np.random.default_rng(0)
    idx = rng.integers(0, len(log), pairs)
    users = log["user_id"].to_numpy()[idx]
    videos = log["video_id"].to_numpy()[rng.integers(0, len(log), pairs)]
    df = pd.DataFrame({"user_id": users, "video_id": videos})
    t0 = time.perf_counter()
    run.predict(df.iloc[:1000])  # warm-up: graph propagation and projections (once per loaded run)
    t_prepare = time.perf_counter() - t0
    t0 = time.perf_counter()
    out = run.predict(df)
    t_pred = time.perf_counter() - t0
    assert len(out) == pairs and np.isfinite(out["p_full"]).all()
    u, v = run.maps.n_users, run.maps.n_videos
    # the engine's peak, read before the floor's own product allocates its (C, d) matrices
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9
    floor = sparse_floor(run_dir, emb)
    return {
        "floor_s": floor,
        "scale": scale,
        "users": u,
        "videos": v,
        "views": int(len(log)),
        "nc": nc,
        "emb_dim": emb,
        "batch_size": int(run.metrics.get("batch_size", cfg.batch_size)),
        "threads": torch.get_num_threads(),
        "graph_edges": int(run.info["data"]["graph_pos_edges"] + run.info["data"]["graph_neg_edges"]),
        "import_s": t_import,
        "epoch_s_median": float(hist["epoch_seconds"].median()),
        "epoch_s_all": [round(x, 1) for x in hist["epoch_seconds"]],
        "epoch_cpu_s_median": float(hist["epoch_cpu_seconds"].median()),
        "train_run_s": t_total,
        "peak_rss_gb": peak_gb,
        "allocator": allocator_in_use(),
        "predict_prepare_s": t_prepare,
        "pairs": pairs,
        "pairs_per_s": pairs / t_pred,
        "dense_user_clip_gb": u * v * nc * 4 / 1e9,
        "test_auc": run.metrics.get("auc"),
    }


def sparse_floor(run_dir: Path, emb: int, repeats: int = 5) -> float:
    """Median seconds of one forward + backward product of the stacked normalised graphs of a
    run (as saved in its folder) with a random (C, emb) matrix (see the module docstring)."""
    import numpy as np
    import scipy.sparse as sp
    import torch

    from frame_core.data.graphs import normalize
    from frame_core.model.sparse import GraphOps, first_hop

    info = __import__("json").loads((run_dir / "config.json").read_text())
    norm = info["config"]["norm"]
    g = GraphOps(normalize(sp.load_npz(run_dir / "graph_pos.npz").tocsr(), norm),
                 normalize(sp.load_npz(run_dir / "graph_neg.npz").tocsr(), norm))
    h = torch.randn(g.shape[1], emb, requires_grad=True)
    times = []
    for _ in range(repeats + 1):
        t0 = time.perf_counter()
        a, b, _ = first_hop(g, h)
        (a.sum() + b.sum()).backward()
        times.append(time.perf_counter() - t0)
        h.grad = None
    return float(np.median(times[1:]))


def markdown(results: list[dict]) -> str:
    head = ("scale", "users × videos × N_c", "views", "edges", "batch", "epoch wall (median) [each]",
            "epoch CPU / threads", "target", "sparse fwd+bwd", "epoch / floor", "peak RSS", "target", "allocator",
            "scoring pairs/s", "dense R (float32)")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in results:
        t_ep, t_mem = TARGETS.get(r["scale"], (float("nan"), float("nan")))
        ok_ep = "✓" if r["epoch_s_median"] <= t_ep else "✗"
        ok_mem = "✓" if r["peak_rss_gb"] <= t_mem else "✗"
        ok_sc = "✓" if r["pairs_per_s"] >= MIN_PAIRS_PER_S else "✗"
        lines.append(
            f"| {r['scale']} | {r['users']:,} × {r['videos']:,} × {r['nc']} | {r['views']:,} | {r['graph_edges']:,} "
            f"| {r['batch_size']:,} | {r['epoch_s_median']:.1f} s {ok_ep} {r['epoch_s_all']} "
            f"| {r['epoch_cpu_s_median'] / r['threads']:.1f} s | ≤ {t_ep:.0f} s "
            f"| {r['floor_s']:.3f} s | {r['epoch_s_median'] / r['floor_s']:.0f} × "
            f"| {r['peak_rss_gb']:.2f} GB {ok_mem} | ≤ {t_mem:.0f} GB | {r.get('allocator', '?')} "
            f"| {r['pairs_per_s']:,.0f} {ok_sc} "
            f"| {r['dense_user_clip_gb']:,.1f} GB |"
        )
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scales", default="A,B")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--nc", type=int, default=8)
    ap.add_argument("--emb", type=int, default=64)
    ap.add_argument("--pairs", type=int, default=1_000_000)
    ap.add_argument("--batch-size", type=int, default=None, help="default: FrameConfig's")
    ap.add_argument("--workdir", default="/tmp/frame_bench")
    ap.add_argument("--one", help=argparse.SUPPRESS)  # internal: run one scale, print JSON
    args = ap.parse_args(argv)
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    if args.one:
        res = run_scale(args.one, workdir, args.epochs, args.nc, args.emb, args.pairs, args.batch_size)
        print("RESULT " + json.dumps(res))
        return 0
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from frame_core.common.perf import allocator_env

    results = []
    load0 = os.getloadavg()[0]
    for scale in [s.strip().upper() for s in args.scales.split(",") if s.strip()]:
        if scale not in SCALES:
            print(f"unknown scale {scale}", file=sys.stderr)
            return 2
        # generate in its own process so that generation does not count in the training peak RSS
        subprocess.run([sys.executable, "-c", f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); "
                        f"import bench_train as b; from pathlib import Path; b.generate({scale!r}, Path({str(workdir)!r}))"],
                       check=True)
        cmd = [sys.executable, __file__, "--one", scale, "--epochs", str(args.epochs), "--nc", str(args.nc),
               "--emb", str(args.emb), "--pairs", str(args.pairs), "--workdir", str(workdir)]
        if args.batch_size:
            cmd += ["--batch-size", str(args.batch_size)]
        # the allocator the CLI and the app's jobs train with: tcmalloc where installed
        p = subprocess.run(cmd, capture_output=True, text=True, env=allocator_env(os.environ))
        line = [ln for ln in p.stdout.splitlines() if ln.startswith("RESULT ")]
        if p.returncode != 0 or not line:
            print(p.stdout[-2000:], p.stderr[-4000:], file=sys.stderr)
            return 1
        res = json.loads(line[-1][len("RESULT "):])
        results.append(res)
        print(json.dumps(res), file=sys.stderr)
    print(markdown(results))
    print(f"load average at the start: {load0:.1f}, at the end: {os.getloadavg()[0]:.1f} (epoch CPU time / threads approximates the epoch wall time on an idle machine)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
