"""The paper's feature-based CTR baselines: DeepFM, NFM, AutoInt, DIFM, AFN (deepctr-torch 0.3.0).

**Inputs** (the same for all five, as in the paper): three sparse fields, user id, video id and
a duration bucket (:class:`frame_core.baselines.features.CtrFeatures`), each embedded in
``embedding_dim`` dimensions and used both by the linear part and by the deep part. No play time
and no other label-derived input. Cold ids map to the OOV index 0, whose rows (in the deep and
the linear embedding tables) are set after every epoch, before validation, to the
view-weighted mean of the training ids' rows: a cold user or video is "the average one".

**Training** uses deepctr-torch's model modules (their ``forward`` and regularisation terms) in
our own loop (:func:`frame_core.baselines.training.train_pointwise`) rather than their ``fit``,
which prints unconditionally and has no hook for our selection metric, progress or cancel:
Adam, mini-batch BCE (mean) plus deepctr's L2 terms divided by the batch size (the weighting its
own ``fit`` uses with a summed loss), early stopping on validation AUC.

**Sizes**, chosen for a 2-core CPU, are the library defaults scaled down: ``embedding_dim`` 16,
DNN (128, 64) where a model has one, AutoInt with 2 attention layers × 2 heads, DIFM with 2
heads, AFN with 64 logarithmic neurons. All five run unchanged on torch 2.13 / numpy 2; the
only shim is the quiet import in :mod:`frame_core.baselines._deepctr`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from frame_core.baselines.base import Baseline, Reporter, check_cancel, clip_proba, full_view
from frame_core.baselines.features import CtrFeatures, fill_oov_row
from frame_core.baselines.training import TrainConfig, predict_batched, seeded, train_pointwise

DNN = (128, 64)
CTR_MODELS: dict[str, tuple[str, dict]] = {
    "deepfm": ("DeepFM", {"dnn_hidden_units": DNN}),
    "nfm": ("NFM", {"dnn_hidden_units": DNN}),
    "autoint": ("AutoInt", {"att_layer_num": 2, "att_head_num": 2, "dnn_hidden_units": DNN}),
    "difm": ("DIFM", {"att_head_num": 2, "dnn_hidden_units": DNN}),
    "afn": ("AFN", {"ltl_hidden_size": 64, "afn_dnn_hidden_units": DNN}),
}


class CtrBaseline(Baseline):
    """One deepctr-torch model on (user, video, duration bucket). ``name`` is a key of ``CTR_MODELS``."""

    def __init__(
        self,
        name: str,
        *,
        embedding_dim: int = 16,
        n_buckets: int = 10,
        config: TrainConfig | None = None,
        **model_kwargs,
    ):
        if name not in CTR_MODELS:
            raise ValueError(f"unknown CTR model {name!r}; use one of {', '.join(CTR_MODELS)}")
        self.name = name
        self.embedding_dim = int(embedding_dim)
        self.n_buckets = int(n_buckets)
        self.config = config or TrainConfig()
        self.model_kwargs = {**CTR_MODELS[name][1], **model_kwargs}

    def _build(self, seed: int) -> torch.nn.Module:
        from frame_core.baselines._deepctr import load

        dc = load()
        from deepctr_torch.inputs import SparseFeat

        cls = getattr(dc.models, CTR_MODELS[self.name][0])
        cols = [
            SparseFeat(field, vocabulary_size=size, embedding_dim=self.embedding_dim)
            for field, size in zip(self.features_.fields, self.features_.sizes)
        ]
        with seeded(seed):
            return cls(cols, cols, seed=int(seed), device="cpu", **self.model_kwargs)

    def _tensor(self, df: pd.DataFrame) -> torch.Tensor:
        return torch.from_numpy(self.features_.transform(df).astype("float32"))

    def fit(self, train, val, *, seed: int = 0, progress=None, cancel=None) -> CtrBaseline:
        check_cancel(cancel)
        self.features_ = CtrFeatures(train, self.n_buckets)
        self.model_ = model = self._build(seed)

        weights = {f: torch.from_numpy(w) for f, w in self.features_.id_weights(train).items()}

        def extra_loss(xb: torch.Tensor) -> torch.Tensor:
            return (model.get_regularization_loss().sum() + model.aux_loss.sum()) / len(xb)

        def set_oov_rows() -> None:
            with torch.no_grad():
                for table in (model.embedding_dict, model.linear_model.embedding_dict):
                    for field, w in weights.items():
                        if field in table:
                            table[field].weight.copy_(fill_oov_row(table[field].weight, w))

        result = train_pointwise(
            model,
            model,
            self._tensor(train),
            torch.from_numpy(full_view(train)),
            self._tensor(val),
            full_view(val),
            config=self.config,
            seed=seed,
            report=Reporter(self.name, progress),
            cancel=cancel,
            extra_loss=extra_loss,
            before_eval=set_oov_rows,
        )
        self.best_epoch, self.val_auc, self.history = result.best_epoch, result.best_val_auc, result.history
        return self

    def predict(self, df: pd.DataFrame) -> np.ndarray:
        return clip_proba(predict_batched(self.model_, self._tensor(df), self.config.eval_batch_size))
