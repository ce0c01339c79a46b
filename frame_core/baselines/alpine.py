"""``alpine``: ALPINE (Li et al., "Routing micro-videos via a temporal graph-guided recommendation
system", ACM MM 2019), at the size our data supports (docs/design.md §6).

What the paper does, and what we do here:

1. **Two sequences.** The paper splits a user's history into the clicked (interest) and the
   unclicked (uninterest) micro-videos. Our label is the full view, so the interest sequence is
   the user's last 20 **full views** and the uninterest sequence the last 20 **skips**, both from
   training + validation rows strictly before the scored row
   (:class:`~frame_core.baselines.history.HistoryStore`), oldest first.
2. **Temporal graph.** Nodes are the videos of a sequence; each node has an edge from its
   predecessor (time order) and a cross-time edge from the most similar earlier node (cosine
   similarity of the item embeddings, the predecessor excluded; none for the first two). The
   paper links nodes by visual similarity; our item embedding already contains the visual vector
   when the dataset has videos.
3. **Graph-guided LSTM.** One LSTM per sequence whose cell at step t reads the state of the
   predecessor *and* the state of the cross-time neighbour, each with its own forget gate
   (c_t = i·g + f_p·c_{t−1} + f_n·c_{nb(t)}, h_t = o·tanh c_t): the paper's temporal-graph
   LSTM. Padding steps keep the state. The hidden states form F_in and F_un.
4. **Prediction.** A vanilla attention of the candidate over F_in gives f_in, over F_un gives
   f_un; two MLPs (32 → 1, ReLU) on [f, candidate, user] give ŷ_in and ŷ_un; the output is
   ŷ = α ŷ_in + (1 − α) ŷ_un with α = ½ (the paper's weighted sum of probabilities, its α's
   being hyper-parameters), trained with BCE.

**Deviations.** (a) The paper's third branch, the "multi-level interest" of likes and follows
(ŷ_en), is left out: our logs have no such signals. (b) The user id embedding is added to both
MLPs' input (the other baselines' input; it gives users with short histories a personal bias).
(c) Each history event carries an embedding of its time gap to the scored row (8 quantile
buckets) and the candidate carries its duration bucket. (d) Sizes: embeddings and LSTM
states of 16, sequences of 20 (the paper: 64-d visual embeddings and full click sequences).
(e) Training is our shared loop (Adam, lr 2e-3, batch 512, early stopping on validation AUC).
"""

from __future__ import annotations

import torch
from torch import nn

from frame_core.baselines.sequential import ItemTables, SequenceBaseline, SequenceNet, masked_softmax, mlp

SEQ_LEN = 20
ALPHA = 0.5


class GraphLSTM(nn.Module):
    """``n_seq`` LSTMs (own weights each) over left-padded sequences; step t also reads the state
    of node ``nb[t]`` (the cross-time neighbour). Run together so each step is one batched op."""

    def __init__(self, n_seq: int, dim: int, hidden: int):
        super().__init__()
        self.hidden = hidden
        scale = dim ** -0.5
        self.w_x = nn.Parameter(torch.randn(n_seq, dim, 5 * hidden) * scale)
        self.w_prev = nn.Parameter(torch.randn(n_seq, hidden, 5 * hidden) * hidden ** -0.5)
        self.w_nb = nn.Parameter(torch.randn(n_seq, hidden, 5 * hidden) * hidden ** -0.5)
        self.bias = nn.Parameter(torch.zeros(n_seq, 1, 5 * hidden))

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """x (n_seq, b, L, d), mask (n_seq, b, L) → hidden states (n_seq, b, L, h), zero at padding."""
        n, b, L, _ = x.shape
        nb = cross_time_neighbours(x.reshape(n * b, L, -1), mask.reshape(n * b, L)).reshape(n, b, L)
        gx = torch.einsum("nbld,ndh->nblh", x, self.w_x) + self.bias[:, :, None, :]
        zero = x.new_zeros(n, b, self.hidden)
        h, c = zero, zero
        hs, cs = [zero], [zero]  # slot 0: "no neighbour"; slot s + 1: the state after step s
        for t in range(L):
            if t >= 2:
                slot = (nb[:, :, t] + 1)[..., None, None].expand(-1, -1, 1, self.hidden)
                h_n = torch.stack(hs, 2).gather(2, slot).squeeze(2)
                c_n = torch.stack(cs, 2).gather(2, slot).squeeze(2)
            else:
                h_n, c_n = zero, zero
            gates = gx[:, :, t] + torch.bmm(h, self.w_prev) + torch.bmm(h_n, self.w_nb)
            i, o, g, f_p, f_n = gates.chunk(5, dim=-1)
            c_new = torch.sigmoid(i) * torch.tanh(g) + torch.sigmoid(f_p) * c + torch.sigmoid(f_n) * c_n
            h_new = torch.sigmoid(o) * torch.tanh(c_new)
            m = mask[:, :, t, None].to(x.dtype)
            h, c = m * h_new + (1 - m) * h, m * c_new + (1 - m) * c
            hs.append(h * m)
            cs.append(c * m)
        return torch.stack(hs[1:], 2)


def cross_time_neighbours(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """For each step t, the most similar valid step s < t − 1 (cosine of ``x``), -1 when none."""
    with torch.no_grad():
        z = torch.nn.functional.normalize(x, dim=-1)
        sim = z @ z.transpose(1, 2)  # (b, L, L)
        L = x.shape[1]
        earlier = torch.ones(L, L, dtype=torch.bool).tril(diagonal=-2)  # s <= t - 2
        ok = earlier[None] & mask[:, None, :] & mask[:, :, None]
        sim = sim.masked_fill(~ok, -2.0)
        best, idx = sim.max(dim=-1)
        return torch.where(best > -2.0, idx, torch.full_like(idx, -1))


class AlpineNet(SequenceNet):
    def __init__(self, tables: ItemTables, events: dict, n_gaps: int, dim: int):
        super().__init__(tables, events, (SEQ_LEN, SEQ_LEN), n_gaps, dim)
        self.lstm = GraphLSTM(2, dim, dim)  # [interest, uninterest]
        self.att_in, self.att_un = mlp((2 * dim, dim, 1)), mlp((2 * dim, dim, 1))
        self.head_in, self.head_un = mlp((3 * dim, 32, 1)), mlp((3 * dim, 32, 1))

    @staticmethod
    def _attend(att: nn.Module, F: torch.Tensor, mask: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
        qe = q[:, None, :].expand_as(F)
        w = masked_softmax(att(torch.tanh(torch.cat([F, qe], -1))).squeeze(-1), mask)
        return (w[..., None] * F).sum(1)

    def score(self, q, u, blocks) -> torch.Tensor:
        (ev_in, _, m_in, _), (ev_un, _, m_un, _) = blocks
        F_in, F_un = self.lstm(torch.stack([ev_in, ev_un]), torch.stack([m_in, m_un]))
        f_in = self._attend(self.att_in, F_in, m_in, q)
        f_un = self._attend(self.att_un, F_un, m_un, q)
        p_in = torch.sigmoid(self.head_in(torch.cat([f_in, q, u], -1)).squeeze(-1))
        p_un = torch.sigmoid(self.head_un(torch.cat([f_un, q, u], -1)).squeeze(-1))
        return ALPHA * p_in + (1 - ALPHA) * p_un


class AlpineBaseline(SequenceBaseline):
    """ALPINE on (user, video, duration bucket [, mean visual]) and the full-view / skip sequences."""

    name = "alpine"
    blocks = ((SEQ_LEN, 1), (SEQ_LEN, 0))

    def build(self, tables, events, n_gaps) -> AlpineNet:
        return AlpineNet(tables, events, n_gaps, self.dim)
