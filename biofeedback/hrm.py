"""Decoding the Heart Rate Measurement characteristic (GATT 0x2A37).

The strap sends one notification about once a second. Its layout (Bluetooth SIG, Heart
Rate Service 1.0, section 3.1):

======  ==========================================================================
byte 0  flags: bit 0 heart-rate format (0: uint8, 1: uint16 little-endian);
        bits 1-2 sensor contact (0b0x not supported, 0b10 supported but not
        detected, 0b11 detected); bit 3 energy expended present; bit 4 RR present
then    heart rate, beats/min (uint8 or uint16)
then    energy expended, kJ (uint16), when bit 3 is set
then    zero or more RR intervals, uint16 in units of 1/1024 s, when bit 4 is set
======  ==========================================================================

RR intervals are kept at full precision as float milliseconds (``raw * 1000 / 1024``),
which is exact in binary floating point, so ``bytes(HeartRateMeasurement.from_bytes(b))``
gives back the same RR values to the bit.
"""

from __future__ import annotations

import enum
import math
import numbers
import struct
from dataclasses import dataclass
from typing import Final

from biofeedback.errors import MalformedFrameError

__all__ = [
    "BATTERY_LEVEL_UUID",
    "BATTERY_SERVICE_UUID",
    "HEART_RATE_MEASUREMENT_UUID",
    "HEART_RATE_SERVICE_UUID",
    "HRMFlags",
    "HeartRateMeasurement",
    "SensorContact",
    "rr_ms_to_raw",
]

HEART_RATE_SERVICE_UUID: Final = "0000180d-0000-1000-8000-00805f9b34fb"
HEART_RATE_MEASUREMENT_UUID: Final = "00002a37-0000-1000-8000-00805f9b34fb"
BATTERY_SERVICE_UUID: Final = "0000180f-0000-1000-8000-00805f9b34fb"
BATTERY_LEVEL_UUID: Final = "00002a19-0000-1000-8000-00805f9b34fb"

RR_UNITS_PER_S: Final[int] = 1024  # the strap counts RR in 1/1024 s
_MS_PER_RR_UNIT: Final[float] = 1000.0 / RR_UNITS_PER_S  # 0.9765625, exact in binary


class HRMFlags(enum.IntFlag):
    """Bits of byte 0 of the Heart Rate Measurement."""

    HR_UINT16 = 0x01
    CONTACT_DETECTED = 0x02
    CONTACT_SUPPORTED = 0x04
    ENERGY_PRESENT = 0x08
    RR_PRESENT = 0x10


class SensorContact(enum.Enum):
    """What the strap says about skin contact (flags bits 1-2)."""

    NOT_SUPPORTED = "not supported"
    NOT_DETECTED = "supported, not detected"
    DETECTED = "detected"


def rr_ms_to_raw(rr_ms: float) -> int:
    """Convert an RR interval in ms back to the strap's 1/1024 s units (nearest)."""
    return round(rr_ms / _MS_PER_RR_UNIT)


@dataclass(frozen=True, slots=True)
class HeartRateMeasurement:
    """One decoded Heart Rate Measurement notification.

    Attributes
    ----------
    heart_rate_bpm : int
        Heart rate the strap computed, beats/min. 0 while some straps settle.
    contact : SensorContact
        Skin-contact status.
    energy_expended_kj : int or None
        Cumulative energy expended, kJ, when the strap sends it.
    rr_ms : tuple of float
        RR intervals in this notification, ms, oldest first; possibly empty.
    hr_uint16 : bool
        Whether the heart rate was sent as uint16 (kept so that encoding round-trips).
    """

    heart_rate_bpm: int
    contact: SensorContact = SensorContact.NOT_SUPPORTED
    energy_expended_kj: int | None = None
    rr_ms: tuple[float, ...] = ()
    hr_uint16: bool = False
    rr_present: bool | None = None

    def __post_init__(self) -> None:
        for name in ("heart_rate_bpm", "energy_expended_kj"):
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, numbers.Integral):
                raise MalformedFrameError(f"{name} must be an integer, got {value!r}")
            object.__setattr__(self, name, int(value))  # numpy integers too, for to_bytes
        limit = 0xFFFF if self.hr_uint16 else 0xFF
        if not 0 <= self.heart_rate_bpm <= limit:
            raise MalformedFrameError(
                f"heart rate {self.heart_rate_bpm} does not fit the "
                f"{'uint16' if self.hr_uint16 else 'uint8'} field"
            )
        if self.energy_expended_kj is not None and not 0 <= self.energy_expended_kj <= 0xFFFF:
            raise MalformedFrameError(f"energy expended {self.energy_expended_kj} kJ is not a uint16")
        for rr in self.rr_ms:
            # checked on the unit the frame carries, so that __bytes__ never writes an RR of 0
            if not (math.isfinite(rr) and 1 <= rr_ms_to_raw(rr) <= 0xFFFF):
                raise MalformedFrameError(f"RR interval {rr!r} ms is outside 1..65535 units of 1/1024 s")
        if self.rr_present is None:
            object.__setattr__(self, "rr_present", bool(self.rr_ms))
        elif self.rr_ms and not self.rr_present:
            raise MalformedFrameError("RR intervals given but rr_present is False")

    @property
    def flags(self) -> HRMFlags:
        """The flags byte this measurement encodes to."""
        flags = HRMFlags(0)
        if self.hr_uint16:
            flags |= HRMFlags.HR_UINT16
        if self.contact is SensorContact.NOT_DETECTED:
            flags |= HRMFlags.CONTACT_SUPPORTED
        elif self.contact is SensorContact.DETECTED:
            flags |= HRMFlags.CONTACT_SUPPORTED | HRMFlags.CONTACT_DETECTED
        if self.energy_expended_kj is not None:
            flags |= HRMFlags.ENERGY_PRESENT
        if self.rr_present:
            flags |= HRMFlags.RR_PRESENT
        return flags

    @classmethod
    def from_bytes(cls, data: bytes | bytearray | memoryview) -> HeartRateMeasurement:
        """Decode one notification.

        Raises
        ------
        MalformedFrameError
            The frame is empty, truncated, has an odd trailing byte, promises a field
            it lacks, or carries an RR interval of 0. The message says which.
        """
        data = bytes(data)
        if not data:
            raise MalformedFrameError("empty Heart Rate Measurement frame")
        flags = HRMFlags(data[0] & 0x1F)
        pos = 1
        hr_uint16 = HRMFlags.HR_UINT16 in flags
        hr_size = 2 if hr_uint16 else 1
        if len(data) < pos + hr_size:
            raise MalformedFrameError(f"frame {data.hex()} is truncated: no heart-rate field")
        heart_rate = int.from_bytes(data[pos : pos + hr_size], "little")
        pos += hr_size

        if HRMFlags.CONTACT_SUPPORTED in flags:
            detected = HRMFlags.CONTACT_DETECTED in flags
            contact = SensorContact.DETECTED if detected else SensorContact.NOT_DETECTED
        else:
            contact = SensorContact.NOT_SUPPORTED

        energy: int | None = None
        if HRMFlags.ENERGY_PRESENT in flags:
            if len(data) < pos + 2:
                raise MalformedFrameError(f"frame {data.hex()} promises energy expended but lacks it")
            energy = int.from_bytes(data[pos : pos + 2], "little")
            pos += 2

        rest = data[pos:]
        rr_present = HRMFlags.RR_PRESENT in flags
        if not rr_present:
            if rest:
                raise MalformedFrameError(f"frame {data.hex()} has {len(rest)} unexpected trailing byte(s)")
            rr_raw: tuple[int, ...] = ()
        else:
            if len(rest) % 2:
                raise MalformedFrameError(f"frame {data.hex()} has an odd trailing byte in its RR intervals")
            rr_raw = struct.unpack(f"<{len(rest) // 2}H", rest)
            if 0 in rr_raw:
                raise MalformedFrameError(f"frame {data.hex()} carries an RR interval of 0")
        return cls(
            heart_rate_bpm=heart_rate,
            contact=contact,
            energy_expended_kj=energy,
            rr_ms=tuple(raw * _MS_PER_RR_UNIT for raw in rr_raw),
            hr_uint16=hr_uint16,
            rr_present=rr_present,
        )

    def __bytes__(self) -> bytes:
        out = bytearray([int(self.flags)])
        out += self.heart_rate_bpm.to_bytes(2 if self.hr_uint16 else 1, "little")
        if self.energy_expended_kj is not None:
            out += self.energy_expended_kj.to_bytes(2, "little")
        for rr in self.rr_ms:
            out += rr_ms_to_raw(rr).to_bytes(2, "little")
        return bytes(out)
