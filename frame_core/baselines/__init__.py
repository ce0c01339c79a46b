"""Baselines of the paper's comparison table (DESIGN §1.6), trained and scored on our own data.

Every baseline follows :class:`frame_core.baselines.base.Baseline`: ``fit(train, val, *, seed,
progress, cancel)`` then ``predict(df) -> P(full view)``. The reference points live in
:mod:`.reference` (``popularity``, ``logreg``).
"""

from .base import Baseline
from .reference import LogRegBaseline, PopularityBaseline

__all__ = ["Baseline", "LogRegBaseline", "PopularityBaseline"]
