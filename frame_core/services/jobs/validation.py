"""Checks of a job's parameters before it is queued (one-line InputError messages)."""

from __future__ import annotations

import contextlib

from frame_core.common.errors import InputError


def validate_params(kind: str, params: dict) -> None:
    """Check a job's parameters before queueing it (raises InputError with a one-line message)."""
    if kind in ("train", "compare", "tune") and params.get("visual") not in (None, True, False):
        raise InputError("visual must be true or false")
    if kind == "train":
        if not params.get("dataset_id"):
            raise InputError("a training job needs a dataset_id")
        from frame_core.model.config import FrameConfig

        FrameConfig.from_dict(params.get("config") or {})
    elif kind == "compare":
        if not params.get("dataset_id"):
            raise InputError("a comparison job needs a dataset_id")
        models = params.get("models")
        if not models or not isinstance(models, list):
            raise InputError("a comparison job needs a non-empty list of models")
        with contextlib.suppress(ImportError):
            from frame_core.baselines import parse_models

            parse_models(models)
        seeds = params.get("seeds", 3)
        if isinstance(seeds, bool) or not isinstance(seeds, int) or not 1 <= seeds <= 10:
            raise InputError("seeds must be a whole number from 1 to 10")
        options = params.get("options") or {}
        unknown = sorted(set(options) - {"max_epochs", "patience"})
        if unknown:
            raise InputError(f"unknown comparison option(s) {', '.join(unknown)}; use max_epochs, patience")
        for k, v in options.items():
            if v is not None and (isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= 10_000):
                raise InputError(f"{k} must be a whole number from 1 to 10000")
    elif kind == "tune":
        if not params.get("dataset_id"):
            raise InputError("a tuning job needs a dataset_id")
        nc, budget = params.get("nc", 8), params.get("budget_s", 600)
        if isinstance(nc, bool) or not isinstance(nc, int) or not 1 <= nc <= 64:
            raise InputError("nc must be a whole number from 1 to 64")
        if isinstance(budget, bool) or not isinstance(budget, (int, float)) or not 10 <= budget <= 86_400:
            raise InputError("budget_s must be from 10 s to 24 h")
    elif kind == "simulate":
        from frame_core.services.simulations import validate_simulate_params

        validate_simulate_params(params)
    elif kind == "sleep":
        steps, step_s = params.get("steps", 5), params.get("step_s", 0.1)
        if isinstance(steps, bool) or not isinstance(steps, int) or not 0 <= steps <= 100_000:
            raise InputError("steps must be a whole number from 0 to 100000")
        if not isinstance(step_s, (int, float)) or not 0 <= step_s <= 60:
            raise InputError("step_s must be a number from 0 to 60")
