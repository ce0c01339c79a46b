"""Small, readable slices of the user–clip graphs for inspection (Graph Inspector, Learn).

Nothing here densifies a whole graph: every function takes a handful of rows or columns of the
sparse CSR matrices of :class:`~frame_core.data.graphs.UserClipGraphs` and returns small frames.

Also holds the **toy example** (3 users × 4 clips) that the Graph Inspector and the Learn page
build live, step by step: views → watch ratios → clip labels → R^P, R^N → R̃.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import scipy.sparse as sp

from frame_core.common import schema as S
from frame_core.data.graphs import IdMaps, UserClipGraphs, binary_matrix, normalize
from frame_core.data.labels import POLICIES, check_nc, clip_labels, skip_clip
from frame_core.data.validation import validate_log

MAX_BLOCK_CELLS = 250_000  # largest dense block a caller may ask for


@dataclasses.dataclass
class Ego:
    """Edges of an ego view. ``edges`` has one row per (user, clip, sign):

    ``user`` (id), ``video`` (id), ``clip`` (0-based index in the video), ``col`` (global clip
    index ``video_index · nc + clip``), ``row`` (user index), ``sign`` (+1 positive, −1
    negative), ``weight`` (the R̃ value of that edge in its own graph).
    ``users``/``cols`` list the node indices shown, in drawing order; ``total_users`` /
    ``total_cols`` count what there was before the cap."""

    edges: pd.DataFrame
    users: np.ndarray
    cols: np.ndarray
    total_users: int
    total_cols: int

    @property
    def truncated(self) -> bool:
        return len(self.users) < self.total_users or len(self.cols) < self.total_cols


def _edges(g: UserClipGraphs, maps: IdMaps, rows: np.ndarray, cols: np.ndarray) -> pd.DataFrame:
    """All positive and negative edges between the given user rows and clip columns."""
    frames = []
    for sign, R, Rn in ((1, g.RP, g.RP_norm), (-1, g.RN, g.RN_norm)):
        block = R[rows][:, cols].tocoo()
        wblock = Rn[rows][:, cols].tocsr()
        w = np.asarray(wblock[block.row, block.col]).ravel() if block.nnz else np.zeros(0)
        frames.append(
            pd.DataFrame(
                {
                    "row": rows[block.row].astype("int64"),
                    "col": cols[block.col].astype("int64"),
                    "sign": np.full(block.nnz, sign, dtype="int8"),
                    "weight": w.astype("float64"),
                }
            )
        )
    e = pd.concat(frames, ignore_index=True)
    nc = g.nc
    e.insert(0, "user", maps.users[e["row"].to_numpy()] if len(e) else np.zeros(0, dtype=object))
    e.insert(1, "video", maps.videos[e["col"].to_numpy() // nc] if len(e) else np.zeros(0, dtype=object))
    e.insert(2, "clip", (e["col"] % nc).astype("int64"))
    return e.sort_values(["row", "col", "sign"], ascending=[True, True, False], kind="stable").reset_index(drop=True)


def ego_user(g: UserClipGraphs, maps: IdMaps, user_index: int, max_clips: int = 60) -> Ego:
    """The clips one user has edges to (positive or negative), grouped by video in the order the
    videos first appear in the id map. At most ``max_clips`` clips are kept, whole videos first:
    a video is cut only when it alone is larger than the cap."""
    u = int(user_index)
    cols = np.union1d(g.RP[u].indices, g.RN[u].indices).astype("int64")
    total = len(cols)
    if total > max_clips:
        videos = cols // g.nc
        # keep whole videos while they fit; at least the first video (cut to the cap)
        _, starts = np.unique(videos, return_index=True)
        ends = np.append(starts[1:], total)
        fit = ends <= max_clips
        n_keep = int(ends[fit][-1]) if fit.any() else max_clips
        cols = cols[:n_keep]
    rows = np.array([u], dtype="int64")
    return Ego(_edges(g, maps, rows, cols), rows, cols, 1, total)


def ego_video(g: UserClipGraphs, maps: IdMaps, video_index: int, max_users: int = 40) -> Ego:
    """All ``nc`` clips of one video and the users with edges to them, the users with the most
    edges first (ties by user index), at most ``max_users``."""
    nc = g.nc
    cols = np.arange(int(video_index) * nc, (int(video_index) + 1) * nc, dtype="int64")
    deg = np.asarray(g.RP[:, cols].sum(axis=1)).ravel() + np.asarray(g.RN[:, cols].sum(axis=1)).ravel()
    users = np.flatnonzero(deg > 0)
    total = len(users)
    order = np.lexsort((users, -deg[users]))
    users = users[order][:max_users].astype("int64")
    return Ego(_edges(g, maps, users, cols), users, cols, total, nc)


def neighbours(g: UserClipGraphs, user_index: int, cols: np.ndarray, n: int = 9) -> np.ndarray:
    """Up to ``n`` other users with the most edges (either sign) to the clips ``cols``."""
    cols = np.asarray(cols, dtype="int64")
    if len(cols) == 0:
        return np.zeros(0, dtype="int64")
    deg = np.asarray(g.RP[:, cols].sum(axis=1)).ravel() + np.asarray(g.RN[:, cols].sum(axis=1)).ravel()
    deg[int(user_index)] = 0
    cand = np.flatnonzero(deg > 0)
    order = np.lexsort((cand, -deg[cand]))
    return cand[order][:n].astype("int64")


def signed_block(g: UserClipGraphs, rows, cols) -> dict[str, np.ndarray]:
    """Dense small blocks for the selected user rows × clip columns:

    - ``signed``: R^P − R^N (+1 positive only, −1 negative only, 0 none *or both*);
    - ``both``: True where the user has both a positive and a negative label on the clip;
    - ``RP_norm``, ``RN_norm``: the R̃ values.
    Raises ValueError when the block would exceed :data:`MAX_BLOCK_CELLS` cells."""
    rows = np.asarray(rows, dtype="int64")
    cols = np.asarray(cols, dtype="int64")
    if len(rows) * len(cols) > MAX_BLOCK_CELLS:
        raise ValueError(f"selection of {len(rows)} × {len(cols)} is too large to show densely")

    def dense(M: sp.csr_matrix) -> np.ndarray:
        return M[rows][:, cols].toarray().astype("float64")

    rp, rn = dense(g.RP), dense(g.RN)
    return {
        "signed": rp - rn,
        "both": (rp > 0) & (rn > 0),
        "RP_norm": dense(g.RP_norm),
        "RN_norm": dense(g.RN_norm),
    }


def clip_label_text(maps: IdMaps, nc: int, cols) -> list[str]:
    """Readable names ``<video>#<clip>`` for global clip indices."""
    cols = np.asarray(cols, dtype="int64")
    return [f"{maps.videos[c // nc]}#{c % nc}" for c in cols]


# ------------------------------------------------------------------------------- toy example
TOY_NC = 4
TOY_DURATION = 20.0


def toy_log() -> pd.DataFrame:
    """The toy log: one 20-second video ``v1``, three users, one view each.

    - ``u1`` watches it to the end and loops a bit (26 s, r = 1.3): a full view;
    - ``u2`` leaves after 6 s (r = 0.3): a skip in clip 1 of 4;
    - ``u3`` leaves after 17 s (r = 0.85): a skip in clip 3 of 4.
    """
    return pd.DataFrame(
        {
            S.USER: ["u1", "u2", "u3"],
            S.VIDEO: ["v1", "v1", "v1"],
            S.PLAY: [26.0, 6.0, 17.0],
            S.DURATION: [TOY_DURATION] * 3,
            S.TIMESTAMP: [1.0, 2.0, 3.0],
        }
    )


@dataclasses.dataclass
class ToySteps:
    """Every intermediate of the toy example, as small labelled frames."""

    views: pd.DataFrame  # the clean log with watch ratio, full view, skip clip
    labels: dict[str, pd.DataFrame]  # policy -> users × clips table of "+", "−" or ""
    RP: dict[str, pd.DataFrame]  # policy -> users × clips 0/1
    RN: dict[str, pd.DataFrame]
    RP_norm: dict[str, dict[str, pd.DataFrame]]  # policy -> norm -> users × clips
    RN_norm: dict[str, dict[str, pd.DataFrame]]
    nc: int


def toy_steps(log: pd.DataFrame | None = None, nc: int = TOY_NC) -> ToySteps:
    """Build the toy example (or any tiny log) step by step, with every graph built from all
    rows (a toy has no split). The log is validated first: bad rows raise InputError."""
    nc = check_nc(nc)
    raw = toy_log() if log is None else log
    clean, _ = validate_log(raw, name="toy log")
    maps = IdMaps.from_log(clean)
    p = clean[S.PLAY].to_numpy()
    d = clean[S.DURATION].to_numpy()
    r = p / d
    full = r >= 1
    views = clean[[S.USER, S.VIDEO, S.PLAY, S.DURATION]].copy()
    views["watch_ratio"] = r
    views["full_view"] = full
    k = pd.array(skip_clip(p, d, nc), dtype="Int64")
    k[full] = pd.NA
    views["skip_clip"] = k
    clip_names = [f"{v}#{c}" for v in maps.videos for c in range(nc)]
    user_names = [str(u) for u in maps.users]
    u_idx = maps.user_index(clean[S.USER])
    v_idx = maps.video_index(clean[S.VIDEO])
    shape = (maps.n_users, maps.n_videos * nc)
    labels, RP, RN, RPn, RNn = {}, {}, {}, {}, {}
    for policy in POLICIES:
        lab = clip_labels(p, d, nc, policy)
        rows, cols = u_idx[lab.row], v_idx[lab.row] * nc + lab.clip
        rp = binary_matrix(rows[lab.label == 1], cols[lab.label == 1], shape)
        rn = binary_matrix(rows[lab.label == 0], cols[lab.label == 0], shape)
        grid = np.full(shape, "", dtype=object)
        dp, dn = rp.toarray(), rn.toarray()  # toy size: a few cells
        grid[dp > 0] = "+"
        grid[dn > 0] = "−"
        grid[(dp > 0) & (dn > 0)] = "±"
        labels[policy] = pd.DataFrame(grid, index=user_names, columns=clip_names)
        RP[policy] = pd.DataFrame(dp.astype("int64"), index=user_names, columns=clip_names)
        RN[policy] = pd.DataFrame(dn.astype("int64"), index=user_names, columns=clip_names)
        RPn[policy] = {
            m: pd.DataFrame(normalize(rp, m).toarray().astype("float64"), index=user_names, columns=clip_names)
            for m in ("symmetric", "row")
        }
        RNn[policy] = {
            m: pd.DataFrame(normalize(rn, m).toarray().astype("float64"), index=user_names, columns=clip_names)
            for m in ("symmetric", "row")
        }
    return ToySteps(views=views, labels=labels, RP=RP, RN=RN, RP_norm=RPn, RN_norm=RNn, nc=nc)


def toy_propagation(R_norm: pd.DataFrame, activation=np.tanh) -> dict[str, pd.DataFrame]:
    """One illustrative GCN pass over a toy R̃ with one-hot clip inputs and identity weights:
    ``H_c0 = I`` (each clip its own direction), ``H_u = σ(R̃ · H_c0)`` (a user's interest is the
    normalised sum of their clips), ``H_c = σ(R̃ᵀ · H_u)`` (a clip's two-hop embedding mixes the
    clips that share users with it). Real models learn W and use d-dimensional embeddings."""
    R = R_norm.to_numpy(dtype="float64")
    H_c0 = np.eye(R.shape[1])
    H_u = activation(R @ H_c0)
    H_c = activation(R.T @ H_u)
    cols = list(R_norm.columns)
    return {
        "H_c0": pd.DataFrame(H_c0, index=cols, columns=cols),
        "H_u": pd.DataFrame(H_u, index=R_norm.index, columns=cols),
        "H_c": pd.DataFrame(H_c, index=cols, columns=cols),
    }
