"""Grouping RR intervals into notifications: one function for the replay and the emulated strap."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from _data import DATA

from biofeedback.beats import Measurement
from biofeedback.emulator.strap import ATT_PAYLOAD_BYTES, frames_from_rr
from biofeedback.errors import InvalidInputError
from biofeedback.formats import read_rr_file
from biofeedback.hrm import HeartRateMeasurement
from biofeedback.notifications import group_into_notifications
from biofeedback.sources.replay import ReplaySource

SAMPLE = DATA  # the recordings the tests read (tests/data/README.md)


def expected_frames(rr_ms: list[int], period_ms: int) -> list[tuple[float, tuple[float, ...]]]:
    """The strap's grouping in integer ms: the beat ending at ``T`` ms goes in notification
    ``ceil(T / period_ms)``, sent at that many periods."""
    ends = np.cumsum(rr_ms)
    frame_of = -(-ends // period_ms)  # ceil, exactly
    return [
        (n * period_ms / 1000.0, tuple(float(x) for x, f in zip(rr_ms, frame_of, strict=True) if f == n))
        for n in range(1, int(frame_of[-1]) + 1)
    ]


@pytest.mark.parametrize("period_ms", [1000, 500])
def test_replay_notifications_arrive_when_their_beats_have_ended(period_ms: int) -> None:
    rr = read_rr_file(SAMPLE / "polarh10_slow_breathing.txt")
    rr_int = [int(x) for x in rr]
    assert rr_int == rr.tolist()  # whole ms, so the expected grouping is exact
    expected = expected_frames(rr_int, period_ms)
    assert group_into_notifications(rr, period_ms / 1000.0) == expected

    async def play() -> list[Measurement]:
        return [e async for e in ReplaySource(rr, period_s=period_ms / 1000.0) if isinstance(e, Measurement)]

    got = asyncio.run(play())
    assert [(m.t_arrival_s, m.rr_ms) for m in got] == expected
    # each beat arrives with the first notification at or after it, less than a period later
    beat_s = np.cumsum(rr) / 1000.0
    arrival_s = np.repeat([m.t_arrival_s for m in got], [len(m.rr_ms) for m in got])
    lag_s = arrival_s - beat_s
    assert lag_s.min() >= -1e-9 and lag_s.max() < period_ms / 1000.0
    assert arrival_s[0] == pytest.approx(np.ceil(beat_s[0] / (period_ms / 1000.0)) * period_ms / 1000.0)


def test_a_beat_ending_on_the_notification_time_goes_in_that_notification() -> None:
    assert group_into_notifications([1000.0, 500.0, 500.0, 2000.0]) == [
        (1.0, (1000.0,)), (2.0, (500.0, 500.0)), (3.0, ()), (4.0, (2000.0,)),
    ]


def test_replay_keeps_the_files_values_to_the_bit() -> None:
    rr = [812.3456789, 1000.0000001, 799.9]
    assert [x for _, f in group_into_notifications(rr) for x in f] == rr


def test_as_sent_rounds_to_1024ths_of_a_second_without_moving_the_beats() -> None:
    rr = [1000.4, 1000.4, 1000.4]  # 1024.4 units: sent as 1024, 1000 ms; the beats end at 1.0004, 2.0008, 3.0012 s
    exact = group_into_notifications(rr)
    sent = group_into_notifications(rr, as_sent=True)
    assert exact == [(1.0, ()), (2.0, (1000.4,)), (3.0, (1000.4,)), (4.0, (1000.4,))]
    assert sent == [(1.0, ()), (2.0, (1000.0,)), (3.0, (1000.0,)), (4.0, (1000.0,))]
    assert {x for _, f in group_into_notifications([800.0] * 5, as_sent=True) for x in f} == {819 * 1000 / 1024}
    with pytest.raises(InvalidInputError, match="1..65535 units"):
        group_into_notifications([800.0, 70000.0], as_sent=True)
    with pytest.raises(InvalidInputError, match="1..65535 units"):
        group_into_notifications([0.4], as_sent=True)


def test_settle_frames_come_first_and_carry_nothing() -> None:
    frames = group_into_notifications([1000.0, 1000.0], settle_frames=3)
    assert frames == [(-2.0, ()), (-1.0, ()), (0.0, ()), (1.0, (1000.0,)), (2.0, (1000.0,))]


def test_a_cap_holds_back_beats_for_the_next_notification() -> None:
    rr = [100.0] * 25  # 10 beats a second
    capped = group_into_notifications(rr, max_rr=4)
    assert [len(f) for _, f in capped] == [4, 4, 4, 4, 4, 4, 1]
    assert [x for _, f in capped for x in f] == rr
    # a cap per notification index (settle frames counted), as the emulator's energy field needs
    by_index = group_into_notifications(rr, settle_frames=1, max_rr=lambda k: 2 if k % 2 else 6)
    assert [len(f) for _, f in by_index] == [0, 2, 6, 2, 6, 2, 6, 1]
    assert [x for _, f in by_index for x in f] == rr


@pytest.mark.parametrize(
    ("options", "named"),
    [({"period_s": 0.0}, "period_s"), ({"period_s": -1.0}, "period_s"), ({"period_s": float("inf")}, "period_s"),
     ({"settle_frames": -1}, "settle_frames"), ({"max_rr": 0}, "max_rr")],
)
def test_bad_options_are_named(options: dict[str, float], named: str) -> None:
    with pytest.raises(InvalidInputError, match=named):
        group_into_notifications([800.0, 810.0], **options)  # type: ignore[arg-type]


def test_the_emulated_strap_sends_the_same_grouping_as_the_replay() -> None:
    rr = read_rr_file(SAMPLE / "polarh10_slow_breathing.txt")[:400]
    frames = frames_from_rr(rr, settle_frames=2)
    grouped = group_into_notifications(rr, settle_frames=2, as_sent=True)
    # strap time counts from the first (settle) frame; the beat clock from the chain's start
    assert [t for t, _ in frames] == [k * 1.0 for k in range(len(grouped))]
    assert [t - 1.0 for t, _ in frames] == [t for t, _ in grouped]
    assert [HeartRateMeasurement.from_bytes(p).rr_ms for _, p in frames] == [f for _, f in grouped]
    # and the replay's notifications are the same beats, with the file's own values
    replay = group_into_notifications(rr)
    assert [len(f) for _, f in replay] == [len(f) for _, f in grouped[2:]]
    assert all(len(p) <= ATT_PAYLOAD_BYTES for _, p in frames)
