"""Replaying recorded RR intervals as if a strap sent them.

The intervals are grouped into notifications the way a strap sends them
(:func:`biofeedback.notifications.group_into_notifications`): one every ``period_s``
seconds carrying the beats that ended since the previous one, with the file's values to
the bit. The arrival time of each notification is its time on the recording's own beat
clock, so a replay gives the same beats, at any speed.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence

import numpy as np
import numpy.typing as npt

from biofeedback._validate import check_positive
from biofeedback.hrm import SensorContact
from biofeedback.notifications import group_into_notifications
from biofeedback.sources.base import Measurement, PacedSource, SourceEvent, SourceInfo

__all__ = ["ReplaySource"]


class ReplaySource(PacedSource):
    """A heart-rate source that plays RR intervals from memory.

    Parameters
    ----------
    rr_ms : array_like
        The intervals to play, ms.
    speed : float or None
        Times faster than real time; None plays as fast as the consumer takes them.
    period_s : float
        Time between notifications, s.
    kind : str
        What :meth:`info` names as the source (e.g. ``"replay:FILE"``).

    Raises
    ------
    InvalidInputError
        Bad RR intervals, or ``speed`` or ``period_s`` not a positive finite number.

    Examples
    --------
    >>> async def main() -> None:  # doctest: +SKIP
    ...     async with ReplaySource(rr_ms, speed=10.0) as source:
    ...         async for event in source:
    ...             handle(event)

    Arrival times are the frames' times on the recording's own clock (s from its start),
    and :meth:`clock_s` runs on that clock too: ``speed`` times wall time from the first
    frame's request, or, with ``speed=None``, the time of the latest frame.
    """

    def __init__(self, rr_ms: Sequence[float] | npt.NDArray[np.float64], *, speed: float | None = None,
                 period_s: float = 1.0, kind: str = "replay") -> None:
        self.speed = None if speed is None else check_positive(speed, "speed", "times real time")
        self.frames = group_into_notifications(rr_ms, period_s)
        self.kind = kind

    def info(self) -> SourceInfo:
        """The source's kind and speed (1 when it plays as fast as it is read)."""
        return SourceInfo(kind=self.kind, speed=self.speed or 1.0)

    def _events(self) -> AsyncGenerator[SourceEvent, None]:
        return self._paced((_measurement(t_s, rr) for t_s, rr in self.frames), origin_s=0.0)


def _measurement(t_s: float, rr_ms: tuple[float, ...]) -> Measurement:
    """One notification of the replay: its beats' mean heart rate, skin contact detected."""
    hr = round(60000.0 / (sum(rr_ms) / len(rr_ms))) if rr_ms else 0
    return Measurement(t_arrival_s=t_s, heart_rate_bpm=hr, rr_ms=rr_ms, contact=SensorContact.DETECTED)
