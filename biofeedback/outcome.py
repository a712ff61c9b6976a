"""What a training session did: the figures of its end summary.

:func:`session_outcome` takes the finished :class:`~biofeedback.recording.Recording`
(artefacts are corrected on each unbroken stretch by :func:`biofeedback.analysis.correct_recording`,
Lipponen & Tarvainen 2019) and the pacer's breath onsets, and gives a
:class:`SessionOutcome`: how long it ran, the heart rate at the start and at the end and
the drop between them, the heart-rate swing per breath at the start and at the end, the
resonance pace the coach found, and how many artefacts and gaps there were.
:meth:`SessionOutcome.summary` is the JSON kept with the session in the store
(``SessionStore.finish_session``); :mod:`biofeedback.display.outcome` says it in words.

Definitions
-----------
- Heart rate at the start (baseline): the coach's own baseline where it has one (it
  measures it while the person settles), else the mean heart rate of the corrected beats
  of the first :data:`HR_WINDOW_S` seconds. At the end: the mean of the last
  :data:`HR_WINDOW_S` seconds. Mean heart rate is ``60000 / mean(NN)``, beats/min.
- Swing per breath: the peak-to-trough heart rate of each whole breath the pacer showed
  (:func:`biofeedback.hrv.rsa_amplitude` with the pacer's inhale onsets; a breath across a
  gap of the beat chain is left out); at the start and at the end, the median of the first
  and last :data:`SWING_BREATHS` breaths (Lehrer & Gevirtz 2014 use the peak-to-trough
  amplitude as the training signal).
- Quality: the share of intervals that needed no correction, 0..1.

References
----------
Lehrer, P. M., & Gevirtz, R. (2014). Heart rate variability biofeedback: how and why does
it work? Frontiers in Psychology 5, 756.
Lipponen, J. A., & Tarvainen, M. P. (2019). A robust algorithm for heart rate variability
time series artefact correction using novel beat classification. J. Med. Eng. Technol.
43(3), 173-181.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import asdict, dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from biofeedback import hrv
from biofeedback.analysis import correct_recording
from biofeedback.artifacts import MIN_INTERVALS
from biofeedback.beats import Gap
from biofeedback.hr_drop import hr_drop_bpm, hr_drop_pct
from biofeedback.recording import Recording

__all__ = ["HR_WINDOW_S", "SWING_BREATHS", "SessionOutcome", "breath_swings_bpm", "paced_breaths", "session_outcome"]

HR_WINDOW_S: Final[float] = 60.0  # heart rate at the start and at the end: mean over this much time, s
SWING_BREATHS: Final[int] = 3  # swing at the start and at the end: median of this many whole breaths

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class SessionOutcome:
    """The end summary of one training session.

    Attributes
    ----------
    duration_s : float
        Beat-clock time of the last beat, s.
    n_beats : int
        Beats recorded.
    baseline_hr_bpm, final_hr_bpm : float or None
        Heart rate at the start and at the end, beats/min (None: too few beats).
    swing_start_bpm, swing_end_bpm : float or None
        Heart-rate swing per breath at the start and at the end, beats/min.
    n_breaths : int
        Whole breaths with a swing.
    resonance_bpm : float or None
        The resonance pace found, breaths/min (None: none found, or a fixed pace).
    n_artefacts : int
        Intervals corrected as artefacts.
    artefact_share : float
        Their share of all intervals, 0..1.
    n_gaps : int
        Breaks of the beat chain.
    gap_total_s : float
        Their total time, s.
    quality : float
        Share of intervals that needed no correction, 0..1.
    n_decisions : int
        Pace decisions the coach made.
    ended_early : bool
        The person ended the session before its planned length.
    """

    duration_s: float
    n_beats: int
    baseline_hr_bpm: float | None
    final_hr_bpm: float | None
    swing_start_bpm: float | None
    swing_end_bpm: float | None
    n_breaths: int
    resonance_bpm: float | None
    n_artefacts: int
    artefact_share: float
    n_gaps: int
    gap_total_s: float
    quality: float
    n_decisions: int
    ended_early: bool

    @property
    def hr_drop_bpm(self) -> float | None:
        """Baseline minus final heart rate, beats/min (positive: it fell)."""
        return hr_drop_bpm(self.baseline_hr_bpm, self.final_hr_bpm)

    @property
    def hr_drop_pct(self) -> float | None:
        """The drop as a percentage of the baseline."""
        return hr_drop_pct(self.baseline_hr_bpm, self.final_hr_bpm)

    def summary(self) -> dict[str, float | int | bool | None]:
        """Every figure by name, with the drop: the JSON summary the store keeps (its keys
        ``baseline_hr_bpm``, ``final_hr_bpm``, ``resonance_bpm`` and ``quality`` are columns)."""
        out: dict[str, float | int | bool | None] = asdict(self)
        out["hr_drop_bpm"] = self.hr_drop_bpm
        out["hr_drop_pct"] = self.hr_drop_pct
        return out


def _mean_hr_bpm(nn_ms: FloatArray) -> float | None:
    return 60000.0 / float(np.mean(nn_ms)) if nn_ms.size else None


def paced_breaths(t_s: npt.ArrayLike, nn_ms: npt.ArrayLike, breath_onsets_s: npt.ArrayLike,
                  gaps: tuple[Gap, ...] | list[Gap] = ()) -> hrv.RsaBreaths:
    """The swing of each breath the pacer showed; NaN for a breath over a gap of the beat chain.

    :func:`biofeedback.hrv.rsa_amplitude` with the pacer's onsets (breaths
    ``[onset_i, onset_{i+1})`` inside the beats' span), and a breath that overlaps a gap
    NaN: its swing would join two stretches. The one place for it: the summary, the
    prompt, the trend and the session figure all measure breaths so.

    Parameters
    ----------
    t_s, nn_ms : array_like
        Beat times (s, beat clock, increasing) and their (corrected) intervals, ms.
    breath_onsets_s : array_like
        The pacer's inhale onsets, s, increasing (at least two).
    gaps : sequence of Gap
        Breaks of the beat chain.
    """
    b = hrv.rsa_amplitude(t_s, nn_ms, breath_onsets_s)
    amp = b.amplitude_bpm.copy()
    for g in gaps:
        amp[(b.start_s < g.end_s) & (b.end_s > g.start_s)] = np.nan
    return dataclasses.replace(b, amplitude_bpm=amp)


def breath_swings_bpm(t_s: npt.ArrayLike, nn_ms: npt.ArrayLike, breath_onsets_s: npt.ArrayLike,
                      gaps: tuple[Gap, ...] | list[Gap] = ()) -> tuple[FloatArray, FloatArray]:
    """The heart-rate swing of each whole breath: (end time of the breath, s; swing, bpm).

    Breaths ``[onset_i, onset_{i+1})`` inside the beats' span, with at least two beats,
    that do not overlap a gap of the beat chain (:func:`paced_breaths`).

    Parameters
    ----------
    t_s, nn_ms : array_like
        Beat times (s, beat clock, increasing) and their (corrected) intervals, ms.
    breath_onsets_s : array_like
        The pacer's inhale onsets, s, increasing.
    gaps : sequence of Gap
        Breaks of the beat chain.

    Examples
    --------
    >>> t = np.arange(1.0, 31.0)
    >>> rr = 1000.0 + 100.0 * np.sin(2 * np.pi * t / 10.0)
    >>> end_s, swing = breath_swings_bpm(t, rr, [0.0, 10.0, 20.0, 30.0])
    >>> end_s.tolist(), swing.round(1).tolist()
    ([20.0, 30.0], [11.5, 11.5])
    """
    t = np.asarray(t_s, dtype=np.float64)
    on = np.asarray(breath_onsets_s, dtype=np.float64)
    if t.size < 2 or on.size < 2:
        return np.empty(0), np.empty(0)
    b = paced_breaths(t, nn_ms, on, gaps)
    keep = np.isfinite(b.amplitude_bpm)
    return b.end_s[keep], b.amplitude_bpm[keep]


def session_outcome(recording: Recording, breath_onsets_s: npt.ArrayLike = (), *,
                    baseline_hr_bpm: float | None = None, resonance_bpm: float | None = None,
                    n_decisions: int = 0, ended_early: bool = False) -> SessionOutcome:
    """The end summary of a session (see the module's definitions).

    Parameters
    ----------
    recording : Recording
        Everything recorded.
    breath_onsets_s : array_like
        The inhale onsets the pacer showed, s on the beat clock (those after the last beat
        are left out, so a replay that asked the pacer about fewer times agrees).
    baseline_hr_bpm : float, optional
        The coach's baseline heart rate, beats/min; default: the first minute's.
    resonance_bpm : float, optional
        The coach's best estimate of the resonance pace, breaths/min.
    n_decisions : int
        The coach's pace decisions.
    ended_early : bool
        Whether the person ended the session early.

    Examples
    --------
    >>> import datetime as dt
    >>> from biofeedback.recording import RecordingMeta
    >>> meta = RecordingMeta(start_utc=dt.datetime(2026, 1, 5, 7, 30, tzinfo=dt.timezone.utc))
    >>> rr = np.concatenate([np.full(70, 850.0), np.full(70, 1000.0)])
    >>> o = session_outcome(Recording.from_rr(rr, meta))
    >>> o.n_beats, round(o.baseline_hr_bpm, 1), o.final_hr_bpm, round(o.hr_drop_pct, 1), o.quality
    (140, 70.6, 60.0, 15.0, 1.0)
    """
    n = recording.n_beats
    if n >= MIN_INTERVALS:
        c = correct_recording(recording, what="a session's outcome")
        nn, t = c.nn_ms, c.t_s
        n_art = c.n_corrected
    else:
        nn, t = recording.rr_ms, recording.t_s
        n_art = 0
    if baseline_hr_bpm is None and t.size:
        baseline_hr_bpm = _mean_hr_bpm(nn[t <= t[0] - nn[0] / 1000.0 + HR_WINDOW_S])
    final = _mean_hr_bpm(nn[t >= t[-1] - HR_WINDOW_S]) if t.size else None
    on = np.asarray(breath_onsets_s, dtype=np.float64)
    if n:  # only breaths that ended by the last beat (the pacer may have been asked about later times)
        on = on[on <= recording.t_s[-1]]
    _, swings = breath_swings_bpm(t, nn, on, recording.gaps)
    k = SWING_BREATHS
    share = n_art / n if n else 0.0
    return SessionOutcome(
        duration_s=recording.duration_s,
        n_beats=n,
        baseline_hr_bpm=None if baseline_hr_bpm is None else float(baseline_hr_bpm),
        final_hr_bpm=final,
        swing_start_bpm=float(np.median(swings[:k])) if swings.size else None,
        swing_end_bpm=float(np.median(swings[-k:])) if swings.size else None,
        n_breaths=int(swings.size),
        resonance_bpm=None if resonance_bpm is None or not math.isfinite(resonance_bpm) else float(resonance_bpm),
        n_artefacts=int(n_art),
        artefact_share=share,
        n_gaps=len(recording.gaps),
        gap_total_s=recording.gap_total_s,
        quality=1.0 - share,
        n_decisions=int(n_decisions),
        ended_early=bool(ended_early),
    )
