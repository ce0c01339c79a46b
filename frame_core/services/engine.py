"""The one place where background jobs and the app's Train/Compare/Recommend pages call the
engine. Everything here is a thin wrapper over the engine's public API:

- training: :func:`frame_core.training.pipeline.train_run` (visual features from
  :func:`frame_core.video.embed_videos` when asked);
- runs: :func:`frame_core.runs.store.list_runs`, :func:`frame_core.runs.store.load_run`, ``Run.predict``;
- the baselines comparison: :func:`frame_core.baselines.compare.run_comparison`.

Progress events from the engine are passed through unchanged (``event`` = ``prepare``,
``step``, ``epoch`` …); this module adds ``{"event": "status", "message": …}`` events for its
own stages (embedding videos, loading data).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from frame_core.common.errors import CancelledError, InputError
from frame_core.evaluation.metrics import RUN_METRIC_KEYS

ProgressFn = Callable[[dict], None]


def _finite_or_none(v):
    if isinstance(v, (bool, int)) or v is None:
        return v
    try:
        f = float(v)
    except (TypeError, ValueError):
        return v
    return f if math.isfinite(f) else None


# ------------------------------------------------------------------------------------ train
def embed_features(videos_dir: Path, nc: int, *, log: pd.DataFrame | None, progress: ProgressFn, cancel,
                   cache_dir: Path | None = None):
    """Visual clip features of a dataset's videos for ``nc`` clips (cached by the engine)."""
    from frame_core.video import embed_videos

    def on_file(done, total, stage):
        if cancel is not None and cancel.is_set():
            raise CancelledError("cancelled while embedding videos")
        progress({"event": "status", "stage": "embed", "done": int(done), "total": int(total),
                  "message": f"embedding videos {done}/{total}"})

    progress({"event": "status", "stage": "embed", "done": 0, "total": 0, "message": "embedding videos"})
    kwargs: dict[str, Any] = {"log": log, "progress": on_file}
    if cache_dir is not None:
        kwargs["cache_dir"] = Path(cache_dir) / "embeddings"
    feats, _report = embed_videos(videos_dir, nc, **kwargs)
    return feats


def train(log: pd.DataFrame, config: dict, out_dir: Path, *, videos_dir: Path | None, dataset: dict,
          progress: ProgressFn, cancel, cache_dir: Path | None = None, name: str | None = None) -> dict:
    """Train one FRAME run into ``out_dir`` (a run folder of :mod:`frame_core.runs.store`); returns a
    small summary: the test metrics in ``RUN_METRIC_KEYS`` plus nc, policy, seed, dataset."""
    from frame_core.model.config import FrameConfig
    from frame_core.training.pipeline import train_run

    cfg = FrameConfig.from_dict(config)
    features = None
    if videos_dir is not None:
        if not Path(videos_dir).is_dir():
            raise InputError("this dataset has no video files: choose id embeddings")
        features = embed_features(Path(videos_dir), cfg.nc, log=log, progress=progress, cancel=cancel,
                                  cache_dir=cache_dir)
    run = train_run(log, out_dir, cfg, features=features, progress=progress, cancel=cancel,
                    source=dataset.get("id"), name=name)
    out = {k: _finite_or_none(run.metrics.get(k)) for k in RUN_METRIC_KEYS if k in run.metrics}
    out.update(nc=cfg.nc, policy=cfg.policy, seed=cfg.seed, dataset=dataset.get("id"), visual=features is not None)
    return out


# ------------------------------------------------------------------------------------ runs
def list_finished_runs(runs_dir: Path) -> pd.DataFrame:
    """Finished runs (``DONE`` present), newest first, as :func:`frame_core.runs.store.list_runs`
    returns them, plus ``model`` ("FRAME" or "coarse (N_c = 1)") and ``embeddings``
    ("visual" / "id"). Missing or unreadable folders give an empty table, never an error."""
    from frame_core.runs.store import list_runs

    try:
        df = list_runs(runs_dir)
    except (OSError, ValueError):
        df = pd.DataFrame()
    if len(df) == 0:
        return pd.DataFrame(columns=[*getattr(df, "columns", []), "model", "embeddings"])
    df = df.copy()
    nc = pd.to_numeric(df["nc"], errors="coerce")
    kind = df["kind"] if "kind" in df.columns else pd.Series("frame", index=df.index)
    df["model"] = ["ensemble" if k == "ensemble" else "coarse (N_c = 1)" if n == 1 else "FRAME"
                   for n, k in zip(nc, kind, strict=True)]
    df["embeddings"] = ["visual" if f else "id" for f in df["features"].fillna(False)]
    configs = [_run_config(p) for p in df["path"]]
    for key in ("epochs", "emb_dim", "lr", "hybrid_lambda", "batch_size"):
        df[key] = [c.get(key) for c in configs]
    keys = [_setting_hash(c, sha, feat) for c, sha, feat in zip(configs, df["data_sha256"], df["features"], strict=True)]
    df["setting"] = setting_labels([describe_setting(c) for c in configs], keys, df["dataset"].astype(str).tolist())
    return df


def unusable_runs(runs_dir: Path, dataset: str | None = None) -> pd.DataFrame:
    """Finished runs whose folder is damaged (:func:`frame_core.runs.store.unusable_runs`):
    ``run_id``, ``path``, ``dataset``, ``problem``. With ``dataset``, those of that dataset and
    those whose dataset cannot be read (a broken ``config.json`` hides it)."""
    from frame_core.runs.store import unusable_runs as _unusable

    try:
        df = _unusable(runs_dir)
    except OSError:
        return pd.DataFrame(columns=["run_id", "path", "dataset", "problem"])
    if dataset is not None and len(df):
        df = df[df["dataset"].isna() | (df["dataset"] == str(dataset))].reset_index(drop=True)
    return df


SETTING_EXCLUDES = ("seed", "nc", "policy")


def _run_config(path) -> dict:
    """A run's requested configuration (before auto settings were resolved), else its config."""
    try:
        info = json.loads((Path(path) / "config.json").read_text(encoding="utf-8"))
        cfg = info.get("requested_config") or info.get("config", {})
        return cfg if isinstance(cfg, dict) else {}
    except (OSError, ValueError, AttributeError):
        return {}


SETTING_LABEL_MAX = 60  # characters of a setting's description before it is cut (and its hash added)


def describe_setting(cfg: dict) -> str:
    """A run's setting in words: the fields of its requested configuration that differ from
    ``FrameConfig()``'s defaults (seed, N_c and policy left out: they have their own columns),
    as ``name value`` pairs in field order, booleans as on / off, or ``defaults``."""
    from frame_core.model.config import FrameConfig

    base = FrameConfig().to_dict()
    parts = []
    for name, default in base.items():
        if name in SETTING_EXCLUDES or name not in cfg or name == "id_embeddings":
            continue  # id_embeddings: the "embeddings" column says visual or id
        v = cfg[name]
        if v == default:  # (mlp_sizes is a list on both sides)
            continue
        text = ("on" if v else "off") if isinstance(v, bool) else "auto" if v is None else (
            f"{v:g}" if isinstance(v, float) else ",".join(map(str, v)) if isinstance(v, list) else str(v))
        parts.append(f"{name} {text}")
    return ", ".join(parts) or "defaults"


def setting_labels(texts: list[str], keys: list[str], datasets: list[str]) -> list[str]:
    """Setting labels for the runs table: each run's :func:`describe_setting` text, with its
    short hash ``keys`` appended where the text is cut at :data:`SETTING_LABEL_MAX` characters or
    where two settings of one dataset read the same (e.g. the same configuration on two imports
    of the data), so that a label always names one setting."""
    cut = [t if len(t) <= SETTING_LABEL_MAX else t[:SETTING_LABEL_MAX - 1] + "…" for t in texts]
    seen: dict[tuple[str, str], set[str]] = {}
    for c, k, d in zip(cut, keys, datasets, strict=True):
        seen.setdefault((d, c), set()).add(k)
    return [f"{c} · {k}" if c != t or len(seen[(d, c)]) > 1 else c
            for c, t, k, d in zip(cut, texts, keys, datasets, strict=True)]


def _setting_hash(cfg: dict, data_sha, features) -> str:
    """Short hash of everything that must match for runs to be averaged or put on one N_c
    ablation line: the config except seed, N_c and policy; the data; visual or id inputs."""
    key = {k: v for k, v in cfg.items() if k not in SETTING_EXCLUDES}
    blob = json.dumps([key, str(data_sha), bool(features)], sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:6]


def load_run(run_dir: Path):
    """The engine's loaded run (``.predict(df)``, ``.config``, ``.metrics``, ``.nc``…).
    Raises InputError for a folder that is not a finished run."""
    from frame_core.runs.loader import load_run as _load

    try:
        return _load(run_dir)
    except InputError:
        raise
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        raise InputError(f"run {Path(run_dir).name} cannot be loaded ({type(exc).__name__}: {exc})") from None


def read_test_predictions(run_dir: Path) -> pd.DataFrame:
    """``test_predictions.csv`` of a run (user_id, video_id, interaction_timestamp, y, p_full),
    ids as strings. Raises InputError when the file is missing or unreadable."""
    p = Path(run_dir) / "test_predictions.csv"
    try:
        df = pd.read_csv(p, dtype={"user_id": str, "video_id": str})
    except (OSError, ValueError) as exc:
        raise InputError(f"run {Path(run_dir).name} has no readable test predictions ({type(exc).__name__})") from None
    missing = {"user_id", "video_id", "y", "p_full"} - set(df.columns)
    if missing:
        raise InputError(f"run {Path(run_dir).name}: test predictions lack {', '.join(sorted(missing))}")
    return df


# ------------------------------------------------------------------------------------ compare
def compare_models() -> list[str]:
    """Model names the comparison accepts, in the registry's order."""
    from frame_core.baselines.registry import MODEL_NAMES

    return list(MODEL_NAMES)


def compare(log: pd.DataFrame, models: list[str], seeds: int, out_dir: Path, *, options: dict, progress: ProgressFn,
            cancel, dataset: dict, videos_dir: Path | None = None, cache_dir: Path | None = None) -> dict:
    """Run the baselines comparison into ``out_dir`` (``results.csv``, ``results.md``).
    With ``videos_dir``, FRAME and the coarse model use visual clip features of those videos
    (``alpine`` and ``mtin`` the mean clip vector per video)."""
    from frame_core.baselines.compare import run_comparison

    if videos_dir is not None:
        if not Path(videos_dir).is_dir():
            raise InputError("this dataset has no video files: compare with id embeddings")
        options = {**options, "features_for_nc": lambda nc: embed_features(
            Path(videos_dir), nc, log=log, progress=progress, cancel=cancel, cache_dir=cache_dir)}
    run_comparison(log, models, seeds, progress=progress, cancel=cancel, out_dir=out_dir, **options)
    out: dict[str, Any] = {"dataset": dataset.get("id"), "models": list(models), "seeds": int(seeds),
                           "visual": videos_dir is not None}
    res = Path(out_dir) / "results.csv"
    if res.exists():
        out["rows"] = int(len(pd.read_csv(res)))
    return out


def read_comparison(out_dir: Path) -> pd.DataFrame | None:
    """``results.csv`` of a finished comparison (model, seed, auc, …) or None."""
    try:
        return pd.read_csv(Path(out_dir) / "results.csv")
    except (OSError, ValueError):
        return None


def read_comparison_details(out_dir: Path) -> pd.DataFrame | None:
    """``runs.csv`` of a finished comparison (model, seed, val_auc, best_epoch, fit_seconds,
    blend) or None."""
    try:
        return pd.read_csv(Path(out_dir) / "runs.csv", dtype={"blend": str})
    except (OSError, ValueError):
        return None


# ------------------------------------------------------------------------------------ tune
def tune(log: pd.DataFrame, nc: int, budget_s: float, out_dir: Path, *, videos_dir: Path | None, dataset: dict,
         progress: ProgressFn, cancel, cache_dir: Path | None = None) -> dict:
    """Tune FRAME on a dataset into ``out_dir`` (:func:`frame_core.experiments.tune.run_tune`;
    visual clip features of ``videos_dir`` when given). Returns the tuning summary."""
    from frame_core.experiments.tune import run_tune

    features = None
    if videos_dir is not None:
        if not Path(videos_dir).is_dir():
            raise InputError("this dataset has no video files: tune with id embeddings")
        features = embed_features(Path(videos_dir), nc, log=log, progress=progress, cancel=cancel, cache_dir=cache_dir)
    progress({"event": "status", "message": f"tuning N_c = {nc} for {budget_s / 60:.0f} min"})
    out = run_tune(log, out_dir, nc=nc, budget_s=budget_s, features=features, progress=progress, cancel=cancel)
    out.update(dataset=dataset.get("id"), visual=features is not None, nc=nc)
    return {k: v for k, v in out.items() if k not in ("run", "out_dir")}


def read_tuning(out_dir: Path):
    """(trials table, parameter importances, best config record) of a tuning job's folder;
    InputError when it holds no study."""
    from frame_core.experiments.tune import load_tune_results

    return load_tune_results(Path(out_dir))
