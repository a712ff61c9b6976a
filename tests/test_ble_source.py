"""The BLE heart-rate source, driven through the real bleak against the emulated BlueZ.

Nothing is mocked: bleak 3.1 runs its real code path over a private dbus-daemon, where
biofeedback.emulator plays the straps. Straps play fast (speed 20-50) and backoffs are
tens of milliseconds, so the file stays well under a minute. Every assertion is on
behaviour (which frames, which events, which errors), never on wall-clock timing; the
few time comparisons are lower bounds that a slow machine cannot break.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from ble_helpers import (
    as_tuples,
    everything_arrived,
    measurements,
    rr_units,
    run_bare,
    run_emulated,
    strap_connected,
    valid_frames,
    wait_until,
)

from biofeedback.beats import Beat, BeatClock, Measurement
from biofeedback.emulator import (
    EmulatedBlueZ,
    EmulatedStrap,
    PrivateBus,
    frames_from_rr,
)
from biofeedback.errors import (
    BluetoothUnavailableError,
    ConnectError,
    InvalidInputError,
    StrapChoiceError,
    StrapNotFoundError,
)
from biofeedback.hrm import HeartRateMeasurement, SensorContact
from biofeedback.sources.base import (
    HeartRateSource,
    LinkLost,
    LinkRestored,
    RejectedFrame,
    SourceEvent,
)
from biofeedback.sources.ble import BleSource
from biofeedback.sources.scan import StrapInfo, find_strap, scan

pytestmark = pytest.mark.skipif(shutil.which("dbus-daemon") is None, reason="needs dbus-daemon")

POLAR = "A0:9E:1A:12:34:56"
GARMIN = "C8:3E:99:0A:BC:DE"
SCALE = "11:22:33:44:55:66"
REMOTE_REFUSAL = "le-connection-abort-by-remote"  # a refusal bleak does not retry itself
FAST = {"backoff_initial_s": 0.01, "backoff_max_s": 0.05, "scan_timeout_s": 5.0, "settle_s": 0.2}


def polar(frames: list[tuple[float, bytes]], **options: object) -> EmulatedStrap:
    return EmulatedStrap(name="Polar H10 A1B2C3D4", address=POLAR, frames=frames, **options)


def steady_frames(n_beats: int, seed: int = 0) -> list[tuple[float, bytes]]:
    rng = np.random.default_rng(seed)
    return frames_from_rr(rr_units(list(rng.integers(700, 1100, n_beats))))


def streaming_since_link_event(events: list[SourceEvent]) -> int:
    """Measurements since the last LinkLost / LinkRestored (or the start)."""
    n = 0
    for event in reversed(events):
        if isinstance(event, LinkLost | LinkRestored):
            break
        n += isinstance(event, Measurement)
    return n


async def consume(
    source: BleSource,
    strap: EmulatedStrap,
    on_measurement: object = None,
) -> list[SourceEvent]:
    """All events until every frame the strap sent has come out of the source."""
    events: list[SourceEvent] = []
    async with source:
        async for event in source:
            events.append(event)
            if callable(on_measurement) and isinstance(event, Measurement):
                await on_measurement(events)
            if everything_arrived(source, strap, events):
                break
    return events


# -- scanning and choosing the strap ---------------------------------------------------


def test_scan_lists_heart_rate_straps_strongest_first_and_ignores_other_devices() -> None:
    async def scenario(bluez: EmulatedBlueZ) -> list[StrapInfo]:
        await bluez.add_strap(polar([], rssi_dbm=-71))
        await bluez.add_strap(EmulatedStrap(name="HRM-Dual:123456", address=GARMIN.lower(), rssi_dbm=-48))
        await bluez.add_strap(
            EmulatedStrap(name="Kitchen Scale", address=SCALE, rssi_dbm=-30, advertise_hr_service=False)
        )
        return await scan(timeout_s=0.4)

    assert run_emulated(scenario) == [
        StrapInfo(name="HRM-Dual:123456", address=GARMIN, rssi_dbm=-48),
        StrapInfo(name="Polar H10 A1B2C3D4", address=POLAR, rssi_dbm=-71),
    ]


def test_scan_with_nothing_in_range_is_an_empty_list() -> None:
    async def scenario(bluez: EmulatedBlueZ) -> list[StrapInfo]:
        return await scan(timeout_s=0.2)

    assert run_emulated(scenario) == []


def test_find_strap_by_address_any_case_by_name_fragment_and_the_only_one() -> None:
    async def scenario(bluez: EmulatedBlueZ) -> list[StrapInfo]:
        await bluez.add_strap(polar([]))
        found = [(await find_strap(POLAR.lower().replace(":", "-"), 3.0))[1]]
        found.append((await find_strap("h10", 3.0, settle_s=0.2))[1])
        found.append((await find_strap(None, 3.0, settle_s=0.2))[1])
        device, info = await find_strap("POLAR", 3.0, settle_s=0.2)
        assert device.address == POLAR
        return [*found, info]

    assert run_emulated(scenario) == [StrapInfo("Polar H10 A1B2C3D4", POLAR, -60)] * 4


def test_strap_not_advertising_the_service_is_taken_only_by_its_address() -> None:
    frames = steady_frames(6, seed=12)

    async def scenario(bluez: EmulatedBlueZ) -> None:
        quiet = polar(frames, speed=25, advertise_hr_service=False)  # some straps do not
        await bluez.add_strap(quiet)
        assert await scan(timeout_s=0.3) == []
        with pytest.raises(StrapNotFoundError):
            await find_strap("polar", 0.3)
        source = BleSource(POLAR, clock=quiet.clock, **FAST)
        events = await consume(source, quiet)
        assert source.strap == StrapInfo("Polar H10 A1B2C3D4", POLAR, -60)
        assert as_tuples(measurements(events)) == as_tuples(valid_frames(frames))

    run_emulated(scenario)


def test_two_straps_and_no_device_named_is_a_choice_error_listing_both() -> None:
    async def scenario(bluez: EmulatedBlueZ) -> tuple[str, str]:
        await bluez.add_strap(polar([]))
        await bluez.add_strap(EmulatedStrap(name="HRM-Dual:123456", address=GARMIN))
        with pytest.raises(StrapChoiceError) as by_function:
            await find_strap(None, 3.0, settle_s=0.3)
        with pytest.raises(StrapChoiceError) as by_source:
            async for _ in BleSource(**FAST):
                pass
        return str(by_function.value), str(by_source.value)

    for message in run_emulated(scenario):
        assert "\n" not in message
        assert "Polar H10 A1B2C3D4 (A0:9E:1A:12:34:56)" in message
        assert "HRM-Dual:123456 (C8:3E:99:0A:BC:DE)" in message
        assert "--device" in message


def test_no_matching_strap_is_not_found_naming_what_was_asked() -> None:
    async def scenario(bluez: EmulatedBlueZ) -> tuple[str, str, str]:
        await bluez.add_strap(polar([]))
        with pytest.raises(StrapNotFoundError) as by_name:
            await find_strap("wahoo", 0.3)
        with pytest.raises(StrapNotFoundError) as by_address:
            async for _ in BleSource("de:ad:be:ef:00:01", **{**FAST, "scan_timeout_s": 0.3}):
                pass
        await bluez.remove_strap(bluez.straps[0])
        with pytest.raises(StrapNotFoundError) as nothing:
            await find_strap(None, 0.3)
        return str(by_name.value), str(by_address.value), str(nothing.value)

    by_name, by_address, nothing = run_emulated(scenario)
    assert by_name.startswith("No heart-rate strap found matching 'wahoo' within 0.3 s")
    assert "in range: Polar H10 A1B2C3D4 (A0:9E:1A:12:34:56)" in by_name
    assert "'de:ad:be:ef:00:01'" in by_address
    assert nothing == (
        "No heart-rate strap found within 0.3 s: wake the strap by wetting the electrodes "
        "and wearing it, then try again."
    )
    for message in (by_name, by_address, nothing):
        assert "wetting the electrodes" in message and "\n" not in message


def test_bad_arguments_are_invalid_input() -> None:
    with pytest.raises(InvalidInputError, match="backoff_max_s"):
        BleSource(backoff_initial_s=2.0, backoff_max_s=1.0)
    with pytest.raises(InvalidInputError, match="backoff_initial_s"):
        BleSource(backoff_initial_s=0.0)
    with pytest.raises(InvalidInputError, match="give_up_after_s"):
        BleSource(give_up_after_s=-1.0)
    with pytest.raises(InvalidInputError, match="device is empty"):
        BleSource("  ")
    with pytest.raises(InvalidInputError, match="scan timeout_s"):
        asyncio.run(scan(timeout_s=float("nan")))


# -- connecting, battery, the stream ---------------------------------------------------


def test_connect_by_address_and_by_name_reads_battery_or_none_and_streams() -> None:
    polar_frames = steady_frames(20, seed=1)
    garmin_frames = steady_frames(20, seed=2)

    async def scenario(bluez: EmulatedBlueZ) -> None:
        a = polar(polar_frames, speed=40, battery_percent=64)
        b = EmulatedStrap(name="HRM-Dual:123456", address=GARMIN, frames=garmin_frames, speed=40, battery_percent=None)
        await bluez.add_strap(a)
        await bluez.add_strap(b)

        source = BleSource(POLAR.lower(), clock=a.clock, **FAST)
        assert isinstance(source, HeartRateSource)
        events = await consume(source, a)
        assert source.strap == StrapInfo("Polar H10 A1B2C3D4", POLAR, -60)
        assert source.battery_percent == 64
        assert source.connects == 1 and source.malformed_frames == 0
        assert as_tuples(measurements(events)) == as_tuples(valid_frames(a.sent))

        source = BleSource("hrm-dual", clock=b.clock, **FAST)
        events = await consume(source, b)
        assert source.strap == StrapInfo("HRM-Dual:123456", GARMIN, -60)
        assert source.battery_percent is None
        assert as_tuples(measurements(events)) == as_tuples(valid_frames(b.sent))
        assert len(measurements(events)) == len(garmin_frames) == len(b.sent)

    run_emulated(scenario)


def test_rr_values_arrive_to_the_bit_across_frame_kinds_and_contact_states() -> None:
    rng = np.random.default_rng(7)
    raw_slow = list(rng.integers(1200, 1600, 12))  # about 1.2-1.6 s: frames with 0 or 1 RR
    raw_fast = list(rng.integers(330, 450, 30))  # about 0.3-0.45 s: frames with 2-3 RR
    raw_mid = list(rng.integers(700, 1000, 12))
    segments = [
        frames_from_rr(rr_units(raw_slow), contact=SensorContact.DETECTED, energy_every=3),
        frames_from_rr(rr_units(raw_fast), contact=SensorContact.NOT_DETECTED, hr_uint16=True, settle_frames=0),
        frames_from_rr(rr_units(raw_mid), contact=SensorContact.NOT_SUPPORTED, energy_every=1, hr_uint16=True,
                       settle_frames=0),
    ]
    frames: list[tuple[float, bytes]] = []
    for segment in segments:
        offset = frames[-1][0] + 1.0 if frames else 0.0
        frames += [(t + offset, payload) for t, payload in segment]

    async def scenario(bluez: EmulatedBlueZ) -> tuple[list[SourceEvent], EmulatedStrap]:
        strap = polar(frames, speed=40)
        await bluez.add_strap(strap)
        source = BleSource(POLAR, clock=strap.clock, **FAST)
        return await consume(source, strap), strap

    events, strap = run_emulated(scenario)
    got = measurements(events)
    sent = valid_frames(strap.sent)
    assert strap.lost == [] and len(strap.sent) == len(frames)
    assert as_tuples(got) == as_tuples(sent)
    # the RR chain itself, bit for bit, against what went into the strap
    assert [rr for m in got for rr in m.rr_ms] == rr_units(raw_slow + raw_fast + raw_mid)
    # the stream really held every kind of frame
    rr_counts = {len(m.rr_ms) for m in sent}
    assert {0, 1} <= rr_counts and max(rr_counts) >= 2
    assert any(m.hr_uint16 for m in sent) and any(not m.hr_uint16 for m in sent)
    assert any(m.energy_expended_kj is not None for m in sent)
    assert {m.contact for m in got} == set(SensorContact)
    # arrival times are on the strap's clock, never before the frame was sent
    arrivals = [m.t_arrival_s for m in got]
    assert arrivals == sorted(arrivals)
    assert all(m.t_arrival_s >= t for m, (t, _) in zip(got, strap.sent, strict=True))


def test_malformed_frames_are_counted_and_skipped_and_the_rest_arrives_intact() -> None:
    good = frames_from_rr(rr_units([900, 950, 1000, 980, 920, 900, 940, 960, 1010, 990]))
    bad = [
        b"",  # empty
        b"\x01\x3c",  # uint16 heart rate cut short
        b"\x10\x3c\x00\x04\x01",  # odd trailing byte in the RR field
        b"\x10\x3c\x00\x00",  # RR interval of 0
        b"\x18\x3c\x05",  # energy promised, one byte of it
        b"\x00\x3c\x99",  # trailing byte, no RR flag
    ]
    frames = list(good)
    for i, payload in enumerate(bad):
        frames.append((good[i + 2][0] + 0.5, payload))  # between two valid frames
    frames.sort(key=lambda f: f[0])

    async def scenario(bluez: EmulatedBlueZ) -> tuple[list[SourceEvent], EmulatedStrap, int]:
        strap = polar(frames, speed=40)
        await bluez.add_strap(strap)
        source = BleSource(POLAR, clock=strap.clock, **FAST)
        events = await consume(source, strap)
        return events, strap, source.malformed_frames

    events, strap, malformed = run_emulated(scenario)
    assert malformed == len(bad) == 6
    assert len(strap.sent) == len(frames)
    assert as_tuples(measurements(events)) == as_tuples([HeartRateMeasurement.from_bytes(p) for _, p in good])
    assert not any(isinstance(e, (LinkLost, LinkRestored)) for e in events)
    # each one comes out in its place, as a rejected frame with its bytes, for a store to keep
    assert [e.raw for e in events if isinstance(e, Measurement | RejectedFrame)] == [p for _, p in strap.sent]
    rejected = [e for e in events if isinstance(e, RejectedFrame)]
    assert [e.raw for e in rejected] == bad
    assert all(e.reason for e in rejected)


# -- link loss and reconnection --------------------------------------------------------


STALL_AT = 6


def test_link_drop_mid_stream_loses_no_delivered_frame_and_duplicates_none() -> None:
    frames = steady_frames(40, seed=3)

    async def scenario(bluez: EmulatedBlueZ) -> tuple[list[SourceEvent], EmulatedStrap, BleSource]:
        strap = polar(frames, speed=25, drop_at=[10.5, 22.5])
        await bluez.add_strap(strap)
        source = BleSource(POLAR, clock=strap.clock, **FAST)

        async def on_measurement(events: list[SourceEvent]) -> None:
            if len(events) == STALL_AT:  # a slow consumer: frames pile up before the loss
                await wait_until(lambda: strap.drop_count == 1)

        return await consume(source, strap, on_measurement), strap, source

    events, strap, source = run_emulated(scenario)
    kinds = [type(e).__name__ for e in events if not isinstance(e, Measurement)]
    assert kinds == ["LinkLost", "LinkRestored", "LinkLost", "LinkRestored"]
    assert strap.drop_count == 2 and source.connects == 3
    assert [e.attempts for e in events if isinstance(e, LinkRestored)] == [1, 1]
    # every frame the strap delivered came out exactly once, in order
    assert as_tuples(measurements(events)) == as_tuples(valid_frames(strap.sent))
    assert sorted(strap.sent + strap.lost) == sorted(frames)
    # the loss is reported after every frame sent before it, the restore before any after it
    first_loss = next(i for i, e in enumerate(events) if isinstance(e, LinkLost))
    assert first_loss - STALL_AT >= 3  # that many were still queued when the link dropped
    assert all(m.t_arrival_s <= events[first_loss].t_arrival_s for m in measurements(events[:first_loss]))
    assert all(t < 10.5 for t, _ in strap.sent[: len(measurements(events[:first_loss]))])


def test_ten_drops_leak_no_dbus_connection() -> None:
    frames = steady_frames(120, seed=4)

    async def scenario(bluez: EmulatedBlueZ) -> None:
        strap = polar(frames, speed=40)
        await bluez.add_strap(strap)
        await scan(timeout_s=0.05)  # bleak's manager connection exists from here on
        baseline = await bluez.client_connection_count()
        source = BleSource(POLAR, clock=strap.clock, **FAST)
        counts: list[int] = []

        async def on_measurement(events: list[SourceEvent]) -> None:
            if len(counts) < 10 and streaming_since_link_event(events) == 2:
                sent = len(strap.sent)
                await wait_until(lambda: len(strap.sent) >= sent + 2)  # two frames queued
                counts.append(await bluez.client_connection_count())
                await strap.drop_link()

        events = await consume(source, strap, on_measurement)
        assert await bluez.client_connection_count() == baseline
        assert not await strap_connected(strap)
        assert counts == [baseline + 1] * 10  # the manager plus exactly one client, every time
        assert sum(isinstance(e, LinkLost) for e in events) == 10
        assert sum(isinstance(e, LinkRestored) for e in events) == 10
        assert source.connects == 11
        assert as_tuples(measurements(events)) == as_tuples(valid_frames(strap.sent))

    run_emulated(scenario)


def test_bleak_retrying_bluez_aborts_inside_connect_is_not_a_link_loss() -> None:
    frames = steady_frames(25, seed=11)

    async def scenario(bluez: EmulatedBlueZ) -> tuple[list[SourceEvent], EmulatedStrap, BleSource]:
        # BlueZ's "le-connection-abort-by-local": the link comes up and down before the
        # error, bleak calls disconnected_callback and retries within one connect()
        strap = polar(frames, speed=25, refuse_connections=2)
        await bluez.add_strap(strap)
        source = BleSource(POLAR, clock=strap.clock, **FAST)

        async def on_measurement(events: list[SourceEvent]) -> None:
            if len(events) == 5:
                strap.refuse_connections = strap.connect_count + 2
                await strap.drop_link()

        return await consume(source, strap, on_measurement), strap, source

    events, strap, source = run_emulated(scenario)
    assert strap.connect_count == 3 + 3
    assert source.connects == 2
    assert [e for e in events if not isinstance(e, Measurement)] == [
        LinkLost(t_arrival_s=events[5].t_arrival_s),
        LinkRestored(t_arrival_s=events[6].t_arrival_s, attempts=1),
    ]
    assert as_tuples(measurements(events)) == as_tuples(valid_frames(strap.sent))


def test_reconnect_backs_off_exponentially_up_to_the_cap() -> None:
    frames = steady_frames(30, seed=5)

    async def scenario(bluez: EmulatedBlueZ) -> None:
        strap = polar(frames, speed=20, refuse_reason=REMOTE_REFUSAL)
        await bluez.add_strap(strap)
        source = BleSource(POLAR, clock=strap.clock, backoff_initial_s=0.02, backoff_max_s=0.1,
                           scan_timeout_s=5.0)

        async def on_measurement(events: list[SourceEvent]) -> None:
            if len(measurements(events)) == 4 and streaming_since_link_event(events) == 4:
                strap.refuse_connections = strap.connect_count + 4  # the next four are refused
                await strap.drop_link()

        events = await consume(source, strap, on_measurement)
        lost = next(e for e in events if isinstance(e, LinkLost))
        restored = next(e for e in events if isinstance(e, LinkRestored))
        assert restored.attempts == 5
        assert strap.connect_count == 1 + 5
        assert source.backoff_delays_s == [0.02, 0.04, 0.08, 0.1]  # doubling, capped
        # lower bound only: the source waited at least the sum of its delays (strap clock)
        assert restored.t_arrival_s - lost.t_arrival_s >= 0.24 * strap.speed * 0.99
        assert as_tuples(measurements(events)) == as_tuples(valid_frames(strap.sent))

    run_emulated(scenario)


def test_giving_up_after_the_limit_raises_connect_error_and_leaves_no_connection() -> None:
    async def scenario(bluez: EmulatedBlueZ) -> str:
        strap = polar(steady_frames(60, seed=6), speed=20, refuse_reason=REMOTE_REFUSAL)
        await bluez.add_strap(strap)
        await scan(timeout_s=0.05)
        baseline = await bluez.client_connection_count()
        source = BleSource(POLAR, clock=strap.clock, backoff_initial_s=0.02, backoff_max_s=0.05,
                           give_up_after_s=0.2)
        events: list[SourceEvent] = []
        with pytest.raises(ConnectError) as raised:
            async for event in source:
                events.append(event)
                if len(events) == 3:
                    strap.refuse_connections = 10**6
                    await strap.drop_link()
        assert isinstance(events[-1], LinkLost)
        # a failed attempt's connection is closed by bleak; the bus daemon notices it a moment later
        assert await bluez.wait_for_client_connections(baseline) == baseline
        assert not await strap_connected(strap)
        return str(raised.value)

    message = run_emulated(scenario)
    assert message.startswith("Lost Polar H10 A1B2C3D4 (A0:9E:1A:12:34:56) and could not reconnect")
    assert message.endswith(f"{REMOTE_REFUSAL}. Move closer, make sure no phone app holds the strap, and try again.")
    assert "\n" not in message


def test_beat_clock_times_follow_the_rr_chain_across_a_link_drop_with_one_gap() -> None:
    rng = np.random.default_rng(8)
    raw = list(rng.integers(750, 1050, 45))
    frames = frames_from_rr(rr_units(raw))

    async def scenario(bluez: EmulatedBlueZ) -> tuple[list[SourceEvent], EmulatedStrap]:
        strap = polar(frames, speed=20, refuse_reason=REMOTE_REFUSAL)
        await bluez.add_strap(strap)
        source = BleSource(POLAR, clock=strap.clock, backoff_initial_s=0.05, backoff_max_s=0.1)

        async def on_measurement(events: list[SourceEvent]) -> None:
            if len(measurements(events)) == 15 and streaming_since_link_event(events) == 15:
                strap.refuse_connections = strap.connect_count + 2  # a few frames fall meanwhile
                await strap.drop_link()

        return await consume(source, strap, on_measurement), strap

    events, strap = run_emulated(scenario)
    clock = BeatClock()
    before: list[Beat] = []
    after: list[Beat] = []
    beats = before
    for event in events:
        if isinstance(event, LinkLost):
            clock.break_chain(event.reason)
            beats = after
        elif isinstance(event, Measurement):
            beats.extend(clock.add(event))
    assert len(clock.gaps) == 1 and clock.gaps[0].reason == "link lost"
    gap = clock.gaps[0]
    rr_before = [b.rr_ms for b in before]
    rr_after = [b.rr_ms for b in after]
    # no beat lost or invented: the beats are exactly the RR the strap delivered
    assert rr_before + rr_after == [rr for m in valid_frames(strap.sent) for rr in m.rr_ms]
    np.testing.assert_allclose([b.t_s for b in before], np.cumsum(rr_before) / 1000, rtol=0, atol=1e-9)
    np.testing.assert_allclose([b.t_s for b in after], gap.end_s + np.cumsum(rr_after) / 1000, rtol=0, atol=1e-9)
    assert gap.start_s == before[-1].t_s
    # the gap stands for the beats that fell while the link was down (within a frame)
    lost_s = sum(rr for m in valid_frames(strap.lost) for rr in m.rr_ms) / 1000
    assert strap.lost and lost_s > 0
    assert abs(gap.duration_s - lost_s) < 1.5


# -- shutting down ---------------------------------------------------------------------


def test_cancelling_the_consumer_stops_notifications_and_disconnects() -> None:
    async def scenario(bluez: EmulatedBlueZ) -> None:
        strap = polar(steady_frames(200, seed=9), speed=25)
        await bluez.add_strap(strap)
        await scan(timeout_s=0.05)
        baseline = await bluez.client_connection_count()
        tasks_before = asyncio.all_tasks()
        source = BleSource(POLAR, clock=strap.clock, **FAST)
        got: list[SourceEvent] = []
        five = asyncio.Event()

        async def consumer() -> None:
            async for event in source:
                got.append(event)
                if len(got) == 5:
                    five.set()

        task = asyncio.create_task(consumer())
        await five.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert not await strap_connected(strap)
        assert await bluez.client_connection_count() == baseline
        sent = len(strap.sent)
        lost = len(strap.lost)
        await wait_until(lambda: len(strap.lost) >= lost + 2)  # the strap plays on, to nobody
        assert len(strap.sent) == sent
        leftover = {t for t in asyncio.all_tasks() - tasks_before if not t.get_name().startswith("strap ")}
        assert leftover == set()

    run_emulated(scenario)


@pytest.mark.parametrize("how", ["async with", "plain break"])
def test_breaking_out_of_the_loop_disconnects(how: str) -> None:
    async def scenario(bluez: EmulatedBlueZ) -> None:
        strap = polar(steady_frames(200, seed=10), speed=25)
        await bluez.add_strap(strap)
        await scan(timeout_s=0.05)
        baseline = await bluez.client_connection_count()
        tasks_before = asyncio.all_tasks()
        source = BleSource(POLAR, clock=strap.clock, **FAST)
        n = 0
        if how == "async with":
            async with source:
                async for _ in source:
                    n += 1
                    if n == 4:
                        break
        else:
            async for _ in source:
                n += 1
                if n == 4:
                    break
            # asyncio's async-generator finaliser closes the dropped generator, soon after
            async with asyncio.timeout(5.0):
                while await strap_connected(strap):
                    await asyncio.sleep(0.005)
            await source.aclose()  # returns at once: nothing left to close
        assert not await strap_connected(strap)
        assert await bluez.client_connection_count() == baseline
        leftover = {t for t in asyncio.all_tasks() - tasks_before if not t.get_name().startswith("strap ")}
        assert leftover == set()
        # the source can be iterated again afterwards
        again = [event async for event in _take(source, 2)]
        assert len(again) == 2 and source.connects == 2

    run_emulated(scenario)


CTRL_C_SCRIPT = """
import asyncio
from ble_helpers import strap_connected
from biofeedback.emulator import EmulatedBlueZ, EmulatedStrap, PrivateBus, frames_from_rr
from biofeedback.sources.ble import BleSource

async def main() -> None:
    strap = EmulatedStrap(frames=frames_from_rr([800.0] * 2000), speed=10)
    async with EmulatedBlueZ() as bluez:
        await bluez.add_strap(strap)
        n = 0
        try:
            async for _ in BleSource(strap.address, settle_s=0.0):
                n += 1
                if n == 3:
                    print("streaming", flush=True)
        finally:
            connected = await strap_connected(strap)
            print("after:", connected, await bluez.client_connection_count(), flush=True)

with PrivateBus():
    asyncio.run(main())
"""


def test_ctrl_c_stops_the_stream_and_disconnects() -> None:
    tests_dir = Path(__file__).resolve().parent
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tests_dir.parent), str(tests_dir)])}
    process = subprocess.Popen(
        [sys.executable, "-c", CTRL_C_SCRIPT], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline() == "streaming\n"
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert out == "after: False 1\n"  # disconnected; only bleak's manager connection is left
    # nothing on stderr but the interrupt (asyncio.run chains it to the cancellation)
    raised = {line for line in err.splitlines() if line and not line.startswith((" ", "Traceback", "During"))}
    assert raised == {"asyncio.exceptions.CancelledError", "KeyboardInterrupt"}
    assert err.rstrip().endswith("KeyboardInterrupt")


async def _take(source: BleSource, n: int):  # type: ignore[no-untyped-def]
    async with source:
        async for event in source:
            yield event
            n -= 1
            if n == 0:
                return


# -- Bluetooth unusable, strap refusing ------------------------------------------------


def _one_line(exc: BaseException) -> str:
    message = str(exc)
    assert "\n" not in message and message
    return message


def test_bluez_not_running_is_bluetooth_unavailable_from_scan_and_source() -> None:
    async def scenario() -> tuple[str, str]:
        with pytest.raises(BluetoothUnavailableError) as from_scan:
            await scan(timeout_s=0.1)
        with pytest.raises(BluetoothUnavailableError) as from_source:
            async for _ in BleSource(POLAR, **FAST):
                pass
        return _one_line(from_scan.value), _one_line(from_source.value)

    with PrivateBus():  # a bus, but nobody owns org.bluez on it
        messages = run_bare(scenario)
    assert messages == ("BlueZ is not running: start it with `sudo systemctl start bluetooth`.",) * 2


def test_no_adapter_and_adapter_off_are_bluetooth_unavailable() -> None:
    async def scenario(bluez: EmulatedBlueZ) -> tuple[str, str]:
        with pytest.raises(BluetoothUnavailableError) as from_scan:
            await scan(timeout_s=0.1)
        with pytest.raises(BluetoothUnavailableError) as from_source:
            async for _ in BleSource(POLAR, **FAST):
                pass
        return _one_line(from_scan.value), _one_line(from_source.value)

    no_adapter = run_emulated(scenario, adapter=False)
    assert no_adapter == ("No Bluetooth adapter found: plug one in or check `bluetoothctl list`.",) * 2
    off = run_emulated(scenario, powered=False)
    assert off == (
        (
            "The Bluetooth adapter is off: turn it on with `bluetoothctl power on` "
            "(and `rfkill unblock bluetooth` if it is blocked)."
        ),
    ) * 2


def test_no_system_bus_is_bluetooth_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    missing = f"/tmp/bf-no-bus-{os.getpid()}"
    refusing = f"/tmp/bf-dead-bus-{os.getpid()}"
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(refusing)  # a socket file nobody listens on
    try:
        for path in (missing, refusing):
            monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", f"unix:path={path}")
            with pytest.raises(BluetoothUnavailableError) as raised:
                run_bare(lambda: scan(timeout_s=0.1))
            assert _one_line(raised.value) == (
                f"The system D-Bus is not running (nothing at unix:path={path}): "
                "start it and BlueZ with `sudo systemctl start dbus bluetooth`."
            )
            assert isinstance(raised.value.__cause__, (FileNotFoundError, ConnectionRefusedError))
        monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", "nonsense")
        with pytest.raises(BluetoothUnavailableError, match="not a usable D-Bus address"):
            run_bare(lambda: scan(timeout_s=0.1))
    finally:
        dead.close()
        os.unlink(refusing)


def test_strap_refusing_every_connection_is_connect_error() -> None:
    async def scenario(bluez: EmulatedBlueZ) -> tuple[str, str, int]:
        refusing = polar([], refuse_connections=10**6, refuse_reason=REMOTE_REFUSAL)
        await bluez.add_strap(refusing)
        await scan(timeout_s=0.05)
        baseline = await bluez.client_connection_count()
        with pytest.raises(ConnectError) as plain:
            async for _ in BleSource(POLAR, **FAST):
                pass
        # a failed attempt's connection is closed by bleak; the bus daemon notices it a moment later
        assert await bluez.wait_for_client_connections(baseline) == baseline
        await bluez.remove_strap(refusing)
        # BlueZ's own refusal, which bleak retries inside connect() until the timeout
        aborting = EmulatedStrap(name="HRM-Dual:123456", address=GARMIN, refuse_connections=10**6)
        await bluez.add_strap(aborting)
        with pytest.raises(ConnectError) as timed_out:
            async for _ in BleSource(GARMIN, connect_timeout_s=0.3, **FAST):
                pass
        assert await bluez.wait_for_client_connections(baseline) == baseline
        return _one_line(plain.value), _one_line(timed_out.value), aborting.connect_count

    plain, timed_out, attempts = run_emulated(scenario)
    assert plain == (
        f"Could not connect to Polar H10 A1B2C3D4 (A0:9E:1A:12:34:56): {REMOTE_REFUSAL}. "
        "Move closer, make sure no phone app holds the strap, and try again."
    )
    assert timed_out == (
        "Could not connect to HRM-Dual:123456 (C8:3E:99:0A:BC:DE): timed out. "
        "Move closer, make sure no phone app holds the strap, and try again."
    )
    assert attempts > 1  # bleak did retry BlueZ's abort-by-local itself


def test_regression_connect_timing_out_in_bleaks_bus_setup_fails_without_waiting_for_cleanup(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # bleak opens a fresh D-Bus connection per connection attempt (and per retry of BlueZ's
    # abort-by-local). A timeout that lands while that connection is still being set up
    # left a bus that never reports its end, and disconnecting the client afterwards waited
    # for it until CLEANUP_TIMEOUT_S: every such attempt cost 10 s more (a strap in RF
    # trouble, Ctrl-C while connecting). Here the bus setup stalls, as on a loaded system bus.
    from dbus_fast.aio import MessageBus

    from biofeedback.sources import ble

    async def scenario(bluez: EmulatedBlueZ) -> str:
        await bluez.add_strap(polar([]))
        await scan(timeout_s=0.05)  # bleak's manager connection is up before the stall
        baseline = await bluez.client_connection_count()

        async def stalled_connect(self: MessageBus) -> MessageBus:
            await asyncio.Event().wait()
            return self

        monkeypatch.setattr(MessageBus, "connect", stalled_connect)
        # hang protection far above the 0.3 s attempt, below the cleanup timeout
        with pytest.raises(ConnectError) as raised:
            async with asyncio.timeout(ble.CLEANUP_TIMEOUT_S / 2):
                async for _ in BleSource(POLAR, connect_timeout_s=0.3, **FAST):
                    pass
        monkeypatch.undo()
        assert await bluez.wait_for_client_connections(baseline) == baseline
        return _one_line(raised.value)

    assert run_emulated(scenario) == (
        "Could not connect to Polar H10 A1B2C3D4 (A0:9E:1A:12:34:56): timed out. "
        "Move closer, make sure no phone app holds the strap, and try again."
    )
