"""The emulated BlueZ against the real, unmodified bleak (no project code on the client side).

Each test starts its own private dbus-daemon and event loop, so bleak's per-loop manager
starts fresh. Straps play fast (speed 25-100) so the file stays well under a minute.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import os
import shlex
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from _data import DATA
from ble_helpers import MS_PER_UNIT, SAFETY_TIMEOUT_S, rr_units, run_emulated, wait_until
from bleak import BleakClient, BleakScanner
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData
from bleak.exc import (
    BleakBluetoothNotAvailableError,
    BleakDBusError,
    BleakDeviceNotFoundError,
    BleakError,
    BleakGATTProtocolError,
)

from biofeedback.emulator import (
    EmulatedBlueZ,
    EmulatedStrap,
    PrivateBus,
    frames_from_rr,
)
from biofeedback.errors import BiofeedbackError, EmulatorError, InvalidInputError
from biofeedback.hrm import (
    BATTERY_LEVEL_UUID,
    BATTERY_SERVICE_UUID,
    HEART_RATE_MEASUREMENT_UUID,
    HEART_RATE_SERVICE_UUID,
    HeartRateMeasurement,
    SensorContact,
)

DEVICE_INFORMATION_UUID = "0000180a-0000-1000-8000-00805f9b34fb"

pytestmark = pytest.mark.skipif(shutil.which("dbus-daemon") is None, reason="needs dbus-daemon")


def decoded_rr(frames: list[tuple[float, bytes]]) -> list[float]:
    return [rr for _, payload in frames for rr in HeartRateMeasurement.from_bytes(payload).rr_ms]


# -- the private bus ---------------------------------------------------------------------


def test_private_bus_sets_and_restores_environment_and_stops_daemon() -> None:
    before_env = os.environ.get("DBUS_SYSTEM_BUS_ADDRESS")
    before_path = os.environ.get("PATH")
    with PrivateBus() as bus:
        assert os.environ["DBUS_SYSTEM_BUS_ADDRESS"] == bus.address
        assert bus.address.startswith("unix:path=/")
        socket_path = bus.address.split("unix:path=", 1)[1].split(",", 1)[0]
        assert len(socket_path.encode()) < 107
        assert os.path.exists(socket_path)
        version = subprocess.run(["bluetoothctl", "--version"], capture_output=True, check=True, text=True)
        assert version.stdout.strip() == "5.66"
        pid = bus.pid
        assert pid is not None
    assert os.environ.get("DBUS_SYSTEM_BUS_ADDRESS") == before_env
    assert os.environ.get("PATH") == before_path
    assert not os.path.exists(socket_path)
    assert not os.path.exists(f"/proc/{pid}") or "zombie" in Path(f"/proc/{pid}/status").read_text().lower()


def test_private_bus_without_dbus_daemon_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(EmulatorError, match="dbus-daemon") as info, PrivateBus():
        pass
    assert isinstance(info.value, BiofeedbackError)
    assert "'dbus-daemon'" in str(info.value) and "'dbus'" in str(info.value)


def test_daemon_stopped_even_when_the_body_raises() -> None:
    with pytest.raises(RuntimeError, match="boom"), PrivateBus() as bus:
        pid = bus.pid
        raise RuntimeError("boom")
    assert bus.pid is None
    assert not os.path.exists(f"/proc/{pid}") or "zombie" in Path(f"/proc/{pid}/status").read_text().lower()


def test_emulator_refuses_to_run_without_a_private_bus(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DBUS_SYSTEM_BUS_ADDRESS", raising=False)

    async def main() -> None:
        async with EmulatedBlueZ():
            pass

    with pytest.raises(EmulatorError, match="PrivateBus"):
        asyncio.run(main())


# -- scan, connect, services, reads ------------------------------------------------------


def test_scan_finds_strap_with_name_address_rssi_and_heart_rate_uuid() -> None:
    strap = EmulatedStrap(name="Polar H10 0BADCAFE", address="a0:9e:1a:00:00:01", rssi_dbm=-71)
    other = EmulatedStrap(name="Some Lamp", address="11:22:33:44:55:66", advertise_hr_service=False, rssi_dbm=-40)

    async def scenario(bluez: EmulatedBlueZ) -> dict[str, tuple[BLEDevice, AdvertisementData]]:
        await bluez.add_strap(strap)
        await bluez.add_strap(other)
        return await BleakScanner.discover(timeout=0.3, return_adv=True)

    found = run_emulated(scenario)
    assert set(found) == {"A0:9E:1A:00:00:01", "11:22:33:44:55:66"}
    device, adv = found["A0:9E:1A:00:00:01"]
    assert device.name == "Polar H10 0BADCAFE"
    assert adv.local_name == "Polar H10 0BADCAFE"
    assert adv.rssi == -71
    assert adv.service_uuids == [HEART_RATE_SERVICE_UUID]
    assert found["11:22:33:44:55:66"][1].service_uuids == []


def test_scan_with_service_filter_skips_straps_that_do_not_advertise_it() -> None:
    async def scenario(bluez: EmulatedBlueZ) -> list[str]:
        await bluez.add_strap(EmulatedStrap(address="A0:00:00:00:00:01"))
        await bluez.add_strap(EmulatedStrap(address="A0:00:00:00:00:02", advertise_hr_service=False))
        devices = await BleakScanner.discover(timeout=0.3, service_uuids=[HEART_RATE_SERVICE_UUID])
        return [d.address for d in devices]

    assert run_emulated(scenario) == ["A0:00:00:00:00:01"]


def test_connect_resolves_services_and_reads_battery_and_location() -> None:
    strap = EmulatedStrap(battery_percent=42)

    async def scenario(bluez: EmulatedBlueZ) -> tuple[set[str], bytes, bytes, bytes, list[str], int]:
        await bluez.add_strap(strap)
        async with BleakClient(strap.address, timeout=5.0) as client:
            uuids = {s.uuid for s in client.services}
            hrm = client.services.get_characteristic(HEART_RATE_MEASUREMENT_UUID)
            assert hrm is not None
            descriptors = [d.uuid for d in hrm.descriptors]
            battery = await client.read_gatt_char(BATTERY_LEVEL_UUID)
            location = await client.read_gatt_char("00002a38-0000-1000-8000-00805f9b34fb")
            maker = await client.read_gatt_char("00002a29-0000-1000-8000-00805f9b34fb")
            with pytest.raises(BleakGATTProtocolError):
                await client.read_gatt_char(HEART_RATE_MEASUREMENT_UUID)
        return uuids, bytes(battery), bytes(location), bytes(maker), descriptors, strap.connect_count

    uuids, battery, location, maker, descriptors, connects = run_emulated(scenario)
    assert uuids == {HEART_RATE_SERVICE_UUID, BATTERY_SERVICE_UUID, DEVICE_INFORMATION_UUID}
    assert battery == bytes([42])
    assert location == b"\x01"  # chest
    assert maker == b"Polar Electro Oy"
    assert descriptors == ["00002902-0000-1000-8000-00805f9b34fb"]
    assert connects == 1


def test_strap_without_battery_has_no_battery_service() -> None:
    strap = EmulatedStrap(battery_percent=None)

    async def scenario(bluez: EmulatedBlueZ) -> set[str]:
        await bluez.add_strap(strap)
        async with BleakClient(strap.address, timeout=5.0) as client:
            return {s.uuid for s in client.services}

    assert run_emulated(scenario) == {HEART_RATE_SERVICE_UUID, DEVICE_INFORMATION_UUID}


def test_gatt_object_paths_are_exactly_bluez_style() -> None:
    strap = EmulatedStrap(address="A0:9E:1A:12:34:56")

    async def scenario(bluez: EmulatedBlueZ) -> list[str]:
        await bluez.add_strap(strap)
        async with BleakClient(strap.address, timeout=5.0) as client:
            paths = []
            for service in client.services:
                paths.append(service.obj[0])
                for char in service.characteristics:
                    paths.append(char.obj[0])
                    paths.extend(d.obj[0] for d in char.descriptors)
        return sorted(paths)

    dev = "/org/bluez/hci0/dev_A0_9E_1A_12_34_56"
    assert run_emulated(scenario) == sorted(
        [
            f"{dev}/service000a",
            f"{dev}/service000a/char000b",
            f"{dev}/service000e",
            f"{dev}/service000e/char000f",
            f"{dev}/service000e/char000f/desc0011",
            f"{dev}/service000e/char0012",
            f"{dev}/service0014",
            f"{dev}/service0014/char0015",
            f"{dev}/service0014/char0015/desc0017",
        ]
    )


# -- notifications -----------------------------------------------------------------------


def test_start_notify_delivers_exactly_the_frames_in_order() -> None:
    frames = frames_from_rr(rr_units([1024, 820, 700, 1100, 650, 615, 590, 1300] * 3), energy_every=5)
    strap = EmulatedStrap(frames=frames, speed=50.0)

    async def scenario(bluez: EmulatedBlueZ) -> tuple[list[bytes], list[float]]:
        await bluez.add_strap(strap)
        received: list[bytes] = []
        clocks: list[float] = []

        def on_notify(_: Any, data: bytearray) -> None:
            received.append(bytes(data))
            clocks.append(strap.clock())

        async with BleakClient(strap.address, timeout=5.0) as client:
            assert not strap.started
            await client.start_notify(HEART_RATE_MEASUREMENT_UUID, on_notify)
            await strap.finished.wait()
            await wait_until(lambda: len(received) == len(frames))
        return received, clocks

    received, clocks = run_emulated(scenario)
    assert received == [payload for _, payload in frames]
    assert strap.sent == frames
    assert strap.lost == []
    # the strap clock at arrival is never earlier than the frame's strap time
    assert all(clock >= t_s for clock, (t_s, _) in zip(clocks, frames, strict=True))


def test_stop_notify_loses_frames_until_start_notify_again() -> None:
    frames = [(k * 0.5, bytes([0x10, 60, k + 1, 0])) for k in range(40)]
    strap = EmulatedStrap(frames=frames, speed=40.0)

    async def scenario(bluez: EmulatedBlueZ) -> list[bytes]:
        await bluez.add_strap(strap)
        received: list[bytes] = []
        async with BleakClient(strap.address, timeout=5.0) as client:
            await client.start_notify(HEART_RATE_MEASUREMENT_UUID, lambda _, d: received.append(bytes(d)))
            await wait_until(lambda: strap.clock() >= 5.0)
            await client.stop_notify(HEART_RATE_MEASUREMENT_UUID)
            await wait_until(lambda: strap.clock() >= 10.0)
            await client.start_notify(HEART_RATE_MEASUREMENT_UUID, lambda _, d: received.append(bytes(d)))
            await strap.finished.wait()
            await wait_until(lambda: len(received) == len(strap.sent))
        return received

    received = run_emulated(scenario)
    assert received == [p for _, p in strap.sent]
    assert sorted(strap.sent + strap.lost) == frames
    lost_times = [t for t, _ in strap.lost]
    assert lost_times and min(lost_times) >= 5.0 and max(lost_times) <= 10.0


# -- link loss and reconnection ------------------------------------------------------------


def test_drop_link_calls_disconnected_callback_once_and_reconnect_resumes() -> None:
    frames = frames_from_rr(rr_units([800] * 100), settle_frames=0)
    strap = EmulatedStrap(frames=frames, speed=25.0)

    async def scenario(bluez: EmulatedBlueZ) -> tuple[list[bytes], int, int]:
        await bluez.add_strap(strap)
        received: list[bytes] = []
        drops: list[float] = []
        lost_link = asyncio.Event()

        def on_disconnect(_: BleakClient) -> None:
            drops.append(strap.clock())
            lost_link.set()

        client = BleakClient(strap.address, disconnected_callback=on_disconnect, timeout=5.0)
        await client.connect()
        await client.start_notify(HEART_RATE_MEASUREMENT_UUID, lambda _, d: received.append(bytes(d)))
        await wait_until(lambda: strap.clock() >= 20.0)
        await strap.drop_link()
        await lost_link.wait()
        assert not client.is_connected
        await client.disconnect()  # releases bleak's D-Bus connection: no second callback
        await wait_until(lambda: strap.clock() >= 30.0)  # frames fall while disconnected

        client = BleakClient(strap.address, disconnected_callback=on_disconnect, timeout=5.0)
        await client.connect()
        await client.start_notify(HEART_RATE_MEASUREMENT_UUID, lambda _, d: received.append(bytes(d)))
        await strap.finished.wait()
        await wait_until(lambda: len(received) == len(strap.sent))
        await client.disconnect()
        return received, len(drops), strap.connect_count

    received, drops, connects = run_emulated(scenario)
    assert drops == 2  # the drop, then our own disconnect of the second client
    assert connects == 2
    assert received == [p for _, p in strap.sent]
    assert sorted(strap.sent + strap.lost) == frames
    lost_times = [t for t, _ in strap.lost]
    assert len(lost_times) >= 8  # at least 10 s of frames at 1 per second fell in the gap
    assert min(lost_times) >= 20.0
    # what was lost is one contiguous stretch of the timeline
    sent_times = [t for t, _ in strap.sent]
    assert not any(min(lost_times) < t < max(lost_times) for t in sent_times)


def test_drop_at_drops_the_link_on_the_strap_timeline() -> None:
    frames = [(k * 1.0, bytes([0x00, 60])) for k in range(30)]
    strap = EmulatedStrap(frames=frames, speed=50.0, drop_at=[10.0])

    async def scenario(bluez: EmulatedBlueZ) -> int:
        await bluez.add_strap(strap)
        calls = 0

        def on_disconnect(_: BleakClient) -> None:
            nonlocal calls
            calls += 1

        client = BleakClient(strap.address, disconnected_callback=on_disconnect, timeout=5.0)
        await client.connect()
        await client.start_notify(HEART_RATE_MEASUREMENT_UUID, lambda _, d: None)
        await strap.finished.wait()
        await client.disconnect()
        return calls

    assert run_emulated(scenario) == 1
    assert strap.drop_count == 1
    assert [t for t, _ in strap.sent] == [float(k) for k in range(10)]  # the drop sorts before the frame at 10 s
    assert [t for t, _ in strap.lost] == [float(k) for k in range(10, 30)]


def test_ten_drops_leak_no_bus_connection_when_client_disconnects_after_loss() -> None:
    strap = EmulatedStrap(frames=[(k * 0.1, b"\x00\x3c") for k in range(2000)], speed=10.0)

    async def scenario(bluez: EmulatedBlueZ) -> tuple[int, list[int], int]:
        await bluez.add_strap(strap)
        calls = 0

        def on_disconnect(_: BleakClient) -> None:
            nonlocal calls
            calls += 1

        counts = []
        baseline = -1
        for cycle in range(11):
            client = BleakClient(strap.address, disconnected_callback=on_disconnect, timeout=5.0)
            await client.connect()
            await client.start_notify(HEART_RATE_MEASUREMENT_UUID, lambda _, d: None)
            await strap.drop_link()
            await wait_until(lambda c=client: not c.is_connected)  # type: ignore[misc]
            await client.disconnect()
            if cycle == 0:
                baseline = await bluez.wait_for_client_connections(1)  # bleak's manager connection
            else:
                counts.append(await bluez.wait_for_client_connections(baseline))
        return baseline, counts, calls

    baseline, counts, calls = run_emulated(scenario)
    assert baseline == 1
    assert counts == [baseline] * 10
    assert calls == 11


def test_without_disconnect_after_loss_bleak_keeps_one_connection_per_cycle() -> None:
    """The bleak 3.1.0 leak the BLE source must avoid (see BLE_EMULATION.md)."""
    strap = EmulatedStrap()

    async def scenario(bluez: EmulatedBlueZ) -> list[int]:
        await bluez.add_strap(strap)
        counts = []
        clients = []
        for _ in range(3):
            client = BleakClient(strap.address, timeout=5.0)
            clients.append(client)
            await client.connect()
            await strap.drop_link()
            await wait_until(lambda c=client: not c.is_connected)  # type: ignore[misc]
            counts.append(await bluez.wait_for_client_connections(len(clients) + 1))
        for client in clients:
            await client.disconnect()
        counts.append(await bluez.wait_for_client_connections(1))
        return counts

    counts = run_emulated(scenario)
    assert counts[-1] == 1  # disconnect() after the loss releases each leaked connection
    if importlib.metadata.version("bleak") == "3.1.0":
        assert counts[:-1] == [2, 3, 4]  # the manager plus one per dropped client


def test_remove_strap_is_link_loss_and_device_removal() -> None:
    strap = EmulatedStrap(frames=[(k * 1.0, b"\x00\x3c") for k in range(20)], speed=50.0)

    async def scenario(bluez: EmulatedBlueZ) -> tuple[int, BLEDevice | None, BLEDevice | None]:
        await bluez.add_strap(strap)
        calls = 0

        def on_disconnect(_: BleakClient) -> None:
            nonlocal calls
            calls += 1

        client = BleakClient(strap.address, disconnected_callback=on_disconnect, timeout=5.0)
        await client.connect()
        await client.start_notify(HEART_RATE_MEASUREMENT_UUID, lambda _, d: None)
        await wait_until(lambda: strap.clock() >= 5.0)
        await bluez.remove_strap(strap)
        await wait_until(lambda c=client: not c.is_connected)  # type: ignore[misc]
        await client.disconnect()
        gone = await BleakScanner.find_device_by_address(strap.address, timeout=0.3)
        await bluez.add_strap(strap)
        back = await BleakScanner.find_device_by_address(strap.address, timeout=2.0)
        return calls, gone, back

    calls, gone, back = run_emulated(scenario)
    assert calls == 1
    assert gone is None
    assert back is not None and back.name == strap.name


# -- refused connections and missing adapter ----------------------------------------------


def test_abort_by_local_refusals_are_retried_inside_bleak_connect() -> None:
    strap = EmulatedStrap(refuse_connections=2)

    async def scenario(bluez: EmulatedBlueZ) -> tuple[bool, int]:
        await bluez.add_strap(strap)
        callbacks = 0

        def on_disconnect(_: BleakClient) -> None:
            nonlocal callbacks
            callbacks += 1

        async with BleakClient(strap.address, disconnected_callback=on_disconnect, timeout=5.0) as client:
            connected = client.is_connected
            seen = callbacks
        return connected, seen

    connected, callbacks = run_emulated(scenario)
    assert connected
    assert strap.connect_count == 3
    assert callbacks == 2  # one per refused attempt, as with a real BlueZ


def test_other_refusal_reason_raises_bleak_dbus_error_then_connects() -> None:
    strap = EmulatedStrap(refuse_connections=1, refuse_reason="le-connection-abort-by-remote")

    async def scenario(bluez: EmulatedBlueZ) -> tuple[str | None, str | None, bool]:
        await bluez.add_strap(strap)
        client = BleakClient(strap.address, timeout=5.0)
        with pytest.raises(BleakDBusError) as info:
            await client.connect()
        error = info.value
        await client.connect()
        connected = client.is_connected
        await client.disconnect()
        return error.dbus_error, error.dbus_error_details, connected

    name, details, connected = run_emulated(scenario)
    assert name == "org.bluez.Error.Failed"
    assert details == "le-connection-abort-by-remote"
    assert connected
    assert strap.connect_count == 2


def test_no_adapter_makes_bleak_raise_bluetooth_not_available() -> None:
    async def scenario(bluez: EmulatedBlueZ) -> None:
        await bluez.add_strap(EmulatedStrap())
        await BleakScanner.discover(timeout=0.2)

    with pytest.raises(BleakBluetoothNotAvailableError, match="No Bluetooth adapters found"):
        run_emulated(scenario, adapter=False)


def test_adapter_powered_off_makes_bleak_raise_bluetooth_not_available() -> None:
    async def scenario(bluez: EmulatedBlueZ) -> None:
        await BleakScanner.discover(timeout=0.2)

    with pytest.raises(BleakBluetoothNotAvailableError, match="No powered Bluetooth adapters"):
        run_emulated(scenario, powered=False)


def test_connecting_to_a_strap_out_of_range_raises_bleak_errors() -> None:
    strap = EmulatedStrap()

    async def scenario(bluez: EmulatedBlueZ) -> tuple[BaseException, BaseException]:
        await bluez.add_strap(strap)
        device = await BleakScanner.find_device_by_address(strap.address, timeout=5.0)
        assert device is not None
        await bluez.remove_strap(strap)
        with pytest.raises(BleakError) as by_device:
            # bleak's cache has dropped the device, or the emulator answers UnknownObject
            await BleakClient(device, timeout=1.0).connect()
        with pytest.raises(BleakDeviceNotFoundError) as by_address:
            await BleakClient(strap.address, timeout=0.5).connect()
        return by_device.value, by_address.value

    by_device, by_address = run_emulated(scenario)
    assert "not found" in str(by_device)
    assert "was not found" in str(by_address)
    assert strap.connect_count == 0


def test_pair_connects_and_power_off_drops_the_link() -> None:
    strap = EmulatedStrap()

    async def scenario(bluez: EmulatedBlueZ) -> tuple[bool, int, BaseException]:
        await bluez.add_strap(strap)
        calls = 0

        def on_disconnect(_: BleakClient) -> None:
            nonlocal calls
            calls += 1

        client = BleakClient(strap.address, disconnected_callback=on_disconnect, timeout=5.0, pair=True)
        await client.connect()
        paired = client.is_connected and len(client.services.services) == 3
        await bluez.set_powered(False)
        await wait_until(lambda: not client.is_connected)
        await client.disconnect()
        with pytest.raises(BleakBluetoothNotAvailableError) as info:
            await BleakScanner.discover(timeout=0.2)
        return paired, calls, info.value

    paired, calls, error = run_emulated(scenario)
    assert paired
    assert strap.connect_count == 1
    assert calls == 1
    assert "No powered Bluetooth adapters" in str(error)


# -- the strap object itself ---------------------------------------------------------------


def test_strap_validates_its_arguments() -> None:
    with pytest.raises(InvalidInputError, match="address"):
        EmulatedStrap(address="not an address")
    with pytest.raises(InvalidInputError, match="speed"):
        EmulatedStrap(speed=0)
    with pytest.raises(InvalidInputError, match="non-decreasing"):
        EmulatedStrap(frames=[(2.0, b"\x00\x3c"), (1.0, b"\x00\x3c")])
    with pytest.raises(InvalidInputError, match="battery_percent"):
        EmulatedStrap(battery_percent=101)
    strap = EmulatedStrap()
    assert strap.clock() == 0.0
    with pytest.raises(EmulatorError, match="add_strap"):
        asyncio.run(strap.drop_link())


# -- frames_from_rr --------------------------------------------------------------------------


@pytest.mark.parametrize("raw", [[1229] * 50, [410, 430, 380] * 30, [1800, 2100, 1500] * 10, [614] * 7])
def test_frames_from_rr_reproduce_the_rr_to_the_bit(raw: list[int]) -> None:
    rr = rr_units(raw)
    frames = frames_from_rr(rr)
    assert decoded_rr(frames) == rr


def test_frames_from_rr_slow_and_fast_hearts_give_zero_one_and_several_rr() -> None:
    slow = frames_from_rr(rr_units([1400, 1300, 1500, 1250] * 10), settle_frames=0)
    fast = frames_from_rr(rr_units([400, 450, 420, 380] * 20), settle_frames=0)
    slow_counts = {len(HeartRateMeasurement.from_bytes(p).rr_ms) for _, p in slow}
    fast_counts = {len(HeartRateMeasurement.from_bytes(p).rr_ms) for _, p in fast}
    assert {0, 1} <= slow_counts
    assert max(fast_counts) >= 2
    assert 0 not in fast_counts


def test_frames_from_rr_timing_settle_frames_and_heart_rate() -> None:
    rr = rr_units([1024, 512, 512, 2048])  # 1 s, 0.5 s, 0.5 s, 2 s
    frames = frames_from_rr(rr, settle_frames=2, period_s=1.0)
    decoded = [(t, HeartRateMeasurement.from_bytes(p)) for t, p in frames]
    # settle frames: HR 0, no RR field; beats start at the last settle frame (t = 1 s) and
    # end at 2, 2.5, 3 and 5 s; each frame carries the beats that ended since the last one
    assert [t for t, _ in decoded] == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    assert [(m.heart_rate_bpm, m.rr_present) for _, m in decoded[:2]] == [(0, False), (0, False)]
    assert [m.rr_ms for _, m in decoded[2:]] == [(1000.0,), (500.0, 500.0), (), (2000.0,)]
    assert [m.heart_rate_bpm for _, m in decoded[2:]] == [60, 90, 90, 60]
    assert all(m.contact is SensorContact.DETECTED for _, m in decoded)


def test_frames_from_rr_options() -> None:
    rr = rr_units([800] * 20)
    frames = frames_from_rr(rr, contact=SensorContact.NOT_SUPPORTED, energy_every=3, hr_uint16=True, settle_frames=0, period_s=0.5)
    decoded = [HeartRateMeasurement.from_bytes(p) for _, p in frames]
    assert [t for t, _ in frames] == [k * 0.5 for k in range(len(frames))]
    assert all(m.hr_uint16 and m.contact is SensorContact.NOT_SUPPORTED for m in decoded)
    assert [k for k, m in enumerate(decoded) if m.energy_expended_kj is not None] == list(range(0, len(decoded), 3))
    assert decoded_rr(frames) == rr


def test_frames_from_rr_splits_bursts_that_do_not_fit_one_notification() -> None:
    rr = rr_units([100] * 40)  # 40 beats of ~98 ms: about 10 per 1-s period, 8 fit in 20 bytes
    frames = frames_from_rr(rr, settle_frames=0)
    counts = [len(HeartRateMeasurement.from_bytes(p).rr_ms) for _, p in frames]
    assert max(counts) == 9  # (20 - flags - uint8 HR) / 2 bytes
    assert all(len(p) <= 20 for _, p in frames)
    assert decoded_rr(frames) == rr


def test_frames_from_rr_rejects_bad_input() -> None:
    with pytest.raises(InvalidInputError):
        frames_from_rr([])
    with pytest.raises(InvalidInputError, match="period_s"):
        frames_from_rr([800.0], period_s=0)
    with pytest.raises(InvalidInputError, match="energy_every"):
        frames_from_rr([800.0], energy_every=-1)


def test_frames_from_real_recording_reproduce_it() -> None:
    path = DATA / "polarh10_slow_breathing.txt"
    rr = [float(line) for line in path.read_text().split() if line.strip()][:600]
    exact = [round(x / MS_PER_UNIT) * MS_PER_UNIT for x in rr]
    assert decoded_rr(frames_from_rr(rr)) == exact


# -- python -m biofeedback.emulator ----------------------------------------------------------

REPO = Path(__file__).resolve().parents[1]


def start_module(rr_file: Path, *extra: str) -> tuple[subprocess.Popen[str], str, Path]:
    """Start the entry point; return the process, the bus address and the socket path."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "biofeedback.emulator", "--rr-file", str(rr_file), *extra],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    export = proc.stdout.readline()
    hint = proc.stdout.readline()
    assert export.startswith("export DBUS_SYSTEM_BUS_ADDRESS=unix:path=/"), export
    assert hint.startswith("# ") and "Ctrl-C" in hint
    address = shlex.split(export)[1].split("=", 1)[1]
    socket_path = Path(address.split("unix:path=", 1)[1].split(",", 1)[0])
    return proc, address, socket_path


def stop_module(proc: subprocess.Popen[str]) -> tuple[str, str]:
    try:
        out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return out, err


def test_module_entry_point_plays_an_rr_file_to_bleak_and_exits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    raw = [820, 790, 1010, 640, 700] * 6
    rr_file = tmp_path / "rr.txt"
    rr_file.write_text("".join(f"{r * MS_PER_UNIT!r}\n" for r in raw))
    expected = [p for _, p in frames_from_rr(rr_units(raw))]
    proc, address, socket_path = start_module(rr_file, "--speed", "50", "--name", "Polar H10 CAFEF00D")
    received: list[bytes] = []
    try:
        monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", address)

        async def client() -> str | None:
            device = await BleakScanner.find_device_by_name("Polar H10 CAFEF00D", timeout=5.0)
            assert device is not None
            async with BleakClient(device, timeout=5.0) as client:
                await client.start_notify(HEART_RATE_MEASUREMENT_UUID, lambda _, d: received.append(bytes(d)))
                await wait_until(lambda: len(received) == len(expected))
            return device.address

        address_seen = asyncio.run(asyncio.wait_for(client(), SAFETY_TIMEOUT_S))
    finally:
        out, err = stop_module(proc)
    assert address_seen == "A0:9E:1A:E0:00:01"
    assert received == expected
    assert proc.returncode == 0, err
    assert f"# done: {len(expected)} frames sent, 0 lost" in out
    assert "Traceback" not in err
    assert not socket_path.exists()


def test_module_entry_point_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    rr_file = tmp_path / "rr.txt"
    rr_file.write_text("800\n810\n")
    proc, _, socket_path = start_module(rr_file)
    proc.send_signal(signal.SIGINT)
    out, err = stop_module(proc)
    assert proc.returncode == 0, err
    assert "# stopped: 0 frames sent, 0 lost" in out
    assert "Traceback" not in err
    assert not socket_path.exists()


def test_module_entry_point_reports_a_bad_file_in_one_line(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "biofeedback.emulator", "--rr-file", str(tmp_path / "missing.txt")],
        check=False,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert proc.stderr.startswith("error: ") and proc.stderr.count("\n") == 1
