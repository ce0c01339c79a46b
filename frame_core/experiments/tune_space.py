"""What ``tune`` searches (:mod:`frame_core.experiments.tune`): the switches and their ranges
(:data:`SPACE`), the first trial (the engine defaults, :func:`default_params`) and the probe
trials that follow it (:data:`PROBES`), before TPE samples."""

from __future__ import annotations

from frame_core.model.config import FrameConfig

# name → ("cat", choices) | ("float", low, high, log)
SPACE: dict[str, tuple] = {
    "exclude_batch_edges": ("cat", (True, False)),
    "video_score": ("cat", ("product", "mean")),
    "policy": ("cat", ("watched-positive", "paper")),
    "lr": ("float", 1e-3, 1.5e-2, True),
    "emb_lr": ("float", 1e-3, 5e-2, True),
    "emb_dim": ("cat", (32, 64, 128)),
    "dropout": ("float", 0.0, 0.4, False),
    "weight_decay": ("cat", (0.0, 1e-6, 1e-5, 1e-4)),
    "hybrid_lambda": ("float", 0.0, 1.0, False),
    "lr_schedule": ("cat", ("none", "plateau", "cosine")),
    "interaction": ("cat", ("mlp", "mlp+dot")),
    "factor_dim": ("cat", (8, 16, 32, 64)),
    "factor_l2": ("float", 0.01, 0.2, True),
    "factor_share": ("cat", (False, True)),
    "id_l2": ("float", 1e-3, 0.2, True),
    "bias_init": ("cat", ("zero", "data")),
    # None = auto: the validation share of views on videos without a training view
    "cold_dropout": ("cat", (0.0, 0.25, None)),
}


# After the defaults, one trial per probe: the defaults with these switches changed. Each probe is
# a change that won on validation on some logs and lost on others (README "What the clip labels
# are worth", "Defaults re-checked", "Defaults from evidence"), so a short study tries each once
# before TPE samples; a 10-minute study with TPE alone tried `factor_share` only with other
# switches drawn at random, and missed the one change that mattered on its log.
FLIP = "flip"
"""A probe value: the opposite of the first trial's boolean (``factor_share`` is on by default on
dense logs and off on the others, so its probe is whichever the defaults did not train)."""

PROBES: tuple[dict, ...] = (
    {"factor_share": FLIP},
    {"bias_init": "data"},
    {"exclude_batch_edges": False, "video_score": "mean", "emb_lr": 0.03},
)


def probe_params(first: dict, space: dict[str, tuple]) -> list[dict]:
    """The probe trials (:data:`PROBES`) as full parameter sets: ``first`` (the default trial's
    parameters) with each probe's switches changed; probes of switches outside ``space`` (e.g. the
    id-table switches with visual features) or equal to the defaults are left out."""
    out = []
    for probe in PROBES:
        if not all(k in space for k in probe):
            continue
        probe = {k: (not first.get(k)) if v == FLIP else v for k, v in probe.items()}
        if any(first.get(k) != v for k, v in probe.items()):
            out.append({**first, **probe})
    return out


def space_for(base: FrameConfig) -> dict[str, tuple]:
    """:data:`SPACE` widened to hold ``base``'s own values (a categorical gets the base value as
    one more choice, a range is stretched to include it), so that the first trial can be exactly
    the base configuration; ``emb_lr`` only with id embeddings."""
    d = base.to_dict()
    out = {}
    for name, spec in SPACE.items():
        if name in ("emb_lr", "factor_dim", "factor_l2", "factor_share", "id_l2", "bias_init") and base.id_embeddings is False:
            continue
        v = d.get(name)
        # a categorical's auto value (None) is one more choice, except factor_share's: auto is
        # True or False on any one log, and the first trial holds the resolved value
        if spec[0] == "cat" and v not in spec[1] and not (name == "factor_share" and v is None):
            spec = ("cat", (*spec[1], v))
        elif spec[0] == "float" and isinstance(v, float) and v > 0:
            spec = ("float", min(spec[1], v), max(spec[2], v), spec[3])
        out[name] = spec
    return out


def suggest(trial, base: FrameConfig) -> dict:
    """The trial's choices for every entry of :func:`space_for` ``(base)``."""
    params = {}
    for name, spec in space_for(base).items():
        if spec[0] == "cat":
            params[name] = trial.suggest_categorical(name, list(spec[1]))
        else:
            params[name] = trial.suggest_float(name, spec[1], spec[2], log=spec[3])
    return params


def default_params(base: FrameConfig, emb_lr: float, factor_share: bool | None = None) -> dict:
    """The engine defaults expressed in :data:`SPACE` (the first trial); ``emb_lr`` and
    ``factor_share`` are the values the automatic rules resolve to on this log
    (:mod:`frame_core.training.data_rules`; ``factor_share`` None keeps the base value)."""
    d = base.to_dict()
    space = space_for(base)
    out = {k: d[k] for k in space if k in d and (d[k] is not None or space[k][0] == "cat")}
    if "emb_lr" in space:
        out["emb_lr"] = float(emb_lr)
    if "factor_share" in space and factor_share is not None:
        out["factor_share"] = bool(factor_share)
    return out
