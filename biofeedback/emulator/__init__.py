"""An emulated BlueZ playing a heart-rate strap on a private D-Bus bus, for tests without a radio.

On Linux, bleak talks to nothing but the BlueZ daemon over D-Bus. This package starts a
private ``dbus-daemon`` (:class:`PrivateBus`), serves the ``org.bluez`` objects bleak uses
(:class:`EmulatedBlueZ`) and plays one or more heart-rate straps (:class:`EmulatedStrap`)
whose Heart Rate Measurement notifications come from :func:`frames_from_rr`. The
unmodified bleak then runs its real code path: scan, connect, service discovery, reads,
``start_notify``, notifications, link loss and reconnection. Use it to test code that
reads a strap::

    import asyncio
    from bleak import BleakClient, BleakScanner
    from biofeedback.emulator import EmulatedBlueZ, EmulatedStrap, PrivateBus, frames_from_rr

    async def main() -> None:
        strap = EmulatedStrap(frames=frames_from_rr([800.0] * 60), speed=20)
        async with EmulatedBlueZ() as bluez:
            await bluez.add_strap(strap)
            device = await BleakScanner.find_device_by_name(strap.name)
            async with BleakClient(device) as client:
                await client.start_notify("2a37", lambda _, data: print(data.hex()))
                await strap.finished.wait()

    with PrivateBus():  # sets DBUS_SYSTEM_BUS_ADDRESS for bleak
        asyncio.run(main())

From a shell, ``python -m biofeedback.emulator --rr-file FILE [--speed X] [--name NAME]``
starts a private bus with a strap playing that RR file (one interval in ms per line) and
prints the ``export DBUS_SYSTEM_BUS_ADDRESS=...`` line to paste in another terminal, where
``biofeedback scan`` or your own bleak code will find the strap. It runs until the last
frame or Ctrl-C.

Needs ``dbus-daemon`` (Debian package ``dbus-daemon``, or ``dbus`` on older releases).
Timing on an emulated link is synthetic: use it to test behaviour, never to calibrate
real-radio timeouts.
"""

from biofeedback.emulator.bluez import ADAPTER_PATH, EmulatedBlueZ, device_path
from biofeedback.emulator.bus import PrivateBus
from biofeedback.emulator.strap import (
    ABORT_BY_LOCAL,
    EmulatedStrap,
    Frame,
    frames_from_rr,
)

__all__ = [
    "ABORT_BY_LOCAL",
    "ADAPTER_PATH",
    "EmulatedBlueZ",
    "EmulatedStrap",
    "Frame",
    "PrivateBus",
    "device_path",
    "frames_from_rr",
]
