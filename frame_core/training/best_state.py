"""The best checkpoint seen during training, kept in memory or on disk (docs/design.md §4,
"Speed").

Early stopping keeps a copy of the weights of the best validation check and restores it at the
end. At Micro-video-A scale that copy is 0.18 GB (the id and clip-factor tables), held beside
the live weights, their gradients and Adam's moments through every later step. A state larger
than ``spill_bytes`` (default :data:`SPILL_BYTES`) is therefore written to a temporary folder,
one ``.npy`` file per tensor (NumPy's format, no pickle), and read back tensor by tensor when
restored; a smaller one stays in memory as before. Both give the same weights bit for bit
(``tests/test_best_state.py``). The folder is made by :mod:`tempfile` (``TMPDIR`` decides
where) and removed by :meth:`BestState.close`, or when the object is collected or the
interpreter exits should training stop on an error first.
"""

from __future__ import annotations

import shutil
import tempfile
import weakref
from pathlib import Path

import numpy as np
import torch

SPILL_BYTES = 64 * 2**20
"""States above this many bytes go to disk (64 MiB: the bundled samples' models stay in memory)."""


class BestState:
    """A copy of a module's ``state_dict()`` (see the module docstring)."""

    def __init__(self, spill_bytes: int | None = None):
        self.spill_bytes = int(SPILL_BYTES if spill_bytes is None else spill_bytes)
        self._mem: dict[str, torch.Tensor] | None = None
        self._dir: Path | None = None
        self._keys: list[str] = []

    @property
    def saved(self) -> bool:
        """True once :meth:`keep` has been called."""
        return self._mem is not None or bool(self._keys)

    @property
    def on_disk(self) -> bool:
        """True when the kept state lives in files."""
        return self._dir is not None and bool(self._keys)

    def keep(self, module: torch.nn.Module) -> None:
        """Replace the kept state by ``module``'s current one."""
        state = module.state_dict()
        size = sum(t.numel() * t.element_size() for t in state.values())
        if size <= self.spill_bytes:
            self._drop_files()
            self._mem = {k: t.detach().clone() for k, t in state.items()}
            return
        self._mem = None
        if self._dir is None:
            self._dir = Path(tempfile.mkdtemp(prefix="frame-best-"))
            # removed even when training stops on an exception before close()
            self._cleanup = weakref.finalize(self, shutil.rmtree, str(self._dir), True)
        self._keys = list(state)
        for i, t in enumerate(state.values()):
            np.save(self._dir / f"{i}.npy", t.detach().cpu().numpy(), allow_pickle=False)

    def restore(self, module: torch.nn.Module) -> None:
        """Load the kept state into ``module`` (same keys and shapes; nothing when none kept)."""
        if self._mem is not None:
            module.load_state_dict(self._mem)
            return
        if not self._keys:
            return
        live = module.state_dict()
        if list(live) != self._keys:
            raise ValueError("the kept state has other keys than the module")
        with torch.no_grad():
            for i, k in enumerate(self._keys):  # one tensor in memory at a time
                live[k].copy_(torch.from_numpy(np.load(self._dir / f"{i}.npy", allow_pickle=False)))

    def close(self) -> None:
        """Forget the kept state and remove its folder."""
        self._mem = None
        self._drop_files()

    def _drop_files(self) -> None:
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
        self._dir, self._keys = None, []
