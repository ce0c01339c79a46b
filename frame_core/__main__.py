"""``python -m frame_core``: see :mod:`frame_core.cli`."""

import sys

from .cli import main

sys.exit(main())
