"""What the session store gives back: plain values, no database handles."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from biofeedback.hr_drop import hr_drop_bpm, hr_drop_pct
from biofeedback.recording import RecordingMeta

__all__ = ["BeatTable", "Event", "Frame", "StoredSession"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class StoredSession:
    """One session's row: what ``biofeedback sessions`` lists and ``show ID`` starts from.

    Attributes
    ----------
    id : int
    meta : RecordingMeta
        Wall-clock start (UTC) with the local offset, source, strap, software version.
    end_utc : datetime or None
        When it ended, UTC: the start plus the last beat's beat-clock time unless the writer
        gave another; None while it is being recorded.
    status : {"recording", "complete", "incomplete", "interrupted"}
        ``recording`` while written (or its writer died and no writer opened the store
        since); ``complete`` when it ran its planned course; ``incomplete`` when it was
        ended early and finished properly (Ctrl-C); ``interrupted`` when its writer died
        (killed, power cut) and a later opening of the store closed it.
    settings, summary : dict
        As the writer gave them (JSON); ``summary`` is None until the session is finished.
    n_beats : int
    duration_s : float
        Beat-clock time of the last beat, s.
    n_gaps : int
    gap_total_s : float
    baseline_hr_bpm, final_hr_bpm : float or None
        Heart rate at the start and at the end, beats/min (from the summary).
    resonance_bpm : float or None
        Resonance pace found, breaths/min (from the summary).
    quality : float or None
        The summary's share of usable beats, 0..1.
    pain_before, tension_before, pain_after, tension_after : int or None
        Ratings 0..10, each optional.
    note : str or None
    """

    id: int
    meta: RecordingMeta
    end_utc: dt.datetime | None
    status: str
    settings: dict[str, Any]
    summary: dict[str, Any] | None
    n_beats: int
    duration_s: float
    n_gaps: int
    gap_total_s: float
    baseline_hr_bpm: float | None = None
    final_hr_bpm: float | None = None
    resonance_bpm: float | None = None
    quality: float | None = None
    pain_before: int | None = None
    tension_before: int | None = None
    pain_after: int | None = None
    tension_after: int | None = None
    note: str | None = None

    @property
    def complete(self) -> bool:
        """Whether the session ran its planned course and was finished."""
        return self.status == "complete"

    @property
    def minutes(self) -> float:
        """Length on the beat clock, minutes."""
        return self.duration_s / 60.0

    @property
    def hr_drop_bpm(self) -> float | None:
        """Baseline minus final heart rate, beats/min (positive: it fell)."""
        return hr_drop_bpm(self.baseline_hr_bpm, self.final_hr_bpm)

    @property
    def hr_drop_pct(self) -> float | None:
        """The drop as a percentage of the baseline heart rate."""
        return hr_drop_pct(self.baseline_hr_bpm, self.final_hr_bpm)


@dataclass(frozen=True, eq=False)
class BeatTable:
    """Every column of a session's beats, one array each, in beat order.

    Attributes
    ----------
    t_s : ndarray of float64
        Beat times on the beat clock, s.
    rr_ms : ndarray of float64
        RR intervals exactly as stored, ms.
    hr_bpm : ndarray of float64
        The strap's heart-rate figure, beats/min; NaN where none was stored.
    flags : ndarray of int64
        :class:`~biofeedback.beats.BeatFlags`.
    pace_bpm : ndarray of float64
        Pace shown at each beat, breaths/min; NaN where none.
    phase : ndarray of float64
        Breath phase shown at each beat, 0..1; NaN where none.
    """

    t_s: FloatArray
    rr_ms: FloatArray
    hr_bpm: FloatArray
    flags: IntArray
    pace_bpm: FloatArray
    phase: FloatArray

    def __len__(self) -> int:
        return int(self.t_s.size)


@dataclass(frozen=True)
class Event:
    """Something that happened during a session, on the beat clock.

    Attributes
    ----------
    t_s : float
        Beat-clock time, s (for a gap: its start).
    kind : str
        ``coach``, ``gap``, ``link_lost``, ``link_restored``, ``battery``, ``note``, ...
    detail : str
        The reason or words that go with it.
    stage : str or None
        The coach's stage, where there is one.
    data : dict
        Anything else, as JSON (a gap's ``end_s``, a battery's ``level_pct``, ...).
    """

    t_s: float
    kind: str
    detail: str = ""
    stage: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


class Frame(NamedTuple):
    """One raw strap notification: arrival time on the source's clock (s) and its bytes."""

    t_arrival_s: float
    payload: bytes
