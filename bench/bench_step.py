"""CPU time of single training steps at a given log, one torch thread (an A/B check of step cost).

Prepares the log with the engine defaults (static fallback of the auto settings), runs one
warm-up step and then ``--steps`` steps of the effective batch size, and prints the CPU seconds
and wall seconds of each step and the last loss. CPU time of one thread is less disturbed by
other processes on a shared machine than wall time. Run it with ``PYTHONPATH=/old/checkout``
for the code before a change and without for the code after; the same seed gives the same loss
when the mathematics is unchanged.

Usage::

    python bench/bench_step.py /tmp/frame_bench/scale_A/interactions.csv [--steps 4]
"""

from __future__ import annotations

import argparse
import sys
import time


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("log")
    ap.add_argument("--steps", type=int, default=4)
    args = ap.parse_args(argv)
    import numpy as np
    import torch

    import frame_core
    from frame_core.common.perf import tune_allocator
    from frame_core.data.prepare import prepare_data
    from frame_core.data.validation import import_log
    from frame_core.model.config import FrameConfig
    from frame_core.training import trainer as T
    from frame_core.training.batches import BatchMaker
    from frame_core.training.data_rules import resolve_emb_lr
    from frame_core.training.optimizer import adam

    torch.set_num_threads(1)
    tune_allocator()
    log, _ = import_log(args.log)
    cfg = FrameConfig(nc=8).validated().static()
    data = prepare_data(log, cfg.nc, cfg.policy, cfg.norm)
    torch.manual_seed(0)
    model = T.build_model(data, cfg)
    opt = adam(model, cfg, resolve_emb_lr(cfg, data))
    make = BatchMaker(data, cfg.exclude_batch_edges)
    rows = data.rows(0)
    bs = T.effective_batch_size(cfg.batch_size, len(rows))
    rng = np.random.default_rng(0)

    def step(r) -> float:
        parts = model.loss(make(r))
        opt.zero_grad(set_to_none=True)
        parts.total.backward()
        opt.step()
        return float(parts.total.item())

    step(rows[:bs])
    cpu, wall = [], []
    for _ in range(args.steps):
        c, w = time.process_time(), time.perf_counter()
        loss = step(rows[rng.permutation(len(rows))[:bs]])
        cpu.append(round(time.process_time() - c, 2))
        wall.append(round(time.perf_counter() - w, 2))
    print(f"{frame_core.__file__}: batch {bs}, CPU s/step {cpu}, wall s/step {wall}, last loss {loss:.9f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
