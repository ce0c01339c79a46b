"""Server warm-up: the heavy imports, done once per server process in a background thread as
soon as the first session opens, instead of inside the first page that needs them.

Why: torch (about 3 CPU seconds to import here), plotly, altair, pyarrow and scikit-learn are
imported lazily by the pages that use them. On a fresh server every session that opens such a
page waits on the same import lock, so under load (README "The app under load") the first walk
of every concurrent user paid those seconds, several times over on two shared cores. The
warm-up thread starts when the first script run of the process calls :func:`start` (Home.py,
on every page), while that user still reads the first page; a page that needs a module before
the thread got to it simply imports it itself, as before (imports are idempotent and
thread-safe). Nothing here touches Streamlit state or any session, and a failed import is
logged and ignored: the page that needs the module reports the error as it always did.
"""

from __future__ import annotations

import importlib
import logging
import threading

import streamlit as st

log = logging.getLogger(__name__)

MODULES = (
    "torch",
    "frame_core.runs",
    "frame_core.services.recommend",
    "frame_core.model.attribution",
    "frame_core.evaluation.verdict",
    "frame_core.data.graphs",
    "plotly.graph_objects",
    "altair",
    "pyarrow.parquet",
    "sklearn.metrics",
)


def _import_all(names) -> None:
    for name in names:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - a page that needs the module will say what is wrong
            log.warning("warm-up: could not import %s", name, exc_info=True)


@st.cache_resource(show_spinner=False)
def start() -> threading.Thread:
    """Start the warm-up thread (once per server process; later calls return the same thread)."""
    t = threading.Thread(target=_import_all, args=(MODULES,), name="frame-warmup", daemon=True)
    t.start()
    return t
