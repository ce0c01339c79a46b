"""One check of a finished run folder before anything reads it (docs/design.md §8).

A run folder can be damaged or tampered with after it was written: a ``config.json`` that is
not JSON or not an object, config fields that :class:`~frame_core.model.config.FrameConfig`
refuses, a ``metrics.json`` of the wrong shape, a ``weights.pt`` of random bytes or with a
pickle payload. :func:`run_problem` finds any of these and says so in one line;
:func:`checked_info` raises :class:`~frame_core.common.errors.InputError` with
``"run <name> cannot be used: <reason>"``. Listing (:func:`frame_core.runs.store.list_runs`),
loading (:func:`frame_core.runs.loader.load_run`), the pages and the CLI all go through here,
so a damaged folder is reported as unusable and never raises anywhere else.

Weights are opened with ``torch.load(..., weights_only=True, mmap=True)``: the restricted
unpickler refuses any object that is not a tensor or a plain container (nothing is executed),
and memory-mapping keeps the check cheap. Results are memoised per file version (path, size,
modification time), so listing many runs re-checks only what changed.
"""

from __future__ import annotations

import json
import os
import pickle
import zipfile
from pathlib import Path
from typing import Any

from frame_core.common.errors import InputError
from frame_core.evaluation.metrics import RUN_METRIC_KEYS

CONFIG = "config.json"
METRICS = "metrics.json"
WEIGHTS = "weights.pt"
ID_MAPS = "id_maps.json"
DONE = "DONE"
ENSEMBLE_MEMBERS = ("frame", "coarse")
MAX_JSON_BYTES = 256 * 1024**2
"""A run's JSON files are small (the id maps are the largest: one string per user and video);
anything bigger is not read."""

_MEMO: dict[tuple, str | None] = {}


def _read_json(path: Path, what: str) -> Any:
    try:
        size = path.stat().st_size
    except OSError:
        raise _Problem(f"{what} is missing") from None
    if size > MAX_JSON_BYTES:
        raise _Problem(f"{what} is {size / 1024**2:,.0f} MiB, too large for a run file")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise _Problem(f"{what} is not UTF-8 text") from None
    except ValueError as exc:
        raise _Problem(f"{what} is not valid JSON ({str(exc).split(':')[0]})") from None
    except OSError as exc:
        raise _Problem(f"{what} cannot be read ({exc.strerror or type(exc).__name__})") from None


class _Problem(Exception):
    """Internal: one reason a run folder cannot be used."""


def _object(value: Any, what: str) -> dict:
    if not isinstance(value, dict):
        raise _Problem(f"{what} holds {_kind(value)}, not a JSON object")
    return value


def _kind(value: Any) -> str:
    return {list: "a list", str: "a string", int: "a number", float: "a number", bool: "true/false",
            type(None): "null"}.get(type(value), type(value).__name__)


def _check_config(info: dict, where: str) -> None:
    from frame_core.model.config import FrameConfig

    cfg = _object(info.get("config"), f"{where}'s \"config\" field")
    try:
        FrameConfig.from_dict(cfg)
    except InputError as exc:
        raise _Problem(f"{where} has invalid settings: {exc}") from None
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise _Problem(f"{where} has invalid settings ({type(exc).__name__}: {exc})") from None
    kind = info.get("kind", "frame")
    if kind not in ("frame", "ensemble"):
        raise _Problem(f"{where} names an unknown run kind {str(kind)[:40]!r}")
    for key in ("data", "requested_config"):
        if info.get(key) is not None and not isinstance(info[key], dict):
            raise _Problem(f"{where}'s {key!r} field holds {_kind(info[key])}, not a JSON object")


def _check_metrics(run_dir: Path) -> None:
    met = _object(_read_json(run_dir / METRICS, METRICS), METRICS)
    for k in RUN_METRIC_KEYS:
        v = met.get(k)
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))):
            raise _Problem(f"{METRICS} holds a non-numeric {k} ({_kind(v)})")


def _check_weights(path: Path) -> None:
    import torch

    if not path.is_file():
        raise _Problem(f"{WEIGHTS} is missing")
    if not zipfile.is_zipfile(path):
        raise _Problem(f"{WEIGHTS} is not a PyTorch weights file (damaged or replaced)")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except pickle.UnpicklingError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "refused"
        raise _Problem(f"{WEIGHTS} holds objects other than tensors, refused unopened ({first[:120]})") from None
    except (RuntimeError, OSError, EOFError, ValueError, KeyError, AttributeError, zipfile.BadZipFile) as exc:
        raise _Problem(f"{WEIGHTS} cannot be read ({type(exc).__name__})") from None
    if not isinstance(state, dict) or not state or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()
    ):
        raise _Problem(f"{WEIGHTS} is not a model state_dict (a mapping of names to tensors)")


def _check_frame(run_dir: Path, where: str) -> None:
    maps = _object(_read_json(run_dir / ID_MAPS, ID_MAPS), ID_MAPS)
    for key in ("users", "videos"):
        if not isinstance(maps.get(key), list):
            raise _Problem(f"{ID_MAPS} lacks its {key!r} list")
    for name in ("video_durations.npy", "graph_pos.npz", "graph_neg.npz"):
        if not (run_dir / name).is_file():
            raise _Problem(f"{where} lacks {name}")
    _check_weights(run_dir / WEIGHTS)


def _check(run_dir: Path) -> None:
    if not run_dir.is_dir():
        raise _Problem("the folder does not exist")
    if not (run_dir / DONE).exists():
        raise _Problem("it did not finish (no DONE file); train it again")
    info = _object(_read_json(run_dir / CONFIG, CONFIG), CONFIG)
    _check_config(info, CONFIG)
    _check_metrics(run_dir)
    if info.get("kind") == "ensemble":
        for m in ENSEMBLE_MEMBERS:
            member = run_dir / "members" / m
            where = f"member {m}/{CONFIG}"
            _check_config(_object(_read_json(member / CONFIG, where), where), where)
            _check_frame(member, f"member {m}")
        for name in ("logreg.json", "blend.json"):
            _object(_read_json(run_dir / name, name), name)
    else:
        _check_frame(run_dir, "the run")


def _signature(run_dir: Path) -> tuple:
    """Path, size and mtime of every file the check reads (it changes when any of them does)."""
    sig = [str(run_dir.resolve())]
    names = [DONE, CONFIG, METRICS, ID_MAPS, WEIGHTS, "logreg.json", "blend.json"]
    paths = [run_dir / n for n in names]
    paths += [run_dir / "members" / m / n for m in ENSEMBLE_MEMBERS for n in (CONFIG, ID_MAPS, WEIGHTS)]
    for p in paths:
        try:
            st = p.stat()
            sig.append((p.name, st.st_size, st.st_mtime_ns))
        except OSError:
            sig.append((p.name, None))
    return tuple(sig)


def run_problem(run_dir: str | os.PathLike) -> str | None:
    """Why the run folder ``run_dir`` cannot be used, in one line, or None when it can.

    Checks: ``DONE`` present; ``config.json`` is a JSON object whose ``config`` FrameConfig
    accepts; ``metrics.json`` is an object with numeric (or null) metrics; the id maps, the
    durations and graphs exist; ``weights.pt`` loads with ``weights_only=True`` as a mapping of
    names to tensors. Ensemble runs: both members the same way, plus the blend and the logistic
    regression files. Whether the weights fit the model is found when the run is loaded.
    """
    run_dir = Path(run_dir)
    key = _signature(run_dir)
    if key in _MEMO:
        return _MEMO[key]
    try:
        _check(run_dir)
        problem = None
    except _Problem as exc:
        problem = " ".join(str(exc).split())
    if len(_MEMO) > 4096:
        _MEMO.clear()
    _MEMO[key] = problem
    return problem


def unusable_message(run_dir: str | os.PathLike, reason: str) -> str:
    """The one line the pages and the CLI show for a run that cannot be used."""
    return f"run {Path(run_dir).name} cannot be used: {reason}"


def checked_info(run_dir: str | os.PathLike) -> dict:
    """``config.json`` of a finished, undamaged run folder; InputError ``run <name> cannot be
    used: <reason>`` otherwise (one line)."""
    run_dir = Path(run_dir)
    if not (run_dir / CONFIG).exists() and not (run_dir / DONE).exists():
        raise InputError(f"{run_dir} is not a run folder (no {CONFIG})")
    problem = run_problem(run_dir)
    if problem is not None:
        raise InputError(unusable_message(run_dir, problem))
    return json.loads((run_dir / CONFIG).read_text(encoding="utf-8"))
