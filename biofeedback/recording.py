"""One recording as data: its beats, the breaks in its beat chain, its link events, and
where and when it was made.

Every place that needs the shape of a session (the beat CSV, the session store, ``show``,
the plots, the trends) takes a :class:`Recording` instead of re-deriving stretches and gap
totals from loose arrays. A recording always has a wall-clock start, so that it can be put
on a trend.

Beat times are on the beat clock (s from the beat that starts the first interval; see
:mod:`biofeedback.beats`). A beat flagged ``AFTER_GAP`` is the first of a new unbroken
stretch: the gap before it is in :attr:`Recording.gaps`.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt

from biofeedback.beats import Beat, BeatFlags, BeatLog, Gap
from biofeedback.errors import InvalidInputError

__all__ = ["LinkEvent", "Recording", "RecordingMeta"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class RecordingMeta:
    """Where and when a recording was made.

    Attributes
    ----------
    start_utc : datetime.datetime
        Wall-clock time of the beat clock's zero, timezone-aware, in UTC.
    utc_offset_s : int
        The local time's offset from UTC at the start, s (east positive), so that a
        session can be shown at the hour the person practised.
    source : str
        Where the beats came from: ``"ble"``, ``"emulated"``, ``"sim:SEED"``,
        ``"file:NAME"``, ...
    device_name, device_address : str or None
        The strap, when there was one.
    software_version : str
        The biofeedback version that recorded it.
    start_estimated : bool
        True when the file held no start time and ``start_utc`` was estimated (e.g. from
        the file's modification time minus the recording's length).
    """

    start_utc: dt.datetime
    utc_offset_s: int = 0
    source: str = "unknown"
    device_name: str | None = None
    device_address: str | None = None
    software_version: str = ""
    start_estimated: bool = False

    def __post_init__(self) -> None:
        if self.start_utc.tzinfo is None or self.start_utc.utcoffset() != dt.timedelta(0):
            raise InvalidInputError(f"start_utc must be a timezone-aware time in UTC, got {self.start_utc!r}")
        if not -18 * 3600 <= self.utc_offset_s <= 18 * 3600:
            raise InvalidInputError(f"utc_offset_s must be within ±18 h, got {self.utc_offset_s!r}")

    @property
    def start_local(self) -> dt.datetime:
        """The start in the local time of the recording, with its offset."""
        return self.start_utc.astimezone(dt.timezone(dt.timedelta(seconds=self.utc_offset_s)))


@dataclass(frozen=True, slots=True)
class LinkEvent:
    """The link to the strap dropped or came back.

    Attributes
    ----------
    t_s : float
        Beat-clock time of the last beat before the event, s.
    kind : {"lost", "restored"}
    detail : str
        The reason of a loss, or how many attempts a reconnection took.
    """

    t_s: float
    kind: Literal["lost", "restored"]
    detail: str = ""


@dataclass(frozen=True, eq=False)
class Recording:
    """The beats of one recording, with its gaps, link events and metadata.

    Attributes
    ----------
    meta : RecordingMeta
    t_s : ndarray of float64
        Beat times on the beat clock, s, strictly increasing.
    rr_ms : ndarray of float64
        The RR interval ending at each beat, ms, as received (never rounded).
    flags : ndarray of int64
        :class:`~biofeedback.beats.BeatFlags` of each beat.
    gaps : tuple of Gap
        Breaks of the beat chain, in time order; each is closed by a beat flagged
        ``AFTER_GAP``.
    link_events : tuple of LinkEvent
        Link losses and reconnections, in time order.

    Examples
    --------
    >>> import datetime as dt
    >>> meta = RecordingMeta(start_utc=dt.datetime(2026, 1, 5, 7, 30, tzinfo=dt.timezone.utc))
    >>> rec = Recording.from_rr([1000.0, 1000.0, 1000.0], meta)
    >>> rec.n_beats, rec.duration_s, rec.gap_total_s
    (3, 3.0, 0.0)
    """

    meta: RecordingMeta
    t_s: FloatArray
    rr_ms: FloatArray
    flags: IntArray
    gaps: tuple[Gap, ...] = ()
    link_events: tuple[LinkEvent, ...] = field(default=())

    def __post_init__(self) -> None:
        n = self.t_s.size
        if self.t_s.ndim != 1 or self.rr_ms.shape != (n,) or self.flags.shape != (n,):
            raise InvalidInputError(
                f"a recording needs one time, one RR interval and one flag per beat; got {self.t_s.shape}, "
                f"{self.rr_ms.shape} and {self.flags.shape}"
            )
        if not (np.all(np.isfinite(self.t_s)) and np.all(np.isfinite(self.rr_ms)) and np.all(self.rr_ms > 0)):
            raise InvalidInputError("a recording's beat times and RR intervals must be finite, RR positive")
        if n > 1 and np.any(np.diff(self.t_s) <= 0):
            raise InvalidInputError("a recording's beat times must be strictly increasing")
        after_gap = int(np.count_nonzero(self.flags & int(BeatFlags.AFTER_GAP)))
        if after_gap != len(self.gaps):
            raise InvalidInputError(
                f"a recording has {len(self.gaps)} gap(s) but {after_gap} beat(s) flagged after_gap: "
                "each gap is closed by one such beat"
            )

    @classmethod
    def from_beats(
        cls,
        beats: Iterable[Beat],
        meta: RecordingMeta,
        gaps: Iterable[Gap] = (),
        link_events: Iterable[LinkEvent] = (),
    ) -> Recording:
        """A recording of ``beats`` as the beat clock timed them."""
        if isinstance(beats, BeatLog):  # the session's own log: its arrays, no Beat per beat
            t_s, rr_ms, flags = beats.arrays()
        else:
            beat_list = list(beats)
            t_s = np.array([b.t_s for b in beat_list], dtype=np.float64)
            rr_ms = np.array([b.rr_ms for b in beat_list], dtype=np.float64)
            flags = np.array([int(b.flags) for b in beat_list], dtype=np.int64)
        return cls(meta=meta, t_s=t_s, rr_ms=rr_ms, flags=flags, gaps=tuple(gaps), link_events=tuple(link_events))

    @classmethod
    def from_rr(cls, rr_ms: npt.ArrayLike, meta: RecordingMeta) -> Recording:
        """An unbroken recording of RR intervals: beat times are their cumulative sum."""
        rr = np.asarray(rr_ms, dtype=np.float64).ravel()
        return cls(meta=meta, t_s=np.cumsum(rr) / 1000.0, rr_ms=rr, flags=np.zeros(rr.size, dtype=np.int64))

    @property
    def n_beats(self) -> int:
        """Number of beats (RR intervals)."""
        return int(self.t_s.size)

    @property
    def duration_s(self) -> float:
        """Beat-clock time of the last beat, s (0 for an empty recording)."""
        return float(self.t_s[-1]) if self.t_s.size else 0.0

    @property
    def gap_total_s(self) -> float:
        """Total time of the breaks in the beat chain, s."""
        return math.fsum(g.duration_s for g in self.gaps)

    def stretches(self) -> list[slice]:
        """The unbroken stretches of the beat chain, as slices of the beat arrays, in order."""
        starts = np.flatnonzero(self.flags & int(BeatFlags.AFTER_GAP))
        bounds = [0, *(int(i) for i in starts if i > 0), self.n_beats]
        return [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:], strict=True) if b > a]

    def beats(self) -> list[Beat]:
        """The beats, as :class:`~biofeedback.beats.Beat` values."""
        return [
            Beat(t_s=float(t), rr_ms=float(rr), flags=BeatFlags(int(f)))
            for t, rr, f in zip(self.t_s, self.rr_ms, self.flags, strict=True)
        ]
