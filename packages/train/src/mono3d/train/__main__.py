"""``python -m mono3d.train`` is the ``mono3d`` command (handy under ``torchrun -m``)."""

import sys

from .cli import main

sys.exit(main())
