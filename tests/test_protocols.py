"""The baselines the coach is compared with: a fixed pace and Lehrer's stepped protocol, through
the guide's per-beat step, on synthetic hearts whose best pace is known."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest

from biofeedback.errors import InvalidInputError
from biofeedback.guide import BreathGuide
from biofeedback.pacer import BreathPattern, Pacer
from biofeedback.protocols import Controller, Decision, FixedPace, SteppedProtocol

SwingCurve = Callable[[float], float]  # pace, breaths/min -> peak-to-trough heart-rate swing, beats/min


def gaussian(best: float, width: float, top: float = 12.0, floor: float = 3.0) -> SwingCurve:
    return lambda pace: floor + top * math.exp(-(((pace - best) / width) ** 2))


def tent(best: float, slope: float) -> SwingCurve:
    return lambda pace: max(15.0 - slope * abs(pace - best), 1.0)


def skewed(best: float) -> SwingCurve:  # steeper on the fast side than the slow side
    return lambda pace: 14.0 - (2.5 if pace > best else 1.0) * abs(pace - best) ** 1.5


def run(controller: Controller, curve: SwingCurve, minutes: float, *, seed: int = 0, noise_bpm: float = 0.0,
        lag_s: float = 0.0, shown: bool = True, gap_at_s: float | None = None) -> tuple[Pacer, list[float]]:
    """Beats of a heart whose rate follows the prompt's fullness (a fraction of a second late) with
    the swing ``curve(pace)``; the controller steers the pacer through a BreathGuide. Returns the
    pacer and the pace answered at each beat."""
    rng = np.random.default_rng(seed)
    pacer = Pacer(BreathPattern(6.0))
    guide = BreathGuide(controller, pacer)
    t, answered = 1.0, []
    gap_done = gap_at_s is None
    while t < minutes * 60.0:
        s = pacer.at(max(t - lag_s, 0.0))
        hr = 62.0 + curve(s.pace_bpm) * (s.fullness - 0.5) + noise_bpm * rng.standard_normal()
        rr = 60000.0 / hr
        if not gap_done and t > gap_at_s:  # type: ignore[operator]
            guide.on_gap(t)
            t += 20.0  # 20 s with no beats
            gap_done = True
            continue
        if shown:
            guide.on_beat(t, rr)
        else:
            controller.on_beat(t, rr)
        answered.append(pacer.target.pace_bpm)
        t += rr / 1000.0
    return pacer, answered


@pytest.mark.parametrize("curve_name", ["gaussian", "narrow", "tent", "skewed"])
@pytest.mark.parametrize("best", [4.5, 5.0, 5.5, 6.0, 6.5])
def test_the_stepped_protocol_holds_the_pace_with_the_largest_swing(best: float, curve_name: str) -> None:
    curve = {"gaussian": gaussian(best, 1.0), "narrow": gaussian(best, 0.4, top=5.0, floor=6.0),
             "tent": tent(best, 3.0), "skewed": skewed(best)}[curve_name]
    c = SteppedProtocol()
    pacer, answered = run(c, curve, 14.0, seed=int(best * 10), noise_bpm=0.3, lag_s=0.4)
    assert c.resonance_bpm == best and c.stage == "hold"
    assert answered[-1] == best and pacer.paces_bpm[-1] == best
    assert max(c.swing_by_pace_bpm, key=lambda p: c.swing_by_pace_bpm[p]) == best
    for pace, swing in c.swing_by_pace_bpm.items():  # the measured swing is the curve's, per breath
        assert swing == pytest.approx(curve(pace), abs=0.6)
    # the pacer took each step at a breath onset, never more than 0.5 at once, never below 4.5
    assert np.max(np.abs(np.diff(pacer.paces_bpm))) <= 0.5 + 1e-12 and pacer.paces_bpm.min() >= 4.5


def test_the_stepped_protocols_schedule_decisions_and_reasons() -> None:
    c = SteppedProtocol()
    run(c, gaussian(5.5, 1.0), 11.0)
    assert [(d.stage, d.code, d.pace_bpm) for d in c.decisions] == [
        ("search", "step", 6.5), ("search", "step", 6.0), ("search", "step", 5.5), ("search", "step", 5.0),
        ("search", "step", 4.5), ("hold", "hold-largest-swing", 5.5)]
    starts = [d.t_s - 1.0 for d in c.decisions]  # the first beat is at 1 s
    assert starts[0] == 0.0
    for i, s in enumerate(starts[1:], start=1):
        assert 120.0 * i <= s < 120.0 * i + 1.5  # at the first beat of each 2-minute epoch
    swing = c.swing_by_pace_bpm[5.5]
    assert swing == pytest.approx(15.0, abs=0.6)  # 3 + 12, as sampled by the beats
    assert c.decisions[-1].reason == (f"holding 5.5 breaths/min: the largest heart-rate swing ({swing:.1f} beats/min "
                                      "per breath) of the 5 paces tried")
    assert "pace 3 of 5, 5.5 breaths/min for 2 min" in c.decisions[2].reason
    assert c.reason == c.decisions[-1].reason and c.following is None
    assert c.baseline_hr_bpm == pytest.approx(62.0, abs=1.0)
    assert all(isinstance(d, Decision) for d in c.decisions)


def test_without_the_shown_breaths_the_swing_comes_from_the_tachogram() -> None:
    c = SteppedProtocol()
    run(c, gaussian(5.0, 0.8), 11.0, shown=False)  # the pacer is not steered: the heart follows 6/min
    # every epoch's heart swings the same (the pace stayed 6): the swings are measured, all alike
    assert set(c.swing_by_pace_bpm) == {6.5, 6.0, 5.5, 5.0, 4.5}
    assert np.ptp(list(c.swing_by_pace_bpm.values())) < 0.5
    assert c.swing_by_pace_bpm[6.0] == pytest.approx(gaussian(5.0, 0.8)(6.0), abs=0.5)


def test_a_gap_pauses_the_measure_without_corrupting_it() -> None:
    c = SteppedProtocol()
    _, answered = run(c, tent(6.0, 3.0), 11.0, gap_at_s=300.0, seed=3, noise_bpm=0.3)
    assert c.resonance_bpm == 6.0 and answered[-1] == 6.0
    for pace, swing in c.swing_by_pace_bpm.items():
        assert swing == pytest.approx(tent(6.0, 3.0)(pace), abs=0.6)


def test_custom_paces_and_epochs() -> None:
    c = SteppedProtocol(paces=(7.0, 6.0), epoch_s=60.0)
    run(c, gaussian(7.0, 1.0), 2.5)
    assert [d.pace_bpm for d in c.decisions] == [7.0, 6.0, 7.0] and c.resonance_bpm == 7.0


def test_no_measurable_swing_holds_the_last_pace_and_says_so() -> None:
    c = SteppedProtocol(paces=(6.0, 5.5), epoch_s=60.0)
    c.on_beat(1.0, 1000.0)
    c.on_beat(200.0, 1000.0)  # a beat after the last epoch, nothing between
    assert c.stage == "hold" and c.resonance_bpm is None and c.decisions[-1].code == "hold-no-swing"
    assert "no heart-rate swing could be measured" in c.reason
    assert c.on_beat(201.0, 1000.0) == 6.0  # still the first pace: the second was never asked for


def test_fixed_pace() -> None:
    c = FixedPace(5.5)
    pacer, answered = run(c, gaussian(5.0, 1.0), 3.0)
    assert set(answered) == {5.5} and pacer.paces_bpm.tolist()[:2] == [6.0, 5.5] and pacer.paces_bpm[-1] == 5.5
    assert [(d.stage, d.code, d.pace_bpm, d.t_s) for d in c.decisions] == [("fixed", "fixed", 5.5, 1.0)]
    assert c.stage == "fixed" and c.reason == "a fixed pace of 5.5 breaths/min" and c.resonance_bpm is None
    assert c.baseline_hr_bpm == pytest.approx(62.0, abs=1.0)  # a mean over beats leans to the fast ones
    c.on_gap(10.0)
    assert c.on_beat(200.0, 900.0) == 5.5


def test_the_guide_shows_the_breath_and_requests_the_pace() -> None:
    pacer = Pacer(BreathPattern(6.0))
    guide = BreathGuide(SteppedProtocol(paces=(5.0,), epoch_s=30.0), pacer)
    shown = guide.on_beat(3.0, 1000.0)
    assert shown == pacer.at(3.0) and shown.pace_bpm == 6.0 and pacer.target.pace_bpm == 5.0
    assert pacer.at(10.0).pace_bpm == 5.5  # the request, clipped, at the next onset


@pytest.mark.parametrize(("make", "word"), [
    (lambda: FixedPace(0.0), "pace_bpm"), (lambda: SteppedProtocol(paces=()), "paces"),
    (lambda: SteppedProtocol(paces=(6.0, -1.0)), "paces"), (lambda: SteppedProtocol(epoch_s=0.0), "epoch_s"),
    (lambda: FixedPace(6.0).on_beat(1.0, 0.0), "rr_ms"), (lambda: SteppedProtocol().on_beat(math.nan, 900.0), "t_s"),
])
def test_bad_arguments_say_what_is_wrong(make: Callable[[], object], word: str) -> None:
    with pytest.raises(InvalidInputError, match=word):
        make()


def test_the_change_over_breath_is_left_out_even_at_the_pace_the_pacer_started_at() -> None:
    # regression: the first breath of the session (the pacer starts at 6/min) was dropped as
    # "the change-over" of 6/min, and the real change-over breath from 6.5 to 6 was counted
    pacer = Pacer(BreathPattern(6.0), start_s=1.0)  # the prompt starts with the first beat
    c = SteppedProtocol(paces=(6.5, 6.0), epoch_s=60.0)
    guide = BreathGuide(c, pacer)
    t = 1.0
    while t < 125.0:
        s = pacer.at(t)
        change_over = s.pace_bpm == 6.0 and s.breath_index > 0 and pacer.paces_bpm[s.breath_index - 1] == 6.5
        swing = 30.0 if change_over else 10.0
        rr = 60000.0 / (62.0 + swing * (s.fullness - 0.5))
        guide.on_beat(t, rr)
        t += rr / 1000.0
    assert c.stage == "hold"
    assert c.swing_by_pace_bpm[6.0] == pytest.approx(10.0, abs=0.5)
    assert c.swing_by_pace_bpm[6.5] == pytest.approx(10.0, abs=0.5)
