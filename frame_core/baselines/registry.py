"""Model names of the comparison and how to build each one (one line per model).

``make_model(name, max_epochs=None, patience=None)`` returns a fresh, unfitted
:class:`~frame_core.baselines.base.Baseline`. ``max_epochs`` / ``patience`` override the
training length of the learned models (the reference points have no epochs and ignore them).
"""

from __future__ import annotations

from collections.abc import Callable

from frame_core.baselines.base import Baseline
from frame_core.baselines.training import TrainConfig
from frame_core.common.errors import InputError


def _train_config(base: TrainConfig, max_epochs, patience) -> TrainConfig:
    cfg = TrainConfig(**vars(base))
    if max_epochs is not None:
        cfg.max_epochs = int(max_epochs)
    if patience is not None:
        cfg.patience = int(patience)
    return cfg


def _ctr(name: str) -> Callable[..., Baseline]:
    def build(max_epochs=None, patience=None) -> Baseline:
        from frame_core.baselines.ctr import CtrBaseline

        return CtrBaseline(name, config=_train_config(TrainConfig(), max_epochs, patience))

    return build


def _lightgcn(max_epochs=None, patience=None) -> Baseline:
    from frame_core.baselines.lightgcn import LightGCNBaseline

    base = LightGCNBaseline()
    return LightGCNBaseline(config=_train_config(base.config, max_epochs, patience))


def _frame(name: str, nc: int) -> Callable[..., Baseline]:
    def build(max_epochs=None, patience=None, features_for_nc=None) -> Baseline:
        from frame_core.baselines.frame_adapter import FrameAdapter

        cfg = {}
        if max_epochs is not None:
            cfg["epochs"] = int(max_epochs)
        if patience is not None:
            cfg["patience"] = int(patience)
        return FrameAdapter(name, nc=nc, config=cfg, features_for_nc=features_for_nc)

    return build


def _sequence(name: str) -> Callable[..., Baseline]:
    def build(max_epochs=None, patience=None, features_for_nc=None) -> Baseline:
        from frame_core.baselines.alpine import AlpineBaseline
        from frame_core.baselines.mtin import MtinBaseline

        cls = {"alpine": AlpineBaseline, "mtin": MtinBaseline}[name]
        base = cls()
        return cls(config=_train_config(base.config, max_epochs, patience), features_for_nc=features_for_nc)

    return build


def _reference(name: str) -> Callable[..., Baseline]:
    def build(max_epochs=None, patience=None) -> Baseline:
        from frame_core.baselines.reference import LogRegBaseline, PopularityBaseline

        return {"popularity": PopularityBaseline, "logreg": LogRegBaseline}[name]()

    return build


def _ensemble(max_epochs=None, patience=None, features_for_nc=None) -> Baseline:
    from frame_core.baselines.ensemble import EnsembleBaseline

    return EnsembleBaseline(lambda name: make_model(name, max_epochs=max_epochs, patience=patience,
                                                    features_for_nc=features_for_nc))


REGISTRY: dict[str, Callable[..., Baseline]] = {
    "frame": _frame("frame", nc=8),
    "coarse": _frame("coarse", nc=1),
    "deepfm": _ctr("deepfm"),
    "nfm": _ctr("nfm"),
    "autoint": _ctr("autoint"),
    "difm": _ctr("difm"),
    "afn": _ctr("afn"),
    "lightgcn": _lightgcn,
    "popularity": _reference("popularity"),
    "logreg": _reference("logreg"),
    "alpine": _sequence("alpine"),
    "mtin": _sequence("mtin"),
    "ensemble": _ensemble,
}
MODEL_NAMES = tuple(REGISTRY)
ENGINE_MODELS = ("frame", "coarse", "ensemble")
SEQUENCE_MODELS = ("alpine", "mtin")  # the sequential baselines: they see the mean clip vector when given
VISUAL_MODELS = (*ENGINE_MODELS, *SEQUENCE_MODELS)  # the models that see visual clip features when given
BASELINE_MODELS = tuple(m for m in MODEL_NAMES if m not in ENGINE_MODELS)


def parse_models(models) -> list[str]:
    """``"deepfm,nfm"`` or a list → validated, de-duplicated names in the given order.

    ``"all"`` means every model, ``"baselines"`` every model but frame and coarse.
    """
    if isinstance(models, str):
        models = [m for m in models.split(",")]
    names: list[str] = []
    for raw in models:
        m = str(raw).strip().lower()
        if not m:
            continue
        expanded = {"all": MODEL_NAMES, "baselines": BASELINE_MODELS}.get(m, (m,))
        for name in expanded:
            if name not in REGISTRY:
                raise InputError(f"unknown model {raw!r}; use some of {', '.join(MODEL_NAMES)} (or all, baselines)")
            if name not in names:
                names.append(name)
    if not names:
        raise InputError(f"no model given; use some of {', '.join(MODEL_NAMES)}")
    return names


def make_model(name: str, *, max_epochs: int | None = None, patience: int | None = None,
               features_for_nc=None) -> Baseline:
    """A fresh model by name. ``features_for_nc`` (nc → visual clip features) reaches the engine
    models (``frame``, ``coarse``, ``ensemble``) and the sequential baselines (``alpine``, ``mtin``:
    the mean clip vector per video); the feature-based baselines' inputs stay ids and a duration
    bucket."""
    if name not in REGISTRY:
        raise InputError(f"unknown model {name!r}; use some of {', '.join(MODEL_NAMES)}")
    if name in VISUAL_MODELS:
        return REGISTRY[name](max_epochs=max_epochs, patience=patience, features_for_nc=features_for_nc)
    return REGISTRY[name](max_epochs=max_epochs, patience=patience)
