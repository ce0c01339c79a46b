"""Command-line interface: ``python -m frame_core <command> …`` (DESIGN §3).

Contract: bad input exits with code 2 and a single line ``error: …`` on stderr, never a
traceback. Results go to the files named by ``--out``; human-readable summaries go to stdout.
Progress bars (tqdm) are drawn on stderr only when it is a terminal.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from frame_core.common.errors import CancelledError, InputError

log = logging.getLogger("frame_core")


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors and exit code 2."""

    def error(self, message: str):  # noqa: D401 - argparse API
        sys.stderr.write(f"error: {message} (see {self.prog} --help)\n")
        raise SystemExit(2)


def _add_import_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--time-unit", choices=("s", "ms"), default="s", help="unit of the source's time columns")
    p.add_argument(
        "--map", action="append", default=[], metavar="SRC=DST",
        help="rename a source column to a schema column, e.g. play_time_ms=playing_time (repeatable)",
    )
    p.add_argument("--max-mb", type=float, default=2048, help="size limit after decompression (MB)")


def _import(args):
    from frame_core.data.validation import import_log

    return import_log(args.log, mapping=args.map, time_unit=args.time_unit, max_bytes=int(args.max_mb * 1e6))


def progress_bar(desc: str, total: int | None = None):
    """A tqdm bar on stderr when it is a terminal, else a silent stand-in."""
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, disable=not sys.stderr.isatty(), file=sys.stderr, leave=False)


# ---------------------------------------------------------------------------------- commands
def cmd_validate(args) -> int:
    import json

    clean, report = _import(args)
    print(report.to_text())
    if args.json:
        Path(args.json).write_text(json.dumps(report.to_dict(), indent=2))
    if args.rejected:
        from frame_core.common.safe_csv import write_csv

        write_csv(report.rejected_rows, args.rejected)
    return 0


def cmd_labels(args) -> int:
    from frame_core.common.safe_csv import write_csv
    from frame_core.data.labels import labels_frame

    clean, report = _import(args)
    out = labels_frame(clean, args.nc, args.policy)
    write_csv(out, args.out)
    n_pos = int(out["label"].sum())
    print(
        f"{len(out):,} labelled clips from {len(clean):,} views (N_c={args.nc}, policy={args.policy}): "
        f"{n_pos:,} positive, {len(out) - n_pos:,} negative -> {args.out}"
    )
    return 0


def cmd_synth(args) -> int:
    from frame_core.synth import generate_world

    with progress_bar("synth") as bar:
        def progress(done, total, stage):
            bar.total = total
            bar.set_description(stage)
            bar.n = done
            bar.refresh()

        summary = generate_world(
            args.out_dir, users=args.users, videos=args.videos, per_user=args.per_user, seed=args.seed,
            video=not args.no_video, progress=progress,
        )
    print(", ".join(f"{k}={v:,.4g}" if isinstance(v, float) else f"{k}={v:,}" for k, v in summary.items()
                    if isinstance(v, (int, float))))
    return 0


def cmd_embed(args) -> int:
    from frame_core.video import embed_videos, save_clip_features

    with progress_bar("embed") as bar:
        def progress(done, total, stage):
            bar.total = total
            bar.n = done
            bar.set_description(stage)
            bar.refresh()

        encoder = None
        if args.onnx:
            from frame_core.video.encoders import OnnxEncoder

            encoder = OnnxEncoder(args.onnx)
        feats, report = embed_videos(
            args.videos_dir, args.nc, k=args.k, encoder=encoder, cache_dir=args.cache_dir, progress=progress
        )
    save_clip_features(feats, args.out)
    print(report.to_text() if hasattr(report, "to_text") else str(report))
    print(f"{len(feats.video_ids):,} clip vectors of dimension {feats.matrix.shape[1]} -> {args.out}")
    return 0


# --- compare (baselines helper's block) -------------------------------------------------
def cmd_compare(args) -> int:
    from frame_core.baselines.compare import run_comparison
    from frame_core.baselines.registry import ENGINE_MODELS, parse_models

    models = parse_models(args.models)
    clean, report = _import(args)
    feats_for_nc = None
    if any(m in ENGINE_MODELS for m in models):
        _default_videos(args)
        if args.videos:
            feats_for_nc = lambda nc: _train_features(args, clean, nc)  # noqa: E731
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
# --- end compare ---------------------------------------------------------------------------


# --- engine: train / predict / ablate (FRAME engine helper's block) -----------------------
def _frame_config(args):
    """FrameConfig from --config JSON (optional) and the explicit options (None = default)."""
    import json

    from frame_core.model.config import FrameConfig

    base: dict = {}
    if getattr(args, "config", None):
        try:
            base = json.loads(Path(args.config).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InputError(f"cannot read config file {args.config}: {exc}") from None
        if not isinstance(base, dict):
            raise InputError(f"config file {args.config} must hold a JSON object")
        base = base.get("config", base)  # accept a run's config.json too
    opts = {
        "nc": getattr(args, "nc", None) if isinstance(getattr(args, "nc", None), int) else None,
        "policy": args.policy, "epochs": args.epochs, "seed": getattr(args, "seed", None),
        "patience": args.patience, "emb_dim": args.emb_dim, "lr": args.lr, "emb_lr": args.emb_lr,
        "batch_size": args.batch_size,
        "video_score": args.video_score, "hybrid_lambda": args.hybrid_lambda, "norm": args.norm,
        "dropout": args.dropout, "weight_decay": args.weight_decay,
    }
    base.update({k: v for k, v in opts.items() if v is not None})
    return FrameConfig.from_dict(base)


def _engine_progress(bar):
    """A progress callback that drives a tqdm bar from the engine's step/epoch events."""
    state = {"epoch": 0}

    def progress(event: dict) -> None:
        kind = event.get("event")
        if kind == "step":
            if event["epoch"] != state["epoch"]:
                state["epoch"] = event["epoch"]
                bar.reset(total=event["n_steps"])
                run = f"run {event['run'] + 1}/{event['n_runs']} N_c={event['nc']} seed={event['seed']} " \
                    if "run" in event else ""
                bar.set_description(f"{run}epoch {event['epoch']}")
            bar.n = event["step"]
            bar.set_postfix_str(f"loss {event['loss']:.4f}", refresh=False)
            bar.refresh()
        elif kind == "epoch":
            val = event.get("val_auc")
            shown = f" val_auc {val:.4f}" if val is not None and val == val else ""
            log.info("epoch %s: loss %.4f%s", event["epoch"], event["loss"], shown)
            bar.set_postfix_str(f"loss {event['loss']:.4f}{shown}")

    return progress


def _default_videos(args) -> None:
    """Decision: a ``videos/`` folder with video files beside LOG (the layout ``synth`` writes
    and the bundled sample uses) is used for visual clip features unless --videos, --features
    or --no-videos says otherwise. Said on stderr, so the choice is never silent."""
    if getattr(args, "videos", None) or getattr(args, "features", None) or getattr(args, "no_videos", False):
        return
    folder = Path(args.log).parent / "videos"
    exts = (".webm", ".mp4", ".avi", ".mkv", ".mov")
    if folder.is_dir() and any(f.suffix.lower() in exts for f in folder.iterdir()):
        args.videos = str(folder)
        sys.stderr.write(f"note: using the video files in {folder} for visual clip features (--no-videos: id embeddings)\n")


def _train_features(args, clean, nc: int):
    """Visual clip features from --features FILE or --videos DIR (None when neither is given)."""
    if getattr(args, "features", None) and getattr(args, "videos", None):
        raise InputError("give either --videos or --features, not both")
    if getattr(args, "features", None):
        from frame_core.video import load_clip_features

        return load_clip_features(args.features)
    if getattr(args, "videos", None):
        from frame_core.video import embed_videos

        if not Path(args.videos).is_dir():
            raise InputError(f"--videos {args.videos} is not a folder")
        with progress_bar(f"embed N_c={nc}") as bar:
            def on_file(done, total, stage):
                bar.total = total
                bar.n = done
                bar.refresh()

            feats, report = embed_videos(args.videos, nc, log=clean, progress=on_file)
        if hasattr(report, "to_text"):
            log.info("%s", report.to_text())
        return feats
    return None


def cmd_train(args) -> int:
    from frame_core.training.pipeline import train_run

    cfg = _frame_config(args)
    clean, report = _import(args)
    _default_videos(args)
    feats = _train_features(args, clean, cfg.nc)
    with progress_bar("train") as bar:
        run = train_run(clean, args.out, cfg, features=feats, progress=_engine_progress(bar),
                        source=str(args.log), overwrite=args.overwrite)
    m = run.metrics
    keys = ("auc", "gauc", "logloss", "recall@3", "ndcg@3", "recall@5", "ndcg@5", "val_auc")
    print(f"N_c={cfg.nc} policy={cfg.policy} seed={cfg.seed}: best epoch {m['best_epoch']} of {m['epochs_run']} "
          f"({m['selection']}), {m['train_seconds']:.1f} s")
    print("test " + ", ".join(f"{k} {m[k]:.4f}" if m.get(k) is not None else f"{k} n/a" for k in keys))
    if m.get("skip_hit@1") is not None:
        print(f"skip localisation hit@1 {m['skip_hit@1']:.4f} (random {m['skip_hit@1_random']:.4f}, "
              f"position prior {m['skip_hit@1_prior']:.4f})")
    print(f"-> {args.out}")
    return 0


def _read_pairs(args):
    """The pairs to score: a full log (validated like `validate`) or just user_id, video_id
    (and optionally duration_time) after --map and --time-unit."""
    import pandas as pd

    from frame_core.common import schema as S
    from frame_core.data.logio import read_table
    from frame_core.data.validation import parse_mapping

    mapping = parse_mapping(args.map)
    inverse = {v: k for k, v in mapping.items()}
    raw = read_table(args.log, max_bytes=int(args.max_mb * 1e6),
                     id_columns=[inverse.get(S.USER, S.USER), inverse.get(S.VIDEO, S.VIDEO)])
    df = raw.rename(columns=mapping)
    if S.PLAY in df.columns:
        return _import(args)[0]
    missing = [c for c in (S.USER, S.VIDEO) if c not in df.columns]
    if missing:
        raise InputError(f"{Path(args.log).name} lacks column(s) {', '.join(missing)}; map them with --map SRC=DST")
    out = pd.DataFrame({S.USER: df[S.USER].astype(str), S.VIDEO: df[S.VIDEO].astype(str)})
    if S.DURATION in df.columns:
        out[S.DURATION] = pd.to_numeric(df[S.DURATION], errors="coerce") * (1e-3 if args.time_unit == "ms" else 1.0)
    return out


def cmd_predict(args) -> int:
    from frame_core.common.safe_csv import write_csv
    from frame_core.runs.run import load_run

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
    seeds_text = str(args.seeds).strip()
    try:
        seeds = [int(s) for s in seeds_text.split(",")] if "," in seeds_text else int(seeds_text)
    except ValueError:
        raise InputError(f"--seeds must be a count like 3 or a list like 0,1,2, got {args.seeds!r}") from None
    cfg = _frame_config(args)
    clean, report = _import(args)
    if args.features:
        raise InputError("ablate needs features for every N_c: give --videos DIR instead of --features")
    _default_videos(args)
    feats_for_nc = (lambda nc: _train_features(args, clean, nc)) if args.videos else None
    with progress_bar("ablate") as bar:
        run_ablation(clean, args.out, ncs, seeds, cfg, features_for_nc=feats_for_nc, progress=_engine_progress(bar),
                     source=str(args.log), overwrite=args.overwrite)
    print((Path(args.out) / "results.md").read_text(encoding="utf-8"), end="")
    print(f"-> {Path(args.out) / 'results.csv'}, {Path(args.out) / 'results.md'}")
    return 0


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
    p.add_argument("--dropout", type=float, help="MLP dropout")
    p.add_argument("--batch-size", type=int, help="views per mini-batch")
    p.add_argument("--config", help="JSON file with FrameConfig fields (a run's config.json works too)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing run folder")
    _add_import_options(p)


def add_engine_parsers(sub) -> None:
    p = sub.add_parser("train", help="train FRAME on a log; write a run folder (metrics, predictions, weights)")
    p.add_argument("log")
    p.add_argument("--out", required=True, help="run folder to create")
    _add_engine_options(p, single_nc=True)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("predict", help="score user-video pairs with a trained run")
    p.add_argument("run_dir")
    p.add_argument("log", help="log or pairs table (user_id, video_id[, duration_time])")
    p.add_argument("--out", required=True, help="CSV: user_id, video_id, p_full, p_clip_0..")
    _add_import_options(p)
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser("ablate", help="N_c ablation (fine vs coarse) over seeds; write results.csv/.md")
    p.add_argument("log")
    p.add_argument("--nc", default="1,4,8", help="comma-separated N_c values (default 1,4,8)")
    p.add_argument("--seeds", default="3", help="number of seeds K (0..K-1) or a list like 0,1,2 (default 3)")
    p.add_argument("--out", required=True, help="output folder")
    _add_engine_options(p, single_nc=False)
    p.set_defaults(func=cmd_ablate)
# --- end engine ------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m frame_core", description="FRAME Explorer engine")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("validate", help="import a log and report what was rejected and why")
    p.add_argument("log")
    _add_import_options(p)
    p.add_argument("--json", help="also write the report as JSON here")
    p.add_argument("--rejected", help="also write the rejected rows (with reasons) to this CSV")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("labels", help="write clip labels (user_id, video_id, clip, label)")
    p.add_argument("log")
    p.add_argument("--nc", type=int, required=True, help="clips per video, 1..64")
    p.add_argument("--policy", choices=("paper", "watched-positive"), default="watched-positive")
    p.add_argument("--out", required=True)
    _add_import_options(p)
    p.set_defaults(func=cmd_labels)

    p = sub.add_parser("synth", help="generate a synthetic world (log and videos)")
    p.add_argument("out_dir")
    p.add_argument("--users", type=int, default=300)
    p.add_argument("--videos", type=int, default=400)
    p.add_argument("--per-user", type=int, default=40)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-video", action="store_true", help="write the log only")
    p.set_defaults(func=cmd_synth)

    p = sub.add_parser("embed", help="visual clip embeddings for a folder of videos")
    p.add_argument("videos_dir")
    p.add_argument("--nc", type=int, required=True)
    p.add_argument("--out", required=True, help="features file (.parquet)")
    p.add_argument("--k", type=int, default=3, help="frames sampled per clip")
    p.add_argument("--onnx", help="use this local ONNX image model instead of the handcrafted encoder")
    p.add_argument("--cache-dir", help="embedding cache folder (default: $FRAME_WORKSPACE/cache/embeddings)")
    p.set_defaults(func=cmd_embed)

    # --- compare (baselines helper's block)
    p = sub.add_parser("compare", help="train FRAME, coarse and the baselines on one split; write results.csv/.md")
    p.add_argument("log")
    p.add_argument(
        "--models", default="all",
        help="comma-separated: frame, coarse, deepfm, nfm, autoint, difm, afn, lightgcn, popularity, logreg "
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
    _add_import_options(p)
    p.set_defaults(func=cmd_compare)
    # --- end compare

    # --- engine (FRAME engine helper's block)
    add_engine_parsers(sub)
    # --- end engine

    return parser


def main(argv=None) -> int:
    # FFmpeg prints its own complaints about broken files ("moov atom not found"); the video
    # report already names each bad file, so keep stderr to the one-line contract.
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
    os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    try:
        return int(args.func(args) or 0)
    except InputError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    except CancelledError:
        sys.stderr.write("error: cancelled\n")
        return 130
    except KeyboardInterrupt:
        sys.stderr.write("error: interrupted\n")
        return 130
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError) as exc:
        sys.stderr.write(f"error: {exc.strerror or exc}: {exc.filename or ''}\n")
        return 2
    except MemoryError:
        sys.stderr.write("error: out of memory; try a smaller dataset, fewer clips or a smaller batch\n")
        return 2
    except Exception as exc:  # a bug, not bad input: one line unless FRAME_DEBUG is set
        if os.environ.get("FRAME_DEBUG"):
            raise
        sys.stderr.write(f"error: internal error ({type(exc).__name__}: {exc}); rerun with FRAME_DEBUG=1 for details\n")
        return 1
