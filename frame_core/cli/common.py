"""Shared pieces of the command-line interface: the one-line-error parser, import options,
progress bars, engine options → :class:`~frame_core.model.config.FrameConfig`, and the choice
of visual clip features (``--videos`` / ``--features`` / a ``videos/`` folder beside LOG)."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from frame_core.common.errors import InputError
from frame_core.common.schema import VIDEO_EXTENSIONS

log = logging.getLogger("frame_core")


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors and exit code 2."""

    def error(self, message: str):  # noqa: D401 - argparse API
        sys.stderr.write(f"error: {message} (see {self.prog} --help)\n")
        raise SystemExit(2)


def add_import_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--time-unit", choices=("s", "ms"), default="s", help="unit of the source's time columns")
    p.add_argument(
        "--map", action="append", default=[], metavar="SRC=DST",
        help="rename a source column to a schema column, e.g. play_time_ms=playing_time (repeatable)",
    )
    g = p.add_argument_group("input limits (README \"Input limits\"; a file over one is refused)")
    g.add_argument("--max-mb", type=float, default=None, metavar="MIB",
                   help="size limit after decompression, in MiB (1 MiB = 1,048,576 bytes; default 2,048)")
    g.add_argument("--max-ratio", type=float, default=None, help="decompression ratio limit (default 100)")
    g.add_argument("--max-columns", type=int, default=None,
                   help="columns in the header (default 1,000; a --features file: 4,098)")
    g.add_argument("--max-name-chars", type=int, default=None, help="characters in a column name (default 256)")
    g.add_argument("--max-line-bytes", type=int, default=None, help="bytes in one line (default 1,048,576)")


def input_limits(args):
    """InputLimits from the --max-* options (defaults where not given)."""
    from frame_core.data.limits import InputLimits

    return InputLimits.from_options(max_mb=args.max_mb, max_ratio=args.max_ratio, max_columns=args.max_columns,
                                    max_name_chars=args.max_name_chars, max_line_bytes=args.max_line_bytes)


def feature_limits(args):
    """The limits a ``--features`` file is held to: the same --max-* options as the log, with
    the features' own column default (:data:`frame_core.data.limits.FEATURE_LIMITS`, 4,098:
    video_id, clip and up to 4,096 feature columns) when --max-columns is not given."""
    from frame_core.data.limits import FEATURE_LIMITS, InputLimits

    return InputLimits.from_options(max_mb=args.max_mb, max_ratio=args.max_ratio, max_columns=args.max_columns,
                                    max_name_chars=args.max_name_chars, max_line_bytes=args.max_line_bytes,
                                    defaults=FEATURE_LIMITS)


def import_clean(args):
    from frame_core.data.log_import import import_log

    return import_log(args.log, mapping=args.map, time_unit=args.time_unit, limits=input_limits(args))


def progress_bar(desc: str, total: int | None = None):
    """A tqdm bar on stderr when it is a terminal, else a silent stand-in."""
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, disable=not sys.stderr.isatty(), file=sys.stderr, leave=False)


def frame_config(args):
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
    fields = {"policy": "policy", "epochs": "epochs", "seed": "seed", "patience": "patience", "emb_dim": "emb_dim",
              "lr": "lr", "emb_lr": "emb_lr", "batch_size": "batch_size", "video_score": "video_score",
              "hybrid_lambda": "hybrid_lambda", "norm": "norm", "dropout": "dropout", "weight_decay": "weight_decay",
              "exclude_batch_edges": "exclude_batch_edges", "lr_schedule": "lr_schedule",
              "warmup_epochs": "warmup_epochs", "min_delta": "min_delta", "val_per_epoch": "val_per_epoch",
              "time_budget_s": "time_budget", "factor_dim": "factor_dim", "factor_l2": "factor_l2", "id_l2": "id_l2",
              "bias_init": "bias_init", "factor_share": "factor_share", "cold_dropout": "cold_dropout"}
    opts = {k: getattr(args, a, None) for k, a in fields.items()}
    if opts["cold_dropout"] == "auto":  # None would read as "not given"
        base["cold_dropout"], opts["cold_dropout"] = None, None
    nc = getattr(args, "nc", None)
    opts["nc"] = nc if isinstance(nc, int) else None
    base.update({k: v for k, v in opts.items() if v is not None})
    return FrameConfig.from_dict(base)


def engine_progress(bar):
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


def default_videos(args) -> None:
    """Decision: a ``videos/`` folder with video files beside LOG (the layout ``synth`` writes
    and the bundled sample uses) is used for visual clip features unless --videos, --features
    or --no-videos says otherwise. Said on stderr, so the choice is never silent."""
    if getattr(args, "videos", None) or getattr(args, "features", None) or getattr(args, "no_videos", False):
        return
    folder = Path(args.log).parent / "videos"
    if folder.is_dir() and any(f.suffix.lower() in VIDEO_EXTENSIONS for f in folder.iterdir()):
        args.videos = str(folder)
        sys.stderr.write(f"note: using the video files in {folder} for visual clip features (--no-videos: id embeddings)\n")


def train_features(args, clean, nc: int):
    """Visual clip features from --features FILE or --videos DIR (None when neither is given)."""
    if getattr(args, "features", None) and getattr(args, "videos", None):
        raise InputError("give either --videos or --features, not both")
    if getattr(args, "features", None):
        from frame_core.video import load_clip_features

        return load_clip_features(args.features, limits=feature_limits(args))
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
