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

__all__ = ["emulated_strap"]


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
