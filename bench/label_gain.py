"""What the fine-grained labels are worth on a log, measured without FRAME.

    OMP_NUM_THREADS=1 python bench/label_gain.py --worlds hate_dense,indep_topics_sharp [--seeds 1] \\
        [--root /tmp/sweep_worlds] [--out bench/out/label_gain.csv]

For each world of ``bench/sweep_defaults.py`` (same generators, same presets) a plain
L2-regularised latent-factor model of the clip labels is fitted at N_c = 8 and at N_c = 1::

    logit_uc = ⟨p_u, q_c⟩ + b_u + b_c + g_k        (k = position of clip c, k-dim 32)
    ŷ_uv     = Π_c sigmoid(logit_uc)                 (survival over the clips: full view)

trained with the clip BCE on the labelled clips + 0.5 × the BCE of ŷ_uv against the full-view
label + 0.05 × (‖p_u‖² + ‖q_c‖²) per row (the engine's ``factor_l2`` default), Adam 1e-2,
16 mini-batches an epoch, early stopping on validation AUC (patience 10 epochs). At N_c = 1 this
is a plain matrix factorisation of "watched to the end". Same split and rows as ``train``.

``--share R1,R2,…`` also fits, at N_c = 8, a *shared* variant for each R > 0: every clip's factor
and bias are its video's plus a clip deviation, ``q_c = q_v + δ_c`` and ``b_c = b_v + δb_c``, with
the penalty on δ_c R times that on q_v, so a clip with few labels leans on its video's. (README,
"What the clip labels are worth": it lost validation AUC on every world tried, so FRAME's clip
factors stay unshared.)

The difference ``fine − coarse`` of these two models is the gain that the clip labels themselves
carry on that world, with the same capacity and penalty on both sides: a yardstick for the
margin FRAME N_c = 8 can be expected to have over FRAME N_c = 1 (README, "What the clip labels
are worth"). Prints one line per run and a markdown table; appends to ``--out``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from sweep_defaults import load_world  # noqa: E402

from frame_core.data.prepare import prepare_data  # noqa: E402
from frame_core.data.split import TEST, TRAIN, VAL  # noqa: E402
from frame_core.data.validation import import_log  # noqa: E402
from frame_core.evaluation import metrics as M  # noqa: E402

K, L2, LR, BATCHES, PATIENCE, MAX_EPOCHS, VIDEO_W = 32, 0.05, 1e-2, 16, 10, 200, 0.5


def fit_clip_mf(data, seed: int, share: float = 0.0) -> tuple[float, float, int]:
    """(best validation AUC, test AUC at that epoch, epochs run) of the clip factorisation;
    ``share`` > 0: the shared variant (module docstring) with that penalty ratio."""
    torch.manual_seed(seed)
    nc, U, V = data.nc, data.n_users, data.n_videos
    C = V * nc
    sizes = [("p", U, K), ("q", C, K), ("bu", U, 1), ("bc", C, 1)] + ([("qv", V, K), ("bv", V, 1)] if share else [])
    emb = {n: torch.nn.Embedding(m, w) for n, m, w in sizes}
    for n in emb:
        (torch.nn.init.normal_(emb[n].weight, std=0.05) if n in ("p", "q", "qv") else torch.nn.init.zeros_(emb[n].weight))
    g = torch.nn.Parameter(torch.zeros(nc))
    opt = torch.optim.Adam([g, *(p for e in emb.values() for p in e.parameters())], lr=LR)
    ui, vi = torch.from_numpy(data.user_idx), torch.from_numpy(data.video_idx)
    cy, cm, y = torch.from_numpy(data.clip_y), torch.from_numpy(data.clip_mask), torch.from_numpy(data.y)
    tr, va, te = data.rows(TRAIN), data.rows(VAL), data.rows(TEST)

    def logits(r: torch.Tensor):
        u, v = ui[r], vi[r]
        c = v[:, None] * nc + torch.arange(nc)[None]
        q, b = emb["q"](c), emb["bc"](c)[..., 0]
        if share:
            q, b = q + emb["qv"](v)[:, None, :], b + emb["bv"](v)
        z = (emb["p"](u)[:, None, :] * q).sum(-1) + emb["bu"](u) + b + g
        return z, u, c

    def penalty(u: torch.Tensor, c: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
        pen = emb["p"](u).pow(2).sum(-1).mean() + (share or 1.0) * emb["q"](c).pow(2).sum(-1).mean()
        return pen + emb["qv"](vi[r]).pow(2).sum(-1).mean() if share else pen

    def auc(rows: np.ndarray) -> float:
        with torch.no_grad():
            return M.auc(data.y[rows], F.logsigmoid(logits(torch.from_numpy(rows))[0]).sum(-1).numpy())

    rng = np.random.default_rng(seed)
    best, best_test, bad, ran = -1.0, float("nan"), 0, 0
    for ep in range(1, MAX_EPOCHS + 1):
        ran = ep
        for b in np.array_split(tr[rng.permutation(len(tr))], BATCHES):
            r = torch.from_numpy(b)
            z, u, c = logits(r)
            m = cm[r]
            loss = F.binary_cross_entropy_with_logits(z[m], cy[r][m])
            lp = F.logsigmoid(z).sum(-1)  # log ŷ_uv
            l1p = torch.log(-torch.expm1(lp).clamp_max(-1e-7))  # log(1 − ŷ_uv)
            loss = loss - VIDEO_W * (y[r] * lp + (1 - y[r]) * l1p).mean()
            loss = loss + L2 * penalty(u, c, r)
            opt.zero_grad()
            loss.backward()
            opt.step()
        a = auc(va)
        if a > best + 1e-4:
            best, best_test, bad = a, auc(te), 0
        else:
            bad += 1
            if bad >= PATIENCE:
                break
    return best, best_test, ran


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--worlds", required=True, help="comma-separated names from bench/sweep_defaults.py WORLDS, "
                    "or paths of log CSVs (e.g. the worlds bench/independent_worlds.py writes)")
    ap.add_argument("--seeds", default="1")
    ap.add_argument("--root", default="/tmp/sweep_worlds", help="where generated worlds are written")
    ap.add_argument("--out", default=str(ROOT / "bench" / "out" / "label_gain.csv"))
    ap.add_argument("--share", default="", help="penalty ratios R of the shared variant at N_c = 8, e.g. 1,3,10")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    shares = [float(x) for x in args.share.split(",") if x]
    rows = []
    for world in args.worlds.split(","):
        if world.endswith(".csv"):  # a log file: named after its folder
            log, world = import_log(world)[0], Path(world).parent.name
        else:
            log = load_world(world, Path(args.root))
        for nc in (8, 1):
            data = prepare_data(log, nc, "watched-positive", "symmetric")
            for seed in (int(s) for s in args.seeds.split(",")):
                for share in [0.0, *(shares if nc > 1 else [])]:
                    val, test, ep = fit_clip_mf(data, seed, share)
                    rows.append(dict(world=world, nc=nc, share=share, seed=seed, val_auc=val, test_auc=test, epochs=ep))
                    print(f"{world} N_c={nc} share={share:g} seed={seed}: val {val:.4f} test {test:.4f} ({ep} epochs)",
                          flush=True)
    res = pd.DataFrame(rows)
    if shares:
        t = res.groupby(["world", "nc", "share"])[["val_auc", "test_auc"]].mean()
        print("\n| world | N_c | share ratio | val AUC | test AUC |\n|---|---|---|---|---|")
        for (w, nc, sh), r in t.iterrows():
            print(f"| {w} | {nc} | {'–' if not sh else f'{sh:g}'} | {r.val_auc:.4f} | {r.test_auc:.4f} |")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    res.to_csv(out, mode="a", header=not out.exists(), index=False)
    t = res[res["share"] == 0].groupby(["world", "nc"])["test_auc"].mean().unstack("nc")
    print("\n| world | clip MF N_c = 8 test | clip MF N_c = 1 test | gain of the clip labels |\n|---|---|---|---|")
    for w, r in t.iterrows():
        print(f"| {w} | {r[8]:.4f} | {r[1]:.4f} | {r[8] - r[1]:+.4f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
