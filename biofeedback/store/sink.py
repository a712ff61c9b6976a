"""A live session into the store: the session loop's sink hooks, one committed row per call.

:class:`StoreSink` has the hooks of the session loop's pieces (``begin``, ``measurement``,
``beat``, ``event``, ``tick``, ``finish``; see ``biofeedback.pieces``) and writes what each
brings: the session's row at ``begin``, every raw strap notification (those that did not
decode too, in their place), every beat with the
strap's heart rate and the pace and breath phase the prompt showed, every gap (with its
reason) and link event (with the number of frames stored before it, :data:`FRAMES_BEFORE`,
so that a replay of the frames gives it at the same place in the stream). It does not close
the session: the caller, which has the summary, calls :meth:`SessionStore.finish_session`
with :attr:`StoreSink.session_id`. A session whose caller dies before that is kept and
later marked ``interrupted``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any, Final, Protocol

from biofeedback.beats import Beat, Gap, Measurement, RejectedFrame
from biofeedback.pieces import Piece
from biofeedback.recording import LinkEvent, Recording, RecordingMeta
from biofeedback.store import SessionStore

__all__ = ["FRAMES_BEFORE", "BreathShown", "StoreSink"]

log = logging.getLogger(__name__)

FRAMES_BEFORE: Final[str] = "frames_before"  # a link event's data: frames of its session stored before it


class _Breath(Protocol):
    @property
    def pace_bpm(self) -> float: ...

    @property
    def phase(self) -> float: ...


class BreathShown(Protocol):
    """What the prompt shows at a beat-clock time: a pacer (``Pacer.at(t_s)`` returns a
    ``BreathState`` with ``pace_bpm`` and ``phase``)."""

    def at(self, t_s: float) -> _Breath: ...


class StoreSink(Piece):
    """Writes one live session into ``store``.

    Parameters
    ----------
    store : SessionStore
    settings : mapping, optional
        What the session was asked to do, stored with it.
    pacer : BreathShown, optional
        Where the pace and breath phase shown at each beat come from; None: not stored.
    """

    def __init__(
        self, store: SessionStore, settings: Mapping[str, Any] | None = None, *, pacer: BreathShown | None = None
    ) -> None:
        self.store = store
        self.settings = dict(settings or {})
        self.pacer = pacer
        self.session_id: int | None = None
        self._hr_bpm: int | None = None
        self._frames = 0  # frames stored so far
        self._early: list[tuple[Callable[[Any], None], Any]] = []  # (hook, what it got) before begin

    def begin(self, meta: RecordingMeta) -> None:
        """Open the session's row; anything that came before is written now, in order."""
        self.session_id = self.store.start_session(meta, self.settings)
        early, self._early = self._early, []
        for hook, item in early:
            hook(item)

    def measurement(self, m: Measurement) -> None:
        """Keep the notification's raw bytes (when the source has them) and its heart rate."""
        if self.session_id is None:
            self._early.append((self.measurement, m))
            return
        raw = getattr(m, "raw", b"")  # the notification's bytes, where the source has them
        if raw:
            self.store.add_frame(self.session_id, m.t_arrival_s, raw)
            self._frames += 1
        self._hr_bpm = m.heart_rate_bpm

    def rejected_frame(self, frame: RejectedFrame) -> None:
        """Keep a notification that did not decode among the others: a fixed decoder can read it."""
        if self.session_id is None:
            self._early.append((self.rejected_frame, frame))
            return
        self.store.add_frame(self.session_id, frame.t_arrival_s, frame.raw)
        self._frames += 1

    def beat(self, beat: Beat) -> None:
        """Store the beat with the heart rate of its notification and the breath shown at it."""
        if self.session_id is None:
            self._early.append((self.beat, beat))
            return
        pace_bpm = phase = None
        if self.pacer is not None:
            shown = self.pacer.at(beat.t_s)
            pace_bpm, phase = shown.pace_bpm, shown.phase
        self.store.add_beat(self.session_id, beat, hr_bpm=self._hr_bpm, pace_bpm=pace_bpm, phase=phase)

    def event(self, event: Gap | LinkEvent) -> None:
        """Store a gap of the beat chain (with its reason) or a link loss or restoration."""
        if self.session_id is None:
            self._early.append((self.event, event))
        elif isinstance(event, Gap):
            self.store.add_gap(self.session_id, event)
        else:  # where it fell among the frames: a replay of the frames puts it back there
            self.store.add_link_event(self.session_id, event, data={FRAMES_BEFORE: self._frames})

    def tick(self, t_s: float) -> None:
        """Nothing: the store writes on beats and events, not on the clock."""

    def finish(self, recording: Recording) -> None:
        """Nothing to write: every beat is stored already; the caller finishes the session
        with its summary (:meth:`SessionStore.finish_session`)."""
        if self.session_id is not None:
            log.debug("session %d: %d beats stored", self.session_id, recording.n_beats)
