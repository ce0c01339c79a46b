"""Data commands: ``validate``, ``labels``, ``synth`` and ``embed`` (docs/design.md, "CLI")."""

from __future__ import annotations

import json
from pathlib import Path

from frame_core.cli.common import add_import_options, import_clean, progress_bar


def cmd_validate(args) -> int:

    clean, report = import_clean(args)
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

    clean, report = import_clean(args)
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


def add_data_parsers(sub) -> None:
    p = sub.add_parser("validate", help="import a log and report what was rejected and why")
    p.add_argument("log")
    add_import_options(p)
    p.add_argument("--json", help="also write the report as JSON here")
    p.add_argument("--rejected", help="also write the rejected rows (with reasons) to this CSV")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("labels", help="write clip labels (user_id, video_id, clip, label)")
    p.add_argument("log")
    p.add_argument("--nc", type=int, required=True, help="clips per video, 1..64")
    p.add_argument("--policy", choices=("paper", "watched-positive"), default="watched-positive")
    p.add_argument("--out", required=True)
    add_import_options(p)
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
