"""Baselines of the paper's comparison table (docs/design.md §6), trained and scored on our own data.

Every model follows :class:`frame_core.baselines.base.Baseline`: ``fit(train, val, *, seed,
progress, cancel)`` then ``predict(df) -> P(full view)``.

- :mod:`.reference`: ``popularity`` (shrunk user + video full-view rates) and ``logreg``;
- :mod:`.ctr`: ``deepfm``, ``nfm``, ``autoint``, ``difm``, ``afn`` (deepctr-torch modules);
- :mod:`.lightgcn`: ``lightgcn`` on the user–video full-view graph;
- :mod:`.frame_adapter`: ``frame`` (N_c = 8) and ``coarse`` (N_c = 1) from the engine;
- :mod:`.registry`: names → constructors; :mod:`.compare`: :func:`run_comparison`, the one path
  that trains them all on the same split and writes ``results.csv`` / ``results.md``.
"""

from frame_core.baselines.base import Baseline
from frame_core.baselines.compare import results_markdown, run_comparison, summary_table
from frame_core.baselines.reference import LogRegBaseline, PopularityBaseline
from frame_core.baselines.registry import BASELINE_MODELS, MODEL_NAMES, make_model, parse_models

__all__ = [
    "BASELINE_MODELS",
    "MODEL_NAMES",
    "Baseline",
    "LogRegBaseline",
    "PopularityBaseline",
    "make_model",
    "parse_models",
    "results_markdown",
    "run_comparison",
    "summary_table",
]
