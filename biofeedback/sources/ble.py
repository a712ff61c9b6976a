"""Reading a Bluetooth LE heart-rate chest strap (Heart Rate Service 0x180D) with bleak.

The strap notifies the Heart Rate Measurement characteristic (0x2A37) about once a
second. The notification handler does one thing: it puts ``(arrival time, bytes)`` on an
:class:`asyncio.Queue`; the async iterator takes them off, decodes them with a
:class:`~biofeedback.sources.frames.FrameDecoder` (the decoder stored sessions replay
through) and yields :class:`~biofeedback.beats.Measurement` values. A frame that does not
decode is counted (:attr:`BleSource.malformed_frames`), logged and yielded as a
:class:`~biofeedback.beats.RejectedFrame` (a store keeps it with the others); it never
stops the stream.

When the link drops, bleak's ``disconnected_callback`` puts a marker on the same queue,
behind every notification that arrived before the loss, so those are all delivered
first. The source then yields :class:`~biofeedback.sources.base.LinkLost`, reconnects by
itself with exponential backoff and yields :class:`~biofeedback.sources.base.LinkRestored`.

Finding the strap is :func:`biofeedback.sources.scan.find_strap`. Errors bleak and D-Bus
raise become one-line :class:`~biofeedback.errors.BluetoothError` subclasses: the table
is in :mod:`biofeedback.sources.bluez_errors`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass
from typing import Final

from bleak import BleakClient, BleakScanner
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.device import BLEDevice
from bleak.exc import BleakDeviceNotFoundError, BleakError

from biofeedback._validate import check_positive
from biofeedback._words import plural
from biofeedback.errors import ConnectError, InvalidInputError
from biofeedback.hrm import BATTERY_LEVEL_UUID, HEART_RATE_MEASUREMENT_UUID
from biofeedback.sources.base import IteratingSource, LinkLost, LinkRestored, SourceEvent, SourceInfo
from biofeedback.sources.bluez_errors import bluetooth_errors, reason, unavailable
from biofeedback.sources.frames import FrameDecoder
from biofeedback.sources.scan import SETTLE_S, StrapInfo, find_strap

__all__ = ["BleSource"]

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S: Final[float] = 20.0  # one connection attempt, s
CLEANUP_TIMEOUT_S: Final[float] = 10.0  # stop_notify + disconnect on shutdown, s
BATTERY_READ_TIMEOUT_S: Final[float] = 5.0  # reading 0x2A19, s
_RETRY_HINT: Final[str] = "Move closer, make sure no phone app holds the strap, and try again."


@dataclass(frozen=True)
class _LinkDown:
    """Queue marker put by bleak's disconnected_callback."""

    t_s: float
    epoch: int


_QueueItem = tuple[float, bytes] | _LinkDown


class BleSource(IteratingSource):
    """Measurements from a BLE heart-rate strap, as an async iterator.

    Parameters
    ----------
    device : str or None
        Address or case-insensitive name fragment of the strap; None: the only strap in
        range (see :func:`find_strap`).
    scan_timeout_s : float
        Longest time to look for the strap, s.
    clock : callable returning float
        Time source for ``t_arrival_s`` of every event, s (monotonic).
    backoff_initial_s, backoff_max_s : float
        After a link loss the first reconnection attempt is immediate; after each failed
        attempt the source waits ``backoff_initial_s``, then twice as long each time,
        at most ``backoff_max_s`` (1, 2, 4, ... 30 s by default), s.
    give_up_after_s : float or None
        Stop reconnecting and raise :class:`ConnectError` once this long has passed
        since the loss, s; None: keep trying forever.
    connect_timeout_s : float
        Longest time for one connection attempt, s.
    settle_s : float
        With a name fragment or no device: how long to listen for other matching straps
        after the first one is seen, s (see :func:`find_strap`).

    Attributes
    ----------
    strap : StrapInfo or None
        The strap found, once the iteration has started.
    battery_percent : int or None
        Battery level read (0x2A19) after the latest connection; None if the strap has
        no battery service.
    malformed_frames : int
        Notifications that did not decode, counted and yielded as rejected frames.
    connects : int
        Successful connections (1 + reconnections).
    backoff_delays_s : list of float
        The waits before each reconnection attempt, s, in order, across all losses.

    Examples
    --------
    >>> async def main() -> None:  # doctest: +SKIP
    ...     async with BleSource("polar") as source:
    ...         async for event in source:
    ...             handle(event)

    Iterate it once at a time. Leaving the loop (``break``), cancelling the consuming
    task or Ctrl-C stops notifications and disconnects; ``async with`` (or
    :meth:`aclose`) waits for that to finish.
    """

    def __init__(
        self,
        device: str | None = None,
        *,
        scan_timeout_s: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
        backoff_initial_s: float = 1.0,
        backoff_max_s: float = 30.0,
        give_up_after_s: float | None = None,
        connect_timeout_s: float = CONNECT_TIMEOUT_S,
        settle_s: float = SETTLE_S,
    ) -> None:
        check_positive(scan_timeout_s, "scan_timeout_s", "seconds")
        check_positive(backoff_initial_s, "backoff_initial_s", "seconds")
        check_positive(backoff_max_s, "backoff_max_s", "seconds")
        check_positive(connect_timeout_s, "connect_timeout_s", "seconds")
        if backoff_max_s < backoff_initial_s:
            raise InvalidInputError(
                f"backoff_max_s ({backoff_max_s!r}) must be at least backoff_initial_s "
                f"({backoff_initial_s!r})"
            )
        if give_up_after_s is not None:
            check_positive(give_up_after_s, "give_up_after_s", "seconds")
        check_positive(settle_s, "settle_s", "seconds", or_zero=True)
        if device is not None and not device.strip():
            raise InvalidInputError("device is empty: pass a strap address or part of its name")
        self.device = device
        self.scan_timeout_s = scan_timeout_s
        self.clock = clock
        self.backoff_initial_s = backoff_initial_s
        self.backoff_max_s = backoff_max_s
        self.give_up_after_s = give_up_after_s
        self.connect_timeout_s = connect_timeout_s
        self.settle_s = settle_s

        self.strap: StrapInfo | None = None
        self.battery_percent: int | None = None
        self._decoder = FrameDecoder()
        self.connects = 0
        self.backoff_delays_s: list[float] = []

        self._active = False
        self._stopped: asyncio.Event | None = None  # set once an iteration has shut down
        self._epoch = 0  # one per connection attempt; tells stale link-loss markers apart

    # -- public iteration / lifetime -------------------------------------------------

    def info(self) -> SourceInfo:
        """``"ble"``, real time, and the strap once it was found."""
        strap = self.strap
        return SourceInfo(
            kind="ble",
            device_name=strap.name if strap is not None else None,
            device_address=strap.address if strap is not None else None,
        )

    def clock_s(self) -> float:
        """Now on the clock of ``t_arrival_s`` (``clock()``), s."""
        return self.clock()

    @property
    def malformed_frames(self) -> int:
        """Notifications that did not decode, counted and yielded as rejected frames."""
        return self._decoder.malformed_frames

    async def aclose(self) -> None:
        """Stop the iteration (if any) and wait until the strap is disconnected."""
        await self._close_iteration()
        if self._stopped is not None:
            await self._stopped.wait()

    # -- the iteration ---------------------------------------------------------------

    async def _events(self) -> AsyncGenerator[SourceEvent, None]:
        if self._active:
            raise RuntimeError("this BleSource is already being iterated; iterate it once at a time")
        self._active = True
        self._stopped = stopped = asyncio.Event()
        queue: asyncio.Queue[_QueueItem] = asyncio.Queue()
        client: BleakClient | None = None
        try:
            ble_device, info = await find_strap(self.device, self.scan_timeout_s, settle_s=self.settle_s)
            self.strap = info
            self._decoder.origin = info
            try:
                client = await self._connect(ble_device, queue)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                mapped = unavailable(exc)
                if mapped is not None:
                    raise mapped from exc
                raise ConnectError(
                    f"Could not connect to {info.name} ({info.address}): {reason(exc)}. {_RETRY_HINT}"
                ) from exc

            while True:
                item = await queue.get()
                if isinstance(item, _LinkDown):
                    if item.epoch != self._epoch:
                        continue  # from a connection attempt that already failed
                    log.warning("lost the link to %s", info)
                    await self._release(client)
                    client = None
                    yield LinkLost(t_arrival_s=item.t_s)
                    client, attempts = await self._reconnect(ble_device, info, queue)
                    yield LinkRestored(t_arrival_s=self.clock(), attempts=attempts)
                    continue
                yield self._decoder.read(*item)
        finally:
            try:
                if client is not None:
                    await self._shutdown(client)
            finally:
                self._active = False
                stopped.set()

    async def _connect(self, ble_device: BLEDevice, queue: asyncio.Queue[_QueueItem]) -> BleakClient:
        """One connection attempt: connect, read the battery, start notifications."""
        self._epoch += 1
        epoch = self._epoch
        clock = self.clock
        up = False  # bleak also calls back for links that drop inside connect() (it retries)

        def on_disconnect(_client: BleakClient) -> None:
            if up:
                queue.put_nowait(_LinkDown(clock(), epoch))

        def on_notify(_char: BleakGATTCharacteristic, data: bytearray) -> None:
            queue.put_nowait((clock(), bytes(data)))

        client = BleakClient(ble_device, on_disconnect, timeout=self.connect_timeout_s)
        try:
            async with asyncio.timeout(self.connect_timeout_s):
                await client.connect()
            up = True
            self.battery_percent = await self._read_battery(client)
            await client.start_notify(HEART_RATE_MEASUREMENT_UUID, on_notify)
        except BaseException:
            # When connect() itself fails, bleak has already torn the attempt down (device
            # Disconnect, its D-Bus connection closed). Calling disconnect() then would wait
            # for a D-Bus connection that never finished opening to report its end: it
            # never does, and the attempt would hang for CLEANUP_TIMEOUT_S.
            if up:
                await self._release(client)
            raise
        self.connects += 1
        log.info(
            "connected to %s (connection %d, battery %s%%)",
            self.strap or ble_device.address,
            self.connects,
            self.battery_percent,
        )
        return client

    async def _read_battery(self, client: BleakClient) -> int | None:
        """Battery level in percent, or None when the strap has no battery service."""
        char = client.services.get_characteristic(BATTERY_LEVEL_UUID)
        if char is None:
            return None
        try:
            async with asyncio.timeout(BATTERY_READ_TIMEOUT_S):
                value = await client.read_gatt_char(char)
        except (BleakError, TimeoutError) as exc:
            log.info("could not read the battery level: %s", reason(exc))
            return None
        if len(value) < 1 or value[0] > 100:
            log.info("ignoring battery level %s: not 0..100 %%", bytes(value).hex())
            return None
        return int(value[0])

    async def _release(self, client: BleakClient) -> None:
        """Disconnect a client whose link is gone or failed; never raises.

        After a link loss this closes the client's private D-Bus connection, which bleak
        3.1 would otherwise leak.
        """
        try:
            async with asyncio.timeout(CLEANUP_TIMEOUT_S):
                await client.disconnect()
        except Exception as exc:  # noqa: BLE001 - cleanup must never stop the stream
            log.debug("disconnect of a lost or failed link failed: %r", exc)

    async def _reconnect(
        self, ble_device: BLEDevice, info: StrapInfo, queue: asyncio.Queue[_QueueItem]
    ) -> tuple[BleakClient, int]:
        """Reconnect with exponential backoff; returns the client and attempts taken."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        delay_s = self.backoff_initial_s
        attempts = 0
        device: BLEDevice | None = ble_device
        while True:
            attempts += 1
            try:
                if device is None:
                    with bluetooth_errors():
                        device = await BleakScanner.find_device_by_address(
                            info.address, timeout=min(self.scan_timeout_s, self.connect_timeout_s)
                        )
                    if device is None:
                        raise BleakDeviceNotFoundError(info.address, "not advertising")
                client = await self._connect(device, queue)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                why = reason(exc)
                if isinstance(exc, BleakDeviceNotFoundError):
                    device = None  # BlueZ forgot it: scan for it on the next attempt
                elapsed_s = loop.time() - started
                if self.give_up_after_s is not None and elapsed_s >= self.give_up_after_s:
                    raise ConnectError(
                        f"Lost {info.name} ({info.address}) and could not reconnect in "
                        f"{plural(attempts, 'attempt')} over {elapsed_s:.0f} s: {why}. {_RETRY_HINT}"
                    ) from exc
                wait_s = delay_s
                if self.give_up_after_s is not None:
                    wait_s = min(wait_s, self.give_up_after_s - elapsed_s)
                log.info(
                    "reconnection attempt %d to %s failed (%s); next in %.3g s",
                    attempts, info, why, wait_s,
                )
                self.backoff_delays_s.append(wait_s)
                await asyncio.sleep(wait_s)
                delay_s = min(delay_s * 2.0, self.backoff_max_s)
                continue
            log.info("link to %s restored after %d attempt(s)", info, attempts)
            return client, attempts

    async def _shutdown(self, client: BleakClient) -> None:
        """Stop notifications and disconnect; never raises (except a new cancellation)."""
        try:
            async with asyncio.timeout(CLEANUP_TIMEOUT_S):
                if client.is_connected:
                    with contextlib.suppress(Exception):
                        await client.stop_notify(HEART_RATE_MEASUREMENT_UUID)
                await client.disconnect()
        except Exception as exc:  # noqa: BLE001 - shutdown must not raise
            log.warning("could not disconnect cleanly from the strap: %r", exc)
        log.info("disconnected from %s", self.strap)
