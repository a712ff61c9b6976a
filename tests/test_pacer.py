"""The pacer: phase continuity, changes only at breath onsets and by 0.5 at most, the presets."""

from __future__ import annotations

import math

import numpy as np
import pytest

from biofeedback.errors import InvalidInputError
from biofeedback.pacer import BreathPattern, Pacer, parse_preset


def test_one_breath_of_the_default_pattern() -> None:
    pacer = Pacer(BreathPattern(6.0), start_s=2.0)
    s = pacer.at(2.0)
    assert (s.part, s.fullness, s.phase, s.part_left_s, s.breath_index, s.onset_s) == ("inhale", 0.0, 0.0, 4.0, 0, 2.0)
    mid = pacer.at(4.0)  # half-way through the 4 s inhale
    assert mid.part == "inhale" and mid.fullness == pytest.approx(0.5) and mid.phase == pytest.approx(0.2)
    top = pacer.at(6.0)
    assert top.part == "exhale" and top.fullness == pytest.approx(1.0) and top.part_left_s == pytest.approx(6.0)
    assert pacer.at(9.0).fullness == pytest.approx(0.5)  # half-way through the 6 s exhale
    nxt = pacer.at(12.0)
    assert (nxt.breath_index, nxt.onset_s, nxt.part, nxt.fullness) == (1, 12.0, "inhale", 0.0)
    assert pacer.onsets_s.tolist() == [2.0, 12.0] and pacer.paces_bpm.tolist() == [6.0, 6.0]


def test_times_before_the_start_are_the_first_breath() -> None:
    pacer = Pacer(BreathPattern(6.0), start_s=5.0)
    s = pacer.at(1.0)
    assert (s.t_s, s.breath_index, s.onset_s, s.part, s.fullness, s.phase) == (1.0, 0, 5.0, "inhale", 0.0, 0.0)
    assert pacer.fullness_at(np.array([-10.0, 0.0, 5.0])).tolist() == [0.0, 0.0, 0.0]


def test_a_request_takes_effect_at_the_next_onset_clipped_to_half_a_breath_per_minute() -> None:
    pacer = Pacer(BreathPattern(6.0))
    assert pacer.at(3.0).pace_bpm == 6.0  # breath 0 (0-10 s) in progress
    pacer.request(4.0)
    assert pacer.at(9.99).pace_bpm == 6.0  # never mid-breath
    assert pacer.at(10.0).pace_bpm == 5.5  # at the onset, and by 0.5 only
    pacer.at(62.0)  # onsets 0, 10, 20.9, 32.9, 46.2, 61.2 s
    assert pacer.paces_bpm.tolist() == [6.0, 5.5, 5.0, 4.5, 4.0, 4.0]
    onsets = pacer.onsets_s
    np.testing.assert_allclose(np.diff(onsets), 60.0 / pacer.paces_bpm[:-1], rtol=1e-12)
    np.testing.assert_allclose(onsets[:5], [0.0, 10.0, 10.0 + 60 / 5.5, 10.0 + 60 / 5.5 + 12.0,
                                            10.0 + 60 / 5.5 + 12.0 + 60 / 4.5])
    pacer.request(4.3)  # smaller than a step: reached at once
    pacer.at(onsets[-1] + 15.01)
    assert pacer.paces_bpm[-1] == 4.3
    assert np.max(np.abs(np.diff(pacer.paces_bpm))) <= 0.5


def test_past_times_answer_from_the_stored_schedule() -> None:
    pacer = Pacer(BreathPattern(6.0))
    before = [pacer.at(t) for t in (1.0, 7.0, 15.0)]
    pacer.request(8.0)
    pacer.at(100.0)
    assert [pacer.at(t) for t in (1.0, 7.0, 15.0)] == before  # the request did not rewrite breaths begun


@pytest.mark.parametrize("target", [3.0, 9.5])
@pytest.mark.parametrize("start_s", [0.0, 123.4])
def test_phase_and_fullness_are_continuous_across_pace_changes(target: float, start_s: float) -> None:
    pacer = Pacer(BreathPattern(6.0, inhale_share=0.35), start_s=start_s)
    pacer.at(start_s + 25.0)
    pacer.request(target)
    dt = 0.001
    t = start_s + np.arange(0.0, 180.0, dt)
    x = pacer.fullness_at(t)
    assert np.unique(pacer.paces_bpm).size >= 6  # several changes inside the span
    # no jump: steps of the sampled shape stay within the largest slope of a raised cosine
    max_slope = max(np.pi / 2 / p.inhale_s for p in (BreathPattern(v, 0.35) for v in pacer.paces_bpm))
    assert np.max(np.abs(np.diff(x))) <= max_slope * dt * 1.001
    # and the derivative has no kink (C1): its steps are second-order small
    assert np.max(np.abs(np.diff(x, 2))) < 1e-5
    # phase runs 0 -> 1 within each breath and wraps only at the onsets
    states = [pacer.at(float(v)) for v in t[::50]]
    phase = np.array([s.phase for s in states])
    index = np.array([s.breath_index for s in states])
    wraps = np.flatnonzero(np.diff(phase) < 0)
    assert np.array_equal(wraps, np.flatnonzero(np.diff(index) != 0))
    assert np.all(np.diff(phase)[np.diff(index) == 0] > 0)
    assert np.all(phase[wraps] > 0.99) and np.all(phase[wraps + 1] < 0.01)
    # every pace change lands at an onset: each breath has one pace all through
    for k in range(index[-1]):
        assert np.unique([s.pace_bpm for s in states if s.breath_index == k]).size == 1


def test_fullness_at_equals_at_elementwise() -> None:
    pacer = Pacer(BreathPattern(5.0, inhale_share=0.3, hold_in_s=1.5, hold_out_s=0.5), start_s=3.0)
    pacer.at(20.0)
    pacer.request(6.5)
    t = np.linspace(-5.0, 120.0, 3001)
    vec = pacer.fullness_at(t)
    assert np.array_equal(vec, np.array([pacer.at(float(v)).fullness for v in t]))
    assert 0.0 <= vec.min() and vec.max() <= 1.0 and vec.min() == 0.0 and vec.max() == 1.0


def test_holds_hold_flat() -> None:
    pacer = Pacer(BreathPattern(4.0, inhale_share=0.5, hold_in_s=3.0, hold_out_s=2.0))  # 15 s: 5 in, 3, 5 out, 2
    assert [pacer.at(t).part for t in (0.0, 4.9, 5.1, 7.9, 8.1, 12.9, 13.1, 14.9)] == [
        "inhale", "inhale", "hold_in", "hold_in", "exhale", "exhale", "hold_out", "hold_out"]
    assert pacer.fullness_at(np.linspace(5.0, 8.0, 31)).tolist() == [1.0] * 31
    assert pacer.fullness_at(np.linspace(13.0, 14.999, 31)).tolist() == [0.0] * 31
    assert pacer.at(6.0).part_left_s == pytest.approx(2.0) and pacer.at(14.0).part_left_s == pytest.approx(1.0)


def test_a_pattern_request_stretches_holds_on_the_way() -> None:
    pacer = Pacer(BreathPattern(6.0))
    pacer.request_pattern(BreathPattern(5.0, inhale_share=0.5, hold_in_s=2.0))
    pacer.at(30.0)
    assert pacer.paces_bpm.tolist() == [6.0, 5.5, 5.0]
    on_the_way = pacer.at(10.0 + 0.5 * (60 / 5.5))
    assert on_the_way.pace_bpm == 5.5
    assert pacer.pattern == BreathPattern(5.0, inhale_share=0.5, hold_in_s=2.0)
    # 5.5/min: holds scaled by 5/5.5; the breathing time split half and half
    assert pacer.at(10.0 + (60 / 5.5 - 2.0 * 5 / 5.5) / 2 + 0.01).part == "hold_in"


@pytest.mark.parametrize(("text", "adaptive", "inhale_s", "hold_in_s", "exhale_s", "hold_out_s", "period_s"), [
    ("4-7-8", False, 4.0, 7.0, 8.0, 0.0, 19.0),
    ("box", False, 4.0, 4.0, 4.0, 4.0, 16.0),
    ("fixed:5.5", False, 60 / 5.5 * 0.4, 0.0, 60 / 5.5 * 0.6, 0.0, 60 / 5.5),
    ("Fixed:6", False, 4.0, 0.0, 6.0, 0.0, 10.0),
    ("resonance", True, 4.0, 0.0, 6.0, 0.0, 10.0),
    ("calm", True, 2.0, 0.0, 4.0, 0.0, 6.0),
])
def test_preset_timings(text: str, adaptive: bool, inhale_s: float, hold_in_s: float, exhale_s: float,
                        hold_out_s: float, period_s: float) -> None:
    p = parse_preset(text)
    got = (p.pattern.inhale_s, p.pattern.hold_in_s, p.pattern.exhale_s, p.pattern.hold_out_s, p.pattern.period_s)
    assert p.adaptive is adaptive
    assert got == pytest.approx((inhale_s, hold_in_s, exhale_s, hold_out_s, period_s), abs=1e-12)
    # the pacer plays the preset to the second: 4-7-8's parts end at 4, 11 and 19 s
    pacer = Pacer(p.pattern)
    ends = np.cumsum([inhale_s, hold_in_s, exhale_s, hold_out_s])
    assert pacer.at(period_s).breath_index == 1 and pacer.at(period_s - 1e-9).breath_index == 0
    assert pacer.at(ends[0] - 1e-9).part == "inhale" and pacer.at(ends[2] - 1e-9).part == "exhale"


def test_preset_names_and_coach_options() -> None:
    assert parse_preset("fixed:6").name == "fixed:6" and parse_preset(" BOX ").name == "box"
    # one breath a minute to one a second: the ends of the range are paces
    assert [parse_preset(f"fixed:{x}").pattern.pace_bpm for x in ("1", "60")] == [1.0, 60.0]
    assert parse_preset("resonance").coach_options == {}
    calm = parse_preset("calm")
    assert calm.coach_options == {"start_from_own_rate": True, "max_step_bpm": 0.25, "min_pace_bpm": 5.5}
    assert calm.pattern.exhale_s == pytest.approx(2 * calm.pattern.inhale_s)  # a long exhale


@pytest.mark.parametrize("text", ["", "resonant", "fixed:", "fixed:zero", "fixed:0", "fixed:-3", "fixed:nan",
                                  "fixed:inf", "fixed:100", "fixed:60.5", "fixed:0.0001", "fixed:0.99", "4-7"])
def test_a_bad_preset_is_one_line_naming_it_and_the_choices(text: str) -> None:
    with pytest.raises(InvalidInputError) as exc:
        parse_preset(text)
    msg = str(exc.value)
    assert "\n" not in msg and repr(text) in msg
    assert all(name in msg for name in ("resonance", "fixed:X", "4-7-8", "box", "calm"))


@pytest.mark.parametrize(("kwargs", "word"), [
    ({"pace_bpm": 0.0}, "pace_bpm"), ({"pace_bpm": math.nan}, "pace_bpm"), ({"pace_bpm": 6, "inhale_share": 1.0},
                                                                            "inhale_share"),
    ({"pace_bpm": 6, "inhale_share": 0.0}, "inhale_share"), ({"pace_bpm": 6, "hold_in_s": -1.0}, "hold_in_s"),
    ({"pace_bpm": 6, "hold_in_s": 6.0, "hold_out_s": 4.0}, "holds"),
])
def test_bad_patterns_and_requests_say_what_is_wrong(kwargs: dict[str, float], word: str) -> None:
    with pytest.raises(InvalidInputError, match=word):
        BreathPattern(**kwargs)


def test_bad_pacer_arguments() -> None:
    with pytest.raises(InvalidInputError, match="max_step_bpm"):
        Pacer(BreathPattern(6.0), max_step_bpm=0.0)
    pacer = Pacer(BreathPattern(6.0))
    with pytest.raises(InvalidInputError, match="pace_bpm"):
        pacer.request(-1.0)
    with pytest.raises(InvalidInputError, match="t_s"):
        pacer.at(math.nan)
    assert pacer.paces_bpm.tolist() == [6.0] and pacer.target.pace_bpm == 6.0  # nothing changed


def test_no_step_limit_changes_at_once_at_the_onset() -> None:
    pacer = Pacer(BreathPattern(30.0), max_step_bpm=math.inf)
    pacer.at(0.0)
    pacer.request(20.0)
    pacer.at(10.0)
    assert pacer.paces_bpm.tolist() == [30.0, 20.0, 20.0, 20.0] and pacer.onsets_s[-1] == pytest.approx(8.0)


class _CountingPattern(BreathPattern):
    """A BreathPattern that counts how often its timing is computed."""

    __slots__ = ()
    calls = 0

    @property
    def inhale_s(self) -> float:
        type(self).calls += 1
        return BreathPattern.inhale_s.__get__(self)  # type: ignore[attr-defined, no-any-return]


def test_the_work_per_breath_does_not_grow_with_the_session() -> None:
    # regression: the per-breath table was rebuilt from every breath so far at each new breath,
    # so a session's cost grew with the square of its length (100 us per beat after an hour)
    pacer = Pacer(_CountingPattern(6.0))
    _CountingPattern.calls = 0
    t = 0.0
    for i in range(20_000):  # about 30 000 s: 3000 breaths, a beat every 1.5 s
        pacer.at(t)
        if i % 40 == 0:
            pacer.request(5.5 if i % 80 else 6.0)
        t += 1.5
    breaths = pacer.paces_bpm.size
    assert breaths > 2800 and type(pacer.pattern) is _CountingPattern
    assert _CountingPattern.calls <= 3 * (20_000 + breaths)  # a few per call and per breath, not per breath so far


# ---------------------------------------------------------------------------- asking ahead


def test_peek_answers_as_at_would_and_fixes_no_breath() -> None:
    pacer = Pacer(BreathPattern(6.0))
    twin = Pacer(BreathPattern(6.0))
    assert pacer.at(3.0) == twin.at(3.0)
    pacer.request(4.0)
    twin.request(4.0)
    times = [5.0, 9.99, 10.0, 15.0, 20.0, 25.0, 40.0, 61.0]
    peeked = [pacer.peek(t) for t in times]
    assert pacer.onsets_s.tolist() == [0.0] and pacer.paces_bpm.tolist() == [6.0]  # nothing fixed
    assert peeked == [twin.at(t) for t in times]  # the breaths that follow, as asked in order
    grid = np.linspace(0.0, 70.0, 701)
    np.testing.assert_array_equal(pacer.peek_fullness(grid), twin.fullness_at(grid))
    assert pacer.onsets_s.tolist() == [0.0]
    assert pacer.peek_fullness(np.array([])).size == 0
    with pytest.raises(InvalidInputError, match="finite"):
        pacer.peek(math.nan)
    with pytest.raises(InvalidInputError, match="finite"):
        pacer.peek_fullness(np.array([1.0, math.inf]))


def test_only_at_fixes_a_breath_so_a_request_after_a_peek_still_takes_effect_at_the_next_onset() -> None:
    pacer = Pacer(BreathPattern(6.0))
    pacer.at(9.5)  # the coach's last beat, half a second before the onset at 10 s
    assert pacer.peek(10.5).pace_bpm == 6.0  # the person, a beat further on, sees the breath go on at 6
    pacer.request(7.0)  # the coach, at its next beat (9.9 s), asks for 7
    assert pacer.at(9.9).pace_bpm == 6.0 and pacer.at(10.5).pace_bpm == 6.5  # from the onset it was not yet fixed
    assert pacer.peek(10.5).pace_bpm == 6.5 and pacer.paces_bpm.tolist() == [6.0, 6.5]
    # the copy that answers ahead is renewed when a breath is fixed or another pace requested
    pacer.request(5.0)
    assert pacer.peek(20.0).pace_bpm == 6.0 and pacer.peek(30.0).pace_bpm == 5.5
    assert pacer.paces_bpm.tolist() == [6.0, 6.5]
    twin = Pacer(BreathPattern(6.0))
    twin.at(9.5)
    twin.request(7.0)
    twin.at(10.5)
    twin.request(5.0)
    grid = np.linspace(0.0, 45.0, 451)  # over the breaths fixed and beyond
    np.testing.assert_array_equal(pacer.peek_fullness(grid), twin.fullness_at(grid))
    assert pacer.paces_bpm.tolist() == [6.0, 6.5]
