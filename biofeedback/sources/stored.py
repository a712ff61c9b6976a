"""A stored session played again, as if its strap sent it once more.

A session recorded from a strap keeps every raw frame (bytes and arrival time): it is
replayed from those frames, through the decoder itself
(:class:`~biofeedback.sources.frames.FrameDecoder`), so a decoding fix re-applies to old
sessions. A frame that did not decode is kept too and comes back in its place, as a
:class:`~biofeedback.beats.RejectedFrame` (skipped again by the session loop, or read by a
fixed decoder). Its link losses and restorations come back at the place among the frames where
they happened (the live sink stores how many frames came before each,
:data:`~biofeedback.store.sink.FRAMES_BEFORE`). The session loop's beat clock then
re-anchors exactly as when it was recorded, and the replayed recording's beats equal the
stored ones to the bit, with the same gaps.

A session with no frames (imported from a file, or recorded from a source with no strap
bytes) is replayed from its beats: one notification per beat, each arriving at its beat
time, its link events after the beat they followed, and each gap re-created at its place
(a link loss, the chain falling behind, or a stretch with no RR intervals), with the
arrival time of the beat after it chosen so that the beat clock closes the gap exactly
where the stored one ends (found by trying it on a copy of a beat clock like the
session's). A gap whose reason is none of the beat clock's own comes back with the
reason ``"no RR intervals"``.
"""

from __future__ import annotations

import copy
import logging
import math
import os
import re
from collections.abc import AsyncGenerator, Iterator
from typing import Any, Final

from biofeedback._validate import check_positive
from biofeedback.beats import MAX_LAG_S, Beat, BeatClock, BeatFlags, Gap, Measurement
from biofeedback.errors import InvalidInputError, SessionNotFoundError
from biofeedback.hrm import SensorContact
from biofeedback.recording import LinkEvent
from biofeedback.sources.base import LinkLost, LinkRestored, PacedSource, SourceEvent, SourceInfo
from biofeedback.sources.frames import FrameDecoder
from biofeedback.store import SessionStore
from biofeedback.store.records import Event
from biofeedback.store.sink import FRAMES_BEFORE

__all__ = ["StoredSessionSource"]

log = logging.getLogger(__name__)

LAG_REASON: Final[str] = "chain behind arrival clock"  # BeatClock's reason for a gap it found by itself
NO_RR_REASON: Final[str] = "no RR intervals"  # BeatClock's reason after a long run of frames without RR
_ATTEMPTS = re.compile(r"after (\d+) attempt")
_ULP_STEPS: Final[int] = 256  # arrival times tried each side when closing a gap exactly


class StoredSessionSource(PacedSource):
    """A heart-rate source that plays a stored session again.

    Parameters
    ----------
    store_or_path : SessionStore or path
        The store, or the path of its database (opened, read and closed here).
    session_id : int
        The session to play.
    speed : float, "max" or None
        Times faster than real time; None or ``"max"``: as fast as the consumer takes them.

    Attributes
    ----------
    session : StoredSession
        The session's row.
    recorded_speed : float
        The speed the session was recorded at (its ``settings["speed"]``; 1 without one).
    decoder : FrameDecoder
        Decodes the stored frames; its ``malformed_frames`` counts those skipped.

    Raises
    ------
    SessionNotFoundError
        No session ``session_id`` in the store, or no store at the path (none is created).
    InvalidInputError
        ``speed`` neither ``"max"``, None, nor a positive finite number.

    Notes
    -----
    :meth:`info` gives the recorded speed unless a speed is given: the session loop scales
    its beat clock's lag threshold by it, so a replay at the recorded speed (or at
    ``"max"``) re-anchors the chain exactly as the recording did. Arrival times are the
    stored ones at any speed; :meth:`clock_s` runs on that clock, from the first one.
    """

    def __init__(self, store_or_path: SessionStore | str | os.PathLike[str], session_id: int, *,
                 speed: float | str | None = None) -> None:
        if isinstance(speed, str) and speed != "max":
            raise InvalidInputError(f"speed must be a positive number of times real time or 'max', got {speed!r}")
        self.speed = None if speed is None or speed == "max" else check_positive(float(speed), "speed", "times real time")
        if isinstance(store_or_path, SessionStore):
            self._load(store_or_path, session_id)
        elif not os.path.isfile(store_or_path):  # SessionStore would create it: looking must not
            raise SessionNotFoundError(f"no session {session_id}: there is no session store at {store_or_path}")
        else:
            with SessionStore(store_or_path) as store:
                self._load(store, session_id)
        self.session_id = session_id
        self.recorded_speed = _recorded_speed(self.session.settings)
        self.decoder = FrameDecoder(f"session {session_id}")

    def _load(self, store: SessionStore, session_id: int) -> None:
        with store.snapshot():  # one moment of a session a live one may still be adding to
            self.session = store.session(session_id)  # SessionNotFoundError first
            self.frames = store.frames(session_id)
            self.events: list[Event] = store.events(session_id)
            self.recording, beats = store.recording_and_beats(session_id)
        self.hr_bpm = beats.hr_bpm

    def info(self) -> SourceInfo:
        """``"stored:ID"``, the speed (see the class notes), and the session's strap."""
        meta = self.session.meta
        return SourceInfo(kind=f"stored:{self.session_id}", speed=self.speed or self.recorded_speed,
                          device_name=meta.device_name, device_address=meta.device_address)

    def _events(self) -> AsyncGenerator[SourceEvent, None]:
        return self._paced(self._from_frames() if self.frames else self._from_beats())

    # -- from the frames ---------------------------------------------------------------

    def _from_frames(self) -> Iterator[SourceEvent]:
        placed: dict[int, list[Event]] = {}
        for e in self.events:
            if e.kind not in ("link_lost", "link_restored"):
                continue
            where = e.data.get(FRAMES_BEFORE)
            if not isinstance(where, int):
                log.warning("session %d: the %s at %.3f s has no place among the frames; not replayed",
                            self.session_id, e.kind, e.t_s)
                continue
            placed.setdefault(where, []).append(e)
        last_s = self.frames[0].t_arrival_s
        for i, (t_arrival_s, payload) in enumerate(self.frames):
            for e in placed.pop(i, ()):
                yield _link_event(e.kind, e.detail, last_s)
            last_s = t_arrival_s
            yield self.decoder.read(t_arrival_s, payload)  # a rejected frame again: no beat, stored again
        for where in sorted(placed):
            for e in placed[where]:
                yield _link_event(e.kind, e.detail, last_s)

    # -- from the beats ----------------------------------------------------------------

    def _from_beats(self) -> Iterator[SourceEvent]:
        rec = self.recording
        # the beat clock the session will run (Session scales MAX_LAG_S by the source's speed)
        shadow = BeatClock(max_lag_s=MAX_LAG_S * max(1.0, self.info().speed))
        gap_before = {s.start: g for s, g in zip(rec.stretches()[1:], rec.gaps, strict=True)}
        links: list[LinkEvent] = list(rec.link_events)
        li = 0
        arrival_s = 0.0  # of the previous notification
        offset_s = 0.0  # its arrival minus its last beat's time
        broken = False
        mismatched = 0
        for i, (t_s, rr, flags) in enumerate(zip(rec.t_s.tolist(), rec.rr_ms.tolist(), rec.flags.tolist(),
                                                 strict=True)):
            while li < len(links) and links[li].t_s < t_s:
                link = links[li]
                li += 1
                yield _link_event("link_lost" if link.kind == "lost" else "link_restored", link.detail, arrival_s)
                if link.kind == "lost":
                    shadow.break_chain(link.detail)
                    broken = True
            hr = self.hr_bpm[i]
            contact = SensorContact.NOT_DETECTED if flags & int(BeatFlags.NO_CONTACT) else SensorContact.DETECTED
            template = Measurement(0.0, int(hr) if math.isfinite(hr) else 0, (rr,), contact)
            gap = gap_before.get(i)
            if gap is not None and not broken and gap.reason != LAG_REASON:
                # a frame with no RR long after the last beat: the clock marks the chain stale
                stale = Measurement(arrival_s + shadow.max_lag_s + 3.0, template.heart_rate_bpm, (), contact)
                shadow.add(stale)
                yield stale
                if gap.reason != NO_RR_REASON:
                    log.debug("session %d: gap at %.3f s (%s) replayed as %r",
                              self.session_id, gap.start_s, gap.reason, NO_RR_REASON)
            if gap is None:
                m = _at(template, t_s + offset_s)
                beat = shadow.add(m)[0]
            else:
                shadow, m, beat = _closing(shadow, template, gap, t_s, offset_s, rr)
            if beat.t_s != t_s:
                mismatched += 1
            broken = False
            arrival_s = m.t_arrival_s
            offset_s = arrival_s - beat.t_s
            yield m
        for link in links[li:]:
            yield _link_event("link_lost" if link.kind == "lost" else "link_restored", link.detail, arrival_s)
        if mismatched:
            log.warning("session %d: %d beat time(s) are not on its RR chain and replay differently",
                        self.session_id, mismatched)


def _recorded_speed(settings: dict[str, Any]) -> float:
    """``settings["speed"]`` when it is a positive finite number, else 1."""
    speed = settings.get("speed")
    if isinstance(speed, int | float) and not isinstance(speed, bool) and math.isfinite(speed) and speed > 0:
        return float(speed)
    return 1.0


def _link_event(kind: str, detail: str, t_arrival_s: float) -> LinkLost | LinkRestored:
    """A stored link event as the source event the session loop turns back into it."""
    if kind == "link_lost":
        return LinkLost(t_arrival_s=t_arrival_s, reason=detail)
    found = _ATTEMPTS.match(detail)
    return LinkRestored(t_arrival_s=t_arrival_s, attempts=int(found.group(1)) if found else 1)


def _at(template: Measurement, t_arrival_s: float) -> Measurement:
    return Measurement(t_arrival_s, template.heart_rate_bpm, template.rr_ms, template.contact)


def _closing(shadow: BeatClock, template: Measurement, gap: Gap, t_s: float, offset_s: float,
             rr: float) -> tuple[BeatClock, Measurement, Beat]:
    """The first beat after ``gap``, arriving when the beat clock closes the gap exactly at its end.

    Tries arrival times on copies of ``shadow``: the estimate, then corrections by the
    error, then neighbouring floats; keeps the first that gives the stored gap end and
    beat time (else the closest). Returns the clock after it, the measurement and its beat.
    """
    n_gaps = len(shadow.gaps)

    def attempt(a: float) -> tuple[float, BeatClock, Measurement, Beat]:
        trial = copy.deepcopy(shadow)
        m = _at(template, a)
        beat = trial.add(m)[0]
        end_s = trial.gaps[-1].end_s if len(trial.gaps) > n_gaps else math.inf
        return abs(end_s - gap.end_s) + abs(beat.t_s - t_s), trial, m, beat

    a = gap.end_s + rr / 1000.0 + offset_s
    best = attempt(a)
    for _ in range(4):
        if best[0] == 0.0 or not math.isfinite(best[0]):
            break
        a += gap.end_s - best[1].gaps[-1].end_s
        tried = attempt(a)
        best = min(best, tried, key=lambda x: x[0])
    up = down = best[2].t_arrival_s
    for _ in range(_ULP_STEPS):
        if best[0] == 0.0:
            break
        up, down = math.nextafter(up, math.inf), math.nextafter(down, -math.inf)
        best = min(best, attempt(up), attempt(down), key=lambda x: x[0])
    _, trial, m, beat = best
    return trial, m, beat
