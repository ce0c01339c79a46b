"""Process-level memory allocator settings for long training and scoring jobs.

**tcmalloc when the system has it.** glibc's allocator keeps a training process's freed
blocks in one heap, and the varying sizes of a step's temporaries fragment it: at
Micro-video-A scale a process held 2.5 GB for a step whose live tensors peaked at about
1.9 GB. Google's tcmalloc (Debian/Ubuntu ``libtcmalloc-minimal4``) reuses them with about
0.6 GB less resident memory at the same step time (``bench/step_memory.py``). An allocator
can only be chosen before a process starts, so the command line (``python -m frame_core``)
re-executes itself once with tcmalloc in ``LD_PRELOAD`` (:func:`reexec_with_preferred_allocator`)
and the app's job worker is started with it (:func:`allocator_env`). ``FRAME_ALLOCATOR=system``
keeps the system allocator; without the library nothing changes. :func:`allocator_in_use`
names the allocator of this process (a run's ``config.json`` records it). Such a process
also routes Arrow's buffers through tcmalloc (``ARROW_DEFAULT_MEMORY_POOL=system``).

**glibc otherwise.** On this project's machines (Firecracker VMs with free-page reporting)
every large allocation that glibc serves with ``mmap`` is returned to the host when freed and
page-faulted back in on the next step: allocating and filling a 120 MB tensor took 0.67 s
instead of 0.03 s. So :func:`tune_allocator` asks glibc to serve large blocks from its heap and
to keep freed memory (``mallopt(M_MMAP_MAX, 0)`` and a 2 GB ``M_TRIM_THRESHOLD``). The price is
that the process keeps its peak memory until it exits, which suits the CLI and the app's
training subprocesses. It also limits glibc to one arena (``M_ARENA_MAX = 1``): with one arena
per torch worker thread, each arena kept its own freed blocks and the resident size grew from
epoch to epoch (Micro-video-A scale: 3.1 → 3.8 GB over four epochs; with one arena it stays at
3.2 GB). It is called by :func:`frame_core.training.trainer.train_model` (never at import) and
does nothing under tcmalloc, with ``FRAME_NO_MALLOC_TUNING=1``, or where glibc's ``mallopt`` is
not available.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import sys
from collections.abc import Mapping
from pathlib import Path

log = logging.getLogger(__name__)

_M_TRIM_THRESHOLD = -1
_M_MMAP_MAX = -4
_M_ARENA_MAX = -8
_done = False

TCMALLOC_NAMES = ("libtcmalloc_minimal.so.4", "libtcmalloc.so.4")
"""Shared objects of tcmalloc, in order of preference (the minimal build has no profiler)."""
_LIB_DIRS = ("/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib", "/lib/x86_64-linux-gnu")
_REEXEC_MARK = "FRAME_ALLOCATOR_REEXEC"
_TCMALLOC_ENV = {
    "TCMALLOC_LARGE_ALLOC_REPORT_THRESHOLD": str(1 << 50),  # no "large alloc" lines on stderr
    # keep freed pages, as the glibc tuning below does: with the default gradual release a
    # Micro-video-B epoch took 70.9 s instead of 56.0 s here (pages faulted back in every step)
    "TCMALLOC_RELEASE_RATE": "0",
    # Arrow's own pool (mimalloc in the wheels) kept the import's buffers apart from the heap
    # that training reuses: about 0.1 GB more resident memory at Micro-video-A scale. Arrow's
    # system pool is tcmalloc in such a process.
    "ARROW_DEFAULT_MEMORY_POOL": "system",
}


def find_tcmalloc(dirs: tuple[str, ...] = _LIB_DIRS) -> str | None:
    """Path of an installed tcmalloc shared object, or None (also None off Linux)."""
    if not sys.platform.startswith("linux"):
        return None
    for d in dirs:
        for name in TCMALLOC_NAMES:
            p = Path(d) / name
            if p.is_file():
                return str(p)
    return None


def allocator_in_use() -> str:
    """``"tcmalloc"`` when it is loaded in this process, else ``"glibc"`` (tuned or not) or
    ``"system"`` off Linux."""
    if not sys.platform.startswith("linux"):
        return "system"
    try:
        maps = Path("/proc/self/maps").read_text()
    except OSError:
        return "glibc"
    return "tcmalloc" if "libtcmalloc" in maps else "glibc"


def allocator_env(env: Mapping[str, str], lib: str | None = None) -> dict[str, str]:
    """A copy of ``env`` for a child process that should use tcmalloc: ``lib`` (default
    :func:`find_tcmalloc`) prepended to ``LD_PRELOAD``, with tcmalloc told to keep freed pages
    and not to report large allocations (values already in ``env`` win). Unchanged when ``FRAME_ALLOCATOR`` is
    ``system``, when no tcmalloc is installed, or when ``LD_PRELOAD`` already names one."""
    out = dict(env)
    if out.get("FRAME_ALLOCATOR", "auto").strip().lower() == "system":
        return out
    lib = lib if lib is not None else find_tcmalloc()
    pre = out.get("LD_PRELOAD", "")
    if not lib or "libtcmalloc" in pre:
        return out
    out["LD_PRELOAD"] = f"{lib} {pre}".strip()
    for k, v in _TCMALLOC_ENV.items():
        out.setdefault(k, v)
    return out


def reexec_with_preferred_allocator() -> None:
    """Replace this process by the same command line with tcmalloc preloaded (see the module
    docstring), once; returns without doing anything when that is not possible or not wanted.
    Call it first thing in an entry point, before threads or heavy imports."""
    if os.environ.get(_REEXEC_MARK) or allocator_in_use() != "glibc":
        return
    env = allocator_env(os.environ)
    if env.get("LD_PRELOAD") == os.environ.get("LD_PRELOAD"):
        return
    env[_REEXEC_MARK] = "1"  # never loop, whatever happens to the preload
    argv = list(getattr(sys, "orig_argv", []) or [])
    if not any(a == "-m" and b == "frame_core" for a, b in zip(argv, argv[1:])):
        return  # only ``python … -m frame_core …`` is re-run as it was started
    try:
        sys.stdout.flush()
        sys.stderr.flush()
        os.execve(sys.executable, argv, env)
    except OSError as exc:  # pragma: no cover - exec refused: keep going with glibc
        log.debug("could not re-execute with tcmalloc: %s", exc)


def release_free_memory() -> bool:
    """Hand the allocator's free memory back to the system (tcmalloc's
    ``MallocExtension_ReleaseFreeMemory``, glibc's ``malloc_trim(0)``), at the end of a phase
    whose peak the next phase need not inherit (training before scoring): later allocations
    fault their pages in again, once. Returns True when a call was made."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        proc = ctypes.CDLL(None)
        if allocator_in_use() == "tcmalloc":
            proc.MallocExtension_ReleaseFreeMemory()
        else:
            proc.malloc_trim(0)
    except (OSError, AttributeError):
        return False
    return True


def tune_allocator() -> bool:
    """Keep large freed blocks in glibc's heap (see the module docstring). Returns True when
    applied; False under tcmalloc, with ``FRAME_NO_MALLOC_TUNING``, or off glibc."""
    global _done
    if _done:
        return True
    if os.environ.get("FRAME_NO_MALLOC_TUNING") or not sys.platform.startswith("linux"):
        return False
    if allocator_in_use() == "tcmalloc":
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
