"""``python -m microgrant``: the same as the ``microgrant`` command (see `microgrant.cli`).

Where this sits: a second front door to backprop from the terminal, for when the ``microgrant``
script is not on PATH.  Like the command, it runs backprop on numbers or an expression you
give it, prints every chain-rule step and draws the forward and backward graphs.
"""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
