"""Input checks shared by the package: one place that turns bad input into a clear error."""

from __future__ import annotations

import math
import numbers
import re
from typing import Final

import numpy as np
import numpy.typing as npt

from biofeedback.errors import InvalidInputError

__all__ = ["BLUETOOTH_ADDRESS_RE", "bluetooth_address", "check_positive", "finite_array", "rr_array"]

BLUETOOTH_ADDRESS_RE: Final = re.compile(r"(?:[0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}|(?:[0-9A-Fa-f]{2}-){5}[0-9A-Fa-f]{2}")
"""A Bluetooth device address: six hex bytes separated all by ``:`` or all by ``-``, either
case (use ``fullmatch``)."""


def check_positive(value: float, name: str, unit: str, *, or_zero: bool = False) -> float:
    """Return ``value`` as a float if it is a finite number > 0 (>= 0 with ``or_zero``), or raise.

    Parameters
    ----------
    value : float
        The number to check (an int or float; not a bool or a string).
    name : str
        The argument's name, for the message (``"period_s"``).
    unit : str
        Its unit in words, for the message (``"seconds"``, ``"Hz"``, ``"samples"``).
    or_zero : bool
        Accept 0 as well.

    Raises
    ------
    InvalidInputError
        Not a number, NaN, infinite, or not above 0 (below 0 with ``or_zero``).

    Examples
    --------
    >>> check_positive(4, "fs_hz", "Hz")
    4.0
    >>> check_positive(0.0, "period_s", "seconds")
    Traceback (most recent call last):
    ...
    biofeedback.errors.InvalidInputError: period_s must be a positive number of seconds, got 0.0
    """
    wanted = "0 or a positive" if or_zero else "a positive"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidInputError(f"{name} must be {wanted} number of {unit}, got {value!r}")
    v = float(value)
    if not math.isfinite(v) or v < 0 or (v == 0 and not or_zero):
        raise InvalidInputError(f"{name} must be {wanted} number of {unit}, got {value!r}")
    return v


def bluetooth_address(text: str) -> str | None:
    """``text`` as an upper-case, colon-separated Bluetooth address, or None if it is not one.

    Examples
    --------
    >>> bluetooth_address("a0-9e-1a-12-34-56")
    'A0:9E:1A:12:34:56'
    >>> bluetooth_address("Polar H10") is None
    True
    """
    if BLUETOOTH_ADDRESS_RE.fullmatch(text):  # fullmatch: ``$`` would let a trailing newline through
        return text.upper().replace("-", ":")
    return None


def rr_array(rr_ms: npt.ArrayLike, *, min_count: int = 1, name: str = "rr_ms", what: str = "") -> npt.NDArray[np.float64]:
    """Return ``rr_ms`` as a 1-D float64 array of RR intervals in ms, or raise.

    Parameters
    ----------
    rr_ms : array_like
        RR (or NN) intervals, ms.
    min_count : int
        The fewest intervals the caller can work with.
    name : str
        The argument's name, for the message.
    what : str
        What needs them (e.g. "frequency_domain"), for the message.

    Raises
    ------
    InvalidInputError
        Empty, not 1-D, non-finite or non-positive values, or fewer than ``min_count``.
    """
    needer = f" for {what}" if what else ""
    rr = finite_array(rr_ms, name=name, holds="RR intervals in ms", what=what)
    if rr.size == 0:
        raise InvalidInputError(f"{name} is empty: need at least {min_count} RR intervals in ms{needer}")
    if np.any(rr <= 0):
        raise InvalidInputError(f"{name} contains zero or negative intervals{needer}: RR intervals are positive ms")
    if rr.size < min_count:
        raise InvalidInputError(f"{name} has {rr.size} intervals; {what or 'this'} needs at least {min_count}")
    return rr


def finite_array(values: npt.ArrayLike, *, name: str, holds: str, what: str = "") -> npt.NDArray[np.float64]:
    """Return ``values`` as a 1-D float64 array of finite numbers, or raise.

    Parameters
    ----------
    values : array_like
    name : str
        The argument's name, for the message.
    holds : str
        What the values are, with their unit ("times in s"), for the message.
    what : str
        What needs them, for the message.

    Raises
    ------
    InvalidInputError
        Not numbers, not 1-D, or NaN or infinite values.
    """
    needer = f" for {what}" if what else ""
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"{name} must be numbers ({holds}){needer}: {exc}") from None
    if array.ndim != 1:
        raise InvalidInputError(f"{name} must be a 1-D sequence of {holds}{needer}, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise InvalidInputError(f"{name} contains NaN or infinite values{needer}: remove or correct them first")
    return array
