"""``python -m mono3d.eval``: see ``mono3d.eval._cli``."""

import sys

from ._cli import main

sys.exit(main())
