"""Finding heart-rate straps: who is advertising the Heart Rate Service (0x180D) nearby.

:func:`scan` lists the straps in range, strongest signal first; :func:`find_strap` picks
the one to connect to, by address, by a fragment of its name, or as the only one in
range, and says which straps it saw when none or several match. Bluetooth being
unusable (no adapter, adapter off, no BlueZ, no system bus) becomes
:class:`~biofeedback.errors.BluetoothUnavailableError` (see
:mod:`biofeedback.sources.bluez_errors`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from bleak import BleakScanner
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData

from biofeedback._validate import bluetooth_address, check_positive
from biofeedback.errors import InvalidInputError, StrapChoiceError, StrapNotFoundError
from biofeedback.hrm import HEART_RATE_SERVICE_UUID
from biofeedback.sources.bluez_errors import bluetooth_errors

__all__ = ["StrapInfo", "find_strap", "scan"]

log = logging.getLogger(__name__)

SETTLE_S: Final[float] = 2.0  # after the first strap is seen, listen this long for others, s
_UNKNOWN_RSSI_DBM: Final[int] = -127  # what bleak reports when BlueZ gives no RSSI
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
    with bluetooth_errors():
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
    check_positive(timeout_s, "scan timeout_s", "seconds")
    seen = await _scan(timeout_s)
    straps = sorted((info for _, info in seen.values()), key=_strongest_first)
    log.info("scan found %d heart-rate strap(s): %s", len(straps), ", ".join(map(str, straps)))
    return straps


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
    check_positive(timeout_s, "find_strap timeout_s", "seconds")
    if device is not None and not device.strip():
        raise InvalidInputError("device is empty: pass a strap address or part of its name")
    address = None if device is None else bluetooth_address(device.strip())
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
