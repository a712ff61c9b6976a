"""The closed-loop evaluation: its figures on a heart whose truth is plain, and the coach
against a fixed pacer on a few simulated people under two sets of assumptions."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest
from scipy.stats import binom

from biofeedback import Coach
from biofeedback.errors import InvalidInputError
from biofeedback.evaluation import PersonResult, paired_drop, run_session, summarise, target_rows
from biofeedback.pacer import BreathState
from biofeedback.physiology import sample_people
from biofeedback.protocols import FixedPace


@dataclass(frozen=True)
class Beat:
    t_s: float
    rr_ms: float
    true_rr_ms: float


class PlainHeart:
    """Follows the prompt exactly; swing ``8 + 8·exp(-(pace - resonance)²/2)``; heart rate
    falls by ``drop_bpm_per_min`` each minute; every ``missed_every``-th beat is missed."""

    def __init__(self, resonance_bpm: float, *, drop_bpm_per_min: float = 0.0, missed_every: int = 0) -> None:
        self.resonance_bpm = resonance_bpm
        self.drop = drop_bpm_per_min
        self.missed_every = missed_every
        self.t = 0.0
        self.n = 0

    def swing_bpm(self, pace_bpm: float) -> float:
        return 8.0 + 8.0 * math.exp(-0.5 * (pace_bpm - self.resonance_bpm) ** 2)

    def next_beat(self, sees: Callable[[float], BreathState]) -> Beat:
        s = sees(self.t)
        hr = 60.0 - self.drop * self.t / 60.0 + 0.5 * self.swing_bpm(s.pace_bpm) * math.cos(2 * math.pi * s.phase)
        rr = 60000.0 / hr
        self.t += rr / 1000.0
        self.n += 1
        if self.missed_every and self.n % self.missed_every == 0:
            nxt = 60000.0 / hr
            self.t += nxt / 1000.0
            return Beat(self.t, rr + nxt, rr)
        return Beat(self.t, rr, rr)


def test_a_fixed_pace_at_the_resonance_is_judged_perfect() -> None:
    r = run_session(PlainHeart(6.0), FixedPace(6.0), minutes=5.0)
    assert r.resonance_bpm == 6.0 and r.final_pace_bpm == 6.0 and r.error_bpm == 0.0
    assert r.swing_share == 1.0 and r.time_near_s == 0.0
    assert (r.min_pace_bpm, r.max_step_bpm) == (6.0, 0.0)
    assert r.hr_drop_pct == pytest.approx(0.0, abs=0.1)
    assert r.rejected_share == 0.0 and r.estimate_bpm is None


def test_a_fixed_pace_off_the_resonance_and_a_falling_heart_rate() -> None:
    heart = PlainHeart(5.0, drop_bpm_per_min=0.6)
    r = run_session(heart, FixedPace(7.0), minutes=10.0, first_pace_bpm=7.0)
    assert r.error_bpm == 2.0 and math.isinf(r.time_near_s)
    assert r.swing_share == pytest.approx(heart.swing_bpm(7.0) / heart.swing_bpm(5.0))
    # first minute near 59.7 /min, last three near 54.9 /min
    assert r.hr_drop_pct == pytest.approx(100.0 * (1.0 - (60.0 - 0.6 * 8.5) / (60.0 - 0.6 * 0.5)), abs=0.3)


def test_the_live_artefact_check_keeps_missed_beats_from_the_controller() -> None:
    r = run_session(PlainHeart(6.0, missed_every=50), FixedPace(6.0), minutes=5.0)
    assert r.rejected_share == pytest.approx(1 / 50, abs=0.005)


def result(res: float, final: float, share: float, near_s: float, drop: float = 2.0) -> PersonResult:
    return PersonResult(res, final, final - res, share, near_s, drop, 4.5, 0.5, final, True, 0.01)


def test_the_summary_and_the_targets_judged() -> None:
    rs = [result(5.0, 5.1, 0.99, 200.0), result(6.0, 6.4, 0.97, 400.0, 3.0), result(6.5, 5.8, 0.90, math.inf, 1.0),
          result(4.5, 4.5, 1.0, 100.0, 2.5)]
    s = summarise(rs)
    assert s.n == 4 and s.good_swing_share == 0.75
    assert s.median_abs_error_bpm == pytest.approx(0.25)
    assert s.near_share == 0.75 and s.median_time_near_min == pytest.approx(5.0)
    assert s.median_hr_drop_pct == 2.25 and (s.min_pace_bpm, s.max_step_bpm) == (4.5, 0.5)
    stepped = summarise([result(5.0, 5.5, 0.9, math.inf, 3.0)])
    rows = target_rows(s, stepped)
    assert [met for *_, met in rows] == [False, False, True, False, True, True]
    assert rows[0][2] == "75%" and rows[4][2] == "5.0 min"


def test_the_coach_in_closed_loop_beats_a_fixed_pace_and_keeps_its_bounds() -> None:
    coach = [run_session(p, Coach(), minutes=12.0) for p in sample_people(4, 77, "default")]
    fixed = [run_session(p, FixedPace(6.0), minutes=12.0) for p in sample_people(4, 77, "default")]
    c = summarise(coach)
    assert c.min_pace_bpm >= 4.0 and c.max_step_bpm <= 0.5 + 1e-9
    assert all(r.following for r in coach)
    assert c.median_abs_error_bpm <= 0.5
    assert np.mean([r.swing_share for r in coach]) >= 0.92 > np.mean([r.swing_share for r in fixed])
    assert np.mean([abs(r.error_bpm) for r in coach]) < np.mean([abs(r.error_bpm) for r in fixed])


def test_people_who_follow_late_and_loosely_are_still_followed_within_the_bounds() -> None:
    # a high comfort floor (4-5 /min): the coach must notice the breaths it cannot get and go back up
    coach = [run_session(p, Coach(), minutes=12.0) for p in sample_people(4, 77, "poor_follower")]
    c = summarise(coach)
    assert c.min_pace_bpm >= 4.0 and c.max_step_bpm <= 0.5 + 1e-9
    assert all(r.following for r in coach)
    assert min(r.final_pace_bpm for r in coach) >= 4.5  # none left at a pace below their floor
    assert np.mean([r.swing_share for r in coach]) >= 0.85


def test_drops_compared_person_by_person() -> None:
    import doctest

    import biofeedback.evaluation

    assert doctest.testmod(biofeedback.evaluation).failed == 0
    # 20 people: the first's drop is 0.5 points above the second's for 14, 1 point below for 6
    first = [result(4.5 + 0.1 * i, 5.0, 1.0, 0.0, 2.0 + (0.5 if i < 14 else -1.0)) for i in range(20)]
    second = [result(4.5 + 0.1 * i, 5.0, 1.0, 0.0, 2.0) for i in range(20)]
    p = paired_drop(first, second)
    assert p.n == 20 and p.median_diff_pct == pytest.approx(0.5) and p.share_at_least == 0.7
    # a sign test's 90% interval on 20: the 6th smallest to the 6th largest difference
    assert p.ci90_pct == pytest.approx((-1.0, 0.5))
    # distinct differences 0, 1, ..., n - 1: the interval is [k - 1, n - k], k the largest with
    # P(Binomial(n, 1/2) <= k - 1) <= 0.05 (scipy's binomial); below 5 people, the whole range
    for n in range(2, 41):
        p = paired_drop([result(4.0 + 0.01 * i, 5.0, 1.0, 0.0, float(i)) for i in range(n)],
                        [result(4.0 + 0.01 * i, 5.0, 1.0, 0.0, 0.0) for i in range(n)])
        k = max([j for j in range(1, n // 2 + 1) if binom.cdf(j - 1, n, 0.5) <= 0.05], default=1)
        assert p.ci90_pct == (k - 1.0, n - k), n
    with pytest.raises(InvalidInputError, match="same people"):
        paired_drop(first, second[::-1])
    with pytest.raises(InvalidInputError, match="same people"):
        paired_drop(first[:1], second[:1])
