"""Turning bleak, dbus-fast and OS exceptions into our one-line Bluetooth errors.

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
  ConnectError "Could not connect to <name> (<address>): <reason>. Move closer, ...";
- bleak's backend cannot load (``ImportError``: no ``dbus-fast`` on Linux) ->
  BluetoothUnavailableError naming the missing package and how to install it.

dbus-fast is imported only if it is there: on macOS and Windows bleak needs none, and the
CLI starts without it.

:func:`unavailable` and :func:`bluetooth_errors` do the BluetoothUnavailableError
cases; :func:`reason` gives the ``<reason>`` that
:class:`~biofeedback.sources.ble.BleSource` puts in its ConnectError.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Final

from bleak.exc import (
    BleakBluetoothNotAvailableError,
    BleakBluetoothNotAvailableReason,
    BleakCharacteristicNotFoundError,
    BleakDBusError,
    BleakDeviceNotFoundError,
    BleakError,
)

from biofeedback.errors import BluetoothUnavailableError

try:  # only BlueZ (Linux) talks D-Bus; bleak on macOS and Windows needs no dbus-fast
    from dbus_fast import InvalidAddressError as _InvalidAddressError

    _DBUS_ERRORS: tuple[type[Exception], ...] = (_InvalidAddressError,)
except ImportError:
    _DBUS_ERRORS = ()

__all__ = ["bluetooth_errors", "reason", "unavailable"]

_DEFAULT_SYSTEM_BUS: Final[str] = "unix:path=/var/run/dbus/system_bus_socket"


def _system_bus_address() -> str:
    return os.environ.get("DBUS_SYSTEM_BUS_ADDRESS") or _DEFAULT_SYSTEM_BUS


def unavailable(exc: BaseException) -> BluetoothUnavailableError | None:
    """The one-line error for an exception meaning Bluetooth is unusable, else None.

    Parameters
    ----------
    exc : BaseException
        What bleak, dbus-fast or the OS raised.

    Returns
    -------
    BluetoothUnavailableError or None
        The error saying what is wrong and what to try (see the module docstring), or
        None when ``exc`` does not mean Bluetooth is unusable.
    """
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
    elif isinstance(exc, _DBUS_ERRORS):
        msg = (
            f"DBUS_SYSTEM_BUS_ADDRESS={os.environ.get('DBUS_SYSTEM_BUS_ADDRESS', '')!r} is not "
            f"a usable D-Bus address ({exc}): unset it or fix it."
        )
    elif isinstance(exc, ImportError) and exc.name:
        package = exc.name.split(".")[0].replace("_", "-")
        msg = (
            f"bleak cannot use Bluetooth here: the Python package {package!r} it needs is not "
            f"installed. Install it with `pip install {package}`."
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
def bluetooth_errors() -> Iterator[None]:
    """Turn exceptions meaning "Bluetooth is unusable" into BluetoothUnavailableError.

    Raises
    ------
    BluetoothUnavailableError
        The body raised a ``BleakError``, ``OSError``, ``ImportError`` (bleak's backend
        for this system cannot load, e.g. no dbus-fast on Linux) or dbus-fast's
        ``InvalidAddressError`` that :func:`unavailable` maps (chained from it); any other
        exception passes unchanged.
    """
    try:
        yield
    except (BleakError, OSError, ImportError, *_DBUS_ERRORS) as exc:  # type: ignore[misc]  # mypy: a starred tuple
        mapped = unavailable(exc)
        if mapped is None:
            raise
        raise mapped from exc


def reason(exc: BaseException) -> str:
    """A short human reason for a failed connection attempt.

    Parameters
    ----------
    exc : BaseException
        What the attempt raised.

    Returns
    -------
    str
        One phrase to put after "Could not connect to <strap>: " (the D-Bus error
        details, "timed out", ...; the exception's text or class name otherwise).
    """
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
