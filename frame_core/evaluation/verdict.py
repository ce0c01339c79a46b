"""A verdict with its uncertainty: is model A better than model B on the same test rows?

Conventions (docs/design.md §5 protocol; AUC pooled over the test rows, label = full view):

- ``delta_auc`` = mean over A's runs (seeds) of their test AUC − the same for B. Both sides are
  scored on the **same** test rows (aligned by user, video, timestamp and occurrence).
- **Test-set uncertainty**: a paired bootstrap over test **users**. Each replicate draws the
  test users with replacement; a user drawn k times has all their rows weighted k. Every run of
  A and B is scored on the same replicate, so the difference is paired. The AUC of a weighted
  replicate is computed for all replicates at once from per-score-value weight sums (ties count
  one half, as :func:`frame_core.evaluation.metrics.auc`).
- **Seed spread**: with ≥ 2 runs on each side, the standard error of the mean difference over
  seeds — the std of the per-seed differences / √n when both sides have the same seeds, else
  √(s_A²/n_A + s_B²/n_B). It is added in quadrature to the bootstrap standard error.
  With a single seed on a side it cannot be measured: the result says so (``single_seed``).
- **Interval**: delta ± 1.96 · se (normal approximation with the bootstrap standard error), so
  it always contains ``delta_auc``.
- **Verdict**: ``a_better`` when the interval lies above 0, ``b_better`` when below 0, else
  ``no_clear_difference``. :func:`verdict_sentence` words it; :func:`likely_reason` says why
  when the data can tell (most test videos new without content features, a small test set,
  single seeds).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import scipy.sparse as sp

from frame_core.common import schema as S
from frame_core.common.errors import InputError

A_BETTER, B_BETTER, NO_CLEAR = "a_better", "b_better", "no_clear_difference"
VERDICTS = (A_BETTER, B_BETTER, NO_CLEAR)
VERDICT_COLUMNS = ("model_a", "model_b", "delta_auc", "ci_low", "ci_high", "verdict", "reason")
Z95 = 1.959964
N_BOOT = 1_000
_CELLS = 4_000_000  # replicate × distinct-score cells per chunk (32 MB of float64)
NEW_VIDEO_SHARE = 0.5
"""Above this share of test rows on videos without training views, clip content is what could help."""


@dataclasses.dataclass(frozen=True)
class Verdict:
    """The paired comparison of A and B. ``n_a``/``n_b``: runs (seeds) per side;
    ``se_boot``/``se_seed``: the two standard errors (``se_seed`` NaN with a single seed)."""

    delta_auc: float
    ci_low: float
    ci_high: float
    verdict: str
    n_a: int
    n_b: int
    se_boot: float
    se_seed: float
    test_users: int
    test_rows: int

    @property
    def single_seed(self) -> bool:
        return min(self.n_a, self.n_b) < 2


@dataclasses.dataclass(frozen=True)
class DataFacts:
    """What the data says about where clips can help: ``new_video_share`` = share of test rows
    whose video has no training view; ``visual`` = the models saw clip content features;
    ``median_views_per_video`` over the whole log."""

    new_video_share: float
    visual: bool
    median_views_per_video: float
    test_users: int


def data_facts(log_parts: pd.DataFrame, visual: bool) -> DataFacts:
    """:class:`DataFacts` of a split log (``part`` column: 0 train, 2 test; see
    :mod:`frame_core.data.split`)."""
    part = log_parts["part"].to_numpy()
    train_videos = set(log_parts.loc[part == 0, S.VIDEO].astype(str))
    test = log_parts[part == 2]
    share = float((~test[S.VIDEO].astype(str).isin(train_videos)).mean()) if len(test) else float("nan")
    per_video = log_parts.groupby(S.VIDEO).size()
    return DataFacts(share, bool(visual), float(per_video.median()) if len(per_video) else float("nan"),
                     int(test[S.USER].nunique()))


# ------------------------------------------------------------------------------ bootstrap
def bootstrap_weights(users, n_boot: int = N_BOOT, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(user code per row (n,), user draw counts (n_boot, n_users)): each replicate draws the
    users with replacement (multinomial counts summing to n_users)."""
    codes, uniq = pd.factorize(np.asarray(users, dtype=object))
    rng = np.random.default_rng(seed)
    counts = rng.multinomial(len(uniq), np.full(len(uniq), 1.0 / len(uniq)), size=n_boot) if len(uniq) else \
        np.zeros((n_boot, 0))
    return codes, counts.astype("float64")


def weighted_auc_replicates(y: np.ndarray, p: np.ndarray, codes: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """AUC of each bootstrap replicate (n_boot,): row i has weight ``counts[b, codes[i]]``.
    Ties in ``p`` count one half. NaN for a replicate without both classes. Vectorised over
    replicates (chunks of at most ``_CELLS`` cells); never a rows × rows matrix."""
    y = np.asarray(y, dtype=bool)
    vals, g = np.unique(np.asarray(p, dtype="float64"), return_inverse=True)
    n_users, n_groups = counts.shape[1], len(vals)
    # user × score-group sums of positive / negative rows (sparse), then replicate weights times them
    pos = sp.csr_matrix((np.ones(int(y.sum())), (codes[y], g[y])), shape=(n_users, n_groups))
    neg = sp.csr_matrix((np.ones(int((~y).sum())), (codes[~y], g[~y])), shape=(n_users, n_groups))
    out = np.empty(len(counts))
    step = max(1, _CELLS // max(1, n_groups))
    for s in range(0, len(counts), step):
        w = counts[s:s + step]
        wp = np.asarray((pos.T @ w.T).T)  # (b, groups)
        wn = np.asarray((neg.T @ w.T).T)
        below = np.cumsum(wn, axis=1) - wn
        num = (wp * (below + 0.5 * wn)).sum(axis=1)
        den = wp.sum(axis=1) * wn.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[s:s + step] = np.where(den > 0, num / den, np.nan)
    return out


def _seed_se(auc_a: np.ndarray, auc_b: np.ndarray, seeds_a, seeds_b) -> float:
    if len(auc_a) < 2 or len(auc_b) < 2:
        return float("nan")
    if seeds_a is not None and seeds_b is not None and list(seeds_a) == list(seeds_b):
        d = auc_a - auc_b
        return float(np.std(d, ddof=1) / math.sqrt(len(d)))
    return float(math.sqrt(np.var(auc_a, ddof=1) / len(auc_a) + np.var(auc_b, ddof=1) / len(auc_b)))


def paired_verdict(y, users, p_a: list, p_b: list, *, seeds_a=None, seeds_b=None, n_boot: int = N_BOOT,
                   seed: int = 0) -> Verdict:
    """Compare runs ``p_a`` (list of (n,) score arrays, one per seed) with ``p_b`` on the same
    test rows ``y`` (1 = full view) of ``users``. See the module doc for the method."""
    y = np.asarray(y).astype(bool)
    p_a = [np.asarray(p, dtype="float64") for p in p_a]
    p_b = [np.asarray(p, dtype="float64") for p in p_b]
    if not p_a or not p_b:
        raise InputError("a verdict needs at least one run on each side")
    if any(len(p) != len(y) for p in p_a + p_b):
        raise InputError("every run must score the same test rows")
    if y.all() or not y.any():
        raise InputError("the test rows need both full views and skips for an AUC")
    codes, counts = bootstrap_weights(users, n_boot, seed)
    full = np.ones((1, counts.shape[1]))
    auc_a = np.array([weighted_auc_replicates(y, p, codes, full)[0] for p in p_a])
    auc_b = np.array([weighted_auc_replicates(y, p, codes, full)[0] for p in p_b])
    rep_a = np.mean([weighted_auc_replicates(y, p, codes, counts) for p in p_a], axis=0)
    rep_b = np.mean([weighted_auc_replicates(y, p, codes, counts) for p in p_b], axis=0)
    diff = rep_a - rep_b
    diff = diff[np.isfinite(diff)]
    se_boot = float(np.std(diff, ddof=1)) if len(diff) > 1 else float("nan")
    se_seed = _seed_se(auc_a, auc_b, seeds_a, seeds_b)
    se = math.sqrt(se_boot ** 2 + (0.0 if math.isnan(se_seed) else se_seed ** 2))
    delta = float(auc_a.mean() - auc_b.mean())
    lo, hi = delta - Z95 * se, delta + Z95 * se
    verdict = A_BETTER if lo > 0 else B_BETTER if hi < 0 else NO_CLEAR
    return Verdict(delta, lo, hi, verdict, len(p_a), len(p_b), se_boot, se_seed, int(counts.shape[1]), len(y))


# ------------------------------------------------------------------------------ aligning runs
def align_predictions(frames: list[pd.DataFrame]) -> tuple[pd.DataFrame, list[np.ndarray]]:
    """Test predictions of several runs (user_id, video_id, y, p_full, optional
    interaction_timestamp) on their **shared** rows: (rows with user_id, y; one p_full array per
    run). Rows are matched by user, video, timestamp and occurrence number. InputError when the
    runs share no row or disagree on a label."""
    keys = [S.USER, S.VIDEO] + ([S.TIMESTAMP] if all(S.TIMESTAMP in f.columns for f in frames) else [])

    def keyed(f: pd.DataFrame, i: int) -> pd.DataFrame:
        k = f[keys].astype(str).copy()
        k["occ"] = k.groupby(keys).cumcount()
        k[f"y{i}"] = pd.to_numeric(f["y"], errors="coerce").to_numpy()
        k[f"p{i}"] = pd.to_numeric(f["p_full"], errors="coerce").to_numpy()
        return k

    merged = keyed(frames[0], 0)
    for i, f in enumerate(frames[1:], start=1):
        merged = merged.merge(keyed(f, i), on=[*keys, "occ"], how="inner")
    if merged.empty:
        raise InputError("these runs share no test row: were they trained on the same data?")
    ys = merged[[f"y{i}" for i in range(len(frames))]].to_numpy()
    if not (ys == ys[:, :1]).all():
        raise InputError("these runs disagree on the test labels: were they trained on the same data?")
    ps = [merged[f"p{i}"].to_numpy(dtype="float64") for i in range(len(frames))]
    ok = np.isfinite(np.column_stack(ps)).all(axis=1)
    rows = pd.DataFrame({S.USER: merged[S.USER].to_numpy()[ok], "y": ys[ok, 0].astype(int)})
    return rows, [p[ok] for p in ps]


def compare_runs(preds_a: list[pd.DataFrame], preds_b: list[pd.DataFrame], *, seeds_a=None, seeds_b=None,
                 n_boot: int = N_BOOT, seed: int = 0) -> Verdict:
    """:func:`paired_verdict` of two groups of runs given their test-prediction tables."""
    rows, ps = align_predictions(list(preds_a) + list(preds_b))
    return paired_verdict(rows["y"].to_numpy(), rows[S.USER].to_numpy(), ps[:len(preds_a)], ps[len(preds_a):],
                          seeds_a=seeds_a, seeds_b=seeds_b, n_boot=n_boot, seed=seed)


# ------------------------------------------------------------------------------ words
def verdict_sentence(v: Verdict, name_a: str = "FRAME", name_b: str = "the coarse model") -> str:
    """One plain sentence, e.g. "FRAME is better (ΔAUC +0.0123, 95 % interval +0.004 to +0.021)."."""
    ci = f"ΔAUC {v.delta_auc:+.4f}, 95 % interval {v.ci_low:+.4f} to {v.ci_high:+.4f}"
    if v.verdict == A_BETTER:
        head = f"{name_a} is better"
    elif v.verdict == B_BETTER:
        head = f"{name_b[:1].upper()}{name_b[1:]} is better"
    else:
        head = "No clear difference on this dataset"
    return f"{head} ({ci})."


def likely_reason(v: Verdict, facts: DataFacts | None) -> str:
    """Why the verdict came out as it did, when the data can tell ("" otherwise)."""
    parts = []
    if v.verdict == NO_CLEAR and facts is not None and np.isfinite(facts.new_video_share) \
            and facts.new_video_share >= NEW_VIDEO_SHARE:
        if not facts.visual:
            parts.append(f"{facts.new_video_share:.0%} of test views are of videos with no training view and there "
                         "are no content features, so clips can't help: add the video files or more views per video")
        else:
            parts.append(f"{facts.new_video_share:.0%} of test views are of videos with no training view, so only "
                         "the clips' content can help there: more views per video would let the graph help")
    if v.verdict == NO_CLEAR and v.test_users < 50:
        parts.append(f"the test set has only {v.test_users} users, so the interval is wide")
    if v.single_seed:
        parts.append("one seed per model: training noise is not in the interval; run 3 seeds")
    text = "; ".join(parts)
    return text[:1].upper() + text[1:] + "." if text else ""


def verdict_row(model_a: str, model_b: str, v: Verdict, facts: DataFacts | None = None) -> dict:
    """One row of ``verdict.csv`` (:data:`VERDICT_COLUMNS`)."""
    return {"model_a": model_a, "model_b": model_b, "delta_auc": v.delta_auc, "ci_low": v.ci_low,
            "ci_high": v.ci_high, "verdict": v.verdict, "reason": likely_reason(v, facts)}
