"""``python -m frame_core``: see :mod:`frame_core.cli.main`.

Before anything else the process re-executes itself once with tcmalloc preloaded where the
system has it (:func:`frame_core.common.perf.reexec_with_preferred_allocator`; about 0.6 GB less
memory when training at Micro-video-A scale). ``FRAME_ALLOCATOR=system`` turns that off."""

import sys

from frame_core.common.perf import reexec_with_preferred_allocator

reexec_with_preferred_allocator()

from frame_core.cli.main import main  # noqa: E402  (after the re-exec: nothing heavy loaded twice)

sys.exit(main())
