"""Training on several processes and machines with ``torch.distributed`` (docs/design.md §4,
"Several processes").

Launch: ``torchrun --nproc_per_node P -m frame_core train LOG --out RUN --distributed …``
(several machines: the same command on each with ``--nnodes N --node-rank i`` or
``--rdzv-backend c10d --rdzv-endpoint HOST:PORT``; see the README).

What each rank does:

- every rank imports the log, prepares the same data (the same split, labels and the **full**
  training graphs) and builds the same model from the same seed;
- each training step takes the same global batch of B views (the same seeded permutation on
  every rank) and each rank trains on its share of it, ``batch[rank::world_size]``;
  :class:`~torch.nn.parallel.DistributedDataParallel` averages the gradients, so that an update
  is the single-process update over the whole batch (up to the per-rank means, dropout draws and
  which edges each rank takes out of R̃: only its own share's);
- rank 0 computes the validation checks and broadcasts (val_auc, val_gauc, val_logloss, and
  whether the time budget is spent), so that early stopping and the learning-rate schedule take
  the same decisions everywhere; the logged loss is the mean over ranks;
- only rank 0 writes the run folder, with the same contract as a single-process run.

Backend: ``gloo``. The engine trains on the CPU; NCCL needs CUDA tensors, which the engine does
not use, so ``--dist-backend nccl`` is refused with a message.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import os

import numpy as np
import torch
import torch.distributed as dist
from torch import nn

from frame_core.common.errors import InputError

log = logging.getLogger(__name__)

TORCHRUN_ENV = ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")


@dataclasses.dataclass
class DistContext:
    """This process's place in a ``torch.distributed`` job (``rank`` 0 … ``world_size`` − 1)."""

    rank: int
    world_size: int
    backend: str = "gloo"

    @property
    def is_main(self) -> bool:
        """True on rank 0, the rank that validates and writes the run folder."""
        return self.rank == 0

    def shard(self, rows: np.ndarray) -> np.ndarray:
        """This rank's share of one step's global batch: ``rows[rank::world_size]``."""
        return rows[self.rank :: self.world_size]

    def wrap(self, model: nn.Module) -> nn.Module:
        """The loss module of ``model`` in DistributedDataParallel (see :class:`LossModule`).
        Buffers are synchronised once at the start, not at every step (every rank derives the
        same ones from the same data). Every parameter takes part in every step's loss (the
        empty-graph paths keep a zero gradient path), so unused parameters are not searched for."""
        return nn.parallel.DistributedDataParallel(LossModule(model), forward_sync_buffers=False)

    def broadcast(self, values: list[float]) -> list[float]:
        """Rank 0's ``values`` on every rank (float64)."""
        t = torch.tensor(values, dtype=torch.float64)
        dist.broadcast(t, src=0)
        return [float(x) for x in t]

    def mean(self, values: list[float]) -> list[float]:
        """The mean of ``values`` over ranks."""
        t = torch.tensor(values, dtype=torch.float64)
        dist.all_reduce(t)
        return [float(x) / self.world_size for x in t]

    def all_ok(self, ok: bool) -> bool:
        """True when ``ok`` holds on every rank (a collective: every rank must call it)."""
        t = torch.tensor([1 if ok else 0], dtype=torch.int64)
        dist.all_reduce(t, op=dist.ReduceOp.MIN)
        return bool(t.item())

    def close(self) -> None:
        if dist.is_initialized():
            dist.destroy_process_group()


class LossModule(nn.Module):
    """``forward(batch)`` = ``model.loss(batch)`` as a tuple (total, clip, video), the form
    DistributedDataParallel needs (its forward is what arms the gradient averaging)."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, batch):
        parts = self.model.loss(batch)
        return parts.total, parts.clip, parts.video


def init_from_env(backend: str = "gloo", timeout_s: float = 1800.0) -> DistContext:
    """Join the process group that ``torchrun`` describes in the environment (``RANK``,
    ``WORLD_SIZE``, ``MASTER_ADDR``, ``MASTER_PORT``). Raises InputError with a one-line fix
    when they are missing or the backend is not usable here."""
    missing = [k for k in TORCHRUN_ENV if k not in os.environ]
    if missing:
        raise InputError("--distributed needs the environment torchrun sets (missing "
                         f"{', '.join(missing)}); launch with: torchrun --nproc_per_node N -m frame_core train … --distributed")
    if backend != "gloo":
        raise InputError(f"distributed backend {backend!r} is not usable: the engine trains on the CPU, "
                         "so use gloo (NCCL needs CUDA tensors)")
    try:
        rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    except ValueError as exc:
        raise InputError(f"RANK and WORLD_SIZE must be whole numbers ({exc})") from None
    if not dist.is_initialized():
        dist.init_process_group(backend, timeout=dt.timedelta(seconds=timeout_s))
    log.info("distributed: rank %d of %d (%s)", rank, world, backend)
    return DistContext(rank=dist.get_rank(), world_size=dist.get_world_size(), backend=backend)
