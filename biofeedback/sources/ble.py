"""Reading a Bluetooth LE heart-rate chest strap (Heart Rate Service 0x180D) with bleak.

The strap notifies the Heart Rate Measurement characteristic (0x2A37) about once a
second. The notification handler does one thing: it puts ``(arrival time, bytes)`` on an
:class:`asyncio.Queue`; the async iterator takes them off, decodes them with
:meth:`biofeedback.hrm.HeartRateMeasurement.from_bytes` and yields
:class:`~biofeedback.beats.Measurement` values. A frame that does not decode is counted
(:attr:`BleSource.malformed_frames`), logged and skipped; it never stops the stream.

When the link drops, bleak's ``disconnected_callback`` puts a marker on the same queue,
behind every notification that arrived before the loss, so those are all delivered
first. The source then yields :class:`~biofeedback.sources.base.LinkLost`, reconnects by
itself with exponential backoff and yields :class:`~biofeedback.sources.base.LinkRestored`.

Errors bleak and D-Bus raise become one-line :class:`~biofeedback.errors.BluetoothError`
subclasses that say what is wrong and what to try (bleak 3.1, BlueZ backend):

- no system bus: ``FileNotFoundError`` (no socket) or ``ConnectionRefusedError``
  (nobody listening) from dbus-fast -> BluetoothUnavailableError "The system D-Bus is
  not running ...";
- a bus, but no BlueZ: ``BleakDBusError`` ``org.freedesktop.DBus.Error.ServiceUnknown``
  (or ``NameHasNoOwner``) -> "BlueZ is not running: start it with ...";
- no adapter: ``BleakBluetoothNotAvailableError`` reason NO_BLUETOOTH ("No Bluetooth
  adapters found."), or ``BleakError`` "adapter 'hciX' not found" -> "No Bluetooth
  adapter found: ...";
- adapter off: ``BleakBluetoothNotAvailableError`` POWERED_OFF, or ``BleakDBusError``
  ``org.bluez.Error.NotReady`` -> "The Bluetooth adapter is off: ...";
- classic-only adapter: NO_BLE_CENTRAL_ROLE; BlueZ older than 5.55: ``BleakError``
  "Bleak requires BlueZ >= 5.55."; ``dbus_fast.InvalidAddressError`` (bad
  ``DBUS_SYSTEM_BUS_ADDRESS``); not allowed: ``PermissionError``,
  ``org.freedesktop.DBus.Error.AccessDenied``, DENIED_* (from ``AuthError``) ->
  BluetoothUnavailableError saying which;
- anything else while connecting (``BleakDBusError`` ``org.bluez.Error.Failed`` from a
  refusing strap, ``TimeoutError``, ``BleakDeviceNotFoundError``, ``BleakError``) ->
  ConnectError "Could not connect to <name> (<address>): <reason>. Move closer, ...".
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import re
import time
import weakref
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import Final, Self

from bleak import BleakClient, BleakScanner
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData
from bleak.exc import (
    BleakBluetoothNotAvailableError,
    BleakBluetoothNotAvailableReason,
    BleakCharacteristicNotFoundError,
    BleakDBusError,
    BleakDeviceNotFoundError,
    BleakError,
)
from dbus_fast import InvalidAddressError

from biofeedback.beats import Measurement
from biofeedback.errors import (
    BluetoothUnavailableError,
    ConnectError,
    InvalidInputError,
    MalformedFrameError,
    StrapChoiceError,
    StrapNotFoundError,
)
from biofeedback.hrm import (
    BATTERY_LEVEL_UUID,
    HEART_RATE_MEASUREMENT_UUID,
    HEART_RATE_SERVICE_UUID,
    HeartRateMeasurement,
)
from biofeedback.sources.base import LinkLost, LinkRestored, SourceEvent

__all__ = ["BleSource", "StrapInfo", "find_strap", "scan"]

log = logging.getLogger(__name__)

SETTLE_S: Final[float] = 2.0  # after the first strap is seen, listen this long for others, s
CONNECT_TIMEOUT_S: Final[float] = 20.0  # one connection attempt, s
CLEANUP_TIMEOUT_S: Final[float] = 10.0  # stop_notify + disconnect on shutdown, s
BATTERY_READ_TIMEOUT_S: Final[float] = 5.0  # reading 0x2A19, s
_UNKNOWN_RSSI_DBM: Final[int] = -127  # what bleak reports when BlueZ gives no RSSI
_DEFAULT_SYSTEM_BUS: Final[str] = "unix:path=/var/run/dbus/system_bus_socket"
_ADDRESS_RE: Final = re.compile(r"^[0-9A-Fa-f]{2}([:-][0-9A-Fa-f]{2}){5}$")
_RETRY_HINT: Final[str] = "Move closer, make sure no phone app holds the strap, and try again."
_WAKE_HINT: Final[str] = "wake the strap by wetting the electrodes and wearing it, then try again"


@dataclass(frozen=True)
class StrapInfo:
    """A heart-rate strap seen advertising the Heart Rate Service.

    Attributes
    ----------
    name : str
        Its advertised name ("unnamed" when it sends none).
    address : str
        Bluetooth address, upper case, ``AA:BB:CC:DD:EE:FF``.
    rssi_dbm : int or None
        Received signal strength, dBm (closer to 0 is stronger); None when unknown.
    """

    name: str
    address: str
    rssi_dbm: int | None

    def __str__(self) -> str:
        return f"{self.name} ({self.address})"


# --------------------------------------------------------------------------- errors


def _system_bus_address() -> str:
    return os.environ.get("DBUS_SYSTEM_BUS_ADDRESS") or _DEFAULT_SYSTEM_BUS


def _unavailable(exc: BaseException) -> BluetoothUnavailableError | None:
    """The one-line error for an exception meaning Bluetooth is unusable, else None."""
    msg: str | None = None
    if isinstance(exc, BleakBluetoothNotAvailableError):
        reason = exc.reason
        if reason is BleakBluetoothNotAvailableReason.NO_BLUETOOTH:
            msg = "No Bluetooth adapter found: plug one in or check `bluetoothctl list`."
        elif reason is BleakBluetoothNotAvailableReason.NO_BLE_CENTRAL_ROLE:
            msg = (
                "The Bluetooth adapter cannot act as a Bluetooth LE central: "
                "use a Bluetooth 4.0 (LE) or newer adapter."
            )
        elif reason is BleakBluetoothNotAvailableReason.POWERED_OFF:
            msg = (
                "The Bluetooth adapter is off: turn it on with `bluetoothctl power on` "
                "(and `rfkill unblock bluetooth` if it is blocked)."
            )
        elif reason in (
            BleakBluetoothNotAvailableReason.DENIED_BY_SYSTEM,
            BleakBluetoothNotAvailableReason.DENIED_BY_USER,
            BleakBluetoothNotAvailableReason.DENIED_BY_UNKNOWN,
        ):
            msg = (
                f"Not allowed to use Bluetooth ({exc.args[0]}): check the system D-Bus policy "
                "or add your user to the `bluetooth` group."
            )
        else:
            msg = f"Bluetooth is not available ({exc.args[0]}): check `bluetoothctl show`."
    elif isinstance(exc, BleakDBusError):
        name = exc.dbus_error
        if name in (
            "org.freedesktop.DBus.Error.ServiceUnknown",
            "org.freedesktop.DBus.Error.NameHasNoOwner",
        ):
            msg = "BlueZ is not running: start it with `sudo systemctl start bluetooth`."
        elif name == "org.freedesktop.DBus.Error.AccessDenied":
            msg = (
                "Not allowed to talk to BlueZ on the system D-Bus: add your user to the "
                "`bluetooth` group and log in again."
            )
        elif name == "org.bluez.Error.NotReady":
            msg = (
                "The Bluetooth adapter is not ready (probably off): turn it on with "
                "`bluetoothctl power on`."
            )
    elif isinstance(exc, PermissionError):
        msg = (
            f"Not allowed to open the system D-Bus at {_system_bus_address()}: "
            "check its permissions, or run as a user allowed to use Bluetooth."
        )
    elif isinstance(exc, (FileNotFoundError, ConnectionRefusedError)):
        msg = (
            f"The system D-Bus is not running (nothing at {_system_bus_address()}): "
            "start it and BlueZ with `sudo systemctl start dbus bluetooth`."
        )
    elif isinstance(exc, InvalidAddressError):
        msg = (
            f"DBUS_SYSTEM_BUS_ADDRESS={os.environ.get('DBUS_SYSTEM_BUS_ADDRESS', '')!r} is not "
            f"a usable D-Bus address ({exc}): unset it or fix it."
        )
    elif isinstance(exc, BleakError) and not isinstance(exc, BleakDBusError):
        text = str(exc)
        if text.startswith("adapter '") and text.endswith("not found"):
            msg = (
                f"Bluetooth adapter {text.split(chr(39))[1]} is gone: plug it back in or "
                "check `bluetoothctl list`."
            )
        elif "requires BlueZ" in text:
            msg = (
                "BlueZ is too old (bleak needs 5.55 or newer, see `bluetoothctl --version`): "
                "upgrade the bluez package."
            )
    return None if msg is None else BluetoothUnavailableError(msg)


@contextlib.contextmanager
def _bluetooth_errors() -> Iterator[None]:
    """Turn exceptions meaning "Bluetooth is unusable" into BluetoothUnavailableError."""
    try:
        yield
    except (BleakError, OSError, InvalidAddressError) as exc:
        mapped = _unavailable(exc)
        if mapped is None:
            raise
        raise mapped from exc


def _reason(exc: BaseException) -> str:
    """A short human reason for a failed connection attempt."""
    if isinstance(exc, BleakDBusError):
        return exc.dbus_error_details or exc.dbus_error
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, BleakDeviceNotFoundError):
        return "BlueZ no longer knows the strap"
    if isinstance(exc, BleakCharacteristicNotFoundError):
        return "it offers no Heart Rate Measurement (0x2A37), so it is not a heart-rate strap"
    text = str(exc).strip()
    return text if text else type(exc).__name__


# --------------------------------------------------------------------------- scanning


def _strap_info(device: BLEDevice, adv: AdvertisementData) -> StrapInfo:
    rssi = adv.rssi
    return StrapInfo(
        name=device.name or adv.local_name or "unnamed",
        address=device.address.upper(),
        rssi_dbm=None if rssi is None or rssi == _UNKNOWN_RSSI_DBM else int(rssi),
    )


def _advertises_heart_rate(adv: AdvertisementData) -> bool:
    return any(uuid.lower() == HEART_RATE_SERVICE_UUID for uuid in adv.service_uuids)


def _strongest_first(info: StrapInfo) -> tuple[bool, int, str, str]:
    return (info.rssi_dbm is None, -(info.rssi_dbm or 0), info.name, info.address)


def _check_timeout(timeout_s: float, what: str) -> None:
    if not (isinstance(timeout_s, (int, float)) and math.isfinite(timeout_s) and timeout_s > 0):
        raise InvalidInputError(f"{what} must be a positive number of seconds, got {timeout_s!r}")


async def _scan(
    timeout_s: float,
    matches: Callable[[StrapInfo], bool] | None = None,
    settle_s: float | None = None,
    address: str | None = None,
) -> dict[str, tuple[BLEDevice, StrapInfo]]:
    """Scan for heart-rate straps.

    Without ``matches``, listens for the whole ``timeout_s``. With it, stops early:
    ``settle_s`` after the first matching strap (or at once when ``settle_s`` is None).
    Returns every heart-rate strap seen, by address, plus the device at ``address``
    even when it does not advertise the Heart Rate Service (some straps do not).
    """
    loop = asyncio.get_running_loop()
    seen: dict[str, tuple[BLEDevice, StrapInfo]] = {}
    matched = asyncio.Event()

    def on_advertisement(device: BLEDevice, adv: AdvertisementData) -> None:
        if not (_advertises_heart_rate(adv) or device.address.upper() == address):
            return
        info = _strap_info(device, adv)
        seen[info.address] = (device, info)
        if matches is not None and matches(info):
            matched.set()

    deadline = loop.time() + timeout_s
    with _bluetooth_errors():
        service_uuids = None if address is not None else [HEART_RATE_SERVICE_UUID]
        async with BleakScanner(on_advertisement, service_uuids=service_uuids):
            if matches is None:
                await asyncio.sleep(timeout_s)
            else:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout_at(deadline):
                        await matched.wait()
                if matched.is_set() and settle_s:
                    await asyncio.sleep(max(0.0, min(settle_s, deadline - loop.time())))
    return seen


async def scan(timeout_s: float = 5.0) -> list[StrapInfo]:
    """List the heart-rate straps in range, strongest signal first.

    Parameters
    ----------
    timeout_s : float
        How long to listen for advertisements, s.

    Returns
    -------
    list of StrapInfo
        Devices advertising the Heart Rate Service (0x180D); other devices are ignored.

    Raises
    ------
    BluetoothUnavailableError
        No adapter, adapter off, BlueZ or the system D-Bus not running; the message says
        which and what to try.
    InvalidInputError
        ``timeout_s`` is not a positive number.
    """
    _check_timeout(timeout_s, "scan timeout_s")
    seen = await _scan(timeout_s)
    straps = sorted((info for _, info in seen.values()), key=_strongest_first)
    log.info("scan found %d heart-rate strap(s): %s", len(straps), ", ".join(map(str, straps)))
    return straps


def _normalise_address(device: str) -> str | None:
    """``device`` as an upper-case colon-separated address, or None if it is not one."""
    if _ADDRESS_RE.match(device):
        return device.upper().replace("-", ":")
    return None


async def find_strap(
    device: str | None, timeout_s: float = 10.0, *, settle_s: float = SETTLE_S
) -> tuple[BLEDevice, StrapInfo]:
    """Find the strap to connect to.

    Parameters
    ----------
    device : str or None
        A Bluetooth address (``AA:BB:CC:DD:EE:FF``, any case), or a fragment of the
        strap's name matched case-insensitively (``"polar"``). None: the only strap in
        range. Names and None consider only devices advertising the Heart Rate Service
        (0x180D); an address is taken even when the device does not advertise it.
    timeout_s : float
        Longest time to scan, s. An address stops the scan as soon as it is seen; a name
        fragment or None listen ``settle_s`` more after the first match, for others.
    settle_s : float
        See ``timeout_s``, s.

    Raises
    ------
    StrapNotFoundError
        Nothing matching was seen within ``timeout_s``.
    StrapChoiceError
        Several straps match and none was named precisely; the message lists them.
    BluetoothUnavailableError
        Bluetooth is unusable (see :func:`scan`).
    """
    _check_timeout(timeout_s, "find_strap timeout_s")
    if device is not None and not device.strip():
        raise InvalidInputError("device is empty: pass a strap address or part of its name")
    address = None if device is None else _normalise_address(device.strip())
    fragment = None if device is None else device.strip().casefold()

    def matches(info: StrapInfo) -> bool:
        if address is not None:
            return info.address == address
        if fragment is not None:
            return fragment in info.name.casefold()
        return True

    seen = await _scan(timeout_s, matches, None if address is not None else settle_s, address)
    found = sorted(
        ((dev, info) for dev, info in seen.values() if matches(info)),
        key=lambda pair: _strongest_first(pair[1]),
    )
    if not found:
        asked = "" if device is None else f" matching {device!r}"
        others = "" if not seen else (
            " (in range: " + ", ".join(str(info) for _, info in seen.values()) + ")"
        )
        raise StrapNotFoundError(
            f"No heart-rate strap found{asked} within {timeout_s:g} s{others}: {_WAKE_HINT}."
        )
    if len(found) > 1:
        listed = ", ".join(str(info) for _, info in found)
        what = "Several heart-rate straps are in range" if device is None else (
            f"Several heart-rate straps match {device!r}"
        )
        raise StrapChoiceError(
            f"{what}: {listed}. Pass --device with the address of the one to use."
        )
    ble_device, info = found[0]
    log.info("found strap %s, RSSI %s dBm", info, info.rssi_dbm)
    return ble_device, info


# --------------------------------------------------------------------------- the source


@dataclass(frozen=True)
class _LinkDown:
    """Queue marker put by bleak's disconnected_callback."""

    t_s: float
    epoch: int


_QueueItem = tuple[float, bytes] | _LinkDown


class BleSource:
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
        Notifications that did not decode, counted and skipped.
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
        _check_timeout(scan_timeout_s, "scan_timeout_s")
        _check_timeout(backoff_initial_s, "backoff_initial_s")
        _check_timeout(backoff_max_s, "backoff_max_s")
        _check_timeout(connect_timeout_s, "connect_timeout_s")
        if backoff_max_s < backoff_initial_s:
            raise InvalidInputError(
                f"backoff_max_s ({backoff_max_s!r}) must be at least backoff_initial_s "
                f"({backoff_initial_s!r})"
            )
        if give_up_after_s is not None:
            _check_timeout(give_up_after_s, "give_up_after_s")
        if not (math.isfinite(settle_s) and settle_s >= 0):
            raise InvalidInputError(f"settle_s must be 0 or more seconds, got {settle_s!r}")
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
        self.malformed_frames = 0
        self.connects = 0
        self.backoff_delays_s: list[float] = []

        self._active = False
        self._stopped: asyncio.Event | None = None  # set once an iteration has shut down
        self._agen: weakref.ref[AsyncGenerator[SourceEvent, None]] | None = None
        self._epoch = 0  # one per connection attempt; tells stale link-loss markers apart

    # -- public iteration / lifetime -------------------------------------------------

    def __aiter__(self) -> AsyncIterator[SourceEvent]:
        agen = self._events()
        self._agen = weakref.ref(agen)
        return agen

    async def aclose(self) -> None:
        """Stop the iteration (if any) and wait until the strap is disconnected."""
        agen = None if self._agen is None else self._agen()
        if agen is not None:
            await agen.aclose()
        if self._stopped is not None:
            await self._stopped.wait()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # -- the iteration ---------------------------------------------------------------

    async def _events(self) -> AsyncGenerator[SourceEvent, None]:
        if self._active:
            raise RuntimeError("this BleSource is already being iterated; iterate it once at a time")
        self._active = True
        self._stopped = stopped = asyncio.Event()
        queue: asyncio.Queue[_QueueItem] = asyncio.Queue()
        client: BleakClient | None = None
        warned = False
        try:
            ble_device, info = await find_strap(self.device, self.scan_timeout_s, settle_s=self.settle_s)
            self.strap = info
            try:
                client = await self._connect(ble_device, queue)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                mapped = _unavailable(exc)
                if mapped is not None:
                    raise mapped from exc
                raise ConnectError(
                    f"Could not connect to {info.name} ({info.address}): {_reason(exc)}. {_RETRY_HINT}"
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
                t_s, data = item
                try:
                    hrm = HeartRateMeasurement.from_bytes(data)
                except MalformedFrameError as exc:
                    self.malformed_frames += 1
                    if not warned:
                        log.warning("skipping malformed frame from %s: %s", info, exc)
                        warned = True
                    else:
                        log.debug("skipping malformed frame from %s: %s", info, exc)
                    continue
                yield Measurement(
                    t_arrival_s=t_s,
                    heart_rate_bpm=hrm.heart_rate_bpm,
                    rr_ms=hrm.rr_ms,
                    contact=hrm.contact,
                )
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
            with contextlib.suppress(Exception):
                async with asyncio.timeout(CLEANUP_TIMEOUT_S):
                    await client.disconnect()
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
            log.info("could not read the battery level: %s", _reason(exc))
            return None
        if len(value) < 1 or value[0] > 100:
            log.info("ignoring battery level %s: not 0..100 %%", bytes(value).hex())
            return None
        return int(value[0])

    async def _release(self, client: BleakClient) -> None:
        """After a link loss: close the client's private D-Bus connection (bleak leaks it)."""
        try:
            async with asyncio.timeout(CLEANUP_TIMEOUT_S):
                await client.disconnect()
        except Exception as exc:  # noqa: BLE001 - cleanup must never stop the stream
            log.debug("disconnect after link loss failed: %r", exc)

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
                    with _bluetooth_errors():
                        device = await BleakScanner.find_device_by_address(
                            info.address, timeout=min(self.scan_timeout_s, self.connect_timeout_s)
                        )
                    if device is None:
                        raise BleakDeviceNotFoundError(info.address, "not advertising")
                client = await self._connect(device, queue)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                reason = _reason(exc)
                if isinstance(exc, BleakDeviceNotFoundError):
                    device = None  # BlueZ forgot it: scan for it on the next attempt
                elapsed_s = loop.time() - started
                if self.give_up_after_s is not None and elapsed_s >= self.give_up_after_s:
                    raise ConnectError(
                        f"Lost {info.name} ({info.address}) and could not reconnect in "
                        f"{attempts} attempt(s) over {elapsed_s:.0f} s: {reason}. {_RETRY_HINT}"
                    ) from exc
                wait_s = delay_s
                if self.give_up_after_s is not None:
                    wait_s = min(wait_s, self.give_up_after_s - elapsed_s)
                log.info(
                    "reconnection attempt %d to %s failed (%s); next in %.3g s",
                    attempts, info, reason, wait_s,
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
