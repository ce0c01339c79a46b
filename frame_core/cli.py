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

from .errors import CancelledError, InputError

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
    from .validation import import_log

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
        from .safe_csv import write_csv

        write_csv(report.rejected_rows, args.rejected)
    return 0


def cmd_labels(args) -> int:
    from .labels import labels_frame
    from .safe_csv import write_csv

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
    from .synth import generate_world

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
    from .video import embed_videos, save_clip_features

    with progress_bar("embed") as bar:
        def progress(done, total, stage):
            bar.total = total
            bar.n = done
            bar.set_description(stage)
            bar.refresh()

        encoder = None
        if args.onnx:
            from .video.encoders import OnnxEncoder

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
    from .baselines.compare import run_comparison
    from .baselines.registry import parse_models

    models = parse_models(args.models)
    clean, report = _import(args)
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
            patience=args.patience, save_predictions=not args.no_predictions,
        )
    print((Path(args.out) / "results.md").read_text(encoding="utf-8"), end="")
    print(f"-> {Path(args.out) / 'results.csv'}, {Path(args.out) / 'results.md'}")
    return 0
# --- end compare ---------------------------------------------------------------------------


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
    _add_import_options(p)
    p.set_defaults(func=cmd_compare)
    # --- end compare

    return parser


def main(argv=None) -> int:
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
