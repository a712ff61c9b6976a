"""What the session loop hands its stream to: the :class:`Piece` interface.

A live session (:class:`biofeedback.session.Session`) is a source plus an ordered list of
pieces. Each piece overrides the hooks it needs; the others do nothing. The session calls
them in this order:

1. ``begin(meta)`` once, just before the first beat, when the recording's start and
   device are known. Measurements and events that came before it (the frames a strap
   sends while it settles, a link lost while connecting) are delivered right after it, in
   their order, so that a sink sees ``begin`` first.
2. For every notification: ``measurement(m)`` (with its raw bytes in ``m.raw``), then,
   for each beat it carries, ``event(gap)`` when the beat closes a break of the beat chain,
   and ``beat(beat)``. Each call goes to every piece in list order before the next call:
   processors (a coach deciding the pace at this beat), then sinks (the beat CSV, a
   store: they can read what the processors decided), then displays.
3. ``event(link_event)`` when the link drops or comes back, and ``rejected_frame(frame)``
   for a notification that did not decode (a store keeps it among the frames; it carries
   no beat).
4. Displays only: ``tick(t_s)`` every few tens of ms of wall time, with ``t_s`` the
   session's smooth, monotonic estimate of "now" on the beat clock, so that a display can
   redraw between beats. A tick never delays a beat: hooks must return quickly.
5. ``finish(recording)`` once at the end, however the session ended (the end of the
   source, the requested length, a stop request, Ctrl-C, an error), with everything
   recorded.

Displays get events (link lost, restored) as they happen, even before ``begin``.

A piece may end the session early by calling the session's ``stop()`` (a coach at the end
of its plan); the session then finishes as if it had reached its length.

Pieces share state by reference: a store that writes the pace of each beat holds the
coach that decides it, and the order of the list guarantees that the coach has seen the
beat first. Every time is on the beat clock (s, see :mod:`biofeedback.beats`), except
``Measurement.t_arrival_s``, which is on the source's own clock.
"""

from __future__ import annotations

from biofeedback.beats import Beat, Gap, Measurement, RejectedFrame
from biofeedback.recording import LinkEvent, Recording, RecordingMeta

__all__ = ["Piece", "SessionEvent"]

SessionEvent = LinkEvent | Gap
"""What ``Piece.event`` gets: a link event, or the gap a beat closes (just before that beat)."""


class Piece:
    """Base of everything the session loop feeds; every hook does nothing by default."""

    def begin(self, meta: RecordingMeta) -> None:
        """The recording starts: called once, just before the first beat."""

    def measurement(self, m: Measurement) -> None:
        """One notification as the source delivered it (arrival time on the source's clock, raw bytes)."""

    def rejected_frame(self, frame: RejectedFrame) -> None:
        """A notification that did not decode (arrival time on the source's clock, raw bytes, why)."""

    def beat(self, beat: Beat) -> None:
        """One beat on the beat clock, as soon as it is timed."""

    def event(self, event: SessionEvent) -> None:
        """A link event, or a gap of the beat chain (delivered just before the beat that closes it)."""

    def tick(self, t_s: float) -> None:
        """Displays only: the session's estimate of now on the beat clock, s (monotonic)."""

    def finish(self, recording: Recording) -> None:
        """The session ended; ``recording`` holds everything recorded. Called exactly once."""
