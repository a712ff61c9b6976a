"""One emulated strap on the bus: its ``org.bluez.Device1``, GATT objects and link state.

:class:`DeviceLink` answers ``Connect`` and ``Disconnect``, exports the strap's GATT
database after a connection at the exact paths BlueZ uses
(``<device>/serviceXXXX/charXXXX/descXXXX``, handles in hex) and only then sets
``ServicesResolved``; a link loss is ``ServicesResolved=false``, ``Connected=false``, then
the GATT objects go away. Notifications are ``PropertiesChanged`` of ``Value`` on the
Heart Rate Measurement characteristic.

GATT database (handles as in a small real strap)::

    service000a  Device Information 0x180A   char000b Manufacturer Name 0x2A29 (read)
    service000e  Heart Rate 0x180D           char000f Heart Rate Measurement 0x2A37 (notify)
                                                      desc0011 CCCD 0x2902
                                             char0012 Body Sensor Location 0x2A38 (read: chest)
    service0014  Battery 0x180F              char0015 Battery Level 0x2A19 (read, notify)
                 (only with a battery)                desc0017 CCCD 0x2902

Errors are BlueZ's: ``org.bluez.Error.NotReady`` (adapter off), ``org.bluez.Error.Failed``
(refused connection, stop without start), ``org.bluez.Error.InProgress`` (a second
``Connect`` while one is pending), ``org.bluez.Error.NotPermitted`` ("Read not
permitted" / "Write not permitted"), ``org.bluez.Error.NotSupported``.
"""

# No "from __future__ import annotations" here: dbus-fast reads the annotations of the
# D-Bus methods at class creation, and takes the string "None" for a signature.
import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, Final, Protocol

from dbus_fast import Variant
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
from biofeedback.hrm import (
    BATTERY_LEVEL_UUID,
    BATTERY_SERVICE_UUID,
    HEART_RATE_MEASUREMENT_UUID,
    HEART_RATE_SERVICE_UUID,
)

__all__ = ["ADAPTER_PATH", "DeviceLink", "ObjectHost", "device_path"]

logger = logging.getLogger(__name__)

ADAPTER_PATH: Final = "/org/bluez/hci0"

BODY_SENSOR_LOCATION_UUID: Final = "00002a38-0000-1000-8000-00805f9b34fb"
DEVICE_INFORMATION_UUID: Final = "0000180a-0000-1000-8000-00805f9b34fb"
MANUFACTURER_NAME_UUID: Final = "00002a29-0000-1000-8000-00805f9b34fb"
CCCD_UUID: Final = "00002902-0000-1000-8000-00805f9b34fb"
BODY_SENSOR_LOCATION_CHEST: Final = b"\x01"
POLAR_COMPANY_ID: Final[int] = 0x006B
HEART_RATE_BELT_APPEARANCE: Final[int] = 0x0341

ERROR_FAILED: Final = "org.bluez.Error.Failed"
ERROR_NOT_READY: Final = "org.bluez.Error.NotReady"
ERROR_NOT_PERMITTED: Final = "org.bluez.Error.NotPermitted"
ERROR_NOT_SUPPORTED: Final = "org.bluez.Error.NotSupported"
ERROR_IN_PROGRESS: Final = "org.bluez.Error.InProgress"

DBusStrList = Annotated[list[str], DBusSignature("as")]
DBusManufacturerData = Annotated[dict[int, Variant], DBusSignature("a{qv}")]
DBusPathList = Annotated[list[str], DBusSignature("ao")]


def device_path(address: str) -> str:
    """D-Bus object path BlueZ gives the device with this Bluetooth address on hci0."""
    return f"{ADAPTER_PATH}/dev_{address.upper().replace(':', '_')}"


class ObjectHost(Protocol):
    """What a device needs from the daemon that hosts it (:class:`EmulatedBlueZ`)."""

    def adapter_powered(self) -> bool:
        """Whether an adapter exists and is powered."""
        ...

    def export_object(self, path: str, interface: ServiceInterface) -> None:
        """Export a D-Bus object (emits ``InterfacesAdded``)."""
        ...

    def unexport_object(self, path: str) -> None:
        """Remove a D-Bus object (emits ``InterfacesRemoved``)."""
        ...


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
    async def Pair(self) -> None:
        # BlueZ connects first when needed; the strap accepts "Just Works" pairing
        await self._link.connect()
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

    def __init__(self, uuid: str, service: str, flags: list[str], value: bytes = b"", on_subscribed: "Callable[[], None] | None" = None) -> None:
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
            raise DBusError(ERROR_NOT_PERMITTED, "Read not permitted")
        return self.value

    @dbus_method()
    def WriteValue(self, value: DBusBytes, options: DBusDict) -> None:
        raise DBusError(ERROR_NOT_PERMITTED, "Write not permitted")

    @dbus_method()
    def StartNotify(self) -> None:
        if "notify" not in self._flags and "indicate" not in self._flags:
            raise DBusError(ERROR_NOT_SUPPORTED, "Operation is not supported")
        self.set_notifying(True)
        if self._on_subscribed is not None:
            self._on_subscribed()

    @dbus_method()
    def StopNotify(self) -> None:
        if not self.notifying:
            raise DBusError(ERROR_FAILED, "No notify session started")
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
        raise DBusError(ERROR_NOT_PERMITTED, "Write not permitted")


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

    def __init__(self, host: ObjectHost, strap: EmulatedStrap) -> None:
        self.host = host
        self.strap = strap
        self.path = device_path(strap.address)
        self.device = Device1(strap, self)
        self.exported = False
        self.gatt: _Gatt | None = None
        self._connecting = False

    @property
    def connected(self) -> bool:
        return self.device.connected

    @property
    def notifying(self) -> bool:
        gatt = self.gatt
        return gatt is not None and gatt.measurement is not None and gatt.measurement.notifying

    async def connect(self) -> None:
        """Handle ``Connect``: refuse as configured, or connect and resolve services."""
        if not self.host.adapter_powered():
            raise DBusError(ERROR_NOT_READY, "Resource Not Ready")
        if self._connecting:
            raise DBusError(ERROR_IN_PROGRESS, "In Progress")
        if self.connected:
            return
        self._connecting = True
        try:
            await self._connect()
        finally:
            self._connecting = False

    async def _connect(self) -> None:
        refuse = self.strap._take_refusal()
        if refuse:
            logger.debug("%s refuses connection %d: %s", self.strap.name, self.strap.connect_count, self.strap.refuse_reason)
            if self.strap.refuse_reason == ABORT_BY_LOCAL:
                # BlueZ reports the short-lived link before the error (bleak waits for it)
                self.device.update(connected=True)
                await asyncio.sleep(0)
                self.device.update(connected=False)
            raise DBusError(ERROR_FAILED, self.strap.refuse_reason)
        self.device.update(connected=True)
        await asyncio.sleep(0)
        if not self.connected:  # dropped while connecting
            raise DBusError(ERROR_FAILED, "le-connection-abort-by-remote")
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
                self.host.unexport_object(path)
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

        def characteristic(
            service_path: str,
            handle: int,
            uuid: str,
            flags: list[str],
            value: bytes = b"",
            on_subscribed: Callable[[], None] | None = None,
        ) -> GattCharacteristic1:
            path = f"{service_path}/char{handle:04x}"
            char = GattCharacteristic1(uuid, service_path, flags, value, on_subscribed)
            gatt.objects.append((path, char))
            if "notify" in flags:
                char.cccd = GattDescriptor1(CCCD_UUID, path)
                gatt.objects.append((f"{path}/desc{handle + 2:04x}", char.cccd))
            return char

        dis = service(0x000A, DEVICE_INFORMATION_UUID)
        characteristic(dis, 0x000B, MANUFACTURER_NAME_UUID, ["read"], strap.manufacturer.encode("utf-8"))
        hr = service(0x000E, HEART_RATE_SERVICE_UUID)
        gatt.measurement = characteristic(hr, 0x000F, HEART_RATE_MEASUREMENT_UUID, ["notify"], on_subscribed=strap._on_subscribed)
        characteristic(hr, 0x0012, BODY_SENSOR_LOCATION_UUID, ["read"], BODY_SENSOR_LOCATION_CHEST)
        if strap.battery_percent is not None:
            battery = service(0x0014, BATTERY_SERVICE_UUID)
            characteristic(battery, 0x0015, BATTERY_LEVEL_UUID, ["read", "notify"], bytes([strap.battery_percent]))

        for path, interface in gatt.objects:
            self.host.export_object(path, interface)
        self.gatt = gatt
