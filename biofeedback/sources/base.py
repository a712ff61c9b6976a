"""What every heart-rate source yields, and the protocol the live loop relies on.

A source has a lifetime of its own: it is an async context manager, and inside it an
async iterator of :data:`SourceEvent` (measurements, plus link events from sources that
have a link, and the frames a strap sent that did not decode)::

    async with source:
        async for event in source:
            ...

Leaving the ``async with`` block stops the source (notifications off, disconnected,
emulator stopped) and waits for that, however the block is left. The loop that consumes
it never knows which source it has (BLE strap, emulated strap, simulated person,
replayed file); it asks :meth:`HeartRateSource.info` what to write in the recording's
metadata and how fast the source plays, and :meth:`HeartRateSource.clock_s` what time it
is on the clock of ``t_arrival_s``.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncGenerator, AsyncIterator, Iterable
from dataclasses import dataclass
from types import TracebackType
from typing import Protocol, Self, runtime_checkable

from biofeedback.beats import Measurement, RejectedFrame

__all__ = ["HeartRateSource", "IteratingSource", "PacedSource", "LinkLost", "LinkRestored", "Measurement", "RejectedFrame",
           "SourceEvent", "SourceInfo"]


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


SourceEvent = Measurement | LinkLost | LinkRestored | RejectedFrame


@dataclass(frozen=True, slots=True)
class SourceInfo:
    """What a source says about itself, for the recording's metadata and the beat clock.

    Attributes
    ----------
    kind : str
        ``"ble"``, ``"emulated"``, ``"replay:NAME"``, ``"sim:SEED"`` (``"sim:SEED:VARIANT"``),
        ``"stored:ID"``...
    speed : float
        Source-clock seconds per wall-clock second: 1 for a strap, the emulation or replay
        speed otherwise. Arrival jitter on the source's clock grows with it, so the session
        scales the beat clock's lag threshold by it (see :class:`~biofeedback.beats.BeatClock`).
    device_name, device_address : str or None
        The strap, once known (after the iteration started).
    """

    kind: str
    speed: float = 1.0
    device_name: str | None = None
    device_address: str | None = None


@runtime_checkable
class HeartRateSource(Protocol):
    """A source of measurements (and link events): async context manager + async iterator."""

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...

    def __aiter__(self) -> AsyncIterator[SourceEvent]: ...

    def info(self) -> SourceInfo:
        """What is known about the source so far."""
        ...

    def clock_s(self) -> float:
        """Now, on the clock of ``t_arrival_s``, s."""
        ...


class IteratingSource:
    """What every source shares: one iteration at a time, closed by ``aclose`` and by
    leaving ``async with``.

    A subclass writes :meth:`_events`, an async generator of its events, plus ``info`` and
    ``clock_s``. ``__aiter__`` starts a new iteration and remembers it (weakly), so that
    :meth:`aclose` closes it in the caller's task rather than leaving that to asyncio's
    async-generator finaliser. A subclass with more to stop extends :meth:`aclose` or
    ``__aexit__`` (calling :meth:`_close_iteration` first).
    """

    _agen: weakref.ref[AsyncGenerator[SourceEvent, None]] | None = None

    def _events(self) -> AsyncGenerator[SourceEvent, None]:
        raise NotImplementedError

    def __aiter__(self) -> AsyncIterator[SourceEvent]:
        agen = self._events()
        self._agen = weakref.ref(agen)
        return agen

    async def _close_iteration(self) -> None:
        """Close the iteration in progress, if any (its ``finally`` blocks run now)."""
        agen = None if self._agen is None else self._agen()
        if agen is not None:
            await agen.aclose()

    async def aclose(self) -> None:
        """Stop the iteration in progress, if any."""
        await self._close_iteration()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()


class PacedSource(IteratingSource):
    """A source playing events whose arrival times it knows (a file, a stored session).

    Its clock runs at :attr:`speed` times real time from the start of the iteration;
    with ``speed`` None it plays as fast as it is read, and its clock is the arrival time
    of the latest event handed out. A subclass sets :attr:`speed` and writes
    ``_events`` as ``self._paced(its events)``.
    """

    speed: float | None = None
    _start: float | None = None  # loop time of the start, s
    _origin_s: float | None = None  # arrival time at the start, s
    _last_s: float = 0.0  # arrival time of the latest event handed out, s

    def clock_s(self) -> float:
        """Now on the clock of the events' arrival times, s."""
        if self.speed is None or self._start is None or self._origin_s is None:
            return self._last_s
        return self._origin_s + (asyncio.get_running_loop().time() - self._start) * self.speed

    async def _paced(self, events: Iterable[SourceEvent], origin_s: float | None = None
                     ) -> AsyncGenerator[SourceEvent, None]:
        """Each of ``events`` once its arrival time has come on the source's clock.

        Parameters
        ----------
        events : iterable of SourceEvent
            In arrival order (read lazily, as they are due).
        origin_s : float, optional
            The clock's time at the start, s; by default the first event's arrival.
        """
        loop = asyncio.get_running_loop()
        self._start = start = loop.time()
        self._origin_s = origin_s
        for event in events:
            t_s = event.t_arrival_s
            if self._origin_s is None:
                self._origin_s = t_s
            if self.speed is not None:
                await asyncio.sleep(max(0.0, start + (t_s - self._origin_s) / self.speed - loop.time()))
            else:
                await asyncio.sleep(0)
            self._last_s = max(self._last_s, t_s)
            yield event
