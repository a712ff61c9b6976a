"""The shared input checks: positive numbers and Bluetooth addresses, one helper each."""

from __future__ import annotations

import numpy as np
import pytest

from biofeedback import hrv
from biofeedback._validate import bluetooth_address, check_positive
from biofeedback.emulator.strap import EmulatedStrap
from biofeedback.errors import InvalidInputError
from biofeedback.sources.ble import BleSource
from biofeedback.sources.replay import ReplaySource


@pytest.mark.parametrize("value", [0.25, 3, np.float64(4.0), np.int64(256)])
def test_check_positive_returns_a_float(value: float) -> None:
    out = check_positive(value, "fs_hz", "Hz")
    assert out == float(value) and type(out) is float


@pytest.mark.parametrize("value", [0, 0.0, -1.5, float("nan"), float("inf"), -float("inf"), True, "5", None])
def test_check_positive_names_the_argument_and_its_unit(value: object) -> None:
    with pytest.raises(InvalidInputError) as error:
        check_positive(value, "period_s", "seconds")  # type: ignore[arg-type]
    assert str(error.value) == f"period_s must be a positive number of seconds, got {value!r}"


def test_check_positive_or_zero_takes_zero_but_not_less() -> None:
    assert check_positive(0, "settle_s", "seconds", or_zero=True) == 0.0
    with pytest.raises(InvalidInputError, match=r"^settle_s must be 0 or a positive number of seconds, got -0.1$"):
        check_positive(-0.1, "settle_s", "seconds", or_zero=True)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: ReplaySource([800.0], speed=0.0), "speed must be a positive number of times real time, got 0.0"),
        (lambda: ReplaySource([800.0], period_s=-1.0), "period_s must be a positive number of seconds, got -1.0"),
        (lambda: EmulatedStrap(speed=float("inf")), "speed must be a positive number of times real time, got inf"),
        (lambda: BleSource(scan_timeout_s=0), "scan_timeout_s must be a positive number of seconds, got 0"),
        (lambda: BleSource(settle_s=-1.0), "settle_s must be 0 or a positive number of seconds, got -1.0"),
        (lambda: hrv.frequency_domain([800.0] * 300, fs_hz=0), "fs_hz must be a positive number of Hz, got 0"),
        (lambda: hrv.coherence_detail([800.0] * 300, window_s=-64), "window_s must be a positive number of seconds"),
    ],
)
def test_every_positive_check_speaks_the_same_way(call: object, message: str) -> None:
    with pytest.raises(InvalidInputError) as error:
        call()  # type: ignore[operator]
    assert str(error.value).startswith(message)


@pytest.mark.parametrize(
    ("text", "address"),
    [("A0:9E:1A:12:34:56", "A0:9E:1A:12:34:56"), ("a0:9e:1a:12:34:56", "A0:9E:1A:12:34:56"),
     ("a0-9e-1a-12-34-56", "A0:9E:1A:12:34:56"), ("Polar H10", None), ("A0:9E:1A:12:34", None),
     ("A0:9E:1A:12:34:56:78", None), ("G0:9E:1A:12:34:56", None), ("A09E1A123456", None), ("", None),
     ("A0:9E:1A:12:34:56\n", None), ("A0:9E-1A:12-34:56", None)],
)
def test_bluetooth_address(text: str, address: str | None) -> None:
    assert bluetooth_address(text) == address


def test_the_emulated_strap_takes_an_address_as_the_scanner_does() -> None:
    assert EmulatedStrap(address="a0-9e-1a-12-34-56").address == "A0:9E:1A:12:34:56"
    with pytest.raises(InvalidInputError, match="'A0:9E:1A:12:34' is not a Bluetooth address"):
        EmulatedStrap(address="A0:9E:1A:12:34")
