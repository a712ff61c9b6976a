"""A strap with no strap: an emulated BlueZ playing RR intervals, read by the real BLE source.

Used by ``biofeedback demo`` and ``biofeedback record --emulate FILE``. The emulated
strap (:mod:`biofeedback.emulator`) runs on a private D-Bus bus that bleak takes for the
system bus, so :class:`~biofeedback.sources.ble.BleSource` runs its real code path.
:class:`EmulatedSource` is that pair as one source: its ``async with`` starts the bus,
the emulated BlueZ and the strap, and stops them; its iteration is the BLE source's,
ended once the strap has played its last frame and that frame has arrived.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, Sequence
from types import TracebackType
from typing import Any, Final, Self

import numpy as np
import numpy.typing as npt

from biofeedback.beats import Measurement
from biofeedback.emulator import EmulatedBlueZ, EmulatedStrap, PrivateBus, frames_from_rr
from biofeedback.errors import EmulatorError
from biofeedback.sources.base import IteratingSource, SourceEvent, SourceInfo
from biofeedback.sources.ble import BleSource

__all__ = ["EmulatedSource"]

log = logging.getLogger(__name__)

GRACE_S: Final[float] = 2.0  # after the strap's last frame, real time allowed for the rest to arrive, s


class EmulatedSource(IteratingSource):
    """An emulated strap playing ``rr_ms``, read through the real BLE stack.

    Parameters
    ----------
    rr_ms : ndarray
        The intervals the strap plays, ms (sent in 1/1024 s units).
    speed : float
        Strap seconds per real second.
    scan_timeout_s : float
        Longest time to look for the strap, s.
    name : str
        The strap's advertised name.
    grace_s : float
        Once the strap has sent its last frame, real seconds allowed for frames still on
        their way; the iteration ends then even if some never arrive.
    drop_at : sequence of float
        Strap times, s, at which the strap drops the link by itself (the BLE source
        reconnects); none by default.

    Attributes
    ----------
    strap : EmulatedStrap
    ble : BleSource
        The BLE source reading it (its ``strap``, ``battery_percent`` and
        ``malformed_frames`` are the strap's as a real one's would be).

    Raises
    ------
    EmulatorError
        On entry: ``dbus-daemon`` is missing or did not start.
    """

    def __init__(self, rr_ms: npt.NDArray[np.float64], *, speed: float = 1.0, scan_timeout_s: float = 10.0,
                 name: str = "Polar H10 EMU12345", grace_s: float = GRACE_S, drop_at: Sequence[float] = ()) -> None:
        self.strap = EmulatedStrap(name=name, frames=frames_from_rr(rr_ms), speed=speed, drop_at=drop_at)
        # the private bus holds this one strap: no need to listen on for others
        self.ble = BleSource(None, scan_timeout_s=scan_timeout_s, clock=self.strap.clock, settle_s=0.0)
        self.grace_s = grace_s
        self._stack: contextlib.AsyncExitStack | None = None
        self._arrived = 0  # frames out of the BLE source, malformed ones included

    def info(self) -> SourceInfo:
        """``"emulated"``, the strap's speed, and the strap once found."""
        ble = self.ble.info()
        return SourceInfo(kind="emulated", speed=self.strap.speed, device_name=ble.device_name,
                          device_address=ble.device_address)

    def clock_s(self) -> float:
        """Now on the strap's timeline, s (0 until it starts playing)."""
        return self.strap.clock()

    async def __aenter__(self) -> Self:
        if self._stack is not None:
            raise EmulatorError("this EmulatedSource is already running; enter it once at a time")
        stack = contextlib.AsyncExitStack()
        try:
            stack.enter_context(PrivateBus())
            bluez = await stack.enter_async_context(EmulatedBlueZ())
            await bluez.add_strap(self.strap)
            stack.push_async_callback(self.ble.aclose)  # the BLE side stops before the emulator goes
        except BaseException:
            await stack.aclose()
            raise
        self._stack = stack
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._close_iteration()  # the iteration first (it stops the BLE side), then the emulator
        stack, self._stack = self._stack, None
        if stack is not None:
            await stack.aclose()

    def _everything_arrived(self) -> bool:
        return self.strap.finished.is_set() and self._arrived + self.ble.malformed_frames >= len(self.strap.sent)

    async def _events(self) -> AsyncGenerator[SourceEvent, None]:
        if self._stack is None:
            raise EmulatorError("use 'async with EmulatedSource(...)' before iterating it")
        inner = aiter(self.ble)
        try:
            while not self._everything_arrived():
                step: asyncio.Future[SourceEvent] = asyncio.ensure_future(anext(inner))
                try:
                    if not self.strap.finished.is_set():
                        finished = asyncio.ensure_future(self.strap.finished.wait())
                        try:
                            both: set[asyncio.Future[Any]] = {step, finished}
                            await asyncio.wait(both, return_when=asyncio.FIRST_COMPLETED)
                        finally:
                            finished.cancel()
                    if not step.done():  # the strap has sent everything: wait for the rest a little
                        await asyncio.wait({step}, timeout=self.grace_s)
                    if not step.done():
                        log.info("the emulated strap has sent everything; ending the recording")
                        return
                    try:
                        event = step.result()
                    except StopAsyncIteration:
                        return
                finally:
                    if not step.done():
                        step.cancel()
                        await asyncio.wait({step})
                if isinstance(event, Measurement):
                    self._arrived += 1
                yield event
        finally:
            await self.ble.aclose()
