"""An emulated BlueZ daemon: the ``org.bluez`` objects bleak uses, served with dbus-fast.

:class:`EmulatedBlueZ` owns the name ``org.bluez`` on a (private) bus and exports the
adapter ``/org/bluez/hci0`` (``org.bluez.Adapter1``) and one ``org.bluez.Device1`` per
:class:`EmulatedStrap` in range (see :mod:`biofeedback.emulator.device`). dbus-fast
answers ``GetManagedObjects`` at ``/`` and emits ``InterfacesAdded`` /
``InterfacesRemoved`` on export and unexport. While discovery runs, each strap in range
that is not connected re-sends its RSSI, because bleak's scanner only reports devices
that change. Calls to a vanished ``/org/bluez/...`` path get
``org.freedesktop.DBus.Error.UnknownObject``, as from BlueZ.
"""

# No "from __future__ import annotations" here: dbus-fast reads the annotations of the
# D-Bus methods at class creation, and takes the string "None" for a signature.
import asyncio
import contextlib
import logging
import os
from types import TracebackType
from typing import Any, Final, Self

from dbus_fast import BusType, Message, MessageType, NameFlag, RequestNameReply
from dbus_fast.aio import MessageBus
from dbus_fast.annotations import DBusBool, DBusDict, DBusObjectPath, DBusStr
from dbus_fast.constants import PropertyAccess
from dbus_fast.errors import DBusError
from dbus_fast.service import ServiceInterface, dbus_method, dbus_property

from biofeedback.emulator.device import (
    ADAPTER_PATH,
    ERROR_FAILED,
    ERROR_NOT_READY,
    DBusStrList,
    DeviceLink,
    device_path,
)
from biofeedback.emulator.strap import EmulatedStrap
from biofeedback.errors import EmulatorError

__all__ = ["ADAPTER_PATH", "BLUEZ_SERVICE", "EmulatedBlueZ", "device_path"]

logger = logging.getLogger(__name__)

BLUEZ_SERVICE: Final = "org.bluez"
ADVERTISE_INTERVAL_S: Final[float] = 0.1  # how often a strap in range re-sends its RSSI during discovery
ERROR_DOES_NOT_EXIST: Final = "org.bluez.Error.DoesNotExist"


# -- org.bluez.Adapter1 ----------------------------------------------------------------


class Adapter1(ServiceInterface):
    """``org.bluez.Adapter1`` at ``/org/bluez/hci0``: a powered LE central."""

    def __init__(self, bluez: "EmulatedBlueZ", address: str, powered: bool) -> None:
        super().__init__("org.bluez.Adapter1")
        self._bluez = bluez
        self._address = address
        self.powered = powered
        self.discovering = False
        self.discovery_filter: dict[str, Any] = {}

    @dbus_property(access=PropertyAccess.READ)
    def Address(self) -> DBusStr:
        return self._address

    @dbus_property(access=PropertyAccess.READ)
    def AddressType(self) -> DBusStr:
        return "public"

    @dbus_property(access=PropertyAccess.READ)
    def Name(self) -> DBusStr:
        return "emulated"

    @dbus_property(access=PropertyAccess.READ)
    def Alias(self) -> DBusStr:
        return "emulated"

    @dbus_property(access=PropertyAccess.READ)
    def Powered(self) -> DBusBool:
        return self.powered

    @dbus_property(access=PropertyAccess.READ)
    def Discoverable(self) -> DBusBool:
        return False

    @dbus_property(access=PropertyAccess.READ)
    def Pairable(self) -> DBusBool:
        return True

    @dbus_property(access=PropertyAccess.READ)
    def Discovering(self) -> DBusBool:
        return self.discovering

    @dbus_property(access=PropertyAccess.READ)
    def Roles(self) -> DBusStrList:
        return ["central", "peripheral"]

    @dbus_property(access=PropertyAccess.READ)
    def UUIDs(self) -> DBusStrList:
        return []

    @dbus_method()
    def SetDiscoveryFilter(self, properties: DBusDict) -> None:
        self.discovery_filter = {key: value.value for key, value in properties.items()}

    @dbus_method()
    def GetDiscoveryFilters(self) -> DBusStrList:
        return ["UUIDs", "RSSI", "Pathloss", "Transport", "DuplicateData", "Discoverable", "Pattern"]

    @dbus_method()
    def StartDiscovery(self) -> None:
        if not self.powered:
            raise DBusError(ERROR_NOT_READY, "Resource Not Ready")
        self._bluez._start_discovery()

    @dbus_method()
    def StopDiscovery(self) -> None:
        if not self.powered:
            raise DBusError(ERROR_NOT_READY, "Resource Not Ready")
        if not self._bluez._stop_discovery():
            raise DBusError(ERROR_FAILED, "No discovery started")

    @dbus_method()
    async def RemoveDevice(self, device: DBusObjectPath) -> None:
        await self._bluez._remove_device(device)


# -- the daemon ------------------------------------------------------------------------


class EmulatedBlueZ:
    """The BlueZ daemon, emulated on a D-Bus bus (usually a :class:`PrivateBus`).

    Use as ``async with EmulatedBlueZ() as bluez: await bluez.add_strap(strap)``.

    Parameters
    ----------
    address : str or None
        D-Bus address to serve on; default ``DBUS_SYSTEM_BUS_ADDRESS``, which must then be
        set (the emulator never falls back to the machine's system bus).
    adapter : bool
        Export the adapter ``/org/bluez/hci0``. False emulates a machine without
        Bluetooth: bleak raises ``BleakBluetoothNotAvailableError`` (reason
        ``NO_BLUETOOTH``, "No Bluetooth adapters found.").
    powered : bool
        Adapter power. False makes bleak raise ``BleakBluetoothNotAvailableError``
        (reason ``POWERED_OFF``).
    adapter_address : str
        The adapter's Bluetooth address.
    advertise_interval_s : float
        While discovery runs, each strap in range that is not connected re-sends its
        RSSI this often, s, so that a scanner sees it.

    Raises
    ------
    EmulatorError
        No bus address, or ``org.bluez`` already owned on that bus.
    """

    def __init__(
        self,
        address: str | None = None,
        *,
        adapter: bool = True,
        powered: bool = True,
        adapter_address: str = "00:1A:7D:DA:71:13",
        advertise_interval_s: float = ADVERTISE_INTERVAL_S,
    ) -> None:
        self._address = address
        self._has_adapter = adapter
        self._adapter = Adapter1(self, adapter_address, powered)
        self._advertise_interval_s = advertise_interval_s
        self._bus: MessageBus | None = None
        self._links: dict[str, DeviceLink] = {}  # device path -> link, straps in range
        self._known: list[EmulatedStrap] = []  # every strap ever added, to stop their timelines
        self._discovery_sessions = 0
        self._advertiser: asyncio.Task[None] | None = None
        self._paths: set[str] = set()  # exported object paths

    async def __aenter__(self) -> Self:
        address = self._address or os.environ.get("DBUS_SYSTEM_BUS_ADDRESS")
        if not address:
            raise EmulatorError(
                "no bus for the emulated BlueZ: use 'with PrivateBus():' or pass EmulatedBlueZ(address=...)"
            )
        bus = MessageBus(bus_address=address, bus_type=BusType.SYSTEM)
        try:
            await bus.connect()
            reply = await bus.request_name(BLUEZ_SERVICE, NameFlag.DO_NOT_QUEUE)
            if reply is not RequestNameReply.PRIMARY_OWNER:
                raise EmulatorError(f"'{BLUEZ_SERVICE}' is already owned on bus {address}: stop the other BlueZ first")
        except BaseException:
            bus.disconnect()
            raise
        self._bus = bus
        bus.add_message_handler(self._unknown_object)
        if self._has_adapter:
            self.export_object(ADAPTER_PATH, self._adapter)
        logger.debug("emulated BlueZ on %s as %s", address, bus.unique_name)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Drop every link, stop every strap's timeline and leave the bus."""
        await self._stop_advertising()
        bus = self._bus
        if bus is None:
            return
        for link in list(self._links.values()):
            with contextlib.suppress(Exception):
                await link.drop()
        for strap in self._known:
            await strap._close()
            strap._detach()
        self._links.clear()
        self._known.clear()
        self._bus = None
        bus.disconnect()
        with contextlib.suppress(Exception):
            await bus.wait_for_disconnect()  # type: ignore[no-untyped-call]  # untyped in dbus-fast 5.2

    @property
    def bus(self) -> MessageBus:
        """The emulator's own bus connection."""
        if self._bus is None:
            raise EmulatorError("the emulated BlueZ is not running: use 'async with EmulatedBlueZ() as bluez:'")
        return self._bus

    @property
    def straps(self) -> list[EmulatedStrap]:
        """Straps currently in range."""
        return [link.strap for link in self._links.values()]

    async def add_strap(self, strap: EmulatedStrap) -> None:
        """Bring a strap into range: its ``Device1`` appears (``InterfacesAdded``).

        Raises
        ------
        EmulatorError
            A strap with the same address is already in range, or this strap is in
            another emulator.
        """
        path = device_path(strap.address)
        if path in self._links:
            raise EmulatorError(f"a strap with address {strap.address} is already in range")
        link = DeviceLink(self, strap)
        strap._attach(link)
        self._links[path] = link
        if strap not in self._known:
            self._known.append(strap)
        self._export_device(link)

    async def remove_strap(self, strap: EmulatedStrap) -> None:
        """Take a strap out of range: the link drops if up, and its ``Device1`` goes.

        Its timeline runs on: frames that fall while it is away are lost. Adding it
        again brings it back.
        """
        link = self._links.pop(device_path(strap.address), None)
        if link is None or link.strap is not strap:
            raise EmulatorError(f"{strap!r} is not in range of this emulator")
        await link.drop()
        self._unexport_device(link)
        strap._detach()

    async def set_powered(self, powered: bool) -> None:
        """Switch the adapter on or off; switching off drops every link and stops discovery."""
        if powered == self._adapter.powered:
            return
        if not powered:
            for link in list(self._links.values()):
                await link.drop()
            self._discovery_sessions = 0
            await self._stop_advertising()
            self._set_discovering(False)
        self._adapter.powered = powered
        self._adapter.emit_properties_changed({"Powered": powered})

    async def client_connection_count(self) -> int:
        """Connections on the bus other than the emulator's own (and the bus daemon's).

        Counts unique names (``:1.N``) from ``org.freedesktop.DBus.ListNames``. bleak
        holds one for its manager plus one per connected ``BleakClient``.
        """
        bus = self.bus
        reply = await bus.call(
            Message(
                destination="org.freedesktop.DBus",
                path="/org/freedesktop/DBus",
                interface="org.freedesktop.DBus",
                member="ListNames",
            )
        )
        if reply is None or reply.message_type is not MessageType.METHOD_RETURN:
            raise EmulatorError(f"ListNames failed on the emulator's bus: {reply.body if reply else 'no reply'}")
        names: list[str] = reply.body[0]
        return sum(1 for name in names if name.startswith(":") and name != bus.unique_name)

    async def wait_for_client_connections(self, count: int, timeout_s: float = 2.0) -> int:
        """Poll :meth:`client_connection_count` until it equals ``count`` or ``timeout_s`` passes.

        The bus daemon notices a closed connection asynchronously, so a count taken right
        after a client closed its connection may still include it. Returns the last count
        (equal to ``count`` unless the timeout passed).
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while True:
            current = await self.client_connection_count()
            if current == count or loop.time() >= deadline:
                return current
            await asyncio.sleep(0.01)

    # -- adapter and device bookkeeping ------------------------------------------------

    def export_object(self, path: str, interface: ServiceInterface) -> None:
        """Export a D-Bus object (emits ``InterfacesAdded``)."""
        self.bus.export(path, interface)
        self._paths.add(path)

    def unexport_object(self, path: str) -> None:
        """Remove a D-Bus object (emits ``InterfacesRemoved``)."""
        self.bus.unexport(path)
        self._paths.discard(path)

    def _unknown_object(self, msg: Message) -> Message | None:
        """Answer a call to a BlueZ path that does not exist as BlueZ does: UnknownObject.

        (dbus-fast would answer UnknownMethod; bleak maps UnknownObject on ``Connect`` to
        ``BleakDeviceNotFoundError``.)
        """
        path = msg.path
        if msg.message_type is not MessageType.METHOD_CALL or not path or not path.startswith("/org/bluez/"):
            return None
        if path in self._paths:
            return None
        return Message.new_error(msg, "org.freedesktop.DBus.Error.UnknownObject", f"Method \"{msg.member}\" on unknown object {path}")

    def adapter_powered(self) -> bool:
        """Whether the adapter exists and is powered."""
        return self._has_adapter and self._adapter.powered

    def _export_device(self, link: DeviceLink) -> None:
        if self._has_adapter and not link.exported:
            self.export_object(link.path, link.device)
            link.exported = True

    def _unexport_device(self, link: DeviceLink) -> None:
        if link.exported:
            self.unexport_object(link.path)
            link.exported = False

    async def _remove_device(self, path: str) -> None:
        """``RemoveDevice``: forget the device; it reappears when it next advertises."""
        link = self._links.get(path)
        if link is None or not link.exported:
            raise DBusError(ERROR_DOES_NOT_EXIST, "Does Not Exist")
        await link.drop()
        self._unexport_device(link)

    def _start_discovery(self) -> None:
        self._discovery_sessions += 1
        if self._advertiser is None:
            self._set_discovering(True)
            self._advertiser = asyncio.get_running_loop().create_task(self._advertise(), name="emulated advertising")

    def _stop_discovery(self) -> bool:
        if self._discovery_sessions == 0:
            return False
        self._discovery_sessions -= 1
        if self._discovery_sessions == 0 and self._advertiser is not None:
            self._advertiser.cancel()
            self._advertiser = None
            self._set_discovering(False)
        return True

    async def _stop_advertising(self) -> None:
        advertiser, self._advertiser = self._advertiser, None
        if advertiser is not None:
            advertiser.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await advertiser

    def _set_discovering(self, discovering: bool) -> None:
        self._adapter.discovering = discovering
        if self._bus is not None and self._has_adapter:
            self._adapter.emit_properties_changed({"Discovering": discovering})

    async def _advertise(self) -> None:
        """While discovery runs, make each unconnected strap in range seen again and again."""
        while True:
            for link in list(self._links.values()):
                if link.connected:
                    continue  # a connected strap stops advertising
                if not link.exported:
                    self._export_device(link)  # rediscovered after RemoveDevice
                else:
                    link.device.emit_properties_changed({"RSSI": link.strap.rssi_dbm})
            await asyncio.sleep(self._advertise_interval_s)
