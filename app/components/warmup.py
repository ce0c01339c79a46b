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

**Garbage collection.** After the imports the thread calls ``gc.freeze()``: every object alive
then (the modules' functions, classes and constants, hundreds of thousands of them with torch)
moves to the collector's permanent generation, so later full collections only walk what the
sessions create. Streamlit's own ``gc.collect(2)`` after every script run
(``runner.postScriptGC``) is switched off in ``.streamlit/config.toml``: with torch loaded it
cost about 0.1 CPU s per script run, under the one interpreter lock that all sessions share,
and it was the largest single item of the server's time in the load test. Python's automatic,
threshold-driven collection still runs, so reference cycles are still freed. Whatever the first
session had allocated when the freeze ran is frozen with the modules and never collected: a
one-time, bounded cost.
"""

from __future__ import annotations

import gc
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
    gc.collect()
    gc.freeze()


@st.cache_resource(show_spinner=False)
def start() -> threading.Thread:
    """Start the warm-up thread (once per server process; later calls return the same thread)."""
    t = threading.Thread(target=_import_all, args=(MODULES,), name="frame-warmup", daemon=True)
    t.start()
    return t
