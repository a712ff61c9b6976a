"""The emulated heart-rate strap: what it sends and when, independent of D-Bus.

:func:`frames_from_rr` turns RR intervals into the notifications a real strap would send
about once a second. :class:`EmulatedStrap` plays such frames on its own timeline once a
client subscribes to the Heart Rate Measurement, and records which frames a client got
(``sent``) and which fell while nobody listened (``lost``). The D-Bus side lives in
:mod:`biofeedback.emulator.bluez`; this module does not import dbus-fast.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Sequence
from typing import Final, Protocol

import numpy.typing as npt

from biofeedback._validate import bluetooth_address, check_positive, rr_array
from biofeedback.errors import EmulatorError, InvalidInputError
from biofeedback.hrm import HeartRateMeasurement, SensorContact
from biofeedback.notifications import group_into_notifications

__all__ = ["ABORT_BY_LOCAL", "EmulatedStrap", "Frame", "StrapLink", "frames_from_rr"]

logger = logging.getLogger(__name__)

Frame = tuple[float, bytes]
"""One notification: strap time in s from the start of the session, and the 0x2A37 payload."""

ABORT_BY_LOCAL: Final = "le-connection-abort-by-local"
"""BlueZ's reason for a connection the controller gave up on; bleak retries it itself."""

ATT_PAYLOAD_BYTES: Final[int] = 20  # ATT_MTU 23 minus the 3-byte notification header
HR_WINDOW_BEATS: Final[int] = 5  # heart rate in a frame = 60000 / mean of this many last RR
ENERGY_KJ_PER_S: Final[float] = 0.1  # cumulative energy expended, about 6 kJ/min at rest


def frames_from_rr(
    rr_ms: npt.ArrayLike,
    *,
    contact: SensorContact = SensorContact.DETECTED,
    energy_every: int = 0,
    hr_uint16: bool = False,
    settle_frames: int = 2,
    period_s: float = 1.0,
) -> list[Frame]:
    """Build the Heart Rate Measurement notifications a strap sends for these beats.

    The strap notifies every ``period_s`` seconds, at strap times ``k * period_s``. The
    first ``settle_frames`` frames carry heart rate 0 and no RR field, as straps send while
    they settle. The beats start at the last settle frame (at ``-period_s`` when there is
    none), and each later frame carries the RR intervals of the beats that ended since the
    previous frame: none when the heart is slower than one beat per period, several when
    it is faster. At most as many RR as fit a 20-byte notification (ATT MTU 23) go in one
    frame; the rest wait for the next. Frames go on until every beat has been sent. The
    grouping is :func:`biofeedback.notifications.group_into_notifications`, the one the
    replay source uses, with the wire's rounding, frame cap and settle frames.

    Parameters
    ----------
    rr_ms : array_like
        RR intervals, ms. Values are sent in 1/1024 s units, rounded to the nearest; a
        multiple of 1000/1024 ms comes back from decoding to the bit.
    contact : SensorContact
        Skin-contact status written in every frame.
    energy_every : int
        Include the energy-expended field (cumulative kJ, 0.1 kJ/s) in every
        ``energy_every``-th frame (frame 0, n, 2n, ...); 0 never.
    hr_uint16 : bool
        Send the heart rate as uint16 instead of uint8.
    settle_frames : int
        Leading frames with heart rate 0 and no RR.
    period_s : float
        Time between notifications, s.

    Returns
    -------
    list of (float, bytes)
        ``(t_s, payload)``: strap time of the notification in s, and its 0x2A37 bytes.
        The heart rate in a frame is ``round(60000 / mean)`` of the last
        ``HR_WINDOW_BEATS`` RR intervals ended by then (0 before the first beat ends).

    Raises
    ------
    InvalidInputError
        Bad RR intervals or arguments.

    Examples
    --------
    >>> from biofeedback.hrm import HeartRateMeasurement
    >>> frames = frames_from_rr([1000.0, 500.0, 500.0], settle_frames=1)
    >>> [(t, HeartRateMeasurement.from_bytes(p).rr_ms) for t, p in frames]
    [(0.0, ()), (1.0, (1000.0,)), (2.0, (500.0, 500.0))]
    """
    if energy_every < 0:
        raise InvalidInputError(f"energy_every must be 0 (never) or a positive frame count, got {energy_every}")
    rr_list = [float(x) for x in rr_array(rr_ms, what="frames_from_rr")]

    def has_energy(k: int) -> bool:
        return bool(energy_every) and k % energy_every == 0

    def room(k: int) -> int:
        """RR intervals that fit frame ``k`` after its flags, heart rate and energy."""
        return (ATT_PAYLOAD_BYTES - 1 - (2 if hr_uint16 else 1) - (2 if has_energy(k) else 0)) // 2

    grouped = group_into_notifications(rr_list, period_s, settle_frames=settle_frames, max_rr=room, as_sent=True)
    frames: list[Frame] = []
    sent = 0  # beats sent so far
    for k, (_, rr_sent) in enumerate(grouped):
        t_s = k * period_s  # strap time: the first frame (a settle frame, if any) at 0
        energy = round(t_s * ENERGY_KJ_PER_S) if has_energy(k) else None
        if k < settle_frames:
            frame = HeartRateMeasurement(0, contact, energy, (), hr_uint16)
        else:
            sent += len(rr_sent)
            recent = rr_list[max(0, sent - HR_WINDOW_BEATS) : sent]
            hr_bpm = round(60000.0 / (sum(recent) / len(recent))) if recent else 0
            hr_bpm = min(hr_bpm, 0xFFFF if hr_uint16 else 0xFF)
            frame = HeartRateMeasurement(hr_bpm, contact, energy, rr_sent, hr_uint16)
        frames.append((t_s, bytes(frame)))
    return frames


class StrapLink(Protocol):
    """What a strap needs from the BlueZ side that exports it (see bluez.py)."""

    def notify_measurement(self, payload: bytes) -> bool:
        """Notify a Heart Rate Measurement; True if a client was subscribed to get it."""
        ...

    async def drop(self) -> None:
        """Lose the link as a real strap does (out of range, battery pulled)."""
        ...


class EmulatedStrap:
    """A heart-rate chest strap as BlueZ would show it, playing recorded frames.

    The strap's timeline starts when the first client calls ``StartNotify`` on the Heart
    Rate Measurement (0x2A37) and runs at ``speed`` times real time: the frame at strap
    time ``t_s`` is notified ``t_s / speed`` real seconds after that start. The timeline
    runs on while no client is subscribed (disconnected, or notifications stopped): the
    frames that fall then are lost, as with a real strap.

    Parameters
    ----------
    name : str
        Advertised name (Device1 ``Name`` and ``Alias``).
    address : str
        Bluetooth address, ``"AA:BB:CC:DD:EE:FF"`` (upper or lower case).
    frames : sequence of (float, bytes)
        ``(t_s, payload)`` in non-decreasing strap time, s (see :func:`frames_from_rr`).
    speed : float
        Strap seconds per real second (50 plays a minute in 1.2 s).
    battery_percent : int or None
        Battery Level (0x2A19) in %, or None for a strap without the Battery service.
    rssi_dbm : int
        Received signal strength the scanner reports, dBm.
    advertise_hr_service : bool
        Advertise the Heart Rate service UUID (0x180D); some straps do not.
    refuse_connections : int
        The first ``refuse_connections`` ``Connect`` calls fail with
        ``org.bluez.Error.Failed`` and the message ``refuse_reason``.
    refuse_reason : str
        ``"le-connection-abort-by-local"`` (default) emulates BlueZ exactly: the link
        comes up and goes down again (``Connected`` true then false) before the error,
        and bleak retries inside one ``connect()`` call, calling its
        ``disconnected_callback`` once per refusal. Any other reason (e.g.
        ``"le-connection-abort-by-remote"``) is a plain error that bleak does not retry:
        ``connect()`` raises ``BleakDBusError("org.bluez.Error.Failed", [reason])``.
    drop_at : sequence of float
        Strap times, s, at which the strap drops the link by itself (see
        :meth:`drop_link`).
    manufacturer : str
        Device Information Manufacturer Name String (0x2A29).

    Attributes
    ----------
    sent : list of (float, bytes)
        Frames notified to a subscribed client, in order.
    lost : list of (float, bytes)
        Frames whose time fell while no client was subscribed.
    finished : asyncio.Event
        Set once the last frame's time has passed.
    connect_count : int
        ``Connect`` calls received, refused ones included.
    """

    def __init__(
        self,
        name: str = "Polar H10 A1B2C3D4",
        address: str = "A0:9E:1A:12:34:56",
        frames: Sequence[Frame] = (),
        speed: float = 1.0,
        battery_percent: int | None = 87,
        rssi_dbm: int = -60,
        advertise_hr_service: bool = True,
        refuse_connections: int = 0,
        *,
        refuse_reason: str = ABORT_BY_LOCAL,
        drop_at: Sequence[float] = (),
        manufacturer: str = "Polar Electro Oy",
    ) -> None:
        normal = bluetooth_address(address)
        if normal is None:
            raise InvalidInputError(f"address {address!r} is not a Bluetooth address like 'A0:9E:1A:12:34:56'")
        address = normal
        check_positive(speed, "speed", "times real time")
        if battery_percent is not None and not 0 <= battery_percent <= 100:
            raise InvalidInputError(f"battery_percent must be 0..100 or None, got {battery_percent}")
        if not -127 <= rssi_dbm <= 20:
            raise InvalidInputError(f"rssi_dbm must be within -127..20 dBm, got {rssi_dbm}")
        if refuse_connections < 0:
            raise InvalidInputError(f"refuse_connections must be 0 or more, got {refuse_connections}")
        self.frames: list[Frame] = [(float(t_s), bytes(payload)) for t_s, payload in frames]
        times = [t_s for t_s, _ in self.frames]
        if any(not (math.isfinite(t) and t >= 0) for t in times) or times != sorted(times):
            raise InvalidInputError("frames must be (t_s, payload) pairs with finite t_s >= 0 in non-decreasing order")
        self.drop_at: list[float] = sorted(float(t) for t in drop_at)
        if any(not (math.isfinite(t) and t >= 0) for t in self.drop_at):
            raise InvalidInputError("drop_at must hold finite strap times >= 0 s")

        self.name = name
        self.address = address
        self.speed = float(speed)
        self.battery_percent = battery_percent
        self.rssi_dbm = rssi_dbm
        self.advertise_hr_service = advertise_hr_service
        self.refuse_connections = refuse_connections
        self.refuse_reason = refuse_reason
        self.manufacturer = manufacturer

        self.sent: list[Frame] = []
        self.lost: list[Frame] = []
        self.finished = asyncio.Event()
        self.connect_count = 0
        self.drop_count = 0

        self._link: StrapLink | None = None
        self._t0_monotonic: float | None = None
        self._player: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        return f"EmulatedStrap(name={self.name!r}, address={self.address!r}, frames={len(self.frames)}, speed={self.speed:g})"

    @property
    def started(self) -> bool:
        """Whether the timeline runs (a client subscribed to 0x2A37 at least once)."""
        return self._t0_monotonic is not None

    def clock(self) -> float:
        """Current strap time, s: monotonic time since the timeline started, times ``speed``.

        0.0 before the timeline starts. A BLE source under test can use it as its arrival
        clock so that arrival times and frame times share one scale.
        """
        if self._t0_monotonic is None:
            return 0.0
        return (time.monotonic() - self._t0_monotonic) * self.speed

    async def drop_link(self) -> None:
        """Lose the link: ``ServicesResolved`` and ``Connected`` go false, GATT objects go.

        The device stays discoverable, so a client can reconnect. Nothing happens when no
        client is connected.

        Raises
        ------
        EmulatorError
            The strap was not added to an :class:`~biofeedback.emulator.EmulatedBlueZ`.
        """
        if self._link is None:
            raise EmulatorError(f"{self!r} is not in an EmulatedBlueZ: call 'await bluez.add_strap(strap)' first")
        await self._link.drop()

    # -- used by the BlueZ side -------------------------------------------------------

    def _attach(self, link: StrapLink) -> None:
        if self._link is not None:
            raise EmulatorError(f"{self!r} is already in an EmulatedBlueZ")
        self._link = link

    def _detach(self) -> None:
        self._link = None

    def _take_refusal(self) -> bool:
        """Count a ``Connect`` call; True if this one must be refused."""
        self.connect_count += 1
        return self.connect_count <= self.refuse_connections

    def _on_subscribed(self) -> None:
        """A client called ``StartNotify`` on 0x2A37: start the timeline the first time."""
        if self._t0_monotonic is not None:
            return
        self._t0_monotonic = time.monotonic()
        logger.debug("%s: timeline starts, %d frames at speed %g", self.name, len(self.frames), self.speed)
        self._player = asyncio.get_running_loop().create_task(self._play(), name=f"strap {self.address}")

    async def _close(self) -> None:
        """Stop the timeline task (the emulator is shutting down)."""
        player, self._player = self._player, None
        if player is not None:
            player.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await player

    async def _play(self) -> None:
        """Notify each frame, and drop the link at each ``drop_at``, on the strap's timeline."""
        assert self._t0_monotonic is not None
        t0 = self._t0_monotonic
        # drops sort before frames of the same time (kind 0 before kind 1)
        events = sorted([(t, 0, b"") for t in self.drop_at] + [(t, 1, p) for t, p in self.frames], key=lambda e: e[:2])
        last_frame_s = self.frames[-1][0] if self.frames else None
        if last_frame_s is None:
            self.finished.set()
        for t_s, kind, payload in events:
            delay_s = t0 + t_s / self.speed - time.monotonic()
            if delay_s > 0:
                await asyncio.sleep(delay_s)
            if kind == 0:
                self.drop_count += 1
                if self._link is not None:
                    await self._link.drop()
                continue
            delivered = self._link is not None and self._link.notify_measurement(payload)
            (self.sent if delivered else self.lost).append((t_s, payload))
            if t_s == last_frame_s and len(self.sent) + len(self.lost) == len(self.frames):
                self.finished.set()
