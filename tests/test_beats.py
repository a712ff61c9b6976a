"""The beat clock: beat times from the RR chain, gaps, re-anchoring."""

from __future__ import annotations

import numpy as np
import pytest

from biofeedback.beats import Beat, BeatClock, BeatFlags, Measurement, beat_times_s
from biofeedback.errors import InvalidInputError
from biofeedback.hrm import SensorContact


def feed(clock: BeatClock, frames: list[Measurement]) -> list[Beat]:
    return [b for m in frames for b in clock.add(m)]


def test_beat_times_come_from_the_rr_chain_not_arrival_jitter() -> None:
    rng = np.random.default_rng(1)
    rr = rng.normal(900, 60, 300)
    # one notification a beat, arriving with 0-400 ms of jitter after the beat
    t_beat = 50.0 + np.cumsum(rr) / 1000
    arrival = t_beat + rng.uniform(0, 0.4, rr.size)
    clock = BeatClock()
    beats = feed(clock, [Measurement(a, 66, (r,)) for a, r in zip(arrival, rr, strict=True)])
    t = np.array([b.t_s for b in beats])
    np.testing.assert_allclose(t, np.cumsum(rr) / 1000, rtol=0, atol=1e-9)
    assert [b.rr_ms for b in beats] == list(rr)
    assert clock.gaps == []


def test_frames_with_zero_one_and_several_rr() -> None:
    clock = BeatClock()
    frames = [
        Measurement(0.0, 0),  # settling: HR 0, no RR
        Measurement(1.0, 60, (1000.0,)),
        Measurement(2.0, 48, ()),  # slow heart: no beat this second
        Measurement(3.0, 48, (1250.0,)),
        Measurement(4.0, 130, (450.0, 460.0)),
    ]
    beats = feed(clock, frames)
    assert [round(b.t_s, 9) for b in beats] == [1.0, 2.25, 2.7, 3.16]


def test_link_loss_records_a_gap_and_reanchors_on_arrival() -> None:
    clock = BeatClock()
    feed(clock, [Measurement(10.0 + i, 60, (1000.0,)) for i in range(5)])
    assert clock.last_beat_s == pytest.approx(5.0)
    clock.break_chain("link lost")
    # back 20 s later (arrival clock); the strap's first RR after reconnect is 800 ms
    beats = clock.add(Measurement(34.0, 75, (800.0,)))
    (gap,) = clock.gaps
    assert gap.reason == "link lost"
    assert gap.start_s == pytest.approx(5.0)
    # arrival 34.0 maps to 34.0 - 9.0 = 25.0 on the beat clock; the interval started 0.8 s before
    assert gap.end_s == pytest.approx(24.2)
    assert gap.duration_s == pytest.approx(19.2)
    assert beats[0].t_s == pytest.approx(25.0)
    assert beats[0].flags & BeatFlags.AFTER_GAP
    # the chain continues from the new anchor
    (nxt,) = clock.add(Measurement(35.0, 75, (800.0,)))
    assert nxt.t_s == pytest.approx(25.8) and not nxt.flags & BeatFlags.AFTER_GAP


def test_lost_notifications_make_the_chain_lag_and_reanchor() -> None:
    clock = BeatClock(max_lag_s=2.5)
    feed(clock, [Measurement(float(i), 60, (1000.0,)) for i in range(1, 6)])
    # notifications of beats at 6..9 s are lost; the next arrives at 10 s with one RR
    (b,) = clock.add(Measurement(10.0, 60, (1000.0,)))
    (gap,) = clock.gaps
    assert gap.reason == "chain behind arrival clock"
    assert b.t_s == pytest.approx(10.0)
    assert gap.start_s == pytest.approx(5.0) and gap.end_s == pytest.approx(9.0)


def test_jitter_below_the_threshold_is_not_a_gap() -> None:
    clock = BeatClock(max_lag_s=2.5)
    feed(clock, [Measurement(float(i), 60, (1000.0,)) for i in range(1, 6)])
    clock.add(Measurement(8.0, 60, (1000.0,)))  # 2 s late: jitter, not a gap
    assert clock.gaps == []


@pytest.mark.parametrize("behind_s", [2.6, 2.8])
def test_a_chain_more_than_two_and_a_half_seconds_behind_reanchors(behind_s: float) -> None:
    # the default clock: notifications 1 s apart, then one arrives behind_s later than its
    # beat's place on the chain (its predecessors were lost): re-anchor and record the gap
    clock = BeatClock()
    feed(clock, [Measurement(float(i), 60, (1000.0,)) for i in range(1, 6)])
    (b,) = clock.add(Measurement(6.0 + behind_s, 60, (1000.0,)))
    (gap,) = clock.gaps
    assert gap.reason == "chain behind arrival clock"
    assert gap.start_s == pytest.approx(5.0)
    assert gap.end_s == pytest.approx(5.0 + behind_s) and gap.duration_s == pytest.approx(behind_s)
    assert b.t_s == pytest.approx(6.0 + behind_s) and b.flags & BeatFlags.AFTER_GAP


@pytest.mark.parametrize("behind_s", [2.0, 2.4])
def test_a_chain_less_than_two_and_a_half_seconds_behind_keeps_its_time(behind_s: float) -> None:
    clock = BeatClock()
    feed(clock, [Measurement(float(i), 60, (1000.0,)) for i in range(1, 6)])
    (b,) = clock.add(Measurement(6.0 + behind_s, 60, (1000.0,)))
    assert clock.gaps == []
    assert b.t_s == pytest.approx(6.0) and b.flags == BeatFlags.NONE


def test_a_reanchor_never_moves_time_backwards() -> None:
    clock = BeatClock()
    feed(clock, [Measurement(100.0 + i, 60, (1000.0,)) for i in range(5)])
    clock.break_chain()
    (b,) = clock.add(Measurement(100.5, 60, (1000.0,)))  # arrival clock earlier than the chain
    assert b.t_s == pytest.approx(6.0)
    assert clock.gaps[0].duration_s == 0.0


def test_no_contact_is_flagged() -> None:
    clock = BeatClock()
    (b,) = clock.add(Measurement(1.0, 60, (1000.0,), SensorContact.NOT_DETECTED))
    assert b.flags & BeatFlags.NO_CONTACT


def test_beat_times_rejects_bad_input() -> None:
    with pytest.raises(InvalidInputError, match="empty"):
        beat_times_s([])
    with pytest.raises(InvalidInputError, match="NaN"):
        beat_times_s([800.0, float("nan")])
    with pytest.raises(InvalidInputError, match="negative"):
        beat_times_s([800.0, -1.0])


def test_notifications_without_rr_for_long_break_the_chain() -> None:
    # some straps keep sending heart rate but stop sending RR (contact lost, settling)
    clock = BeatClock(max_lag_s=2.5)
    feed(clock, [Measurement(float(i), 60, (1000.0,)) for i in range(1, 6)])
    feed(clock, [Measurement(float(i), 60) for i in range(6, 16)])
    (b,) = clock.add(Measurement(16.0, 60, (1000.0,)))
    (gap,) = clock.gaps
    assert gap.reason == "no RR intervals"
    assert b.t_s == pytest.approx(16.0) and b.flags & BeatFlags.AFTER_GAP
    assert gap.start_s == pytest.approx(5.0) and gap.end_s == pytest.approx(15.0)
