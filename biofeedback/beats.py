"""From RR intervals to a timed beat series.

Beat times come from the RR chain, the cumulative sum of the intervals, never from the
arrival times of notifications, which jitter by hundreds of milliseconds. The arrival
time is used only to anchor the chain: at the first measurement, and again whenever the
chain breaks (the link dropped, or the chain fell behind the arrival clock because
notifications were lost). Each break is kept as a :class:`Gap`.

A beat's time ``t_s`` is the moment of the beat that *ends* its RR interval, counted in
seconds on the beat clock, whose zero is the beat that starts the first interval. For an
unbroken chain ``t_s == cumsum(rr_ms) / 1000``.
"""

from __future__ import annotations

import enum
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Final, overload

import numpy as np
import numpy.typing as npt

from biofeedback._validate import rr_array
from biofeedback.hrm import SensorContact

__all__ = ["MAX_LAG_S", "Beat", "BeatClock", "BeatFlags", "BeatLog", "Gap", "Measurement", "RejectedFrame", "beat_times_s"]

MAX_LAG_S: Final[float] = 2.5  # chain behind arrival clock by more than this: re-anchor, s


@dataclass(frozen=True, slots=True)
class Measurement:
    """One notification as a source delivers it.

    Attributes
    ----------
    t_arrival_s : float
        When it arrived, seconds on the source's clock (monotonic; only used to anchor).
    heart_rate_bpm : int
        The strap's own heart-rate figure, beats/min.
    rr_ms : tuple of float
        RR intervals in this notification, ms, oldest first; possibly empty.
    contact : SensorContact
        Skin-contact status the strap reported.
    raw : bytes
        The notification as it came over the air (0x2A37 payload), where the source has
        it (a strap); empty otherwise. Kept so that a store can keep the strap's frames.
    """

    t_arrival_s: float
    heart_rate_bpm: int
    rr_ms: tuple[float, ...] = ()
    contact: SensorContact = SensorContact.NOT_SUPPORTED
    raw: bytes = b""


@dataclass(frozen=True, slots=True)
class RejectedFrame:
    """A notification that did not decode, as a source delivers it: not a measurement,
    but kept (a store keeps every frame, so that a fixed decoder can read it again).

    Attributes
    ----------
    t_arrival_s : float
        When it arrived, seconds on the source's clock.
    raw : bytes
        The notification as it came over the air (0x2A37 payload).
    reason : str
        Why the decoder rejected it, in plain words.
    """

    t_arrival_s: float
    raw: bytes
    reason: str


class BeatFlags(enum.IntFlag):
    """What is known about one beat."""

    NONE = 0
    AFTER_GAP = 1  # first beat after the chain broke and was re-anchored
    NO_CONTACT = 2  # the strap said the skin contact was lost
    ARTIFACT = 4  # flagged by artefact detection
    CORRECTED = 8  # the interval was changed by artefact correction


@dataclass(frozen=True, slots=True)
class Beat:
    """One heartbeat on the beat clock.

    Attributes
    ----------
    t_s : float
        Time of the beat that ends this interval, s on the beat clock.
    rr_ms : float
        The RR interval ending at this beat, ms.
    flags : BeatFlags
    """

    t_s: float
    rr_ms: float
    flags: BeatFlags = BeatFlags.NONE


class BeatLog(Sequence[Beat]):
    """Every beat of a session, kept compactly: a sequence of :class:`Beat` that stores
    their times, intervals and flags in three typed arrays (24 bytes a beat instead of a
    Python object of about 100), so a day of beats holds ~2.5 MB and grows without
    per-beat objects. Indexing and iterating give :class:`Beat` values equal to those
    appended.

    Examples
    --------
    >>> log = BeatLog()
    >>> log.append(Beat(1.0, 1000.0)); log.append(Beat(1.8, 800.0, BeatFlags.AFTER_GAP))
    >>> len(log), log[-1], log[0] == Beat(1.0, 1000.0)
    (2, Beat(t_s=1.8, rr_ms=800.0, flags=<BeatFlags.AFTER_GAP: 1>), True)
    """

    __slots__ = ("_flags", "_rr_ms", "_t_s")

    def __init__(self) -> None:
        self._t_s = array("d")
        self._rr_ms = array("d")
        self._flags = array("q")

    def append(self, beat: Beat) -> None:
        """Keep one more beat (the latest)."""
        self._t_s.append(beat.t_s)
        self._rr_ms.append(beat.rr_ms)
        self._flags.append(int(beat.flags))

    def __len__(self) -> int:
        return len(self._t_s)

    @overload
    def __getitem__(self, index: int) -> Beat: ...

    @overload
    def __getitem__(self, index: slice) -> list[Beat]: ...

    def __getitem__(self, index: int | slice) -> Beat | list[Beat]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        return Beat(self._t_s[index], self._rr_ms[index], BeatFlags(self._flags[index]))

    def __iter__(self) -> Iterator[Beat]:
        for t, rr, f in zip(self._t_s, self._rr_ms, self._flags, strict=True):
            yield Beat(t, rr, BeatFlags(f))

    def arrays(self) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.int64]]:
        """Copies of the beat times (s), intervals (ms) and flags, as numpy arrays."""
        return (np.array(self._t_s, dtype=np.float64), np.array(self._rr_ms, dtype=np.float64),
                np.array(self._flags, dtype=np.int64))


@dataclass(frozen=True, slots=True)
class Gap:
    """A stretch of the beat clock with no RR coverage.

    Attributes
    ----------
    start_s : float
        Time of the last beat before the break, s on the beat clock.
    end_s : float
        Start of the first interval after the break (its beat time minus its RR), s.
    reason : str
        Why the chain broke ("link lost", "chain behind arrival clock").
    """

    start_s: float
    end_s: float
    reason: str

    @property
    def duration_s(self) -> float:
        """Length of the gap, s."""
        return self.end_s - self.start_s


@dataclass
class BeatClock:
    """Turns measurements into beats timed by the RR chain.

    Parameters
    ----------
    max_lag_s : float
        When the chain's last beat falls more than this behind the arrival clock (mapped
        onto the beat clock), notifications were lost: the chain is re-anchored and a gap
        recorded. Seconds.

    Examples
    --------
    >>> clock = BeatClock()
    >>> [b.t_s for b in clock.add(Measurement(10.0, 60, (1000.0, 1000.0)))]
    [1.0, 2.0]
    >>> [b.t_s for b in clock.add(Measurement(11.1, 60, (1000.0,)))]
    [3.0]
    """

    max_lag_s: float = MAX_LAG_S
    gaps: list[Gap] = field(default_factory=list)
    _offset_s: float | None = None  # arrival time minus beat-clock time, s
    _last_t_s: float = 0.0
    _broken_reason: str | None = None

    @property
    def last_beat_s(self) -> float:
        """Time of the latest beat on the beat clock, s (0 before the first beat)."""
        return self._last_t_s

    def break_chain(self, reason: str = "link lost") -> None:
        """Mark the chain as broken: the next measurement re-anchors it and closes a gap."""
        if self._offset_s is not None and self._broken_reason is None:
            self._broken_reason = reason

    def add(self, m: Measurement) -> list[Beat]:
        """Time the RR intervals of one measurement; returns the new beats, oldest first."""
        if not m.rr_ms:
            if self._offset_s is not None and self._broken_reason is None:
                lag = m.t_arrival_s - self._offset_s - self._last_t_s
                if lag > self.max_lag_s + 2.0:  # no RR for long: the chain is stale
                    self._broken_reason = "no RR intervals"
            return []
        total_s = sum(m.rr_ms) / 1000.0
        flags0 = BeatFlags.NONE
        if self._offset_s is None:
            self._offset_s = m.t_arrival_s - total_s
        else:
            reason = self._broken_reason
            if reason is None:
                lag = (m.t_arrival_s - self._offset_s) - (self._last_t_s + total_s)
                if lag > self.max_lag_s:
                    reason = "chain behind arrival clock"
            if reason is not None:
                start = self._last_t_s
                anchored = m.t_arrival_s - self._offset_s - total_s
                end = max(anchored, start)
                self._offset_s = m.t_arrival_s - (end + total_s)
                self.gaps.append(Gap(start_s=start, end_s=end, reason=reason))
                self._last_t_s = end
                self._broken_reason = None
                flags0 = BeatFlags.AFTER_GAP
        if m.contact is SensorContact.NOT_DETECTED:
            flags0 |= BeatFlags.NO_CONTACT
        out: list[Beat] = []
        t = self._last_t_s
        for i, rr in enumerate(m.rr_ms):
            t += rr / 1000.0
            flags = flags0 if i == 0 else flags0 & ~BeatFlags.AFTER_GAP
            out.append(Beat(t_s=t, rr_ms=rr, flags=flags))
        self._last_t_s = t
        return out


def beat_times_s(rr_ms: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Beat times of an unbroken RR chain, s: ``cumsum(rr_ms) / 1000``.

    Raises
    ------
    InvalidInputError
        If ``rr_ms`` is empty, not finite, or not positive.
    """
    return np.cumsum(rr_array(rr_ms, what="beat_times_s")) / 1000.0
