"""randomness: the random generators a loss draws from, their states compared and put back.

A trace runs ``loss_fn`` twice, then (if it cannot be replayed) an eager call runs it again.
A loss that draws every call would then have drawn three times where eager draws once; so the
states of Python's and numpy's global generators, and of the generators ``loss_fn`` names,
are taken before the trace, compared after each run (a draw in the first run alone is a lazy
layer building its weights; a draw in the second is a loss that draws every call), and put
back when the trace is refused.
"""

from __future__ import annotations

import random
from typing import Any, Callable

import numpy as np

from .named import reachable

__all__ = ["generators_named", "random_state", "saved_random", "restore_random"]

_GENERATORS = (random.Random, np.random.Generator, np.random.RandomState)


def generators_named(fn: Callable) -> list:
    """The random generators ``fn`` names (a ``np.random.default_rng`` it draws masks from)."""
    return list({id(g): g for g in reachable(fn) if isinstance(g, _GENERATORS)}.values())


def _comparable(x):
    """A generator's state as numbers that compare with ``==`` (arrays as their bytes)."""
    if isinstance(x, dict):
        return tuple((k, _comparable(v)) for k, v in sorted(x.items()))
    if isinstance(x, (tuple, list)):
        return tuple(map(_comparable, x))
    return x.tobytes() if isinstance(x, np.ndarray) else x  # (a generator: itself, by identity)


def _state_of(g) -> Any:
    if isinstance(g, random.Random):
        return g.getstate()
    return g.bit_generator.state if isinstance(g, np.random.Generator) else g.get_state()


def random_state(generators: list) -> tuple:
    """`saved_random`'s states as numbers that compare with ``==``."""
    return _comparable(saved_random(generators))


def saved_random(generators: list) -> tuple:
    """The states of the global random generators and of ``generators``, to put back with
    `restore_random`."""
    return random.getstate(), np.random.get_state(), [(g, _state_of(g)) for g in generators]


def restore_random(saved: tuple) -> None:
    """Puts the random generators back as `saved_random` found them."""
    random.setstate(saved[0])
    np.random.set_state(saved[1])
    for g, state in saved[2]:
        if isinstance(g, random.Random):
            g.setstate(state)
        elif isinstance(g, np.random.Generator):
            g.bit_generator.state = state
        else:
            g.set_state(state)
