"""``ensemble``: FRAME (N_c = 8), the coarse model (N_c = 1) and ``logreg`` blended by logistic
stacking on their validation scores (:mod:`frame_core.model.blend`).

Each member is fitted as it is on its own (same split, early stopping on validation AUC); the
blend is then fitted on the validation rows and the test rows are scored once. In a comparison
the members already fitted for the same seed are reused (``fitted``), so adding ``ensemble`` to
``frame,coarse,logreg`` costs only the blend.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from frame_core.baselines.base import Baseline, Reporter, check_cancel, full_view
from frame_core.model.blend import Blend, fit_blend

MEMBERS = ("frame", "coarse", "logreg")


class EnsembleBaseline(Baseline):
    """The blend of :data:`MEMBERS`. ``make_member(name)`` builds an unfitted member;
    ``fitted`` maps member names to members already fitted on the same split and seed."""

    name = "ensemble"

    def __init__(self, make_member: Callable[[str], Baseline], fitted: dict[str, Baseline] | None = None,
                 members: tuple[str, ...] = MEMBERS):
        self.make_member = make_member
        self.fitted = dict(fitted or {})
        self.members = tuple(members)

    def fit(self, train: pd.DataFrame, val: pd.DataFrame, *, seed: int = 0, progress=None, cancel=None):
        self.models_: dict[str, Baseline] = {}
        for name in self.members:
            check_cancel(cancel)
            model = self.fitted.get(name)
            if model is None:
                model = self.make_member(name)
                model.fit(train, val, seed=seed, progress=progress, cancel=cancel)
            self.models_[name] = model
        self.blend_: Blend = fit_blend({m: self.models_[m].predict(val) for m in self.members}, full_view(val))
        self.val_auc = self.blend_.val_auc
        self.best_epoch = 1
        Reporter(self.name, progress)(epoch=1, loss=None, val_auc=self.val_auc, blend=self.blend_.describe())
        return self

    def predict(self, df: pd.DataFrame) -> np.ndarray:
        return self.blend_.predict({m: self.models_[m].predict(df) for m in self.members})
