"""The one definition of the heart-rate drop, and the places that report it agree with it."""

from __future__ import annotations

import doctest

import pytest

import biofeedback.hr_drop
from biofeedback.hr_drop import hr_drop_bpm, hr_drop_pct


def test_doctests() -> None:
    assert doctest.testmod(biofeedback.hr_drop).failed == 0


@pytest.mark.parametrize(("base", "final", "bpm", "pct"), [
    (72.0, 66.5, 5.5, 100.0 * 5.5 / 72.0),
    (60.0, 63.0, -3.0, -5.0),  # it rose: a negative drop
    (None, 63.0, None, None),
    (60.0, None, None, None),
    (0.0, 63.0, -63.0, None),  # no percentage of a zero baseline
])
def test_drop(base: float | None, final: float | None, bpm: float | None, pct: float | None) -> None:
    assert hr_drop_bpm(base, final) == bpm
    assert hr_drop_pct(base, final) == pct
