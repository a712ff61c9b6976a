"""Heart Rate Measurement (0x2A37) decoding: every flag combination, malformed frames, fuzz."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from biofeedback.errors import BiofeedbackError, MalformedFrameError
from biofeedback.hrm import HeartRateMeasurement, HRMFlags, SensorContact

MS = 1000.0 / 1024.0


@pytest.mark.parametrize(
    ("hr_uint16", "contact", "energy", "rr_raw"),
    list(
        itertools.product(
            [False, True],
            list(SensorContact),
            [None, 0, 1234, 0xFFFF],
            [(), (1,), (1024,), (800, 1100), (512, 513, 65535)],
        )
    ),
)
def test_round_trip_every_flag_combination(
    hr_uint16: bool, contact: SensorContact, energy: int | None, rr_raw: tuple[int, ...]
) -> None:
    hr = 300 if hr_uint16 else 72
    m = HeartRateMeasurement(
        heart_rate_bpm=hr,
        contact=contact,
        energy_expended_kj=energy,
        rr_ms=tuple(r * MS for r in rr_raw),
        hr_uint16=hr_uint16,
    )
    data = bytes(m)
    back = HeartRateMeasurement.from_bytes(data)
    assert back == m
    assert bytes(back) == data
    # RR intervals are kept to the bit: raw units * 1000/1024, never rounded
    assert back.rr_ms == tuple(r * 1000 / 1024 for r in rr_raw)


def test_known_frames_decode_to_the_numbers() -> None:
    # Polar H10 style: flags 0x16 (contact detected, RR present), HR 64, RR 0x03C0 = 960/1024 s
    m = HeartRateMeasurement.from_bytes(bytes([0x16, 64, 0xC0, 0x03]))
    assert m.heart_rate_bpm == 64
    assert m.contact is SensorContact.DETECTED
    assert m.energy_expended_kj is None
    assert m.rr_ms == (937.5,)
    # uint16 HR 0x0101 = 257, contact supported but not detected, energy 0x0102 = 258 kJ, two RR
    m = HeartRateMeasurement.from_bytes(bytes([0x1D, 0x01, 0x01, 0x02, 0x01, 0x00, 0x04, 0x00, 0x02]))
    assert (m.heart_rate_bpm, m.contact, m.energy_expended_kj) == (257, SensorContact.NOT_DETECTED, 258)
    assert m.rr_ms == (1000.0, 500.0)
    # contact bits 0b01 mean "not supported"
    assert HeartRateMeasurement.from_bytes(bytes([0x02, 70])).contact is SensorContact.NOT_SUPPORTED


def test_hr_zero_without_rr_is_a_valid_frame_with_no_beat() -> None:
    m = HeartRateMeasurement.from_bytes(bytes([0x00, 0]))
    assert m.heart_rate_bpm == 0 and m.rr_ms == ()
    # RR flag set but no interval in this notification: valid, zero RR
    m = HeartRateMeasurement.from_bytes(bytes([HRMFlags.RR_PRESENT, 50]))
    assert m.rr_ms == () and m.rr_present


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        (b"", "empty"),
        (bytes([0x01, 70]), "truncated"),  # uint16 HR promised, one byte present
        (bytes([0x08, 70, 0x01]), "energy"),  # energy promised, one byte present
        (bytes([0x10, 70, 0x00, 0x04, 0x01]), "odd trailing byte"),
        (bytes([0x10, 70, 0x00, 0x00]), "RR interval of 0"),
        (bytes([0x00, 70, 0x00]), "trailing"),  # bytes nobody announced
    ],
)
def test_malformed_frames_raise_one_error_with_the_reason(frame: bytes, reason: str) -> None:
    with pytest.raises(MalformedFrameError, match=reason):
        HeartRateMeasurement.from_bytes(frame)


def test_malformed_frame_error_is_a_value_error_and_ours() -> None:
    with pytest.raises(ValueError):
        HeartRateMeasurement.from_bytes(b"")
    assert issubclass(MalformedFrameError, BiofeedbackError)


@settings(max_examples=2000, deadline=None)
@given(st.binary(max_size=24))
def test_fuzz_random_bytes_never_raise_anything_but_our_error(data: bytes) -> None:
    try:
        m = HeartRateMeasurement.from_bytes(data)
    except MalformedFrameError:
        return
    # whatever decodes re-encodes to the same bytes, apart from the reserved bits 5-7
    # and the "contact not supported" bit 1 that carries no information
    expected = bytearray(data)
    expected[0] &= 0x1F
    if not expected[0] & 0x04:
        expected[0] &= ~0x02 & 0xFF
    assert bytes(m) == bytes(expected)
    assert all(rr > 0 for rr in m.rr_ms)


@pytest.mark.parametrize("rr_ms", [0.3, 0.48828125, 64000.0, float("nan"), float("inf"), -1.0])
def test_rr_that_would_not_encode_as_1_to_65535_units_is_refused(rr_ms: float) -> None:
    # regression: 0.3 ms (0.31 units) passed the check and encoded as an RR of 0, a frame
    # that from_bytes rejects; the check is on the unit the frame will carry
    with pytest.raises(MalformedFrameError, match="outside 1..65535"):
        HeartRateMeasurement(heart_rate_bpm=60, rr_ms=(rr_ms,))


@pytest.mark.parametrize("rr_ms", [0.6 * MS, 1000.3, 65535.4 * MS])
def test_rr_between_units_encodes_to_the_nearest_unit(rr_ms: float) -> None:
    m = HeartRateMeasurement(heart_rate_bpm=60, rr_ms=(rr_ms,))
    back = HeartRateMeasurement.from_bytes(bytes(m))
    assert back.rr_ms == (round(rr_ms / MS) * MS,)


@pytest.mark.parametrize(
    "kwargs",
    [{"heart_rate_bpm": 72.5}, {"heart_rate_bpm": True}, {"heart_rate_bpm": 72, "energy_expended_kj": 10.0}],
)
def test_non_integer_fields_are_refused_when_built(kwargs: dict[str, object]) -> None:
    # regression: a float heart rate passed the range check and __bytes__ then raised
    # AttributeError (float has no to_bytes), not our error
    with pytest.raises(MalformedFrameError, match="integer"):
        HeartRateMeasurement(**kwargs)  # type: ignore[arg-type]


def test_numpy_integers_are_taken_as_ints() -> None:
    import numpy as np

    m = HeartRateMeasurement(heart_rate_bpm=np.int64(72), energy_expended_kj=np.uint16(5))  # type: ignore[arg-type]
    assert type(m.heart_rate_bpm) is int and type(m.energy_expended_kj) is int
    assert bytes(m) == bytes([0x08, 72, 5, 0])
