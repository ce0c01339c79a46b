"""The ensemble's blend: logistic stacking of member scores, fitted on validation rows.

The slides' future work names it: combine FRAME with coarse-grained models. Given each member's
predicted probability of a full view on the **validation** rows, :func:`fit_blend` fits a
logistic regression on the members' logits (``p(u, v) = σ(b + Σ_m w_m · logit p_m)``, L2 with
``C = 1``, features not rescaled so that the weights read as "how much of each member's
log-odds").

Guarantee: the blend's validation AUC is never below its best member's. When the stacked model
does not reach the best member's validation AUC (possible: the stack minimises log loss, not
rank errors), the blend falls back to that member alone, calibrated by a one-feature logistic
fit (a monotone map, so its AUC is the member's). ``method`` says which happened.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import numpy as np

from frame_core.evaluation.metrics import auc

EPS = 1e-7


def _logit(p) -> np.ndarray:
    p = np.clip(np.nan_to_num(np.asarray(p, dtype="float64"), nan=0.5), EPS, 1 - EPS)
    return np.log(p) - np.log1p(-p)


@dataclasses.dataclass
class Blend:
    """Member names, their logit weights and the intercept; ``method`` is ``"stacking"``,
    ``"best member"`` or ``"mean"`` (validation rows of one class only: the mean of logits);
    ``val_auc`` is the blend's validation AUC and ``member_val_auc`` each member's."""

    members: list[str]
    weights: list[float]
    intercept: float
    method: str
    val_auc: float
    member_val_auc: dict[str, float]

    def predict(self, scores: Mapping[str, np.ndarray]) -> np.ndarray:
        """Blend the members' probabilities (each (n,)) into float64 probabilities (n,)."""
        z = np.full(len(np.asarray(scores[self.members[0]])), float(self.intercept))
        for m, w in zip(self.members, self.weights, strict=True):
            if w != 0.0:
                z = z + w * _logit(scores[m])
        return np.clip(1.0 / (1.0 + np.exp(-z)), EPS, 1 - EPS)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> Blend:
        return cls(members=[str(m) for m in d["members"]], weights=[float(w) for w in d["weights"]],
                   intercept=float(d["intercept"]), method=str(d["method"]), val_auc=float(d.get("val_auc", np.nan)),
                   member_val_auc={str(k): float(v) for k, v in (d.get("member_val_auc") or {}).items()})

    def describe(self) -> str:
        """One line: the weights, e.g. ``frame 0.81 · coarse 0.12 · logreg 0.30 (stacking)``."""
        parts = " · ".join(f"{m} {w:+.2f}" for m, w in zip(self.members, self.weights, strict=True))
        return f"{parts}, intercept {self.intercept:+.2f} ({self.method})"


def fit_blend(scores: Mapping[str, np.ndarray], y, C: float = 1.0) -> Blend:
    """Fit the blend on validation scores (member name → probabilities (n,)) and labels y (n,)
    (1 = full view). See the module docstring for the fallback rule."""
    members = list(scores)
    if not members:
        raise ValueError("a blend needs at least one member")
    y = np.asarray(y, dtype="float64")
    X = np.column_stack([_logit(scores[m]) for m in members])
    member_auc = {m: float(auc(y, X[:, i])) for i, m in enumerate(members)}
    if len(y) == 0 or len(np.unique(y)) < 2:
        w = [1.0 / len(members)] * len(members)
        blend = Blend(members, w, 0.0, "mean", float("nan"), member_auc)
        return blend
    from sklearn.linear_model import LogisticRegression  # lazy: keeps scikit-learn (≈ 65 MB) out of training processes

    stack = LogisticRegression(C=C, max_iter=1000).fit(X, y.astype("int64"))
    weights, b = [float(v) for v in stack.coef_[0]], float(stack.intercept_[0])
    stacked = Blend(members, weights, b, "stacking", 0.0, member_auc)
    stacked.val_auc = float(auc(y, stacked.predict(scores)))
    finite = {m: a for m, a in member_auc.items() if np.isfinite(a)}
    best = max(finite, key=finite.get) if finite else members[0]
    if not finite or stacked.val_auc >= finite[best]:
        return stacked
    i = members.index(best)
    one = LogisticRegression(C=C, max_iter=1000).fit(X[:, [i]], y.astype("int64"))
    w = [0.0] * len(members)
    w[i] = float(one.coef_[0][0])
    if w[i] <= 0:  # keep the member's order (a monotone increasing map)
        w[i] = 1.0
    fallback = Blend(members, w, float(one.intercept_[0]), "best member", 0.0, member_auc)
    fallback.val_auc = float(auc(y, fallback.predict(scores)))
    return fallback
