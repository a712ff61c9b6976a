"""What every heart-rate source yields, and the protocol the live loop relies on.

A source is an async iterator of :data:`SourceEvent`: measurements, plus link events
from sources that have a link. The loop that consumes it never knows which source it has
(BLE strap, simulated person, replayed file).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from biofeedback.beats import Measurement

__all__ = ["HeartRateSource", "LinkLost", "LinkRestored", "Measurement", "SourceEvent"]


@dataclass(frozen=True, slots=True)
class LinkLost:
    """The link to the strap dropped; the source is reconnecting by itself.

    Attributes
    ----------
    t_arrival_s : float
        When the loss was noticed, s on the source's clock.
    reason : str
    """

    t_arrival_s: float
    reason: str = "link lost"


@dataclass(frozen=True, slots=True)
class LinkRestored:
    """The source reconnected after a :class:`LinkLost`.

    Attributes
    ----------
    t_arrival_s : float
        When the link was back, s on the source's clock.
    attempts : int
        Connection attempts it took.
    """

    t_arrival_s: float
    attempts: int = 1


SourceEvent = Measurement | LinkLost | LinkRestored


@runtime_checkable
class HeartRateSource(Protocol):
    """Anything that yields measurements (and link events) as an async iterator."""

    def __aiter__(self) -> AsyncIterator[SourceEvent]: ...
