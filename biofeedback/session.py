"""The live loop: a source's events through the beat clock to whoever consumes beats.

It knows nothing of how a source, a writer or a display work inside: it turns
:data:`~biofeedback.sources.base.SourceEvent` into :class:`~biofeedback.beats.Beat` with
a :class:`~biofeedback.beats.BeatClock`, hands every beat to ``on_beat`` as soon as it is
timed, and stops when the beat clock reaches the requested length or the source ends.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from biofeedback.beats import Beat, BeatClock, Gap, Measurement
from biofeedback.sources.base import HeartRateSource, LinkLost, LinkRestored, SourceEvent

__all__ = ["RecordSummary", "record"]

log = logging.getLogger(__name__)


@dataclass
class RecordSummary:
    """What a recording produced.

    Attributes
    ----------
    beats : int
        Beats handed to ``on_beat``.
    duration_s : float
        Beat-clock time of the last beat, s.
    gaps : list of Gap
        Breaks of the RR chain, on the beat clock.
    link_losses : int
        Times the link dropped (each followed by a reconnection unless the session ended).
    measurements : int
        Notifications received.
    """

    beats: int = 0
    duration_s: float = 0.0
    gaps: list[Gap] = field(default_factory=list)
    link_losses: int = 0
    measurements: int = 0


async def record(
    source: HeartRateSource,
    on_beat: Callable[[Beat], None],
    *,
    duration_s: float | None = None,
    on_event: Callable[[SourceEvent], None] | None = None,
    clock: BeatClock | None = None,
    summary: RecordSummary | None = None,
) -> RecordSummary:
    """Record beats from ``source`` until ``duration_s`` of beat clock, or the source ends.

    Parameters
    ----------
    source : HeartRateSource
        Any source: BLE strap, simulated person, replayed file.
    on_beat : callable
        Called with each beat, in order, as soon as it is timed.
    duration_s : float or None
        Stop once a beat reaches this beat-clock time, s; beats after it are not recorded.
        None: until the source ends or the task is cancelled.
    on_event : callable, optional
        Also called with every source event (for status displays).
    clock : BeatClock, optional
        The beat clock to use (a fresh one by default).
    summary : RecordSummary, optional
        Filled in as the recording goes, so a caller that cancels the task still has it.
    """
    clock = clock or BeatClock()
    summary = summary if summary is not None else RecordSummary()
    summary.gaps = clock.gaps
    events = aiter(source)
    try:
        async for event in events:
            if on_event is not None:
                on_event(event)
            if isinstance(event, LinkLost):
                summary.link_losses += 1
                clock.break_chain(event.reason)
                log.info("link lost (%s); reconnecting", event.reason)
            elif isinstance(event, LinkRestored):
                log.info("link restored after %d attempt(s)", event.attempts)
            elif _take(event, clock, on_beat, duration_s, summary):
                break
    finally:
        aclose = getattr(events, "aclose", None)
        if aclose is not None:  # stop the source now (notifications off, disconnect)
            await aclose()
    return summary


def _take(
    m: Measurement,
    clock: BeatClock,
    on_beat: Callable[[Beat], None],
    duration_s: float | None,
    summary: RecordSummary,
) -> bool:
    """Time one measurement's beats and hand them on; True once the session is long enough."""
    summary.measurements += 1
    for beat in clock.add(m):
        if duration_s is not None and beat.t_s > duration_s:
            return True
        on_beat(beat)
        summary.beats += 1
        summary.duration_s = beat.t_s
        if duration_s is not None and beat.t_s >= duration_s:
            return True
    return False
