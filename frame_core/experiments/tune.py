"""Automatic configuration of FRAME, chosen on validation AUC only, with Optuna.

``run_tune(log, out_dir, nc=8, budget_s=600)`` searches the switches that move AUC
(:data:`SPACE`) with TPE sampling, prunes weak trials from their intermediate validation AUC
(one report per validation check: bottom quarter, from the 12th check on), and finishes with a run folder trained with the
best configuration. Test rows are never looked at by the search: every trial is scored on the
validation rows of the chronological split, and its test metrics are only those of the final
run folder.

The study lives in an SQLite database (Optuna's RDB storage), ``out_dir/study.db`` unless a
storage URL is given, so that:

- **resume**: running the same command again continues the study (finished trials are kept;
  a trial whose process died, even by SIGKILL, stops sending heartbeats, is marked failed after
  4 × :data:`HEARTBEAT_S` seconds and retried once);
- **several workers**: ``workers = W`` starts W processes on the one study; workers on several
  machines share a study by giving each the same database URL (PostgreSQL or MySQL for machines
  that do not share a disk) and study name. Optuna hands out each trial to exactly one worker.

Output folder::

    study.db            the Optuna study (unless --storage points elsewhere)
    log.parquet         with workers > 1: the clean log the workers read (and features.parquet)
    trials/<number>/    the run folder of a trial while it runs, kept while it is the best so far
    evaluations.jsonl   one line per trial evaluation: trial number, worker pid and host, start time
    trials.csv          one row per trial: number, state, value (validation AUC), seconds, params
    best_config.json    the FrameConfig of the best trial
    run/                a finished run folder trained with it (the run contract of ``train``)

The first trial is always the engine's default configuration, so tuning never selects a
configuration worse than the defaults on validation AUC. The next few are the defaults with one
measured switch changed each (:data:`~frame_core.experiments.tune_space.PROBES`); then TPE samples.
"""

from __future__ import annotations

import json
import logging
import multiprocessing as mp
import os
import re
import shutil
import socket
import time
from pathlib import Path

import pandas as pd

from frame_core.common.atomic import atomic_write_json, read_json
from frame_core.common.errors import CancelledError, InputError
from frame_core.common.safe_csv import write_csv
from frame_core.data.prepare import log_sha256, prepare_data
from frame_core.experiments.study_storage import HEARTBEAT_S, STUDY_DB, open_storage, storage_for
from frame_core.experiments.tune_space import SPACE, default_params, probe_params, space_for, suggest
from frame_core.model.config import FrameConfig
from frame_core.training.pipeline import train_run

log = logging.getLogger(__name__)

PRUNE_PERCENTILE = 25.0  # a trial is stopped when its validation AUC is in the bottom quarter at the same check …
PRUNE_WARMUP_CHECKS = 12  # … but never before its 12th check (a median rule from the 4th check pruned 125 of 136
#                           trials of a 10-minute study, most in their first epoch, and found nothing better)
TRIALS, RUN, BEST_CONFIG, EVALUATIONS = "trials", "run", "best_config.json", "evaluations.jsonl"


def parse_budget(text) -> float:
    """``"10m"``, ``"90s"``, ``"1.5h"`` or a number of seconds → seconds (> 0)."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*", str(text).lower())
    if not m or float(m.group(1)) <= 0:
        raise InputError(f"--budget must be a duration like 10m, 90s or 1h, got {text!r}")
    return float(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[m.group(2)]


class _Objective:
    """Trains one trial into ``out_dir/trials/<number>`` and returns its validation AUC."""

    def __init__(self, log_df, out_dir: Path, base: FrameConfig, deadline: float, features=None, progress=None,
                 cancel=None):
        self.log_df, self.out_dir, self.base, self.deadline = log_df, out_dir, base, deadline
        self.features, self.progress, self.cancel = features, progress, cancel
        self.data: dict[str, object] = {}

    def data_for(self, policy: str):
        if policy not in self.data:
            self.data[policy] = prepare_data(self.log_df, self.base.nc, policy, self.base.norm, features=self.features)
        return self.data[policy]

    def __call__(self, trial) -> float:
        import optuna

        params = suggest(trial, self.base)
        left = self.deadline - time.time()
        if left < 5:
            raise optuna.TrialPruned("the budget is spent")
        cfg = self.base.replace(**params, time_budget_s=max(5.0, left))
        folder = self.out_dir / TRIALS / str(trial.number)

        step = [0]  # checks counted across the candidates of an auto race

        def report(event: dict) -> None:
            if self.cancel is not None and self.cancel.is_set():
                raise CancelledError("tuning cancelled")
            if event.get("event") == "check" and event.get("val_auc") == event.get("val_auc"):
                step[0] += 1
                trial.report(float(event["val_auc"]), step[0])
                if trial.should_prune():
                    raise optuna.TrialPruned(f"pruned at check {event['check']}")

        t0 = time.time()
        record = {"trial": trial.number, "pid": os.getpid(), "host": socket.gethostname(), "start": t0}
        with open(self.out_dir / EVALUATIONS, "a", encoding="utf-8") as fh:  # one short O_APPEND write per trial
            fh.write(json.dumps(record) + "\n")
        try:
            run = train_run(self.log_df, folder, cfg, data=self.data_for(cfg.policy), progress=report,
                            source="tune", name=f"trial {trial.number}", overwrite=True, features=self.features)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        value = float(run.metrics.get("val_auc") or float("nan"))
        trial.set_user_attr("seconds", round(time.time() - t0, 2))
        trial.set_user_attr("best_epoch", run.metrics.get("best_epoch"))
        _keep_if_best(trial.study, folder, value)
        return value


def _keep_if_best(study, folder: Path, value: float) -> None:
    """Delete a trial's run folder unless it is the best so far (bounded disk)."""
    try:
        best = study.best_value
    except ValueError:  # no finished trial yet
        return
    if not value >= best:
        shutil.rmtree(folder, ignore_errors=True)


def _optimise(storage_url: str | None, out_dir: Path, study_name: str, base: FrameConfig, deadline: float,
              seed: int, log_df: pd.DataFrame, features=None, progress=None, cancel=None,
              heartbeat_s: int = HEARTBEAT_S) -> None:
    """One worker's loop on the shared study until the deadline (runs in the main process or a
    spawned worker)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.load_study(study_name=study_name, storage=storage_for(out_dir, storage_url, heartbeat_s),
                              sampler=optuna.samplers.TPESampler(seed=seed, n_startup_trials=5, multivariate=True),
                              pruner=optuna.pruners.PercentilePruner(PRUNE_PERCENTILE, n_startup_trials=5,
                                                                     n_warmup_steps=PRUNE_WARMUP_CHECKS))
    objective = _Objective(log_df, out_dir, base, deadline, features, cancel=cancel)

    def on_trial(study, trial) -> None:
        if progress is not None:
            progress({"event": "trial", "number": trial.number, "state": trial.state.name, "value": trial.value,
                      "params": trial.params, "elapsed": time.time() - (deadline - base.time_budget_s)})
        if cancel is not None and cancel.is_set():
            study.stop()

    study.optimize(objective, timeout=max(1.0, deadline - time.time()), callbacks=[on_trial],
                   catch=(InputError,), gc_after_trial=True)


def _worker_main(storage_url, out_dir, study_name, base_dict, deadline, seed, heartbeat_s) -> None:
    import torch

    torch.set_num_threads(1)
    out_dir = Path(out_dir)
    features = None
    if (out_dir / "features.parquet").exists():
        from frame_core.video import load_clip_features

        features = load_clip_features(out_dir / "features.parquet")
    _optimise(storage_url, out_dir, study_name, FrameConfig.from_dict(base_dict), deadline, seed,
              pd.read_parquet(out_dir / "log.parquet"), features, heartbeat_s=heartbeat_s)


def run_tune(log_df: pd.DataFrame, out_dir, *, nc: int = 8, budget_s: float = 600.0, features=None,
             config: FrameConfig | None = None, storage: str | None = None, study_name: str | None = None,
             workers: int = 1, seed: int = 0, progress=None, cancel=None, heartbeat_s: int = HEARTBEAT_S) -> dict:
    """Tune FRAME on a clean log for ``budget_s`` seconds of wall time and write ``out_dir``
    (see the module docstring). Returns a summary: best_value, best_params, trials (by state),
    run (the final run folder) and its test metrics. ``workers`` > 1 starts that many processes
    in all (each with one torch thread)."""
    import optuna

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    base = (config or FrameConfig()).replace(nc=nc, seed=seed)
    if features is not None and base.id_embeddings is None:
        base = base.replace(id_embeddings=False)
    t0 = time.time()
    reserve = min(0.25 * budget_s, 120.0)  # left for the final run when the best trial's folder is elsewhere
    deadline = t0 + budget_s - reserve
    base = base.replace(time_budget_s=max(5.0, budget_s - reserve))
    if workers > 1:  # what the spawned workers read
        log_df.to_parquet(out_dir / "log.parquet", index=False)
        if features is not None:
            from frame_core.video import save_clip_features

            save_clip_features(features, out_dir / "features.parquet")
    study_name = study_name or f"frame-nc{nc}-{log_sha256(log_df)[:10]}"
    study = optuna.create_study(study_name=study_name, storage=storage_for(out_dir, storage, heartbeat_s),
                                direction="maximize", load_if_exists=True)
    if not study.trials:
        from frame_core.training.data_rules import resolve_emb_lr, resolve_factor_share

        data0 = prepare_data(log_df, nc, base.policy, base.norm, features=features)
        first = default_params(base, resolve_emb_lr(base, data0), resolve_factor_share(base, data0))
        del data0
        for params in [first, *probe_params(first, space_for(base))]:
            study.enqueue_trial(params)
    extra = []
    ctx = mp.get_context("spawn")
    for w in range(1, max(1, int(workers))):
        p = ctx.Process(target=_worker_main, args=(storage, str(out_dir), study_name, base.to_dict(), deadline,
                                                   seed + 1000 * w, heartbeat_s), daemon=True)
        p.start()
        extra.append(p)
    try:
        _optimise(storage, out_dir, study_name, base, deadline, seed, log_df, features, progress=progress,
                  cancel=cancel, heartbeat_s=heartbeat_s)
    finally:
        for p in extra:
            p.join(timeout=max(1.0, deadline - time.time() + 4 * heartbeat_s))
            if p.is_alive():
                p.terminate()
    if cancel is not None and cancel.is_set():
        raise CancelledError("tuning cancelled")
    return _finish(study_name, storage, out_dir, log_df, base, features, progress, cancel, t0 + budget_s, heartbeat_s)


def _finish(study_name, storage, out_dir: Path, log_df, base: FrameConfig, features, progress, cancel,
            end: float, heartbeat_s: int) -> dict:
    """Write trials.csv, best_config.json and the final run folder."""
    import optuna

    study = optuna.load_study(study_name=study_name, storage=storage_for(out_dir, storage, heartbeat_s))
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE and t.value == t.value]
    if not done:
        raise InputError("no tuning trial finished within the budget: give a longer --budget")
    write_csv(trials_table(study), out_dir / "trials.csv")
    best = max(done, key=lambda t: t.value)
    best_cfg = base.replace(**{k: v for k, v in best.params.items()}, time_budget_s=0.0)
    atomic_write_json(out_dir / BEST_CONFIG, {"config": best_cfg.to_dict(), "trial": best.number,
                                              "val_auc": best.value, "study": study_name})
    final = out_dir / RUN
    shutil.rmtree(final, ignore_errors=True)
    local = out_dir / TRIALS / str(best.number)
    if (local / "DONE").exists():
        shutil.copytree(local, final)
        info = read_json(final / "config.json")  # its "config" is what the trial trained (auto settings resolved)
        trained = {**(info.get("config") or best_cfg.to_dict()), "time_budget_s": 0.0}
        info.update(name="tuned", config=trained, requested_config=best_cfg.to_dict())
        atomic_write_json(final / "config.json", info)
    else:  # the best trial ran on another machine (or its folder was lost): train its config here
        cfg = best_cfg.replace(time_budget_s=max(30.0, end - time.time()))
        train_run(log_df, final, cfg, features=features, progress=progress, cancel=cancel, source="tune", name="tuned")
    shutil.rmtree(out_dir / TRIALS, ignore_errors=True)  # the best one now lives in run/
    metrics = read_json(final / "metrics.json")
    states = pd.Series([t.state.name for t in study.trials]).value_counts().to_dict()
    return {"best_value": best.value, "best_trial": best.number, "best_params": best.params, "trials": states,
            "run": str(final), "test_auc": metrics.get("auc"), "val_auc": metrics.get("val_auc"),
            "study": study_name, "out_dir": str(out_dir)}


def trials_table(study) -> pd.DataFrame:
    """One row per trial: number, state, value (validation AUC), seconds (from start to end),
    started (seconds since the study's first trial started) and the parameters (``p_<name>``)."""
    rows = []
    starts = [t.datetime_start for t in study.trials if t.datetime_start is not None]
    t_first = min(starts) if starts else None
    for t in study.trials:
        row = {"number": t.number, "state": t.state.name, "value": t.value,
               "seconds": (t.datetime_complete - t.datetime_start).total_seconds()
               if t.datetime_complete and t.datetime_start else float("nan"),
               "started": (t.datetime_start - t_first).total_seconds() if t.datetime_start and t_first else float("nan")}
        row.update({f"p_{k}": v for k, v in t.params.items()})
        rows.append(row)
    return pd.DataFrame(rows)


def load_tune_results(out_dir) -> tuple[pd.DataFrame, dict[str, float], dict | None]:
    """(trials table, parameter importances, best config record) of a tuning folder, for the
    app. Importances (Optuna's default evaluator over finished trials) are empty with fewer than
    four finished trials (fewer cannot tell the switches apart)."""
    import optuna

    out_dir = Path(out_dir)
    if not (out_dir / STUDY_DB).exists():
        raise InputError(f"{out_dir} holds no study database")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = open_storage(f"sqlite:///{(out_dir / STUDY_DB).resolve()}")
    names = optuna.get_all_study_names(storage)
    if not names:
        raise InputError(f"{out_dir} holds no study")
    study = optuna.load_study(study_name=names[0], storage=storage)
    table = trials_table(study)
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    importances: dict[str, float] = {}
    if len(done) >= 4:
        try:
            importances = dict(optuna.importance.get_param_importances(study))
        except (RuntimeError, ValueError, ZeroDivisionError):
            importances = {}
    best = read_json(out_dir / BEST_CONFIG) if (out_dir / BEST_CONFIG).exists() else None
    return table, importances, best


__all__ = ["SPACE", "load_tune_results", "parse_budget", "run_tune", "trials_table"]
