"""What the stored sessions say over days and weeks: per-session figures, trends, a headline.

Plain numbers from stored data (the functional core: no store, no clock, no text for
people). The shell reads a session from :class:`biofeedback.store.SessionStore` (its row,
its :class:`~biofeedback.recording.Recording`, the pace and breath phase stored with each
beat) and hands them here:

- :func:`session_row`: one line of the ``sessions`` table, from the session's row alone.
- :func:`session_figures`: one session's figures for a trend: resting (baseline) heart
  rate and lnRMSSD, final heart rate and the drop, the swing per breath at the resonance
  pace, the resonance pace, minutes practised, the ratings.
- :func:`trends`: many sessions' figures as arrays on a day axis, each with a rolling mean
  where there are enough sessions, and the resonance pace's stability (rolling spread).
- :func:`headlines`: the changes worth a sentence ("over the last 4 weeks your resting
  heart rate fell by 3 beats/min"), as numbers; :mod:`biofeedback.display.history` words them.

What each figure is
-------------------
Artefacts are corrected first (:func:`biofeedback.analysis.correct_recording`): the
resting windows each on their own, so that a year of sessions is summed up in seconds.

- **Baseline heart rate**: the stored one (the coach measures it while the person settles),
  else the mean heart rate of the first :data:`RESTING_WINDOW_S` of beats.
- **Final heart rate**: the stored one, else the mean of the last :data:`RESTING_WINDOW_S`.
- **lnRMSSD** (resting): of the first :data:`RESTING_WINDOW_S` of the first stretch long
  enough; the natural log of RMSSD in ms, the vagal marker tracked from day to day with a
  7-day rolling mean (Plews et al. 2013); ultra-short windows of 1-2 minutes agree with
  5-minute ones (Esco & Flatt 2014).
- **Swing per breath**: median peak-to-trough heart rate of the breaths (per-breath RSA,
  :func:`biofeedback.hrv.rsa_amplitude`). With a stored pace and phase the breaths are the
  prompt's (inhale onsets from the phase), and the swing is that of the breaths at the
  resonance pace (within :data:`AT_RESONANCE_BPM`) when one was found; without (an
  imported or ``record`` session) the breaths are found in the corrected tachogram, and
  the figure is marked as not at resonance. For the trend the prompt's breaths are measured
  on the beats as recorded: the median over a session's breaths is not moved by the
  breath or two that an artefact spoils (a plot, which corrects the whole session, uses
  the corrected beats).

References
----------
Plews, D. J., Laursen, P. B., Kilding, A. E., & Buchheit, M. (2013). Evaluating training
adaptation with heart-rate measures: a methodological comparison. Int. J. Sports Physiol.
Perform. 8(6), 688-691.
Esco, M. R., & Flatt, A. A. (2014). Ultra-short-term heart rate variability indexes at rest
and post-exercise in athletes. J. Sports Sci. Med. 13(3), 535-541.
Lehrer, P. M., Vaschillo, E., & Vaschillo, B. (2000). Resonant frequency biofeedback
training to increase cardiac variability. Appl. Psychophysiol. Biofeedback 25(3), 177-191.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Protocol

import numpy as np
import numpy.typing as npt

from biofeedback.errors import InvalidInputError
from biofeedback.hr_drop import hr_drop_bpm
from biofeedback.ratings import RatedLike, Ratings, RatingSeries, rating_series

if TYPE_CHECKING:  # the metrics (scipy) are imported where figures are computed: `sessions` needs none
    from biofeedback.analysis import Corrected
    from biofeedback.recording import Recording, RecordingMeta

__all__ = [
    "AT_RESONANCE_BPM",
    "RESTING_WINDOW_S",
    "ROLLING_DAYS",
    "ROLLING_MIN_SESSIONS",
    "TREND_FIELDS",
    "Headline",
    "PaceChange",
    "SessionFigures",
    "SessionRow",
    "Trends",
    "breath_onsets_s",
    "coherence_series",
    "headlines",
    "pace_changes",
    "rolling_mean",
    "rolling_spread",
    "session_figures",
    "session_row",
    "trends",
]

FloatArray = npt.NDArray[np.float64]

RESTING_WINDOW_S: Final[float] = 120.0  # resting figures: the first (and final HR: the last) 2 minutes of beats, s
MIN_INTERVALS: Final[int] = 8  # = biofeedback.artifacts.MIN_INTERVALS (a test checks), without importing it
MIN_RESTING_BEATS: Final[int] = 30  # a resting window needs this many beats
AT_RESONANCE_BPM: Final[float] = 0.25  # a breath is at the resonance pace within this, breaths/min
ROLLING_DAYS: Final[float] = 7.0  # rolling mean over the sessions of the last 7 days (Plews et al. 2013)
ROLLING_MIN_SESSIONS: Final[int] = 3  # ... once that window holds at least this many sessions
HEADLINE_DAYS: Final[float] = 28.0  # the headline looks back 4 weeks (or over all, if less)
HEADLINE_MIN_SESSIONS: Final[int] = 4  # a headline needs this many sessions with the figure
TREND_FIELDS: Final[tuple[str, ...]] = (
    "baseline_hr_bpm", "hr_drop_bpm", "ln_rmssd", "swing_bpm", "resonance_bpm", "minutes",
)
"""The figures a trend has, as :class:`SessionFigures` and :class:`Trends` attributes."""


class StoredLike(RatedLike, Protocol):
    """What is read of a stored session's row (:class:`biofeedback.store.StoredSession`): its
    id and ratings (:class:`~biofeedback.ratings.RatedLike`), and these."""

    @property
    def meta(self) -> RecordingMeta: ...
    @property
    def status(self) -> str: ...
    @property
    def duration_s(self) -> float: ...
    @property
    def summary(self) -> dict[str, Any] | None: ...
    @property
    def baseline_hr_bpm(self) -> float | None: ...
    @property
    def final_hr_bpm(self) -> float | None: ...
    @property
    def resonance_bpm(self) -> float | None: ...
    @property
    def quality(self) -> float | None: ...


class EventLike(Protocol):
    """What is read of a stored event (:class:`biofeedback.store.Event`)."""

    @property
    def t_s(self) -> float: ...
    @property
    def kind(self) -> str: ...
    @property
    def detail(self) -> str: ...
    @property
    def stage(self) -> str | None: ...
    @property
    def data(self) -> dict[str, Any]: ...


def _finite(x: object) -> float | None:
    if x is None or isinstance(x, bool) or not isinstance(x, int | float | np.integer | np.floating):
        return None
    v = float(x)
    return v if math.isfinite(v) else None


# ------------------------------------------------------------------------------ the table


@dataclass(frozen=True, slots=True)
class SessionRow:
    """One line of the ``sessions`` table: a stored session's row, nothing recomputed.

    Attributes
    ----------
    session_id : int
    start_local : datetime
        The start in the local time where it was recorded.
    minutes : float
        Length on the beat clock, min.
    source, status : str
    baseline_hr_bpm, final_hr_bpm, hr_drop_bpm : float or None
        Heart rate at the start, at the end, and start minus end, beats/min.
    resonance_bpm : float or None
        The resonance pace found, breaths/min.
    quality : float or None
        Share of usable beats, 0..1.
    ratings : Ratings
    """

    session_id: int
    start_local: dt.datetime
    minutes: float
    source: str
    status: str
    baseline_hr_bpm: float | None
    final_hr_bpm: float | None
    hr_drop_bpm: float | None
    resonance_bpm: float | None
    quality: float | None
    ratings: Ratings


def session_row(s: StoredLike) -> SessionRow:
    """The ``sessions`` table's line of a stored session (its row only: no beats are read)."""
    base, final = _finite(s.baseline_hr_bpm), _finite(s.final_hr_bpm)
    return SessionRow(
        session_id=int(s.id),
        start_local=s.meta.start_local,
        minutes=float(s.duration_s) / 60.0,
        source=s.meta.source,
        status=s.status,
        baseline_hr_bpm=base,
        final_hr_bpm=final,
        hr_drop_bpm=hr_drop_bpm(base, final),
        resonance_bpm=_finite(s.resonance_bpm),
        quality=_finite(s.quality),
        ratings=Ratings.of(s),
    )


# ------------------------------------------------------------------------------ one session


def breath_onsets_s(t_s: npt.ArrayLike, pace_bpm: npt.ArrayLike, phase: npt.ArrayLike) -> FloatArray:
    """The inhale onsets of the breaths the prompt showed, from the phase stored with each beat, s.

    A beat at time ``t`` with phase ``p`` (0..1 through a breath of ``60 / pace`` s) lies
    ``p · 60 / pace`` s after its breath's onset. An onset is taken from the first beat of
    each breath (where the phase wraps round, and the first beat with a phase), so each
    breath gives one onset however many beats it holds. Beats with no pace or phase (NaN)
    are skipped; a session with none gives an empty array.

    Examples
    --------
    >>> t = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]                  # one beat a second
    >>> phase = [0.1, 0.3, 0.5, 0.7, 0.9, 0.1]              # breaths of 5 s (12 /min)
    >>> breath_onsets_s(t, [12.0] * 6, phase).tolist()
    [0.5, 5.5]
    """
    t = np.asarray(t_s, dtype=np.float64)
    pace = np.asarray(pace_bpm, dtype=np.float64)
    ph = np.asarray(phase, dtype=np.float64)
    if not (t.shape == pace.shape == ph.shape) or t.ndim != 1:
        raise InvalidInputError(f"breath_onsets_s needs one time, pace and phase per beat; got {t.shape}, "
                                f"{pace.shape}, {ph.shape}")
    ok = np.isfinite(t) & np.isfinite(pace) & (pace > 0) & np.isfinite(ph)
    t, pace, ph = t[ok], pace[ok], ph[ok]
    if t.size == 0:
        return np.empty(0, dtype=np.float64)
    onset = t - ph * 60.0 / pace
    period = 60.0 / pace
    # a new breath where the phase wraps round, or more than a breath passed (a gap)
    new = np.concatenate(([True], (np.diff(ph) < 0) | (np.diff(onset) > 0.5 * period[1:])))
    onsets = onset[new]
    keep = np.concatenate(([True], np.diff(onsets) > 0))
    return np.asarray(onsets[keep], dtype=np.float64)


@dataclass(frozen=True, slots=True)
class PaceChange:
    """A change of the pace the prompt showed: a coach decision stored as an event.

    Attributes
    ----------
    t_s : float
        Beat-clock time, s.
    pace_bpm : float
        The pace from then on, breaths/min.
    stage, reason : str
    """

    t_s: float
    pace_bpm: float
    stage: str
    reason: str


def pace_changes(events: Iterable[EventLike]) -> list[PaceChange]:
    """The coach's decisions among a session's events (kind ``coach`` with a ``pace_bpm``), in order."""
    out = []
    for e in events:
        pace = _finite(e.data.get("pace_bpm")) if e.kind == "coach" else None
        if pace is not None:
            out.append(PaceChange(float(e.t_s), pace, e.stage or "", e.detail))
    return out


@dataclass(frozen=True, slots=True)
class SessionFigures:
    """One session's figures for a trend (see the module's notes for what each is).

    Attributes
    ----------
    session_id : int
    start_local : datetime
    minutes : float
        Minutes practised (beat clock).
    baseline_hr_bpm, final_hr_bpm, hr_drop_bpm : float or None
        Beats/min; the drop is baseline minus final (positive: it fell).
    ln_rmssd : float or None
        Resting lnRMSSD, ln(ms).
    swing_bpm : float or None
        Median swing per breath, beats/min.
    swing_at_resonance : bool
        Whether ``swing_bpm`` is that of the breaths at the resonance pace.
    resonance_bpm : float or None
        Resonance pace found, breaths/min (stored with the session).
    paced : bool
        Whether the session stored the pace the prompt showed.
    pace_first_bpm, pace_last_bpm : float or None
        The pace shown at the first and the last beat, breaths/min.
    breathing_bpm : float or None
        The breathing rate: the median pace of the prompt's breaths, else read from the
        heart rhythm, breaths/min.
    ratings : Ratings
    """

    session_id: int
    start_local: dt.datetime
    minutes: float
    baseline_hr_bpm: float | None
    final_hr_bpm: float | None
    hr_drop_bpm: float | None
    ln_rmssd: float | None
    swing_bpm: float | None
    swing_at_resonance: bool
    resonance_bpm: float | None
    paced: bool
    pace_first_bpm: float | None
    pace_last_bpm: float | None
    breathing_bpm: float | None
    ratings: Ratings = field(default_factory=Ratings)

    @property
    def id(self) -> int:
        """The session's id (so that :func:`biofeedback.ratings.rating_series` reads these)."""
        return self.session_id

    @property
    def pain_before(self) -> int | None:
        return self.ratings.pain_before

    @property
    def tension_before(self) -> int | None:
        return self.ratings.tension_before

    @property
    def pain_after(self) -> int | None:
        return self.ratings.pain_after

    @property
    def tension_after(self) -> int | None:
        return self.ratings.tension_after


def _resting_window(recording: Recording, *, first: bool) -> Corrected | None:
    """The first (or last) :data:`RESTING_WINDOW_S` of beats of the first (last) stretch
    that holds :data:`MIN_RESTING_BEATS` there, artefacts corrected on their own."""
    from biofeedback.analysis import correct_recording
    from biofeedback.recording import Recording

    stretches = recording.stretches()
    for s in stretches if first else stretches[::-1]:
        t, rr = recording.t_s[s], recording.rr_ms[s]
        start = float(t[0] - rr[0] / 1000.0)
        m = t <= start + RESTING_WINDOW_S if first else t >= float(t[-1]) - RESTING_WINDOW_S
        k = int(m.sum())
        if k >= MIN_RESTING_BEATS:
            part = Recording(meta=recording.meta, t_s=t[m], rr_ms=rr[m], flags=np.zeros(k, dtype=np.int64))
            return correct_recording(part, what="a resting window")
    return None


def _resting_ln_rmssd(c: Corrected) -> float | None:
    for s in c.stretches:
        nn, t = c.nn_ms[s], c.t_s[s]
        if nn.size < MIN_RESTING_BEATS:
            continue
        part = nn[t <= t[0] - nn[0] / 1000.0 + RESTING_WINDOW_S]
        if part.size >= MIN_RESTING_BEATS:
            rmssd = float(np.sqrt(np.mean(np.diff(part) ** 2)))
            return math.log(rmssd) if rmssd > 0 else None
    return None


def _breath_swings(c: Corrected, rec: Recording, onsets: FloatArray) -> FloatArray:
    """Per-breath swing (bpm) of the prompt's breaths; NaN for a breath over a gap."""
    from biofeedback.outcome import paced_breaths

    if onsets.size < 2 or c.nn_ms.size < 2:
        return np.full(max(onsets.size - 1, 0), np.nan)
    breaths = paced_breaths(c.t_s, c.nn_ms, onsets, rec.gaps)  # a breath over a gap: NaN
    amp = breaths.amplitude_bpm
    # line the amplitudes up with the onsets they start at (rsa_amplitude drops breaths outside the beats)
    out = np.full(onsets.size - 1, np.nan)
    out[np.searchsorted(onsets, breaths.start_s)] = amp
    return out


def session_figures(
    stored: StoredLike | None,
    recording: Recording,
    pace_bpm: npt.ArrayLike | None = None,
    phase: npt.ArrayLike | None = None,
    *,
    corrected: Corrected | None = None,
) -> SessionFigures:
    """One stored session's figures for a trend.

    Parameters
    ----------
    stored : StoredSession or None
        Its row: baseline and final heart rate, resonance pace, ratings (as stored); None
        for a recording that is not in the store (a file): everything from the beats.
    recording : Recording
        Its beats (:meth:`biofeedback.store.SessionStore.recording`).
    pace_bpm, phase : array_like, optional
        The pace (breaths/min) and breath phase (0..1) stored with each beat; NaN or None
        where none (an import, ``record``).
    corrected : Corrected, optional
        ``correct_recording(recording)`` when the caller has it already (a plot): the swing
        per breath is then that of the corrected beats.

    Notes
    -----
    The resting figures (baseline and final heart rate when not stored, lnRMSSD) come from
    the first and last :data:`RESTING_WINDOW_S` of beats, each corrected on its own.
    """
    from biofeedback import hrv
    from biofeedback.analysis import Corrected, correct_recording

    n = recording.n_beats
    pace = np.full(n, np.nan) if pace_bpm is None else np.asarray(pace_bpm, dtype=np.float64)
    ph = np.full(n, np.nan) if phase is None else np.asarray(phase, dtype=np.float64)
    if pace.shape != (n,) or ph.shape != (n,):
        raise InvalidInputError(f"session_figures needs one pace and phase per beat ({n}); got {pace.shape}, {ph.shape}")
    resonance = None if stored is None else _finite(stored.resonance_bpm)
    paced_beats = np.isfinite(pace) & (pace > 0)
    paced = bool(np.any(paced_beats))
    base = None if stored is None else _finite(stored.baseline_hr_bpm)
    final = None if stored is None else _finite(stored.final_hr_bpm)
    ln_rmssd = swing = breathing = None
    at_resonance = False
    if n >= MIN_INTERVALS:
        first = _resting_window(recording, first=True)
        if first is not None:
            if base is None:
                base = 60000.0 / float(np.mean(first.nn_ms))
            ln_rmssd = _resting_ln_rmssd(first)
        if final is None and (last := _resting_window(recording, first=False)) is not None:
            final = 60000.0 / float(np.mean(last.nn_ms))
        if paced:
            # the swing per breath of the prompt's breaths: of the corrected beats when the caller
            # has them, else of the beats as recorded (the median over the breaths is what a few
            # artefacts do not move; correcting a whole session would cost most of a trend's time)
            c = corrected if corrected is not None else Corrected(
                recording.rr_ms, recording.t_s, tuple(recording.stretches()), np.zeros(n, dtype=np.bool_))
            onsets = breath_onsets_s(recording.t_s, pace, ph)
            amp = _breath_swings(c, recording, onsets)
            if amp.size:
                breath_pace = np.interp(onsets[:-1], recording.t_s[paced_beats], pace[paced_beats])
                breathing = float(np.median(breath_pace))
                use = np.isfinite(amp)
                if resonance is not None:
                    near = use & (np.abs(breath_pace - resonance) <= AT_RESONANCE_BPM)
                    if np.any(near):
                        use, at_resonance = near, True
                if np.any(use):
                    swing = float(np.median(amp[use]))
        else:  # breaths found in the tachogram, which needs the corrected beats
            c = corrected if corrected is not None else correct_recording(recording, what="a session's trend figures")
            longest = max(c.stretches, key=lambda s: float(c.nn_ms[s].sum()))
            try:
                b = hrv.rsa_amplitude(c.t_s[longest], c.nn_ms[longest])
            except InvalidInputError:  # too short for breaths from the tachogram
                b = None
            if b is not None and np.any(np.isfinite(b.amplitude_bpm)):
                swing = float(np.nanmedian(b.amplitude_bpm))
                breathing = b.breathing_rate_per_min if math.isfinite(b.breathing_rate_per_min) else None
    return SessionFigures(
        session_id=0 if stored is None else int(stored.id),
        start_local=recording.meta.start_local,
        minutes=float(recording.duration_s) / 60.0,
        baseline_hr_bpm=base,
        final_hr_bpm=final,
        hr_drop_bpm=hr_drop_bpm(base, final),
        ln_rmssd=ln_rmssd,
        swing_bpm=swing,
        swing_at_resonance=at_resonance,
        resonance_bpm=resonance,
        paced=paced,
        pace_first_bpm=float(pace[paced_beats][0]) if paced else None,
        pace_last_bpm=float(pace[paced_beats][-1]) if paced else None,
        breathing_bpm=breathing,
        ratings=Ratings() if stored is None else Ratings.of(stored),
    )


def coherence_series(c: Corrected, at_s: npt.ArrayLike) -> FloatArray:
    """The coherence ratio (:func:`biofeedback.hrv.coherence`, the last 64 s) at each time of
    ``at_s``, from the corrected beats of the stretch holding it up to then; NaN where
    that stretch does not yet hold 64 s of beats."""
    from biofeedback import hrv
    from biofeedback.hrv.coherence import COHERENCE_WINDOW_S

    at = np.asarray(at_s, dtype=np.float64)
    out = np.full(at.size, np.nan)
    for s in c.stretches:
        t, nn = c.t_s[s], c.nn_ms[s]
        if t.size < MIN_INTERVALS:
            continue
        start = float(t[0] - nn[0] / 1000.0)
        for i in np.flatnonzero((at >= start) & (at <= t[-1] + 1e-9)):
            k = int(np.searchsorted(t, at[i], side="right"))
            if k >= 2 and float(t[k - 1]) - start >= COHERENCE_WINDOW_S:
                try:
                    out[i] = hrv.coherence(nn[:k])
                except InvalidInputError:
                    pass
    return out


# ------------------------------------------------------------------------------ many sessions


def _window_sums(day: FloatArray, values: FloatArray, window_days: float) -> tuple[FloatArray, FloatArray, FloatArray]:
    """For each point: count, sum and sum of squares of the finite values in ``(day - window, day]``."""
    ok = np.isfinite(values)
    v = np.where(ok, values, 0.0)
    cum_n = np.concatenate(([0.0], np.cumsum(ok)))
    cum_s = np.concatenate(([0.0], np.cumsum(v)))
    cum_q = np.concatenate(([0.0], np.cumsum(v * v)))
    hi = np.arange(1, day.size + 1)
    lo = np.searchsorted(day, day - window_days, side="right")
    return cum_n[hi] - cum_n[lo], cum_s[hi] - cum_s[lo], cum_q[hi] - cum_q[lo]


def _check_series(day: npt.ArrayLike, values: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    d, v = np.asarray(day, dtype=np.float64), np.asarray(values, dtype=np.float64)
    if d.ndim != 1 or v.shape != d.shape:
        raise InvalidInputError(f"a rolling figure needs one value per day; got {d.shape} and {v.shape}")
    if d.size > 1 and np.any(np.diff(d) < 0):
        raise InvalidInputError("a rolling figure needs its days in order, oldest first")
    return d, v


def rolling_mean(day: npt.ArrayLike, values: npt.ArrayLike, window_days: float = ROLLING_DAYS,
                 min_sessions: int = ROLLING_MIN_SESSIONS) -> FloatArray:
    """Trailing mean of the finite values of the sessions in ``(day - window_days, day]``.

    NaN where that window holds fewer than ``min_sessions`` values.

    Examples
    --------
    >>> rolling_mean([0, 1, 2, 3, 9], [70, 68, float("nan"), 66, 60], window_days=7, min_sessions=2).tolist()
    [nan, 69.0, 69.0, 68.0, 63.0]
    >>> rolling_mean([0, 1, 2, 3, 11], [70, 68, float("nan"), 66, 60], window_days=7, min_sessions=2).tolist()
    [nan, 69.0, 69.0, 68.0, nan]
    """
    d, v = _check_series(day, values)
    n, s, _ = _window_sums(d, v, window_days)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n >= min_sessions, s / np.maximum(n, 1), np.nan)


def rolling_spread(day: npt.ArrayLike, values: npt.ArrayLike, window_days: float = ROLLING_DAYS,
                   min_sessions: int = ROLLING_MIN_SESSIONS) -> FloatArray:
    """Trailing standard deviation (population) of the values in ``(day - window_days, day]``.

    How stable a figure is from session to session (the resonance pace: 0 when every
    session found the same); NaN where the window holds fewer than ``min_sessions`` values.
    """
    d, v = _check_series(day, values)
    n, s, q = _window_sums(d, v, window_days)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = s / np.maximum(n, 1)
        var = np.maximum(q / np.maximum(n, 1) - mean * mean, 0.0)
        return np.where(n >= min_sessions, np.sqrt(var), np.nan)


@dataclass(frozen=True, slots=True)
class Headline:
    """A change worth a sentence, over the last weeks.

    Attributes
    ----------
    figure : str
        The :data:`TREND_FIELDS` name (or ``pain_change`` / ``tension_change``: the mean
        after-minus-before rating of the sessions in the span).
    days : float
        The span looked at, days (the last :data:`HEADLINE_DAYS`, or all if less).
    n_sessions : int
        Sessions in the span with the figure.
    start, end : float
        The figure at the start and at the end of the span on a least-squares line through
        the sessions (for a rating change: both the mean change).
    """

    figure: str
    days: float
    n_sessions: int
    start: float
    end: float

    @property
    def change(self) -> float:
        """End minus start."""
        return self.end - self.start


@dataclass(frozen=True, eq=False)
class Trends:
    """Many sessions' figures on a day axis, oldest first.

    Attributes
    ----------
    points : tuple of SessionFigures
    day : ndarray
        Each session's local start, days since midnight (local) of :attr:`origin`.
    origin : date
        The local day of the first session.
    baseline_hr_bpm, hr_drop_bpm, ln_rmssd, swing_bpm, resonance_bpm, minutes : ndarray
        One value per session (NaN where none); see :class:`SessionFigures`.
    rolling : dict of str to ndarray
        The rolling mean of each :data:`TREND_FIELDS` (:func:`rolling_mean`).
    resonance_spread_bpm : ndarray
        The rolling spread of the resonance pace (:func:`rolling_spread`), breaths/min.
    swing_at_resonance : ndarray of bool
    ratings : RatingSeries
        The ratings, in the order of ``points``.
    """

    points: tuple[SessionFigures, ...]
    day: FloatArray
    origin: dt.date | None
    baseline_hr_bpm: FloatArray
    hr_drop_bpm: FloatArray
    ln_rmssd: FloatArray
    swing_bpm: FloatArray
    resonance_bpm: FloatArray
    minutes: FloatArray
    rolling: Mapping[str, FloatArray]
    resonance_spread_bpm: FloatArray
    swing_at_resonance: npt.NDArray[np.bool_]
    ratings: RatingSeries

    def __len__(self) -> int:
        return len(self.points)


def _day_of(t: dt.datetime, origin: dt.date) -> float:
    midnight = dt.datetime.combine(origin, dt.time(), tzinfo=t.tzinfo)
    return (t.replace(tzinfo=t.tzinfo) - midnight).total_seconds() / 86400.0


def trends(points: Sequence[SessionFigures], *, window_days: float = ROLLING_DAYS,
           min_sessions: int = ROLLING_MIN_SESSIONS) -> Trends:
    """Line up sessions' figures as a trend, oldest first (any order in).

    Each session's day is its start in the local time where it was recorded (a session at
    7:00 in Lisbon and one at 7:00 in Berlin are both at 7:00), counted from the first
    session's local midnight.
    """
    pts = tuple(sorted(points, key=lambda p: (p.start_local.replace(tzinfo=None), p.session_id)))
    origin = pts[0].start_local.date() if pts else None
    day = np.array([_day_of(p.start_local.replace(tzinfo=None), origin) for p in pts] if origin else [],
                   dtype=np.float64)
    # local wall-clock time can step back (a later session recorded further west): keep the order by time
    day = np.maximum.accumulate(day) if day.size else day
    cols = {name: np.array([math.nan if (v := getattr(p, name)) is None else float(v) for p in pts],
                           dtype=np.float64) for name in TREND_FIELDS}
    return Trends(
        points=pts,
        day=day,
        origin=origin,
        rolling={name: rolling_mean(day, cols[name], window_days, min_sessions) for name in TREND_FIELDS},
        resonance_spread_bpm=rolling_spread(day, cols["resonance_bpm"], window_days, min_sessions),
        swing_at_resonance=np.array([p.swing_at_resonance for p in pts], dtype=np.bool_),
        ratings=rating_series(pts),
        **cols,
    )


def _line_ends(day: FloatArray, values: FloatArray, lo: float, hi: float) -> tuple[float, float]:
    if float(np.ptp(day)) == 0.0:
        m = float(np.mean(values))
        return m, m
    slope, intercept = np.polyfit(day, values, 1)
    return float(intercept + slope * lo), float(intercept + slope * hi)


def headlines(t: Trends, *, days: float = HEADLINE_DAYS, min_sessions: int = HEADLINE_MIN_SESSIONS,
              figures: Sequence[str] = ("baseline_hr_bpm", "swing_bpm", "pain_change", "tension_change")
              ) -> list[Headline]:
    """The changes over the last ``days`` (or the whole trend if shorter), for a headline.

    A trend figure's change is read from a least-squares line through its sessions in the
    span (start and end of the span on that line), so that one unusual day does not make
    the headline. A rating figure is the mean after-minus-before change of the sessions in
    the span that were rated both times. A figure with fewer than ``min_sessions`` sessions
    in the span gives no headline.
    """
    if not len(t):
        return []
    end = float(t.day[-1])
    lo = max(float(t.day[0]), end - days)
    in_span = t.day >= lo
    span = end - lo
    out = []
    for name in figures:
        if name in ("pain_change", "tension_change"):
            values = np.asarray(getattr(t.ratings, name), dtype=np.float64)
        elif name in TREND_FIELDS:
            values = getattr(t, name)
        else:
            raise InvalidInputError(f"no trend figure {name!r}; choose from {', '.join(TREND_FIELDS)}")
        ok = in_span & np.isfinite(values)
        k = int(ok.sum())
        if k < min_sessions:
            continue
        if name in TREND_FIELDS:
            a, b = _line_ends(t.day[ok], values[ok], lo, end)
        else:
            a = b = float(np.mean(values[ok]))
        out.append(Headline(name, span, k, a, b))
    return out
