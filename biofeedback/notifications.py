"""Which RR intervals a heart-rate strap sends in each notification, and when.

A strap notifies about once every ``period_s`` seconds, and each notification carries the
RR intervals of the beats that ended since the previous one: none when the heart is slower
than one beat per period, several when it is faster. This module owns that grouping. The
replay source uses it with the file's exact values; the emulated strap uses it with the
wire's limits (values rounded to 1/1024 s, at most as many as fit one notification, and
leading settle frames).

Times are on the beat clock, whose zero is the beat that starts the first interval:
notification ``n`` (``n = 1, 2, ...``) is at ``n * period_s`` and carries the beats that
ended in ``((n - 1) * period_s, n * period_s]``, so a replay's arrival times follow its
beat times exactly. Settle frames come before, at ``0``, ``-period_s``, ... .
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

import numpy as np
import numpy.typing as npt

from biofeedback._validate import check_positive, rr_array
from biofeedback.errors import InvalidInputError
from biofeedback.hrm import rr_ms_to_raw

__all__ = ["BOUNDARY_TOLERANCE_S", "Notification", "group_into_notifications"]

Notification = tuple[float, tuple[float, ...]]
"""One notification: its time on the beat clock, s, and the RR intervals it carries, ms."""

BOUNDARY_TOLERANCE_S: Final[float] = 1e-9  # a beat ending this close after a frame time is in that frame, s
_MS_PER_RR_UNIT: Final[float] = 1000.0 / 1024.0  # one 1/1024 s unit of 0x2A37, ms (exact in binary)
_MAX_RR_UNITS: Final[int] = 0xFFFF  # RR is a uint16 on the wire


def group_into_notifications(
    rr_ms: npt.ArrayLike,
    period_s: float = 1.0,
    *,
    settle_frames: int = 0,
    max_rr: int | Callable[[int], int] | None = None,
    as_sent: bool = False,
) -> list[Notification]:
    """Group RR intervals into the notifications a strap sends: (time s, RR intervals ms).

    Parameters
    ----------
    rr_ms : array_like
        RR intervals, ms, oldest first.
    period_s : float
        Time between notifications, s.
    settle_frames : int
        Leading notifications that carry no RR, as a strap sends while it settles; they
        are at times ``(1 - settle_frames) * period_s, ..., 0`` s.
    max_rr : int, callable or None
        The most RR intervals one notification can carry: a count, or a function of the
        notification's index in the returned list (settle frames included); the rest
        wait for the next notification. None: no limit.
    as_sent : bool
        Carry each interval as 0x2A37 sends it, rounded to the nearest 1/1024 s
        (``raw * 1000 / 1024`` ms, exact in binary). The timing stays that of the given
        values. False keeps the given values to the bit.

    Returns
    -------
    list of (float, tuple of float)
        ``(t_s, rr_ms)`` in time order: notification time on the beat clock, s, and its
        RR intervals, ms. Notifications with no beat are kept (empty); the last one
        carries the last beat. A beat ending exactly on a notification's time (within
        :data:`BOUNDARY_TOLERANCE_S`) belongs to it.

    Raises
    ------
    InvalidInputError
        Bad RR intervals, ``period_s`` not a positive number of seconds, a negative
        ``settle_frames``, a ``max_rr`` below 1, or (``as_sent``) an interval outside
        1..65535 units of 1/1024 s.

    Examples
    --------
    >>> group_into_notifications([400.0, 450.0, 1300.0, 700.0])
    [(1.0, (400.0, 450.0)), (2.0, ()), (3.0, (1300.0, 700.0))]
    >>> group_into_notifications([800.0, 800.0], settle_frames=2, as_sent=True)
    [(-1.0, ()), (0.0, ()), (1.0, (799.8046875,)), (2.0, (799.8046875,))]
    """
    period = check_positive(period_s, "period_s", "seconds")
    if isinstance(settle_frames, bool) or not isinstance(settle_frames, int) or settle_frames < 0:
        raise InvalidInputError(f"settle_frames must be 0 or a positive number of notifications, got {settle_frames!r}")
    rr = rr_array(rr_ms, what="group_into_notifications")
    carried = [float(x) for x in rr]
    if as_sent:
        raw = [rr_ms_to_raw(x) for x in carried]
        if any(not 1 <= r <= _MAX_RR_UNITS for r in raw):
            raise InvalidInputError("rr_ms has intervals outside 1..65535 units of 1/1024 s (about 1 ms to 64 s)")
        carried = [r * _MS_PER_RR_UNIT for r in raw]
    end_s = np.cumsum(rr) / 1000.0

    out: list[Notification] = [(n * period, ()) for n in range(1 - settle_frames, 1)]
    n_beats = len(carried)
    first = 0  # index of the first beat not yet sent
    n = 1
    while first < n_beats:
        t_s = n * period
        room = n_beats if max_rr is None else max_rr if isinstance(max_rr, int) else max_rr(len(out))
        if room < 1:
            raise InvalidInputError(f"max_rr must allow at least 1 RR interval per notification, got {room!r}")
        stop = int(np.searchsorted(end_s, t_s + BOUNDARY_TOLERANCE_S, side="right"))
        stop = min(stop, first + room)
        out.append((t_s, tuple(carried[first:stop])))
        first = stop
        n += 1
    return out
