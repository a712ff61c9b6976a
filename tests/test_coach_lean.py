"""benchmarks/coach_lean.py: the tilted resonator finds the peak of its own family's curves, the
sides read the measured curve's tilt to the number, and one real sweep is split on the very
breaths the reference fits."""

from __future__ import annotations

import math
from collections.abc import Iterator
from types import ModuleType

import numpy as np
import pytest
from _benchmarks import benchmark_module


@pytest.fixture(scope="module")
def lean() -> Iterator[ModuleType]:
    with benchmark_module("coach_lean") as module:
        yield module


def _curve(pace: np.ndarray, centre: float, q: float, alpha: float) -> np.ndarray:
    return np.exp(-0.5 * np.log1p((q * (pace / centre - centre / pace)) ** 2) - alpha * np.log(pace))


# (centre, index into QS, index into ALPHAS): curves its grid holds, peaks inside 4-7.5/min
@pytest.mark.parametrize(("centre", "q_index", "alpha_index"), [(5.0, 8, 4), (6.2, 12, 3), (5.4, 10, 0)])
def test_the_tilted_resonator_finds_the_peak_of_a_curve_of_its_family(
        lean: ModuleType, centre: float, q_index: int, alpha_index: int) -> None:
    q, alpha = float(lean.QS[q_index]), float(lean.ALPHAS[alpha_index])
    pace = np.repeat(np.arange(4.0, 7.51, 0.25), 2)
    swing = 12.0 * _curve(pace, centre, q, alpha)
    grid = np.arange(4.0, 7.5001, 0.001)
    truth = float(grid[np.argmax(_curve(grid, centre, q, alpha))])
    assert 4.1 < truth < 7.4
    peak = lean.tilted_resonator_peak(pace, swing, np.ones(pace.size))
    assert peak == pytest.approx(truth, abs=0.03)
    # a tilt moves the peak off the centre: slower when slow breaths swing more, faster when less
    if alpha > 0:
        assert peak < centre - 0.1
    if alpha < 0:
        assert peak > centre + 0.05


def test_the_tilted_resonator_keeps_to_the_visited_paces_and_needs_three(lean: ModuleType) -> None:
    pace = np.repeat(np.arange(4.5, 7.51, 0.25), 2)
    swing = 10.0 * _curve(pace, 4.0, float(lean.QS[8]), 0.5)  # its peak lies below the paces visited
    assert lean.tilted_resonator_peak(pace, swing, np.ones(pace.size)) == pytest.approx(4.5)
    two = np.array([5.0, 5.0, 6.0, 6.0])
    assert lean.tilted_resonator_peak(two, np.array([8.0, 8.0, 9.0, 9.0]), np.ones(4)) is None
    assert lean.tilted_resonator_peak(pace[:3], swing[:3], np.ones(3)) is None


def test_the_sides_read_the_tilt_of_the_measured_curve(lean: ModuleType) -> None:
    res = 5.5
    pace = np.round(np.arange(3.5, 7.51, 0.25), 2)
    truth = 10.0 * np.exp(-0.1 * (pace - res) ** 2)
    k = np.where(pace - res <= -0.75, 0.2, np.where(pace - res >= 0.75, -0.1, 0.05))  # log measured/truth by side
    w = np.where(pace == 6.25, 10.0, 1.0)  # one heavy breath above the peak
    swing = truth * np.exp(k)
    swing[pace == 7.5] = truth[pace == 7.5] * np.exp(-0.5)  # an outlier above (2.0 past the peak), of weight 1
    got = lean.sides(pace, swing, truth, w, res)
    assert got["below"] == pytest.approx(0.2) and got["near"] == pytest.approx(0.05)
    assert got["below weighted"] == pytest.approx(0.2) and got["near weighted"] == pytest.approx(0.05)
    # above: 6.25 .. 7.25 read -0.1 and 7.5 reads -0.5; the medians are -0.1
    assert got["above"] == pytest.approx(-0.1) and got["above weighted"] == pytest.approx(-0.1)
    # the weight decides the weighted median: the heavy breath at 6.25 reads -0.3 now
    swing2 = swing.copy()
    swing2[pace == 6.25] = truth[pace == 6.25] * np.exp(-0.3)
    got2 = lean.sides(pace, swing2, truth, w, res)
    assert got2["above weighted"] == pytest.approx(-0.3)
    assert got2["above"] == pytest.approx(-0.1)
    # an unweighed breath is left out
    assert math.isnan(lean.sides(pace, swing, truth, np.zeros(pace.size), res)["below"])


def test_one_sweep_splits_the_lean_on_the_reference_s_own_breaths(lean: ModuleType) -> None:
    row = lean.one_person(("default", 1, 3, 1, ()))  # resonance 5.4: breaths on both sides
    assert set(row) == {"measured", "truth", "tilted", "held", "below", "near", "above",
                        "below weighted", "near weighted", "above weighted"}
    assert all(math.isfinite(v) for v in row.values())
    # fit_peak on the breaths kept is the estimate ideal sampling 14 held
    assert row["measured"] == pytest.approx(row["held"], abs=1e-3)
    # on the truth values the estimator ends slow (the curve is flatter below its peak), but close
    assert -0.2 < row["truth"] < 0.0


def test_a_wrong_option_is_one_line_and_exit_2(lean: ModuleType, capsys: pytest.CaptureFixture[str]) -> None:
    assert lean.main(["--variants", "nope"]) == 2
    assert lean.main(["--remove", "sunspots"]) == 2
    assert lean.main(["--seed", "-1"]) == 2
    assert lean.main(["--people", "0"]) == 2
    with pytest.raises(SystemExit) as stop:
        lean.main(["--people", "x"])
    assert stop.value.code == 2
    err = capsys.readouterr().err.splitlines()
    assert err == ["error: unknown variant, noise source or seed 'nope'; see --help",
                   "error: unknown variant, noise source or seed 'sunspots'; see --help",
                   "error: unknown variant, noise source or seed '-1'; see --help",
                   "error: --people and --jobs must be at least 1",
                   "error: argument --people: invalid int value: 'x'; see --help"]
