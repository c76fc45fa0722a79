"""``python -m microgrant``: the same as the ``microgrant`` command (see `microgrant.cli`)."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
