"""Process-level performance settings for long training and scoring jobs.

On this project's machines (Firecracker VMs with free-page reporting) every large allocation
that glibc serves with ``mmap`` is returned to the host when freed and page-faulted back in
on the next step: allocating and filling a 120 MB tensor took 0.67 s instead of 0.03 s. A
training step allocates several (n_clips × d) tensors, so :func:`tune_allocator` asks glibc
to serve large blocks from its heap and to keep freed memory (``mallopt(M_MMAP_MAX, 0)`` and a
2 GB ``M_TRIM_THRESHOLD``). The price is that the process keeps its peak memory until it
exits, which suits the CLI and the app's training subprocesses. It also limits glibc to one
arena (``M_ARENA_MAX = 1``): with one arena per torch worker thread, each arena kept its own
freed blocks and the resident size grew from epoch to epoch (Micro-video-A scale: 3.1 → 3.8 GB
over four epochs; with one arena it stays at 3.2 GB).

It is called by :func:`frame_core.training.trainer.train_model` (never at import). Set
``FRAME_NO_MALLOC_TUNING=1`` to turn it off. It does nothing where glibc's ``mallopt`` is not
available.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import sys

log = logging.getLogger(__name__)

_M_TRIM_THRESHOLD = -1
_M_MMAP_MAX = -4
_M_ARENA_MAX = -8
_done = False


def tune_allocator() -> bool:
    """Keep large freed blocks in the heap (see the module docstring). Returns True when applied."""
    global _done
    if _done:
        return True
    if os.environ.get("FRAME_NO_MALLOC_TUNING") or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        ok = (libc.mallopt(_M_MMAP_MAX, 0) == 1 and libc.mallopt(_M_TRIM_THRESHOLD, 2**31 - 1) == 1
              and libc.mallopt(_M_ARENA_MAX, 1) == 1)
    except (OSError, AttributeError):
        return False
    _done = bool(ok)
    log.debug("malloc tuning %s", "applied" if ok else "refused")
    return _done
