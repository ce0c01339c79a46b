"""``simulate``: a simulated A/B test on a synthetic world, or the replay estimator on a real log
(docs/design.md §10)."""

from __future__ import annotations

from pathlib import Path

from frame_core.cli.common import add_import_options
from frame_core.common.errors import InputError


def cmd_simulate(args) -> int:
    from frame_core.simulate import run_replay, run_simulation

    src = Path(args.world)
    common = {"out_dir": args.out, "k": args.k, "seed": args.seed, "timeline_nc": args.timeline_nc,
              "n_boot": args.bootstrap}
    if args.replay:
        if args.rounds != 1:
            raise InputError("--rounds applies to world simulations only; the replay estimator has one round")
        if not src.exists():
            raise InputError(f"{src} does not exist")
        summary = run_replay(src, args.runs, mapping=args.map, time_unit=args.time_unit, **common)
    else:
        if src.is_file():
            raise InputError(f"{src} is a log file, not a world folder (one holding world.json); add --replay to "
                             "estimate with the replay estimator on this log")
        if args.map or args.time_unit != "s":
            raise InputError("--map and --time-unit apply to --replay only (a world's log is already in the schema)")
        summary = run_simulation(src, args.runs, rounds=args.rounds, refit_budget_s=args.refit_budget, **common)
    print((Path(args.out) / "summary.md").read_text(encoding="utf-8"), end="")
    print(f"-> {Path(args.out) / 'results.csv'}, {Path(args.out) / 'summary.md'} ({summary['seconds']:.1f} s)")
    return 0


def add_simulate_parser(sub) -> None:
    p = sub.add_parser("simulate", help="simulated A/B test of runs on a synthetic world (or --replay on a real log)")
    p.add_argument("world", help="world folder (world.json + interactions.csv, as `synth` writes it); with --replay a "
                                 "log file or a folder holding interactions.csv")
    p.add_argument("--runs", required=True, help="comma-separated finished run folders trained on this log; the "
                                                 "reference arms random, popularity and oracle always run")
    p.add_argument("--k", type=int, default=5, help="videos served per user and round (default 5)")
    p.add_argument("--rounds", type=int, default=1, help="rounds; run arms are refit on their served views between "
                                                         "rounds (default 1)")
    p.add_argument("--seed", type=int, default=0, help="seed of the common random numbers and the bootstrap (default 0)")
    p.add_argument("--out", required=True, help="output folder (results.csv, summary.md, views.csv, ...)")
    p.add_argument("--refit-budget", type=float, default=300.0,
                   help="wall-time seconds per refit between rounds (0 = keep the models fixed; default 300)")
    p.add_argument("--timeline-nc", type=int, default=8,
                   help="clips of the timeline for leave_clip and the skip-in-first-clip rate (default 8)")
    p.add_argument("--bootstrap", type=int, default=2000, help="bootstrap resamples over users (default 2000)")
    p.add_argument("--replay", action="store_true",
                   help="replay estimator (Li et al. 2011) on a log without a world: only served videos the user "
                        "viewed in the test period count")
    add_import_options(p)
    p.set_defaults(func=cmd_simulate)
