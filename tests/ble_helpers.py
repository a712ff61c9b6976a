"""Helpers for driving biofeedback.sources.ble against the emulated BlueZ (tests only)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
from bleak.backends.bluezdbus.manager import get_global_bluez_manager

from biofeedback.beats import Measurement
from biofeedback.emulator import EmulatedBlueZ, EmulatedStrap, PrivateBus, device_path
from biofeedback.errors import MalformedFrameError
from biofeedback.hrm import HeartRateMeasurement
from biofeedback.sources.base import SourceEvent
from biofeedback.sources.ble import BleSource

T = TypeVar("T")

MS_PER_UNIT = 1000.0 / 1024.0
SAFETY_TIMEOUT_S = 25.0  # a broken source fails the test instead of hanging it
Frame = tuple[float, bytes]


def quantised(rr_ms: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """What a strap sends for these intervals: RR in whole units of 1/1024 s, as ms."""
    return np.round(rr_ms * 1.024) / 1.024


def rr_units(raw: list[int]) -> list[float]:
    """RR intervals in ms that are exact multiples of 1/1024 s (they decode to the bit)."""
    return [r * MS_PER_UNIT for r in raw]


def run_emulated(scenario: Callable[[EmulatedBlueZ], Awaitable[T]], **bluez_options: Any) -> T:
    """Run ``scenario(bluez)`` in a fresh event loop, on a fresh private bus."""

    async def main() -> T:
        async with EmulatedBlueZ(**bluez_options) as bluez:
            async with asyncio.timeout(SAFETY_TIMEOUT_S):
                return await scenario(bluez)

    with PrivateBus():
        return asyncio.run(main())


def run_bare(scenario: Callable[[], Awaitable[T]]) -> T:
    """Run ``scenario()`` in a fresh event loop with a safety timeout (no bus set up)."""

    async def main() -> T:
        async with asyncio.timeout(SAFETY_TIMEOUT_S):
            return await scenario()

    return asyncio.run(main())


async def wait_until(condition: Callable[[], bool], timeout_s: float = 5.0) -> None:
    """Poll ``condition`` every 5 ms until it holds (hang protection, not a timing check)."""
    async with asyncio.timeout(timeout_s):
        while not condition():
            await asyncio.sleep(0.005)


def valid_frames(frames: list[Frame]) -> list[HeartRateMeasurement]:
    """Decode the frames that are valid 0x2A37 payloads, in order; skip the malformed."""
    out: list[HeartRateMeasurement] = []
    for _, payload in frames:
        try:
            out.append(HeartRateMeasurement.from_bytes(payload))
        except MalformedFrameError:
            pass
    return out


def as_tuples(items: list[Measurement] | list[HeartRateMeasurement]) -> list[tuple[object, ...]]:
    """(heart rate, RR tuple, contact) of measurements or decoded frames, for comparison."""
    return [(m.heart_rate_bpm, m.rr_ms, m.contact) for m in items]


def measurements(events: list[SourceEvent]) -> list[Measurement]:
    return [e for e in events if isinstance(e, Measurement)]


def everything_arrived(source: BleSource, strap: EmulatedStrap, events: list[SourceEvent]) -> bool:
    """The strap played its last frame and every frame it sent came out of the source."""
    return strap.finished.is_set() and len(measurements(events)) + source.malformed_frames >= len(strap.sent)


async def strap_connected(strap: EmulatedStrap) -> bool:
    """Whether BlueZ (the emulator) says the strap is connected, as bleak's manager sees it."""
    manager = await get_global_bluez_manager()
    return manager.is_connected(device_path(strap.address))
