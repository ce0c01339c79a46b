"""Command-line interface: ``python -m frame_core <command> …`` (docs/design.md §9).

Contract: bad input exits with code 2 and a single line ``error: …`` on stderr, never a
traceback. Results go to the files named by ``--out``; human-readable summaries go to stdout.
Progress bars (tqdm) are drawn on stderr only when it is a terminal.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from frame_core.cli.common import Parser
from frame_core.cli.data_cmds import add_data_parsers
from frame_core.cli.engine_cmds import add_engine_parsers, add_tune_parser
from frame_core.cli.simulate_cmd import add_simulate_parser
from frame_core.common.errors import CancelledError, InputError


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="python -m frame_core", description="FRAME Explorer engine")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    add_data_parsers(sub)
    add_engine_parsers(sub)
    add_tune_parser(sub)
    add_simulate_parser(sub)
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
