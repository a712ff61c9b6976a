"""An emulated BlueZ daemon: the ``org.bluez`` objects bleak uses, served with dbus-fast.

:class:`EmulatedBlueZ` owns the name ``org.bluez`` on a (private) bus and exports the
adapter ``/org/bluez/hci0`` and one ``org.bluez.Device1`` per :class:`EmulatedStrap`.
After ``Connect`` it exports the strap's GATT database under the device, at the exact
paths BlueZ uses (``<device>/serviceXXXX/charXXXX/descXXXX``, handles in hex), and only
then sets ``ServicesResolved``. Notifications are ``PropertiesChanged`` of ``Value`` on the
characteristic. Link loss is ``ServicesResolved=false``, ``Connected=false``, then the GATT
objects go away. dbus-fast answers ``GetManagedObjects`` at ``/`` and emits
``InterfacesAdded`` / ``InterfacesRemoved`` on export and unexport.

The errors are BlueZ's: ``org.bluez.Error.NotReady`` (adapter off),
``org.bluez.Error.Failed`` (refused connection), ``org.bluez.Error.NotPermitted``
("Read not permitted" / "Write not permitted"), ``org.bluez.Error.NotSupported``,
``org.bluez.Error.DoesNotExist`` (``RemoveDevice`` of an unknown device).
See ``/work/shared/BLE_EMULATION.md`` for what bleak needs.
"""

# No "from __future__ import annotations" here: dbus-fast reads the annotations of the
# D-Bus methods at class creation, and takes the string "None" for a signature.
import asyncio
import contextlib
import logging
import os
from dataclasses import dataclass, field
from types import TracebackType
from typing import Annotated, Any, Final, Self

from dbus_fast import BusType, Message, MessageType, NameFlag, RequestNameReply, Variant
from dbus_fast.aio import MessageBus
from dbus_fast.annotations import (
    DBusBool,
    DBusBytes,
    DBusDict,
    DBusInt16,
    DBusObjectPath,
    DBusSignature,
    DBusStr,
    DBusUInt16,
)
from dbus_fast.constants import PropertyAccess
from dbus_fast.errors import DBusError
from dbus_fast.service import ServiceInterface, dbus_method, dbus_property

from biofeedback.emulator.strap import ABORT_BY_LOCAL, EmulatedStrap
from biofeedback.errors import EmulatorError
from biofeedback.hrm import (
    BATTERY_LEVEL_UUID,
    BATTERY_SERVICE_UUID,
    HEART_RATE_MEASUREMENT_UUID,
    HEART_RATE_SERVICE_UUID,
)

__all__ = ["ADAPTER_PATH", "BLUEZ_SERVICE", "EmulatedBlueZ", "device_path"]

logger = logging.getLogger(__name__)

BLUEZ_SERVICE: Final = "org.bluez"
ADAPTER_PATH: Final = "/org/bluez/hci0"
ADVERTISE_INTERVAL_S: Final[float] = 0.1  # how often a strap in range re-sends its RSSI during discovery

BODY_SENSOR_LOCATION_UUID: Final = "00002a38-0000-1000-8000-00805f9b34fb"
DEVICE_INFORMATION_UUID: Final = "0000180a-0000-1000-8000-00805f9b34fb"
MANUFACTURER_NAME_UUID: Final = "00002a29-0000-1000-8000-00805f9b34fb"
CCCD_UUID: Final = "00002902-0000-1000-8000-00805f9b34fb"
BODY_SENSOR_LOCATION_CHEST: Final = b"\x01"
POLAR_COMPANY_ID: Final[int] = 0x006B
HEART_RATE_BELT_APPEARANCE: Final[int] = 0x0341

_ERROR_FAILED: Final = "org.bluez.Error.Failed"
_ERROR_NOT_READY: Final = "org.bluez.Error.NotReady"
_ERROR_NOT_PERMITTED: Final = "org.bluez.Error.NotPermitted"
_ERROR_NOT_SUPPORTED: Final = "org.bluez.Error.NotSupported"
_ERROR_DOES_NOT_EXIST: Final = "org.bluez.Error.DoesNotExist"

DBusStrList = Annotated[list[str], DBusSignature("as")]
DBusManufacturerData = Annotated[dict[int, Variant], DBusSignature("a{qv}")]
DBusPathList = Annotated[list[str], DBusSignature("ao")]


def device_path(address: str) -> str:
    """D-Bus object path BlueZ gives the device with this Bluetooth address on hci0."""
    return f"{ADAPTER_PATH}/dev_{address.upper().replace(':', '_')}"


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
            raise DBusError(_ERROR_NOT_READY, "Resource Not Ready")
        self._bluez._start_discovery()

    @dbus_method()
    def StopDiscovery(self) -> None:
        if not self.powered:
            raise DBusError(_ERROR_NOT_READY, "Resource Not Ready")
        if not self._bluez._stop_discovery():
            raise DBusError(_ERROR_FAILED, "No discovery started")

    @dbus_method()
    async def RemoveDevice(self, device: DBusObjectPath) -> None:
        await self._bluez._remove_device(device)


# -- org.bluez.Device1 and the GATT objects --------------------------------------------


class Device1(ServiceInterface):
    """``org.bluez.Device1`` of one emulated strap."""

    def __init__(self, strap: EmulatedStrap, link: "DeviceLink") -> None:
        super().__init__("org.bluez.Device1")
        self._strap = strap
        self._link = link
        self.connected = False
        self.services_resolved = False
        self.paired = False
        self.trusted = False

    def update(self, **changed: Any) -> None:
        """Set properties (by attribute name) and emit one ``PropertiesChanged`` per call."""
        names = {"connected": "Connected", "services_resolved": "ServicesResolved", "paired": "Paired", "trusted": "Trusted"}
        for attr, value in changed.items():
            setattr(self, attr, value)
        self.emit_properties_changed({names.get(attr, attr): value for attr, value in changed.items()})

    @dbus_property(access=PropertyAccess.READ)
    def Address(self) -> DBusStr:
        return self._strap.address

    @dbus_property(access=PropertyAccess.READ)
    def AddressType(self) -> DBusStr:
        return "public"

    @dbus_property(access=PropertyAccess.READ)
    def Name(self) -> DBusStr:
        return self._strap.name

    @dbus_property(access=PropertyAccess.READ)
    def Alias(self) -> DBusStr:
        return self._strap.name

    @dbus_property(access=PropertyAccess.READ)
    def Appearance(self) -> DBusUInt16:
        return HEART_RATE_BELT_APPEARANCE

    @dbus_property(access=PropertyAccess.READ)
    def Adapter(self) -> DBusObjectPath:
        return ADAPTER_PATH

    @dbus_property(access=PropertyAccess.READ)
    def Paired(self) -> DBusBool:
        return self.paired

    @dbus_property(access=PropertyAccess.READ)
    def Bonded(self) -> DBusBool:
        return self.paired

    @dbus_property()
    def Trusted(self) -> DBusBool:
        return self.trusted

    @Trusted.setter  # type: ignore[no-redef]
    def Trusted(self, value: DBusBool) -> None:
        self.trusted = value

    @dbus_property(access=PropertyAccess.READ)
    def Blocked(self) -> DBusBool:
        return False

    @dbus_property(access=PropertyAccess.READ)
    def LegacyPairing(self) -> DBusBool:
        return False

    @dbus_property(access=PropertyAccess.READ)
    def Connected(self) -> DBusBool:
        return self.connected

    @dbus_property(access=PropertyAccess.READ)
    def ServicesResolved(self) -> DBusBool:
        return self.services_resolved

    @dbus_property(access=PropertyAccess.READ)
    def UUIDs(self) -> DBusStrList:
        return [HEART_RATE_SERVICE_UUID] if self._strap.advertise_hr_service else []

    @dbus_property(access=PropertyAccess.READ)
    def RSSI(self) -> DBusInt16:
        return self._strap.rssi_dbm

    @dbus_property(access=PropertyAccess.READ)
    def TxPower(self) -> DBusInt16:
        return 0

    @dbus_property(access=PropertyAccess.READ)
    def ManufacturerData(self) -> DBusManufacturerData:
        if self._strap.manufacturer.startswith("Polar"):
            return {POLAR_COMPANY_ID: Variant("ay", b"\x33\x1e\x33\x33")}
        return {}

    @dbus_property(access=PropertyAccess.READ)
    def ServiceData(self) -> DBusDict:
        return {}

    @dbus_method()
    async def Connect(self) -> None:
        await self._link.connect()

    @dbus_method()
    async def Disconnect(self) -> None:
        await self._link.drop()

    @dbus_method()
    def Pair(self) -> None:
        if not self._link.bluez_powered():
            raise DBusError(_ERROR_NOT_READY, "Resource Not Ready")
        self.update(paired=True)

    @dbus_method()
    def CancelPairing(self) -> None:
        pass


class GattService1(ServiceInterface):
    """``org.bluez.GattService1``: a primary service of the strap."""

    def __init__(self, uuid: str, device: str) -> None:
        super().__init__("org.bluez.GattService1")
        self._uuid = uuid
        self._device = device

    @dbus_property(access=PropertyAccess.READ)
    def UUID(self) -> DBusStr:
        return self._uuid

    @dbus_property(access=PropertyAccess.READ)
    def Device(self) -> DBusObjectPath:
        return self._device

    @dbus_property(access=PropertyAccess.READ)
    def Primary(self) -> DBusBool:
        return True

    @dbus_property(access=PropertyAccess.READ)
    def Includes(self) -> DBusPathList:
        return []


class GattCharacteristic1(ServiceInterface):
    """``org.bluez.GattCharacteristic1``: readable and/or notifying, never writable."""

    MTU_BYTES: Final[int] = 23

    def __init__(self, uuid: str, service: str, flags: list[str], value: bytes = b"", on_subscribed: Any = None) -> None:
        super().__init__("org.bluez.GattCharacteristic1")
        self._uuid = uuid
        self._service = service
        self._flags = flags
        self.value = value
        self.notifying = False
        self.cccd: GattDescriptor1 | None = None
        self._on_subscribed = on_subscribed

    def notify(self, value: bytes) -> None:
        """Send a notification: a ``PropertiesChanged`` of ``Value``."""
        self.value = value
        self.emit_properties_changed({"Value": value})

    def set_notifying(self, notifying: bool) -> None:
        if notifying == self.notifying:
            return
        self.notifying = notifying
        if self.cccd is not None:
            self.cccd.value = b"\x01\x00" if notifying else b"\x00\x00"
        self.emit_properties_changed({"Notifying": notifying})

    @dbus_property(access=PropertyAccess.READ)
    def UUID(self) -> DBusStr:
        return self._uuid

    @dbus_property(access=PropertyAccess.READ)
    def Service(self) -> DBusObjectPath:
        return self._service

    @dbus_property(access=PropertyAccess.READ)
    def Value(self) -> DBusBytes:
        return self.value

    @dbus_property(access=PropertyAccess.READ)
    def Notifying(self) -> DBusBool:
        return self.notifying

    @dbus_property(access=PropertyAccess.READ)
    def Flags(self) -> DBusStrList:
        return list(self._flags)

    @dbus_property(access=PropertyAccess.READ)
    def MTU(self) -> DBusUInt16:
        return self.MTU_BYTES

    @dbus_method()
    def ReadValue(self, options: DBusDict) -> DBusBytes:
        if "read" not in self._flags:
            raise DBusError(_ERROR_NOT_PERMITTED, "Read not permitted")
        return self.value

    @dbus_method()
    def WriteValue(self, value: DBusBytes, options: DBusDict) -> None:
        raise DBusError(_ERROR_NOT_PERMITTED, "Write not permitted")

    @dbus_method()
    def StartNotify(self) -> None:
        if "notify" not in self._flags and "indicate" not in self._flags:
            raise DBusError(_ERROR_NOT_SUPPORTED, "Operation is not supported")
        self.set_notifying(True)
        if self._on_subscribed is not None:
            self._on_subscribed()

    @dbus_method()
    def StopNotify(self) -> None:
        if not self.notifying:
            raise DBusError(_ERROR_FAILED, "No notify session started")
        self.set_notifying(False)


class GattDescriptor1(ServiceInterface):
    """``org.bluez.GattDescriptor1``; used for the Client Characteristic Configuration."""

    def __init__(self, uuid: str, characteristic: str, value: bytes = b"\x00\x00") -> None:
        super().__init__("org.bluez.GattDescriptor1")
        self._uuid = uuid
        self._characteristic = characteristic
        self.value = value

    @dbus_property(access=PropertyAccess.READ)
    def UUID(self) -> DBusStr:
        return self._uuid

    @dbus_property(access=PropertyAccess.READ)
    def Characteristic(self) -> DBusObjectPath:
        return self._characteristic

    @dbus_property(access=PropertyAccess.READ)
    def Value(self) -> DBusBytes:
        return self.value

    @dbus_property(access=PropertyAccess.READ)
    def Flags(self) -> DBusStrList:
        return ["read", "write"]

    @dbus_method()
    def ReadValue(self, options: DBusDict) -> DBusBytes:
        return self.value

    @dbus_method()
    def WriteValue(self, value: DBusBytes, options: DBusDict) -> None:
        # BlueZ refuses CCCD writes from clients: they must use StartNotify
        raise DBusError(_ERROR_NOT_PERMITTED, "Write not permitted")


# -- one strap on the bus --------------------------------------------------------------


@dataclass
class _Gatt:
    """The exported GATT objects of a connected strap."""

    objects: list[tuple[str, ServiceInterface]] = field(default_factory=list)
    measurement: GattCharacteristic1 | None = None


class DeviceLink:
    """The BlueZ side of one strap: its Device1, its connection and its GATT objects.

    Implements :class:`~biofeedback.emulator.strap.StrapLink` for the strap.
    """

    def __init__(self, bluez: "EmulatedBlueZ", strap: EmulatedStrap) -> None:
        self.bluez = bluez
        self.strap = strap
        self.path = device_path(strap.address)
        self.device = Device1(strap, self)
        self.exported = False
        self.gatt: _Gatt | None = None

    @property
    def connected(self) -> bool:
        return self.device.connected

    def bluez_powered(self) -> bool:
        return self.bluez._adapter_powered()

    async def connect(self) -> None:
        """Handle ``Connect``: refuse as configured, or connect and resolve services."""
        if not self.bluez_powered():
            raise DBusError(_ERROR_NOT_READY, "Resource Not Ready")
        if self.connected:
            return
        refuse = self.strap._take_refusal()
        if refuse:
            logger.debug("%s refuses connection %d: %s", self.strap.name, self.strap.connect_count, self.strap.refuse_reason)
            if self.strap.refuse_reason == ABORT_BY_LOCAL:
                # BlueZ reports the short-lived link before the error (bleak waits for it)
                self.device.update(connected=True)
                await asyncio.sleep(0)
                self.device.update(connected=False)
            raise DBusError(_ERROR_FAILED, self.strap.refuse_reason)
        self.device.update(connected=True)
        await asyncio.sleep(0)
        self._export_gatt()
        self.device.update(services_resolved=True)

    async def drop(self) -> None:
        """Handle ``Disconnect`` or a link loss: services unresolved, disconnected, GATT gone."""
        if not self.connected:
            return
        gatt, self.gatt = self.gatt, None
        if gatt is not None and gatt.measurement is not None:
            gatt.measurement.notifying = False
        self.device.update(services_resolved=False)
        self.device.update(connected=False)
        if gatt is not None:
            for path, _ in reversed(gatt.objects):
                self.bluez._unexport(path)
        await asyncio.sleep(0)

    def notify_measurement(self, payload: bytes) -> bool:
        gatt = self.gatt
        if not self.connected or gatt is None or gatt.measurement is None or not gatt.measurement.notifying:
            return False
        gatt.measurement.notify(payload)
        return True

    def _export_gatt(self) -> None:
        """Export the strap's GATT database, handles as in a small real strap."""
        strap = self.strap
        gatt = _Gatt()

        def service(handle: int, uuid: str) -> str:
            path = f"{self.path}/service{handle:04x}"
            gatt.objects.append((path, GattService1(uuid, self.path)))
            return path

        def characteristic(service_path: str, handle: int, uuid: str, flags: list[str], value: bytes = b"") -> GattCharacteristic1:
            path = f"{service_path}/char{handle:04x}"
            char = GattCharacteristic1(uuid, service_path, flags, value)
            gatt.objects.append((path, char))
            if "notify" in flags:
                char.cccd = GattDescriptor1(CCCD_UUID, path)
                gatt.objects.append((f"{path}/desc{handle + 2:04x}", char.cccd))
            return char

        dis = service(0x000A, DEVICE_INFORMATION_UUID)
        characteristic(dis, 0x000B, MANUFACTURER_NAME_UUID, ["read"], strap.manufacturer.encode("utf-8"))
        hr = service(0x000E, HEART_RATE_SERVICE_UUID)
        gatt.measurement = characteristic(hr, 0x000F, HEART_RATE_MEASUREMENT_UUID, ["notify"])
        gatt.measurement._on_subscribed = strap._on_subscribed
        characteristic(hr, 0x0012, BODY_SENSOR_LOCATION_UUID, ["read"], BODY_SENSOR_LOCATION_CHEST)
        if strap.battery_percent is not None:
            battery = service(0x0014, BATTERY_SERVICE_UUID)
            characteristic(battery, 0x0015, BATTERY_LEVEL_UUID, ["read", "notify"], bytes([strap.battery_percent]))

        for path, interface in gatt.objects:
            self.bluez._export(path, interface)
        self.gatt = gatt


# -- the daemon ------------------------------------------------------------------------


class EmulatedBlueZ:
    """The BlueZ daemon, emulated on a D-Bus bus (usually a :class:`PrivateBus`).

    Use as ``async with EmulatedBlueZ() as bluez: await bluez.add_strap(strap)``.

    Parameters
    ----------
    address : str or None
        D-Bus address to serve on; default ``DBUS_SYSTEM_BUS_ADDRESS``, which must be set
        (the emulator never touches the real system bus).
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
            self._export(ADAPTER_PATH, self._adapter)
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
            await bus.wait_for_disconnect()

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

    def _export(self, path: str, interface: ServiceInterface) -> None:
        self.bus.export(path, interface)
        self._paths.add(path)

    def _unexport(self, path: str) -> None:
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

    def _adapter_powered(self) -> bool:
        return self._has_adapter and self._adapter.powered

    def _export_device(self, link: "DeviceLink") -> None:
        if self._has_adapter and not link.exported:
            self._export(link.path, link.device)
            link.exported = True

    def _unexport_device(self, link: "DeviceLink") -> None:
        if link.exported:
            self._unexport(link.path)
            link.exported = False

    async def _remove_device(self, path: str) -> None:
        """``RemoveDevice``: forget the device; it reappears when it next advertises."""
        link = self._links.get(path)
        if link is None or not link.exported:
            raise DBusError(_ERROR_DOES_NOT_EXIST, "Does Not Exist")
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
