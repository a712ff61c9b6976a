"""The live loop: one source, through the beat clock, to an ordered list of pieces.

A :class:`Session` is wiring, not logic. It enters the source (``async with``), turns its
:data:`~biofeedback.sources.base.SourceEvent` values into beats with a
:class:`~biofeedback.beats.BeatClock`, and hands every measurement, beat, gap and link
event, and every frame that did not decode, to its pieces (see :mod:`biofeedback.pieces` for the hooks and their order):
processors first (a coach), then sinks (the beat CSV, a store), then displays (the status
line, a prompt). Displays also get a clock tick between beats. It stops when the beat
clock reaches the requested length, the source ends, :meth:`Session.stop` is called, or
the task running it is cancelled (Ctrl-C); whichever way, the source is stopped
(notifications off, disconnected), every piece's ``finish`` is called, and the
:class:`~biofeedback.recording.Recording` holds every beat recorded.

Adding to a session (a coach, a pacer, a store, a prompt) means adding pieces::

    session = Session(source, processors=[coach], sinks=[csv, store], displays=[status, prompt],
                      duration_s=600.0)
    recording = await session.run()
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Final

from biofeedback import __version__
from biofeedback._words import plural
from biofeedback.beats import MAX_LAG_S, BeatClock, BeatLog, Measurement, RejectedFrame
from biofeedback.errors import InvalidInputError
from biofeedback.pieces import Piece, SessionEvent
from biofeedback.recording import LinkEvent, Recording, RecordingMeta
from biofeedback.sources.base import HeartRateSource, LinkLost, LinkRestored, SourceEvent

__all__ = ["TICK_S", "Session", "local_now"]

log = logging.getLogger(__name__)

TICK_S: Final[float] = 0.05  # wall time between two display ticks, s


def local_now() -> dt.datetime:
    """The wall-clock time now, timezone-aware in the local zone."""
    return dt.datetime.now().astimezone()


class Session:
    """One live recording: a source and the pieces its stream goes to.

    Parameters
    ----------
    source : HeartRateSource
        Any source (BLE strap, emulated strap, replayed file, simulated person); the
        session enters it (``async with``) and leaves it.
    processors, sinks, displays : sequence of Piece
        What gets the stream, called in this order for each item (processors, then sinks,
        then displays, each list in its order). Displays also get ``tick``.
    duration_s : float or None
        Stop once a beat reaches this beat-clock time, s; beats after it are not recorded.
        None: until the source ends, :meth:`stop`, or cancellation.
    tick_s : float
        Wall time between display ticks, s.
    software_version : str
        Written in the recording's metadata.
    wall_clock : callable
        Returns the timezone-aware wall-clock time now (for the recording's start).

    Attributes
    ----------
    clock : BeatClock
        The beat clock; its lag threshold is :data:`~biofeedback.beats.MAX_LAG_S` times the
        source's speed (arrival jitter on an emulated strap's clock grows with its speed).
    beats : BeatLog (a sequence of Beat)
        Every beat recorded so far.
    link_events : list of LinkEvent
    measurements : int
        Notifications received.
    meta : RecordingMeta or None
        Set at the first beat.
    ticks : int
        Ticks given to the displays so far.
    """

    def __init__(
        self,
        source: HeartRateSource,
        *,
        processors: Sequence[Piece] = (),
        sinks: Sequence[Piece] = (),
        displays: Sequence[Piece] = (),
        duration_s: float | None = None,
        tick_s: float = TICK_S,
        software_version: str = __version__,
        wall_clock: Callable[[], dt.datetime] = local_now,
    ) -> None:
        if duration_s is not None and not duration_s > 0:
            raise InvalidInputError(f"duration_s must be a positive number of seconds (or None), got {duration_s!r}")
        if not tick_s > 0:
            raise InvalidInputError(f"tick_s must be a positive number of seconds, got {tick_s!r}")
        self.source = source
        self.processors = list(processors)
        self.sinks = list(sinks)
        self.displays = list(displays)
        self.duration_s = duration_s
        self.tick_s = tick_s
        self.software_version = software_version
        self.wall_clock = wall_clock

        self.clock = BeatClock(max_lag_s=MAX_LAG_S * max(1.0, source.info().speed))
        self.beats = BeatLog()  # every beat, compactly (arrays, not a Python object a beat)
        self.link_events: list[LinkEvent] = []
        self.measurements = 0
        self.meta: RecordingMeta | None = None
        self.ticks = 0

        self._held: list[Measurement | RejectedFrame | SessionEvent] = []  # for processors and sinks, until begin
        self._gaps_out = 0  # gaps of the beat clock handed on so far
        self._last_beat_arrival_s = 0.0  # source-clock arrival of the measurement of the last beat
        self._last_tick_s = 0.0
        self._stop_requested = False
        self._consumer: asyncio.Task[None] | None = None
        self._events: AsyncIterator[SourceEvent] | None = None
        self._ran = False

    # -- what a caller (or a piece) can ask --------------------------------------------

    @property
    def pieces(self) -> list[Piece]:
        """Every piece, in the order they get each call."""
        return [*self.processors, *self.sinks, *self.displays]

    def recording(self) -> Recording:
        """Everything recorded so far, as a :class:`Recording`."""
        gaps = self.clock.gaps[: self._gaps_out]  # a gap whose closing beat came after the end is not in it
        return Recording.from_beats(self.beats, self.meta or self._make_meta(0.0), gaps, self.link_events)

    def now_s(self) -> float:
        """The session's estimate of now on the beat clock, s: smooth and monotonic.

        The last beat's time plus the source-clock time since the notification that carried
        it arrived (the source's clock runs at its replay or emulation speed), never less
        than the previous estimate; 0 before the first beat.
        """
        if self.beats:
            elapsed_s = max(0.0, self.source.clock_s() - self._last_beat_arrival_s)
            self._last_tick_s = max(self._last_tick_s, self.beats[-1].t_s + elapsed_s)
        return self._last_tick_s

    @property
    def stop_requested(self) -> bool:
        """Whether :meth:`stop` was called."""
        return self._stop_requested

    def stop(self) -> None:
        """End the session as if it had reached its length (e.g. on SIGTERM); :meth:`run` returns."""
        self._stop_requested = True
        if self._consumer is not None and not self._consumer.done():
            self._consumer.cancel()

    # -- the loop ---------------------------------------------------------------------

    async def run(self) -> Recording:
        """Record until the length, the source's end, :meth:`stop` or cancellation.

        Returns the recording; on cancellation, re-raises once the source is stopped and
        every piece finished (:meth:`recording` then still has every beat).
        """
        if self._ran:
            raise RuntimeError("a Session runs once; make a new one")
        self._ran = True
        try:
            async with self.source:
                if not self._stop_requested:
                    await self._run_entered()
        finally:
            self._events = None
            self._finish()
        return self.recording()

    async def _run_entered(self) -> None:
        consumer = self._consumer = asyncio.ensure_future(self._consume())
        tasks: set[asyncio.Future[None]] = {consumer}
        ticker = asyncio.ensure_future(self._tick()) if self.displays else None
        if ticker is not None:
            tasks.add(ticker)
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.wait(tasks)
        failed = ticker.exception() if ticker is not None and not ticker.cancelled() else None
        if failed is not None:
            raise failed  # a display failed: a bug to see, not to hide
        if consumer.cancelled():
            if not self._stop_requested:
                raise asyncio.CancelledError
            log.info("session stopped on request")
            return
        consumer.result()

    async def _consume(self) -> None:
        # held until the source is left: its __aexit__ closes the iteration, not a
        # garbage collector's finaliser racing it
        self._events = aiter(self.source)
        async for event in self._events:
            if self._take(event):
                return

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(self.tick_s)
            t_s = self.now_s()
            self.ticks += 1
            for display in self.displays:
                display.tick(t_s)

    def _take(self, event: SourceEvent) -> bool:
        """Hand on one source event; True once the session is long enough."""
        if isinstance(event, LinkLost):
            self.clock.break_chain(event.reason)
            log.info("link lost (%s); reconnecting", event.reason)
            self._event(LinkEvent(self.clock.last_beat_s, "lost", event.reason))
            return False
        if isinstance(event, LinkRestored):
            log.info("link restored after %d attempt(s)", event.attempts)
            self._event(LinkEvent(self.clock.last_beat_s, "restored", f"after {plural(event.attempts, 'attempt')}"))
            return False
        if isinstance(event, RejectedFrame):  # no beat in it; kept in its place among the frames
            self._to_stream(event, live=True)
            return False
        self.measurements += 1
        beats = self.clock.add(event)
        kept = [b for b in beats if self.duration_s is None or b.t_s <= self.duration_s]
        if kept and self.meta is None:
            self._begin(kept[-1].t_s)
        self._to_stream(event, live=True)
        for beat in kept:
            while self._gaps_out < len(self.clock.gaps):
                self._to_stream(self.clock.gaps[self._gaps_out], live=True)
                self._gaps_out += 1
            self.beats.append(beat)
            self._last_beat_arrival_s = event.t_arrival_s
            for piece in self.pieces:
                piece.beat(beat)
        return len(kept) < len(beats) or (
            self.duration_s is not None and bool(kept) and kept[-1].t_s >= self.duration_s
        )

    def _event(self, event: LinkEvent) -> None:
        self.link_events.append(event)
        self._to_stream(event, live=True)

    def _to_stream(self, item: Measurement | RejectedFrame | SessionEvent, *, live: bool) -> None:
        """Deliver a measurement, rejected frame or event: held for processors and sinks until ``begin``."""
        if self.meta is None:
            self._held.append(item)
            targets = self.displays
        else:
            targets = self.pieces if live else [*self.processors, *self.sinks]
        for piece in targets:
            if isinstance(item, Measurement):
                piece.measurement(item)
            elif isinstance(item, RejectedFrame):
                piece.rejected_frame(item)
            else:
                piece.event(item)

    def _begin(self, beat_clock_now_s: float) -> None:
        """The first beat is here: make the metadata, begin every piece, hand on what was held."""
        self.meta = self._make_meta(beat_clock_now_s)
        for piece in self.pieces:
            piece.begin(self.meta)
        held, self._held = self._held, []
        for item in held:
            self._to_stream(item, live=False)

    def _make_meta(self, beat_clock_now_s: float) -> RecordingMeta:
        info = self.source.info()
        now = self.wall_clock()
        offset = now.utcoffset() or dt.timedelta(0)
        # the beat clock's zero, in wall time: beat-clock time passes at the source's speed
        start = now.astimezone(dt.UTC) - dt.timedelta(seconds=beat_clock_now_s / max(info.speed, 1e-9))
        return RecordingMeta(
            start_utc=start,
            utc_offset_s=round(offset.total_seconds()),
            source=info.kind,
            device_name=info.device_name,
            device_address=info.device_address,
            software_version=self.software_version,
        )

    def _finish(self) -> None:
        recording = self.recording()
        errors: list[Exception] = []
        for piece in self.pieces:
            try:
                piece.finish(recording)
            except Exception as exc:  # noqa: BLE001 - every piece gets to finish; the first error is raised
                errors.append(exc)
        if errors:
            raise errors[0]
