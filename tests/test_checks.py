"""The validators every module uses on its arguments (`microgrant.checks`)."""

from __future__ import annotations

import math

import pytest

from microgrant import checks


@pytest.mark.parametrize("zero, one, accepted, refused", [
    (True, True, [0.0, 0.5, 1.0], [-1e-9, 1.0 + 1e-9]),
    (True, False, [0.0, 0.999], [1.0]),
    (False, True, [1e-12, 1.0], [0.0]),
    (False, False, [0.25], [0.0, 1.0]),
])
def test_fraction_takes_its_ends_only_when_asked(zero, one, accepted, refused):
    for x in accepted:
        assert checks.fraction(x, "f", zero=zero, one=one) == x
    for x in refused:
        with pytest.raises(ValueError, match=r"^f must be a finite number [<>]=? 0 and <=? 1"):
            checks.fraction(x, "f", zero=zero, one=one)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_fraction_refuses_nan_and_infinity(bad):
    with pytest.raises(ValueError, match="alpha must be a finite number >= 0 and <= 1"):
        checks.fraction(bad, "alpha")


def test_fraction_refuses_a_non_number_naming_it():
    with pytest.raises(TypeError, match="alpha"):
        checks.fraction("0.5", "alpha")
