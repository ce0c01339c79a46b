"""Engine commands: ``train``, ``predict``, ``ablate`` and ``compare`` (docs/design.md, "CLI")."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from frame_core.cli.common import (
    add_import_options,
    default_videos,
    engine_progress,
    frame_config,
    import_clean,
    input_limits,
    progress_bar,
    train_features,
)
from frame_core.common.errors import InputError
from frame_core.common.seeds import parse_seeds

log = logging.getLogger("frame_core")


def cmd_train(args) -> int:
    from frame_core.training.pipeline import train_run

    cfg = frame_config(args)
    clean, report = import_clean(args)
    default_videos(args)
    if args.model == "ensemble":
        if args.distributed:
            raise InputError("--distributed trains --model frame only; leave out --model ensemble")
        if args.features:
            raise InputError("the ensemble needs features for N_c and for N_c = 1: give --videos DIR, not --features")
        from frame_core.training.ensemble_run import train_ensemble_run

        feats_for_nc = (lambda nc: train_features(args, clean, nc)) if args.videos else None
        with progress_bar("ensemble") as bar:
            run = train_ensemble_run(clean, args.out, cfg, features_for_nc=feats_for_nc, progress=engine_progress(bar),
                                     source=str(args.log), overwrite=args.overwrite)
        print(f"ensemble of FRAME N_c={cfg.nc}, coarse N_c=1 and logreg, seed {cfg.seed}: {run.blend.describe()}")
    elif args.distributed:
        return _train_distributed(args, cfg, clean)
    else:
        feats = train_features(args, clean, cfg.nc)
        with progress_bar("train") as bar:
            run = train_run(clean, args.out, cfg, features=feats, progress=engine_progress(bar),
                            source=str(args.log), overwrite=args.overwrite)
        m = run.metrics
        print(f"N_c={cfg.nc} policy={cfg.policy} seed={cfg.seed}: best epoch {m['best_epoch']} of {m['epochs_run']} "
              f"({m['selection']}), {m['train_seconds']:.1f} s")
    _print_metrics(args, run)
    return 0


def _train_distributed(args, cfg, clean) -> int:
    """One rank of ``torchrun … -m frame_core train … --distributed``: rank 0 writes the run
    folder and prints the summary; the other ranks print nothing."""
    from frame_core.training.distributed import init_from_env
    from frame_core.training.pipeline import train_run

    ctx = init_from_env(args.dist_backend)
    try:
        feats = train_features(args, clean, cfg.nc)
        if not ctx.is_main:
            train_run(clean, args.out, cfg, features=feats, overwrite=args.overwrite, dist=ctx)
            return 0
        with progress_bar("train") as bar:
            run = train_run(clean, args.out, cfg, features=feats, progress=engine_progress(bar),
                            source=str(args.log), overwrite=args.overwrite, dist=ctx)
    finally:
        ctx.close()
    m = run.metrics
    print(f"N_c={cfg.nc} policy={cfg.policy} seed={cfg.seed} on {ctx.world_size} processes: best epoch "
          f"{m['best_epoch']} of {m['epochs_run']} ({m['selection']}), {m['train_seconds']:.1f} s")
    _print_metrics(args, run)
    return 0


def _print_metrics(args, run) -> None:
    m = run.metrics
    keys = ("auc", "gauc", "logloss", "recall@3", "ndcg@3", "recall@5", "ndcg@5", "val_auc")
    print("test " + ", ".join(f"{k} {m[k]:.4f}" if m.get(k) is not None else f"{k} n/a" for k in keys))
    if m.get("skip_hit@1") is not None:
        print(f"skip localisation hit@1 {m['skip_hit@1']:.4f} (random {m['skip_hit@1_random']:.4f}, "
              f"position prior {m['skip_hit@1_prior']:.4f})")
    print(f"-> {args.out}")


def _read_pairs(args):
    """The pairs to score: a full log (validated like `validate`) or just user_id, video_id
    (and optionally duration_time) after --map and --time-unit."""
    import pandas as pd

    from frame_core.common import schema as S
    from frame_core.data.logio import read_table
    from frame_core.data.validation import parse_mapping

    mapping = parse_mapping(args.map)
    inverse = {v: k for k, v in mapping.items()}
    raw = read_table(args.log, limits=input_limits(args),
                     id_columns=[inverse.get(S.USER, S.USER), inverse.get(S.VIDEO, S.VIDEO)])
    df = raw.rename(columns=mapping)
    if S.PLAY in df.columns:
        return import_clean(args)[0]
    missing = [c for c in (S.USER, S.VIDEO) if c not in df.columns]
    if missing:
        raise InputError(f"{Path(args.log).name} lacks column(s) {', '.join(missing)}; map them with --map SRC=DST")
    out = pd.DataFrame({S.USER: df[S.USER].astype(str), S.VIDEO: df[S.VIDEO].astype(str)})
    if S.DURATION in df.columns:
        out[S.DURATION] = pd.to_numeric(df[S.DURATION], errors="coerce") * (1e-3 if args.time_unit == "ms" else 1.0)
    return out


def cmd_predict(args) -> int:
    from frame_core.common.safe_csv import write_csv
    from frame_core.runs.loader import load_run

    run = load_run(args.run_dir)
    pairs = _read_pairs(args)
    pred = run.predict(pairs)
    write_csv(pred, args.out)
    cold_u = int((run.maps.user_index(pred["user_id"]) < 0).sum())
    cold_v = int((run.maps.video_index(pred["video_id"]) < 0).sum())
    print(f"{len(pred):,} pairs scored with N_c={run.nc} ({cold_u:,} with users and {cold_v:,} with videos "
          f"the run has not seen) -> {args.out}")
    return 0


def cmd_ablate(args) -> int:
    from frame_core.experiments.ablation import parse_ncs, run_ablation

    ncs = parse_ncs(args.nc)
    seeds = parse_seeds(args.seeds)
    cfg = frame_config(args)
    clean, report = import_clean(args)
    if args.features:
        raise InputError("ablate needs features for every N_c: give --videos DIR instead of --features")
    default_videos(args)
    feats_for_nc = (lambda nc: train_features(args, clean, nc)) if args.videos else None
    with progress_bar("ablate") as bar:
        run_ablation(clean, args.out, ncs, seeds, cfg, features_for_nc=feats_for_nc, progress=engine_progress(bar),
                     source=str(args.log), overwrite=args.overwrite)
    print((Path(args.out) / "results.md").read_text(encoding="utf-8"), end="")
    print(f"-> {Path(args.out) / 'results.csv'}, {Path(args.out) / 'results.md'}")
    return 0


def cmd_compare(args) -> int:
    from frame_core.baselines.compare import run_comparison
    from frame_core.baselines.registry import VISUAL_MODELS, parse_models

    models = parse_models(args.models)
    clean, report = import_clean(args)
    feats_for_nc = None
    if any(m in VISUAL_MODELS for m in models):
        default_videos(args)
        if args.videos:
            feats_for_nc = lambda nc: train_features(args, clean, nc)  # noqa: E731
    for opt in ("epochs", "patience"):
        if getattr(args, opt) is not None and getattr(args, opt) < 1:
            raise InputError(f"--{opt} must be at least 1, got {getattr(args, opt)}")
    with progress_bar("compare") as bar:
        def progress(event):
            if event["event"] == "run_start":
                bar.total = event["n_runs"]
                bar.set_description(f"{event['model']} seed {event['seed']}")
            elif event["event"] == "epoch":
                val = event.get("val_auc")
                shown = f" val_auc {val:.4f}" if val is not None and val == val else ""  # skip None / NaN
                bar.set_postfix_str(f"epoch {event['epoch']}{shown}")
            elif event["event"] == "run_done":
                bar.update(1)
            log.info("%s", {k: v for k, v in event.items()})

        run_comparison(
            clean, models, seeds=args.seeds, progress=progress, out_dir=args.out, max_epochs=args.epochs,
            patience=args.patience, save_predictions=not args.no_predictions, features_for_nc=feats_for_nc,
        )
    print((Path(args.out) / "results.md").read_text(encoding="utf-8"), end="")
    print(f"-> {Path(args.out) / 'results.csv'}, {Path(args.out) / 'results.md'}")
    return 0


def _rate_or_auto(text: str):
    """``--cold-dropout``: ``auto`` or a number (checked by FrameConfig)."""
    if text.strip().lower() == "auto":
        return "auto"
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1) or auto, got {text!r}") from None


def _add_engine_options(p, *, single_nc: bool) -> None:
    if single_nc:
        p.add_argument("--nc", type=int, required=True, help="clips per video N_c (1 = coarse model)")
        p.add_argument("--seed", type=int, help="random seed (default 0)")
    p.add_argument("--videos", help="folder of video files: visual clip features via frame_core.video")
    p.add_argument("--features", help="clip features file from `embed` (same N_c)")
    p.add_argument("--no-videos", action="store_true",
                   help="ignore a videos/ folder beside LOG and use learned id embeddings")
    p.add_argument("--epochs", type=int, help="maximum epochs (default: FrameConfig)")
    p.add_argument("--patience", type=int, help="early-stopping patience in epochs")
    p.add_argument("--policy", choices=("paper", "watched-positive"), help="clip label policy (default watched-positive)")
    p.add_argument("--video-score", choices=("mean", "product"), help="video score from clip probabilities")
    p.add_argument("--hybrid-lambda", type=float, help="weight of the video-level BCE (0 = off)")
    p.add_argument("--norm", choices=("symmetric", "row"), help="graph normalisation")
    p.add_argument("--emb-dim", type=int, help="embedding size d")
    p.add_argument("--lr", type=float, help="Adam learning rate")
    p.add_argument("--emb-lr", type=float, help="Adam learning rate of the learned id embedding tables")
    p.add_argument("--weight-decay", type=float, help="Adam weight decay")
    p.add_argument("--factor-dim", type=int, help="size of the clip factors <p_u, q_c> + b_u + b_c (0 = off; "
                   "default: 32 with id embeddings, 0 with visual features)")
    p.add_argument("--factor-l2", type=float, help="L2 penalty of the clip factors (default 0.05)")
    p.add_argument("--factor-share", action=argparse.BooleanOptionalAction, default=None,
                   help="each clip factor is its video's plus its own, so clips with few labels lean on their video "
                        "(default auto: on with N_c > 1 and at least 80 training views per video)")
    p.add_argument("--cold-dropout", type=_rate_or_auto, metavar="P|auto",
                   help="share of each training step's videos scored as if new, for logs whose test videos are "
                        "mostly new; auto = the validation share of views on videos without a training view")
    p.add_argument("--id-l2", type=float, help="L2 penalty of the clip id embeddings (default 0.3)")
    p.add_argument("--bias-init", choices=("zero", "data"),
                   help="start the clip factors' biases at zero (default) or at each user's and clip's shrunk training pass rate")
    p.add_argument("--dropout", type=float, help="MLP dropout")
    p.add_argument("--batch-size", type=int, help="views per mini-batch")
    p.add_argument("--exclude-batch-edges", type=lambda v: v.lower() in ("1", "true", "yes", "on"), metavar="BOOL",
                   help="take a batch's own edges out of the graphs for its step (true/false)")
    p.add_argument("--lr-schedule", choices=("none", "plateau", "cosine"), help="learning-rate schedule")
    p.add_argument("--warmup-epochs", type=float, help="linear learning-rate warm-up (epochs)")
    p.add_argument("--min-delta", type=float, help="early stopping: minimum gain in validation AUC")
    p.add_argument("--val-per-epoch", type=int, help="validation checks per epoch (0 = auto)")
    p.add_argument("--time-budget", type=float, help="stop training after this many seconds (0 = none)")
    p.add_argument("--config", help="JSON file with FrameConfig fields (a run's config.json works too)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing run folder")
    add_import_options(p)


def add_engine_parsers(sub) -> None:
    p = sub.add_parser("train", help="train FRAME on a log; write a run folder (metrics, predictions, weights)")
    p.add_argument("log")
    p.add_argument("--out", required=True, help="run folder to create")
    p.add_argument("--model", choices=("frame", "ensemble"), default="frame",
                   help="frame (default), or ensemble: FRAME + coarse (N_c = 1) + logreg blended on validation")
    p.add_argument("--distributed", action="store_true",
                   help="one rank of a torch.distributed job: launch with torchrun --nproc_per_node N -m frame_core "
                   "train ... --distributed (DistributedDataParallel; only rank 0 writes the run folder)")
    p.add_argument("--dist-backend", choices=("gloo", "nccl"), default="gloo",
                   help="torch.distributed backend (gloo: the engine trains on the CPU)")
    _add_engine_options(p, single_nc=True)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("predict", help="score user-video pairs with a trained run")
    p.add_argument("run_dir")
    p.add_argument("log", help="log or pairs table (user_id, video_id[, duration_time])")
    p.add_argument("--out", required=True, help="CSV: user_id, video_id, p_full, p_clip_0..")
    add_import_options(p)
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser("ablate", help="N_c ablation (fine vs coarse) over seeds; write results.csv/.md")
    p.add_argument("log")
    p.add_argument("--nc", default="1,4,8", help="comma-separated N_c values (default 1,4,8)")
    p.add_argument("--seeds", default="3", help="number of seeds K (0..K-1) or a list like 0,1,2 (default 3)")
    p.add_argument("--out", required=True, help="output folder")
    _add_engine_options(p, single_nc=False)
    p.set_defaults(func=cmd_ablate)
    p = sub.add_parser("compare", help="train FRAME, coarse and the baselines on one split; write results.csv/.md")
    p.add_argument("log")
    p.add_argument(
        "--models", default="all",
        help="comma-separated: frame, coarse, deepfm, nfm, autoint, difm, afn, lightgcn, popularity, logreg, ensemble "
        "(or all, baselines); default all",
    )
    p.add_argument("--seeds", default="3", help="number of seeds K (seeds 0..K-1) or a list like 0,1,2; default 3")
    p.add_argument("--out", required=True, help="output folder (results.csv, results.md, runs.csv, ...)")
    p.add_argument("--epochs", type=int, help="maximum epochs of every trained model (default: each model's own)")
    p.add_argument("--patience", type=int, help="early-stopping patience in epochs (default: each model's own)")
    p.add_argument("--no-predictions", action="store_true", help="do not write test_predictions.csv")
    p.add_argument("--videos", help="folder of video files: visual clip features for frame and coarse "
                   "(default: a videos/ folder beside LOG; the baselines never see them)")
    p.add_argument("--no-videos", action="store_true", help="frame and coarse use learned id embeddings")
    add_import_options(p)
    p.set_defaults(func=cmd_compare)


def cmd_tune(args) -> int:
    from frame_core.experiments.tune import parse_budget, run_tune

    budget = parse_budget(args.budget)
    if args.workers < 1 or args.workers > 64:
        raise InputError(f"--workers must be from 1 to 64, got {args.workers}")
    clean, report = import_clean(args)
    default_videos(args)
    feats = train_features(args, clean, args.nc)

    def progress(event: dict) -> None:
        if event.get("event") == "trial":
            value = event.get("value")
            shown = f"{value:.4f}" if isinstance(value, float) else "–"
            log.warning("trial %s %s: validation AUC %s", event["number"], event["state"].lower(), shown)

    base = frame_config(args) if args.config else None
    out = run_tune(clean, args.out, nc=args.nc, budget_s=budget, features=feats, config=base, storage=args.storage,
                   study_name=args.study_name, workers=args.workers, seed=args.seed, progress=progress,
                   heartbeat_s=args.heartbeat)
    trials = ", ".join(f"{n} {k.lower()}" for k, n in sorted(out["trials"].items()))
    print(f"tuned N_c={args.nc} in {args.budget}: {trials}; best trial {out['best_trial']} "
          f"(validation AUC {out['best_value']:.4f})")
    print("best: " + ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in out["best_params"].items()))
    print(f"run trained with it: test AUC {out['test_auc']:.4f} -> {out['run']}")
    return 0


def add_tune_parser(sub) -> None:
    p = sub.add_parser("tune", help="choose FRAME's configuration on validation AUC (Optuna); write the study, "
                                    "best_config.json and a run trained with it")
    p.add_argument("log")
    p.add_argument("--nc", type=int, required=True, help="clips per video N_c")
    p.add_argument("--budget", default="10m", help="wall-time budget, e.g. 10m, 90s, 1h (default 10m)")
    p.add_argument("--out", required=True, help="output folder (study.db, trials.csv, best_config.json, run/)")
    p.add_argument("--workers", type=int, default=1, help="worker processes on the study (default 1)")
    p.add_argument("--storage", help="Optuna storage URL shared by workers on several machines "
                                     "(default: sqlite:///OUT/study.db)")
    p.add_argument("--study-name", help="study name (default: from N_c and the log's hash)")
    p.add_argument("--seed", type=int, default=0, help="seed of the sampler and of every trial (default 0)")
    p.add_argument("--heartbeat", type=int, default=5, help="seconds between trial heartbeats; a dead worker's "
                                                            "trial is retried after 4 of them (default 5)")
    p.add_argument("--videos", help="folder of video files: visual clip features")
    p.add_argument("--no-videos", action="store_true", help="ignore a videos/ folder beside LOG (id embeddings)")
    p.add_argument("--features", help="clip features file from `embed` (same N_c)")
    p.add_argument("--config", help="JSON file with FrameConfig fields: the base that the search starts from")
    add_import_options(p)
    p.set_defaults(func=cmd_tune)
