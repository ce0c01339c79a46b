"""``python -m frame_core``: see :mod:`frame_core.cli.main`."""

import sys

from frame_core.cli.main import main

sys.exit(main())
