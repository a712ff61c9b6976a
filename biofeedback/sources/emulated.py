"""A strap with no strap: an emulated BlueZ playing RR intervals, read by the real BLE source.

Used by ``biofeedback demo`` and ``biofeedback record --emulate FILE``. The emulated
strap (:mod:`biofeedback.emulator`) runs on a private D-Bus bus that bleak takes for the
system bus, so :class:`~biofeedback.sources.ble.BleSource` runs its real code path.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import numpy as np
import numpy.typing as npt

from biofeedback.emulator import EmulatedBlueZ, EmulatedStrap, PrivateBus, frames_from_rr
from biofeedback.hrm import HeartRateMeasurement

__all__ = ["emulated_strap", "recording_length_s"]


def recording_length_s(strap: EmulatedStrap) -> float:
    """Beat-clock length of what the strap will send: the sum of its RR intervals, s.

    This is the sum of the RR values as encoded (whole units of 1/1024 s), which is what
    a beat clock fed by the strap adds up, not the sum of the file's values.
    """
    return sum(sum(HeartRateMeasurement.from_bytes(p).rr_ms) for _, p in strap.frames) / 1000.0


@contextlib.asynccontextmanager
async def emulated_strap(
    rr_ms: npt.NDArray[np.float64], *, speed: float = 1.0, name: str = "Polar H10 EMU12345"
) -> AsyncIterator[EmulatedStrap]:
    """Start a private bus and an emulated BlueZ with one strap that plays ``rr_ms``.

    The strap starts playing when a client subscribes to its heart-rate notifications.
    Use its ``clock`` as the source's arrival clock when ``speed`` is not 1.

    Raises
    ------
    EmulatorError
        ``dbus-daemon`` is missing or did not start.
    """
    strap = EmulatedStrap(name=name, frames=frames_from_rr(rr_ms), speed=speed)
    with PrivateBus():
        async with EmulatedBlueZ() as bluez:
            await bluez.add_strap(strap)
            yield strap
