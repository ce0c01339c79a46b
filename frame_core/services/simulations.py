"""Simulated A/B tests for the app (docs/design.md §10): which datasets have a world, the
Simulate job's parameters and body, the default pair of runs, and reading a finished
simulation back. The work itself is :mod:`frame_core.simulate`."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd

from frame_core.common.errors import InputError

MAX_RUNS = 6
_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,120}")


def world_dir_for(info) -> Path | None:
    """The world folder of a dataset (its log is a world's ``interactions.csv`` with
    ``world.json`` beside it, as for the bundled synthetic sample), else None."""
    if info is None:
        return None
    p = Path(info.path)
    if p.name == "interactions.csv" and (p.parent / "world.json").is_file():
        return p.parent
    return None


def _whole(params: dict, key: str, default: int, low: int, high: int) -> int:
    v = params.get(key, default)
    if isinstance(v, bool) or not isinstance(v, int) or not low <= v <= high:
        raise InputError(f"{key} must be a whole number from {low} to {high}")
    return v


def validate_simulate_params(params: dict) -> None:
    """One-line InputError for a bad Simulate job (dataset_id, runs, k, rounds, seed, refit_budget_s)."""
    if not params.get("dataset_id"):
        raise InputError("a simulation job needs a dataset_id")
    runs = params.get("runs")
    if not isinstance(runs, list) or not 1 <= len(runs) <= MAX_RUNS:
        raise InputError(f"a simulation job needs a list of 1 to {MAX_RUNS} run ids")
    if not all(isinstance(r, str) and _RUN_ID.fullmatch(r) for r in runs) or len(set(runs)) != len(runs):
        raise InputError("run ids must be distinct run folder names")
    _whole(params, "k", 5, 1, 50)
    _whole(params, "rounds", 1, 1, 10)
    _whole(params, "seed", 0, 0, 2**31 - 1)
    b = params.get("refit_budget_s", 300)
    if isinstance(b, bool) or not isinstance(b, (int, float)) or not 0 <= b <= 3600:
        raise InputError("refit_budget_s must be from 0 to 3600 seconds")


def arm_names(runs: pd.DataFrame, run_ids: list[str]) -> list[str]:
    """Readable, distinct arm names for run ids: "FRAME N_c=8 · visual · 1a2b" (last 4 characters of the id)."""
    rows = runs.set_index("run_id") if len(runs) else pd.DataFrame()
    out = []
    for rid in run_ids:
        if rid in rows.index:
            r = rows.loc[rid]
            model = "coarse N_c=1" if r.get("nc") == 1 else f"FRAME N_c={r.get('nc')}"
            if r.get("kind") == "ensemble":
                model = "ensemble"
            name = f"{model} · {r.get('embeddings', 'id')} · {rid[-4:]}"
        else:
            name = rid
        while name in out:
            name += "'"
        out.append(name)
    return out


def default_pair(runs: pd.DataFrame) -> list[str]:
    """The latest FRAME run (N_c > 1) and the latest coarse run (N_c = 1) of ``runs`` (newest
    first, as :func:`frame_core.services.engine.list_finished_runs` gives them); fewer if absent."""
    if len(runs) == 0:
        return []
    kind = runs["kind"] if "kind" in runs.columns else pd.Series("frame", index=runs.index)
    nc = pd.to_numeric(runs["nc"], errors="coerce")
    fine = runs[(kind != "ensemble") & (nc > 1)]["run_id"].tolist()
    coarse = runs[(kind != "ensemble") & (nc == 1)]["run_id"].tolist()
    return fine[:1] + coarse[:1]


def simulate_dataset(info, log: pd.DataFrame, params: dict, out_dir: Path, *, runs_dir: Path, progress=None,
                     cancel=None) -> dict:
    """The Simulate job: a world simulation when the dataset has a world, else the replay
    estimator on its log. Returns a small summary (mode, per-arm full-view rate)."""
    from frame_core.services.engine import list_finished_runs
    from frame_core.simulate import run_replay, run_simulation

    validate_simulate_params(params)
    ids = list(params["runs"])
    paths = [Path(runs_dir) / r for r in ids]
    missing = [r for r, p in zip(ids, paths, strict=True) if not p.is_dir()]
    if missing:
        raise InputError(f"run {missing[0]} is not in the workspace any more")
    names = arm_names(list_finished_runs(Path(runs_dir)), ids)
    common = {"out_dir": out_dir, "k": int(params.get("k", 5)), "seed": int(params.get("seed", 0)),
              "names": names, "progress": progress, "cancel": cancel}
    world = world_dir_for(info)
    if world is not None:
        summary = run_simulation(world, paths, rounds=int(params.get("rounds", 1)),
                                 refit_budget_s=float(params.get("refit_budget_s", 300)), **common)
    else:
        summary = run_replay(log, paths, **common)
    return {"mode": summary["mode"], "dataset": info.id,
            "arms": {a["arm"]: a.get("full_view_rate") for a in summary["arms"]}}


def read_simulation(folder) -> dict | None:
    """A finished simulation's tables: ``settings`` (dict), ``mode``, ``results``, ``arms``,
    ``differences``, ``users`` (user_outcomes) and ``views`` (DataFrames); None when the folder
    lacks them."""
    d = Path(folder)
    try:
        meta = json.loads((d / "simulation.json").read_text(encoding="utf-8"))
        tables = {k: pd.read_csv(d / f, dtype={"user_id": str, "video_id": str})
                  for k, f in (("results", "results.csv"), ("arms", "arms.csv"), ("differences", "differences.csv"),
                               ("users", "user_outcomes.csv"), ("views", "views.csv"))}
    except (OSError, ValueError, pd.errors.ParserError):
        return None
    return {"settings": meta.get("settings", {}), "mode": meta.get("mode", "world"), **tables}
