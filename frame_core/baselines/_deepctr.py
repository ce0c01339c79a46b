"""Quiet import of ``deepctr_torch`` (0.3.0).

``import deepctr_torch`` starts a non-daemon thread that asks PyPI for the latest version and
``print``s a line when that fails, which it always does offline; the thread can also hold up
interpreter exit until the request times out. :func:`load` imports the package with its
``utils.check_version`` replaced by a no-op before the package's ``__init__`` runs, so nothing
touches the network or stdout. Nothing else in deepctr-torch is patched.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import threading
from types import ModuleType

_LOCK = threading.Lock()
_NAME = "deepctr_torch"


def load() -> ModuleType:
    """Return the ``deepctr_torch`` package, importing it without its version check."""
    with _LOCK:
        pkg = sys.modules.get(_NAME)
        if pkg is not None and hasattr(pkg, "models"):
            return pkg
        spec = importlib.util.find_spec(_NAME)
        if spec is None or spec.loader is None:
            raise ImportError("deepctr-torch is not installed: pip install deepctr-torch==0.3.0")
        pkg = importlib.util.module_from_spec(spec)
        sys.modules[_NAME] = pkg
        try:
            utils = importlib.import_module(f"{_NAME}.utils")
            utils.check_version = lambda version: None
            spec.loader.exec_module(pkg)
        except BaseException:
            for mod in [m for m in sys.modules if m == _NAME or m.startswith(_NAME + ".")]:
                del sys.modules[mod]
            raise
        return pkg
