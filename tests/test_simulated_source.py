"""The simulated person as a source: strap-like notifications, lazy and deterministic."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import numpy as np
import pytest

from biofeedback.errors import InvalidInputError
from biofeedback.hrm import HeartRateMeasurement, SensorContact
from biofeedback.notifications import group_into_notifications
from biofeedback.physiology import PersonParams
from biofeedback.session import Session
from biofeedback.sources.base import HeartRateSource, Measurement, SourceInfo
from biofeedback.sources.simulated import SimulatedSource


@dataclass(frozen=True)
class Shown:
    pace_bpm: float
    phase: float


class ReactingPrompt:
    """A toy coach and pacer in one: slows by 0.5/min whenever the last 10 beats average
    above ``threshold_bpm``; the phase stays continuous."""

    def __init__(self, threshold_bpm: float) -> None:
        self.threshold_bpm = threshold_bpm
        self.pace_bpm = 7.0
        self.anchor_s = 0.0
        self.anchor_cycles = 0.0
        self.changes: list[float] = []

    def at(self, t_s: float) -> Shown:
        cycles = self.anchor_cycles + (t_s - self.anchor_s) * self.pace_bpm / 60.0
        return Shown(self.pace_bpm, cycles % 1.0)

    def on_beats(self, t_s: float, rr_ms: list[float]) -> None:
        if len(rr_ms) >= 10 and 60000.0 / np.mean(rr_ms[-10:]) > self.threshold_bpm and self.pace_bpm > 4.5:
            self.anchor_cycles += (t_s - self.anchor_s) * self.pace_bpm / 60.0
            self.anchor_s = t_s
            self.pace_bpm -= 0.5
            self.changes.append(t_s)


async def collect(source: SimulatedSource, prompt: ReactingPrompt | None = None) -> list[Measurement]:
    out: list[Measurement] = []
    rr: list[float] = []
    async with source:
        async for event in source:
            assert isinstance(event, Measurement)
            out.append(event)
            rr.extend(event.rr_ms)
            if prompt is not None:
                prompt.on_beats(event.t_arrival_s, rr)
    return out


def test_notifications_are_a_straps() -> None:
    source = SimulatedSource(seed=3, minutes=5, params=PersonParams(artefact_rate=0.02))
    frames = asyncio.run(collect(source))
    assert isinstance(source, HeartRateSource)
    # the seed is in the kind; given parameters are not (the kind says so)
    assert source.info() == SourceInfo(kind="sim:3:custom", speed=1.0, device_name="simulated person")
    sent = [b.rr_ms for b in source.beats]
    expected = group_into_notifications(sent, 1.0, as_sent=True)
    assert [(f.t_arrival_s, f.rr_ms) for f in frames] == expected
    for f in frames:
        decoded = HeartRateMeasurement.from_bytes(f.raw)
        assert decoded.rr_ms == f.rr_ms and decoded.heart_rate_bpm == f.heart_rate_bpm
        assert f.contact is SensorContact.DETECTED
        if f.rr_ms:
            assert f.heart_rate_bpm == pytest.approx(60000.0 * len(f.rr_ms) / sum(f.rr_ms), abs=0.6)
    got = np.concatenate([f.rr_ms for f in frames])
    assert np.max(np.abs(got - np.array(sent))) <= 1000.0 / 2048.0  # to the nearest 1/1024 s
    assert sum(sent) / 1000.0 <= 300.0 < (sum(sent) + source.person.next_beat(None).rr_ms) / 1000.0
    assert any(b.artefact for b in source.beats)


def test_same_seed_same_stream_at_any_speed_with_a_coach_reacting() -> None:
    runs = []
    for speed in (None, "max", 3000.0):
        prompt = ReactingPrompt(threshold_bpm=60.0)
        source = SimulatedSource(seed=5, sees=prompt.at, speed=speed, minutes=2)
        frames = asyncio.run(collect(source, prompt))
        runs.append(([(f.t_arrival_s, f.rr_ms) for f in frames], prompt.changes))
    assert runs[0] == runs[1] == runs[2]
    assert len(runs[0][1]) >= 3  # the coach did react


def test_generation_is_lazy_a_coach_changes_what_follows() -> None:
    fast = ReactingPrompt(threshold_bpm=0.0)  # slows at every chance
    never = ReactingPrompt(threshold_bpm=1000.0)
    a = SimulatedSource(seed=2, sees=fast.at, minutes=3, params=PersonParams(artefact_rate=0.0))
    b = SimulatedSource(seed=2, sees=never.at, minutes=3, params=PersonParams(artefact_rate=0.0))
    asyncio.run(collect(a, fast))
    asyncio.run(collect(b, never))
    first_change_s = fast.changes[0]
    ra = [x.rr_ms for x in a.beats]
    rb = [x.rr_ms for x in b.beats]
    before = sum(1 for x in a.beats if x.t_s < first_change_s)
    assert ra[:before] == rb[:before]
    assert ra[before + 5:before + 60] != rb[before + 5:before + 60]


def test_no_prompt_means_own_breathing_and_a_person_who_does_not_follow() -> None:
    source = SimulatedSource(seed=1, minutes=1)
    asyncio.run(collect(source))
    assert source.person.mode == "own"
    prompt = ReactingPrompt(threshold_bpm=1000.0)
    loner = SimulatedSource(seed=1, sees=prompt.at, minutes=1, params=PersonParams(follows=False))
    asyncio.run(collect(loner))
    assert loner.person.mode == "own"


def test_a_session_runs_it_fast() -> None:
    source = SimulatedSource(seed=4, speed=2000.0, minutes=2)
    rec = asyncio.run(Session(source).run())
    assert rec.n_beats == len(source.beats)
    assert np.max(np.abs(rec.rr_ms - np.array([b.rr_ms for b in source.beats]))) <= 1000.0 / 2048.0
    assert rec.meta is not None and rec.meta.source == "sim:4"  # how to play the same person again


def test_the_kind_says_how_to_reproduce_the_person() -> None:
    assert SimulatedSource(seed=17).info().kind == "sim:17"
    assert SimulatedSource(seed=17, variant="default").info().kind == "sim:17"
    assert SimulatedSource(seed=3, variant="poor_follower").info().kind == "sim:3:poor_follower"


def test_leaving_early_stops_the_person() -> None:
    async def main() -> int:
        source = SimulatedSource(seed=0)  # endless
        async with source:
            async for event in source:
                if isinstance(event, Measurement) and event.t_arrival_s >= 30.0:
                    break
        return len(source.beats)

    assert 25 < asyncio.run(main()) < 60


@pytest.mark.parametrize("period_s", [0.5, 1.0, 2.0])
def test_every_notification_fits_a_straps_20_bytes_at_any_period_allowed(period_s: float) -> None:
    # the fastest heart the model allows, with the most artefacts (extra beats split intervals)
    fast = PersonParams(baseline_hr_bpm=150.0, artefact_rate=0.2)
    source = SimulatedSource(seed=2, minutes=3, params=fast, period_s=period_s)
    frames = asyncio.run(collect(source))
    assert [f.t_arrival_s for f in frames[:3]] == [period_s, 2 * period_s, 3 * period_s]
    assert max(len(f.raw) for f in frames) <= 20  # ATT_MTU 23 minus the notification header
    assert max(len(f.rr_ms) for f in frames) <= 9


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"speed": 0.0}, "speed must be a positive number of times real time, got 0.0"),
    ({"speed": "fast"}, "speed must be a positive number of times real time or 'max', got 'fast'"),
    ({"minutes": -1.0}, "minutes must be a positive number of minutes, got -1.0"),
    ({"variant": "nope"}, "unknown variant 'nope'"),
    ({"seed": -3}, "seed must be a non-negative integer, got -3"),
    ({"period_s": 3.0}, r"period_s must be 0.5-2 s \(a strap notifies about once a second\), got 3.0"),
    ({"period_s": 0.25}, r"period_s must be 0.5-2 s \(a strap notifies about once a second\), got 0.25"),
])
def test_bad_arguments_are_our_error(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        SimulatedSource(**kwargs)  # type: ignore[arg-type]
