"""Configuration of one FRAME training run (docs/design.md §4).

:class:`FrameConfig` is a flat, JSON-serialisable dataclass. Every field is one switch; the
defaults follow the slides except where a measurement said otherwise:

- ``policy = "watched-positive"`` (docs/design.md §2); ``hybrid_lambda = 0.5`` (λ = 0 lost
  ≈ 0.02 AUC on KuaiRand); separate W for the two paths (shared W lost ≈ 0.014 on KuaiRand);
  learned αp, αn; ``interaction = "mlp+dot"``; ``tanh`` as σ (``bench/engine_switches.py``).
- **Auto settings, raced on validation AUC** (``exclude_batch_edges = None``,
  ``video_score = "auto"``; :func:`frame_core.training.trainer.auto_candidates`): no fixed
  choice was best everywhere. Over the 8 worlds of ``bench/sweep_defaults.py`` and both samples
  (README, "Defaults from evidence"), (edges excluded, product score) was best on the samples
  and most latent-factor worlds, (edges kept, mean score, id tables at 0.03) on worlds with
  theme tastes (up to +0.018 test AUC here, +0.056 on the held-out world of issue #11), and
  racing both lost nothing against the better of the two.
- **Training schedule** (same sweep): validation several times per epoch on small logs
  (``val_per_epoch = 0``), a plateau learning-rate schedule with a one-epoch warm-up,
  ``min_delta = 1e-4``; patience 5, 8 and 15 epochs gave the same AUC on every world of the
  sweep, and a world where validation AUC rises again after an early plateau needs the longer
  one, so ``patience = 15`` with an epoch cap of 100.
- ``emb_lr = None`` (auto): the id tables learn at 1e-2 on logs with ≥ 10 training views per
  video and at ``lr`` on sparser logs (KuaiRand, ~4 views per video, lost 0.009 at 1e-2); see
  ``trainer.resolve_emb_lr``.
- ``batch_size = 16384``: each step propagates over the whole graph, a cost that does not
  depend on the batch, so large logs use large batches (small logs are capped so that an
  epoch has at least 16 steps, see ``trainer.effective_batch_size``).

- **Clip factors** (``factor_dim = None``: k = 32 with clip id embeddings, off with visual
  features; ``factor_l2 = 0.05``; ``id_l2 = 0.3``): a regularised ⟨p_u, q_c⟩ + b_u + b_c term on
  each clip logit and an L2 penalty on the clip id embeddings
  (:mod:`frame_core.model.factors`); measured over the worlds of ``bench/sweep_defaults.py``
  (README, "Clip factors"). ``id_l2 = 0.3`` rather than 0.05: mean validation AUC +0.003 over
  the twelve sweep logs (up to +0.018 on dense logs with sharp tastes, at most −0.004 on sparse
  ones), README "What the clip labels are worth". With them the auto race is not run (see ``auto_candidates``).

- ``factor_share = None`` (auto, ``training.data_rules.resolve_factor_share``): clip factors that
  lean on their video's on logs with ≥ 80 training views per video (N_c > 1), where they gained
  validation AUC on 5 of 7 logs; below, they lost on 11 of 13 (README, "Clip factors that lean
  on their video").
- ``cold_dropout = 0`` (off): training some videos as new (auto: at the validation share of new
  videos) was neutral on validation AUC over seven logs with new videos and gained test AUC on
  the two real ones (+0.008 KuaiRand, +0.004 the new-video log); README, "Videos trained as new".

``nc = 1`` is the coarse-grained model.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from frame_core.common.errors import InputError
from frame_core.data.labels import MAX_NC, POLICIES, check_nc

NORMS = ("symmetric", "row")
VIDEO_SCORES = ("auto", "product", "mean")
AUTO = "auto"
ACTIVATIONS = ("sigmoid", "tanh", "leaky_relu", "relu")
INTERACTIONS = ("mlp", "mlp+dot")
LR_SCHEDULES = ("none", "plateau", "cosine")
BIAS_INITS = ("zero", "data")
AUTO_FACTOR_DIM = 32


def _field(default, help: str):
    """A dataclass field with its one-line help text in ``metadata["help"]``."""
    return dataclasses.field(default=default, metadata={"help": help})


@dataclasses.dataclass
class FrameConfig:
    """All settings of a run. Each field's ``metadata["help"]`` is its one-line documentation
    (shown in the app and the CLI help): see :func:`field_help`."""

    nc: int = _field(8, 'clips per video, N_c (1 = coarse-grained model)')
    policy: str = _field("watched-positive", 'clip label policy: "watched-positive" (default, measured better) or "paper"')
    norm: str = _field("symmetric", 'graph normalisation of R̃: "symmetric" D_u^-1/2 R D_c^-1/2, or "row" D_u^-1 R')
    shared_w: bool = _field(False, 'one W for the positive and negative paths (as the reference code) instead of separate')
    activation: str = _field("tanh", 'σ of the graph layers: sigmoid, tanh, leaky_relu or relu')
    alpha0: float = _field(1.0, 'weight α0 of the input-embedding residual H_c0 in H_c = α0·H_c0 + α1·H_c1')
    alpha1: float = _field(1.0, 'weight α1 of the two-hop clip embedding H_c1')
    learn_alpha01: bool = _field(False, 'learn α0 and α1 (initialised at the values above) instead of fixing them')
    alpha_p: float = _field(1.0, 'weight αp of the positive score z_p in ŷ = sigmoid(αp·z_p − αn·z_n)')
    alpha_n: float = _field(1.0, 'weight αn of the negative score z_n')
    learn_alpha_pn: bool = _field(True, 'learn αp and αn (the reference code fixes 0.8 and 0.2)')
    video_score: str = _field("auto", 'video score from clip probabilities: "product" (survival), "mean" (slides), or "auto": raced on validation AUC (see exclude_batch_edges)')
    hybrid_lambda: float = _field(0.5, 'weight λ of the hybrid video-level BCE(ŷ_uv, full view); 0 turns it off')
    emb_dim: int = _field(64, 'embedding size d of clips and user interests')
    interaction: str = _field("mlp+dot", 'z = MLP(h_u ‖ h_c) as FRAME ("mlp"), or plus a weighted inner product <w ⊙ h_u, h_c> ("mlp+dot")')
    mlp_sizes: tuple[int, ...] = _field((64,), 'hidden layer sizes of MLP_p and MLP_n (input 2d, output 1)')
    dropout: float = _field(0.1, 'dropout on the MLP hidden layers during training')
    id_embeddings: bool | None = _field(None, 'learned clip id embeddings; None = only when no visual features are given')
    metadata: bool = _field(True, 'add clip metadata (log duration, clip start/end seconds, position) to H_c0')
    user_bias: bool = _field(False, 'add a learned per-user logit bias (not in FRAME; cold users get 0)')
    user_embedding: bool = _field(False, 'add a learned per-user vector to both graph aggregations before W (not in FRAME; cold users get 0)')
    factor_dim: int | None = _field(None, 'size k of the clip factors ⟨p_u, q_c⟩ + b_u + b_c added to each clip logit (0 = off); None = auto: 32 with clip id embeddings, 0 with visual features')
    factor_share: bool | None = _field(None, 'each clip factor is its video\'s plus its own (q_c = q_v + δ_c, both penalised by factor_l2), so clips with few labels lean on their video; None = auto: on with N_c > 1 and ≥ 80 training views per video (README, "Clip factors that lean on their video")')
    factor_l2: float = _field(0.05, 'L2 penalty of the clip factors: factor_l2 · (mean ‖p_u‖² + mean ‖q_c‖²) over the batch')
    bias_init: str = _field("zero", 'start of the clip factors\' biases b_u, b_c: "zero", or "data" (shrunk logit offsets of each user\'s and clip\'s training pass rate, the overall rate in the MLP output bias)')
    cold_dropout: float | None = _field(0.0, "training only: the share of each step's videos scored as if new (no id embedding, two-hop term or clip factors), so that videos first seen at test time are scored well; None = auto: the share of validation views on videos without a training view")
    id_l2: float = _field(0.3, 'L2 penalty of the clip id embeddings: id_l2 · mean ‖e_c‖² over the batch\'s clips')
    exclude_batch_edges: bool | None = _field(None, "take each training view's own edges out of the graphs for its step; None = auto: on logs up to 200k training views with ≥ 10 training views per video, (on, product score) and (off, mean score, id tables at 0.03) are both trained and the better on validation AUC is kept")
    lr: float = _field(3e-3, 'Adam learning rate')
    emb_lr: float | None = _field(None, 'Adam learning rate of the learned id tables (clip ids, user vectors); None = auto: 1e-2 on logs with ≥ 10 training views per video, else lr')
    weight_decay: float = _field(0.0, 'Adam weight decay (L2)')
    batch_size: int = _field(16384, 'views per mini-batch (smaller on small logs: an epoch has at least 16 steps)')
    epochs: int = _field(100, 'maximum number of epochs')
    patience: int = _field(15, 'early stopping: epochs without a better validation AUC (by more than min_delta) before stopping')
    min_delta: float = _field(1e-4, 'early stopping: a validation AUC counts as better only when it beats the best by more than this')
    val_per_epoch: int = _field(0, 'validation checks per epoch; 0 = auto (up to 4 on small logs, 1 from 40k training views)')
    lr_schedule: str = _field("plateau", 'learning-rate schedule: "none", "plateau" (× 0.5 after patience/2 epochs without improvement) or "cosine" (to 2 % over the epoch cap)')
    warmup_epochs: float = _field(1.0, 'linear learning-rate warm-up from 10 % over this many epochs (0 = none)')
    time_budget_s: float = _field(0.0, 'stop training after this many seconds of wall time, keeping the best check (0 = no limit)')
    seed: int = _field(0, 'seed of initialisation, shuffling and dropout')

    # ------------------------------------------------------------------ (de)serialisation
    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["mlp_sizes"] = list(self.mlp_sizes)
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "FrameConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise InputError(f"unknown config field(s) {', '.join(unknown)}; known: {', '.join(sorted(names))}")
        d = dict(d)
        if "mlp_sizes" in d and d["mlp_sizes"] is not None:
            d["mlp_sizes"] = tuple(int(x) for x in d["mlp_sizes"])
        return cls(**d).validated()

    def resolved_factor_dim(self, uses_id_embeddings: bool) -> int:
        """k of the clip factors: ``factor_dim``, or (auto) :data:`AUTO_FACTOR_DIM` when the
        model learns clip id embeddings and 0 with visual features."""
        if self.factor_dim is not None:
            return int(self.factor_dim)
        return AUTO_FACTOR_DIM if uses_id_embeddings else 0

    @property
    def is_auto(self) -> bool:
        """True when some setting is left to the validation race (``video_score = "auto"`` or
        ``exclude_batch_edges = None``): see :func:`frame_core.training.trainer.auto_candidates`."""
        return self.video_score == AUTO or self.exclude_batch_edges is None

    def static(self) -> "FrameConfig":
        """The configuration with auto settings replaced by their static fallback (batch edges
        excluded, product video score): what a model built without the race uses."""
        return self.replace(video_score="product" if self.video_score == AUTO else self.video_score,
                            exclude_batch_edges=True if self.exclude_batch_edges is None else self.exclude_batch_edges)

    def replace(self, **changes) -> "FrameConfig":
        """A copy with some fields changed, validated."""
        return dataclasses.replace(self, **changes).validated()

    # ------------------------------------------------------------------ checks
    def validated(self) -> "FrameConfig":
        """Return self after checking every field; raises InputError with a one-line message."""
        self.nc = check_nc(self.nc)
        if self.nc > MAX_NC:  # pragma: no cover - check_nc covers it
            raise InputError(f"N_c must be at most {MAX_NC}")
        _choice("policy", self.policy, POLICIES)
        _choice("norm", self.norm, NORMS)
        _choice("video_score", self.video_score, VIDEO_SCORES)
        _choice("activation", self.activation, ACTIVATIONS)
        _choice("interaction", self.interaction, INTERACTIONS)
        _choice("lr_schedule", self.lr_schedule, LR_SCHEDULES)
        _choice("bias_init", self.bias_init, BIAS_INITS)
        _positive_int("val_per_epoch", self.val_per_epoch, 0, 1000)
        _positive_int("emb_dim", self.emb_dim, 1, 4096)
        if self.factor_dim is not None:
            _positive_int("factor_dim", self.factor_dim, 0, 4096)
        _positive_int("batch_size", self.batch_size, 1, 10_000_000)
        _positive_int("epochs", self.epochs, 1, 100_000)
        _positive_int("patience", self.patience, 1, 100_000)
        _positive_int("seed", self.seed, 0, 2**31 - 1)
        if isinstance(self.mlp_sizes, int):
            self.mlp_sizes = (self.mlp_sizes,)
        self.mlp_sizes = tuple(self.mlp_sizes)
        for h in self.mlp_sizes:
            _positive_int("mlp_sizes entry", h, 1, 65536)
        for name in ("alpha0", "alpha1", "alpha_p", "alpha_n", "hybrid_lambda", "weight_decay", "min_delta", "factor_l2", "id_l2",
                     "warmup_epochs", "time_budget_s"):
            v = getattr(self, name)
            if not isinstance(v, (int, float)) or isinstance(v, bool) or not v >= 0 or v == float("inf"):
                raise InputError(f"{name} must be a finite number ≥ 0, got {v!r}")
            setattr(self, name, float(v))
        for name in ("lr", "emb_lr"):
            v = getattr(self, name)
            if name == "emb_lr" and v is None:
                continue
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 < v < 10:
                raise InputError(f"{name} must be a number in (0, 10), got {v!r}")
            setattr(self, name, float(v))
        if self.cold_dropout is not None:
            if isinstance(self.cold_dropout, bool) or not isinstance(self.cold_dropout, (int, float)) or not 0 <= self.cold_dropout < 1:
                raise InputError(f"cold_dropout must be in [0, 1) or None (auto), got {self.cold_dropout!r}")
            self.cold_dropout = float(self.cold_dropout)
        if not isinstance(self.dropout, (int, float)) or not 0 <= self.dropout < 1:
            raise InputError(f"dropout must be in [0, 1), got {self.dropout!r}")
        self.dropout = float(self.dropout)
        if self.factor_share is not None:
            self.factor_share = _as_bool("factor_share", self.factor_share)
        for name in ("shared_w", "learn_alpha01", "learn_alpha_pn", "metadata", "user_bias", "user_embedding"):
            setattr(self, name, _as_bool(name, getattr(self, name)))
        if self.exclude_batch_edges is not None:
            self.exclude_batch_edges = _as_bool("exclude_batch_edges", self.exclude_batch_edges)
        if self.id_embeddings is not None:
            self.id_embeddings = _as_bool("id_embeddings", self.id_embeddings)
        return self


def _choice(name: str, value, options) -> None:
    if value not in options:
        raise InputError(f"unknown {name} {value!r}; use one of {', '.join(options)}")


def _positive_int(name: str, value, lo: int, hi: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise InputError(f"{name} must be a whole number from {lo} to {hi}, got {value!r}")


def _as_bool(name: str, value) -> bool:
    if isinstance(value, bool):
        return value
    if value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.lower() in ("true", "false", "yes", "no", "on", "off", "1", "0"):
        return value.lower() in ("true", "yes", "on", "1")
    raise InputError(f"{name} must be true or false, got {value!r}")


def field_help() -> dict[str, str]:
    """``{field name: one-line help}`` of every :class:`FrameConfig` field."""
    return {f.name: f.metadata.get("help", "") for f in dataclasses.fields(FrameConfig)}
