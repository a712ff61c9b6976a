"""Input checks shared by the core: one place that turns bad input into a clear error."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from biofeedback.errors import InvalidInputError

__all__ = ["rr_array"]


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
    try:
        rr = np.asarray(rr_ms, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"{name} must be numbers (RR intervals in ms){needer}: {exc}") from None
    if rr.ndim != 1:
        raise InvalidInputError(f"{name} must be a 1-D sequence of RR intervals in ms{needer}, got shape {rr.shape}")
    if rr.size == 0:
        raise InvalidInputError(f"{name} is empty: need at least {min_count} RR intervals in ms{needer}")
    if not np.all(np.isfinite(rr)):
        raise InvalidInputError(f"{name} contains NaN or infinite values{needer}: remove or correct them first")
    if np.any(rr <= 0):
        raise InvalidInputError(f"{name} contains zero or negative intervals{needer}: RR intervals are positive ms")
    if rr.size < min_count:
        raise InvalidInputError(f"{name} has {rr.size} intervals; {what or 'this'} needs at least {min_count}")
    return rr
