"""Where a training process's memory goes: resident size after each preparation stage, then the
peak of every phase of a few training steps.

Prepares the log with the engine defaults (static fallback of the auto settings), like
``bench/bench_step.py``, and prints the resident set size (GB) after the library imports, the
imported log, the prepared data, the model with its graphs, and then for each step the highest
RSS seen (sampled every millisecond) while the batch is made, during the forward pass, the
backward pass and the optimiser step. ``--trim`` hands the heap's free pages back to the system
(glibc ``malloc_trim``) before every step, so a step's peak shows what that step itself needs
rather than what earlier steps left in the allocator; the step times show what that costs.

Usage::

    python bench/step_memory.py /tmp/frame_bench/scale_A/interactions.csv [--steps 6] [--trim]
"""

from __future__ import annotations

import argparse
import ctypes
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def rss_gb() -> float:
    """Resident set size of this process (GB, 10⁹ bytes), from ``/proc/self/statm``."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 1e9


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("log")
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--trim", action="store_true", help="malloc_trim(0) before every step")
    args = ap.parse_args(argv)
    import numpy as np
    import torch

    from frame_core.common.perf import tune_allocator
    from frame_core.data.prepare import prepare_data
    from frame_core.data.validation import import_log
    from frame_core.model.config import FrameConfig
    from frame_core.training import trainer as T
    from frame_core.training.batches import BatchMaker
    from frame_core.training.data_rules import resolve_emb_lr
    from frame_core.training.optimizer import adam

    tune_allocator()
    stages = [("libraries", rss_gb())]
    log, _ = import_log(args.log)
    stages.append(("imported log", rss_gb()))
    cfg = FrameConfig(nc=8).validated().static()
    data = prepare_data(log, cfg.nc, cfg.policy, cfg.norm)
    stages.append(("prepared data", rss_gb()))
    torch.manual_seed(0)
    model = T.build_model(data, cfg)
    opt = adam(model, cfg, resolve_emb_lr(cfg, data))
    stages.append(("model and graphs", rss_gb()))
    for name, gb in stages:
        print(f"{name}: {gb:.2f} GB")
    make = BatchMaker(data, cfg.exclude_batch_edges)
    rows = data.rows(0)
    bs = T.effective_batch_size(cfg.batch_size, len(rows))
    perm = rows[np.random.default_rng(0).permutation(len(rows))]
    samples: list[tuple[float, float]] = []

    def sample() -> None:
        while True:
            samples.append((time.perf_counter(), rss_gb()))
            time.sleep(0.001)

    threading.Thread(target=sample, daemon=True).start()
    libc = ctypes.CDLL("libc.so.6") if args.trim else None

    def peak(a: float, b: float) -> float:
        return max([r for t, r in samples if a <= t <= b] or [rss_gb()])

    print(f"batch {bs} views; peak RSS (GB) per phase, and seconds")
    for i in range(args.steps):
        if libc is not None:
            libc.malloc_trim(0)
        t = [time.perf_counter()]
        opt.zero_grad(set_to_none=True)
        batch = make(perm[(i * bs) % len(perm):][:bs])
        t.append(time.perf_counter())
        parts = model.loss(batch)
        t.append(time.perf_counter())
        parts.total.backward()
        t.append(time.perf_counter())
        opt.step()
        t.append(time.perf_counter())
        time.sleep(0.005)  # one more sample after the step
        names = ("batch", "forward", "backward", "optimiser")
        print(f"step {i}: " + "  ".join(f"{n} {peak(a, b):.2f}" for n, a, b in zip(names, t[:-1], t[1:]))
              + f"  | after {rss_gb():.2f}  | s {t[-1] - t[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
