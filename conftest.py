"""Every test starts with microgrant's own habit for numbers in expressions (constants).

Importing `microgrant.micrograd` switches numbers to take a gradient for the whole program, as
micrograd's do; the doc and structure tests import every module, so the switch is put back
before each test.  The switch itself is tested in a process of its own (tests/test_lecture.py).
"""

import pytest

from microgrant import engine


@pytest.fixture(autouse=True)
def numbers_are_constants():
    engine.numbers_take_grad(False)
    yield
    engine.numbers_take_grad(False)
