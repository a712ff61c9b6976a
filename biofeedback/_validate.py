"""Input checks shared by the core: one place that turns bad input into a clear error."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from biofeedback.errors import InvalidInputError

__all__ = ["finite_array", "rr_array"]


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
