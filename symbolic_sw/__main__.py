"""``python -m symbolic_sw`` = the ``symbolic-sw`` command."""

import sys

from .cli import main

sys.exit(main())
