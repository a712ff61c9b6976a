"""One recording's HRV, summarised: what ``biofeedback show`` and ``demo`` print and plot.

Artefacts are corrected first (:func:`biofeedback.artifacts.correct_artifacts_with_report`),
then every metric is computed on the NN intervals. A metric that the recording is too
short for is left out (None) rather than guessed.

Where the beat chain broke (a :class:`~biofeedback.beats.Gap`: the link dropped, or the
strap sent no RR for a while), the intervals on either side are not one series: a
successive difference across the gap, or a spectrum of the two stretches joined end to
end, would describe no real heartbeat. So each unbroken stretch is corrected on its own,
and the metrics are those of the longest stretch; the quality figures cover the whole
session.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Final, TypeVar

import numpy as np
import numpy.typing as npt

from biofeedback import hrv
from biofeedback._validate import rr_array
from biofeedback.artifacts import MIN_INTERVALS, Quality, correct_artifacts_with_report
from biofeedback.beats import Gap
from biofeedback.errors import InvalidInputError

__all__ = ["SessionSummary", "format_summary", "mm_ss", "summarise"]

FloatArray = npt.NDArray[np.float64]
_GAP_MATCH_S: Final[float] = 1e-3  # a gap's start within this of a beat's time is after that beat, s


@dataclass(frozen=True, eq=False)
class SessionSummary:
    """HRV of one recording, after artefact correction.

    Attributes
    ----------
    nn_ms : ndarray
        Corrected intervals of the whole session, ms.
    t_s : ndarray
        Their beat times on the beat clock, s: the cumulative sum, plus the time of every
        gap before the beat.
    analysed : slice
        The stretch of ``nn_ms`` the metrics describe: the whole session, or its longest
        unbroken stretch when gaps split it.
    quality : Quality
        Share of intervals corrected, gaps (whole session).
    time : dict
        :func:`biofeedback.hrv.time_domain` keys.
    frequency : dict or None
        :func:`biofeedback.hrv.frequency_domain` keys; None when too short.
    poincare : dict
        ``sd1_ms``, ``sd2_ms``, ``sd1_sd2``.
    rsa : RsaBreaths or None
        Per-breath peak-to-trough heart rate; None when too short.
    breathing_rate_per_min : float or None
        Dominant RSA rhythm, breaths/min.
    coherence : float or None
        HeartMath coherence ratio of the last 64 s.
    """

    nn_ms: npt.NDArray[np.float64]
    t_s: npt.NDArray[np.float64]
    analysed: slice
    quality: Quality
    time: dict[str, float]
    frequency: dict[str, float] | None
    poincare: dict[str, float]
    rsa: hrv.RsaBreaths | None
    breathing_rate_per_min: float | None
    coherence: float | None


_T = TypeVar("_T")


def mm_ss(t_s: float) -> str:
    """Seconds as ``mm:ss``, whole seconds elapsed (a stopwatch: 59.9 s is ``00:59``)."""
    minutes, seconds = divmod(int(t_s), 60)
    return f"{minutes:02d}:{seconds:02d}"


def _or_none(fn: Callable[..., _T], *args: Any) -> _T | None:
    """``fn(*args)``, or None when the recording is too short (or flat) for that metric."""
    try:
        return fn(*args)
    except InvalidInputError:
        return None


def _stretch_starts(rr: FloatArray, gaps: list[Gap]) -> tuple[list[int], FloatArray]:
    """Where gaps split ``rr``, and the beat-clock time of each beat.

    A gap starts at the beat-clock time of the last beat before it; that beat is found
    among the intervals' cumulative sum shifted by the gaps already passed. Returns the
    index of the first interval after each gap placed so, and every beat's time, s. A gap
    that falls on no beat (within 1 ms) splits nothing: it still counts in the quality.
    """
    t_s = np.cumsum(rr) / 1000.0
    starts: list[int] = []
    for gap in sorted(gaps, key=lambda g: g.start_s):
        i = int(np.searchsorted(t_s, gap.start_s - _GAP_MATCH_S))
        if i + 1 < t_s.size and abs(t_s[i] - gap.start_s) <= _GAP_MATCH_S:
            t_s[i + 1 :] += gap.duration_s
            starts.append(i + 1)
    return starts, t_s


def _correct_stretches(rr: FloatArray, starts: list[int]) -> tuple[list[FloatArray], int]:
    """Correct each unbroken stretch on its own; one too short to judge is kept as it is."""
    stretches, corrected = [], 0
    for part in np.split(rr, starts):
        if part.size >= MIN_INTERVALS:
            nn, report, _ = correct_artifacts_with_report(part)
            stretches.append(nn)
            corrected += int(np.count_nonzero(report.is_artifact))
        else:
            stretches.append(part)
    return stretches, corrected


def summarise(rr_ms: npt.ArrayLike, gaps: Iterable[Gap] = ()) -> SessionSummary:
    """Correct artefacts and compute every metric the recording is long enough for.

    Parameters
    ----------
    rr_ms : array_like
        The session's RR intervals, ms, in order.
    gaps : iterable of Gap
        Where the beat chain broke, on the beat clock (what
        :class:`~biofeedback.beats.BeatClock` or :func:`biofeedback.formats.read_gaps`
        gives). Each unbroken stretch is corrected on its own, and the metrics are those
        of the longest.

    Raises
    ------
    InvalidInputError
        Fewer intervals than artefact correction needs, or bad values.
    """
    rr = rr_array(rr_ms, min_count=MIN_INTERVALS, what="a session summary")
    gaps = list(gaps)
    starts, raw_t_s = _stretch_starts(rr, gaps)
    stretches, n_corrected = _correct_stretches(rr, starts)
    nn = np.concatenate(stretches)
    # beat-clock times of the corrected beats: each stretch from where it started
    t_parts = []
    for part, raw, first in zip(stretches, np.split(raw_t_s, starts), np.split(rr, starts), strict=True):
        t_parts.append(raw[0] - first[0] / 1000.0 + np.cumsum(part) / 1000.0)
    t_s = np.concatenate(t_parts)
    bounds = np.cumsum([0] + [part.size for part in stretches])
    longest = int(np.argmax([part.sum() for part in stretches]))
    analysed = slice(int(bounds[longest]), int(bounds[longest + 1]))
    seg_nn, seg_t = nn[analysed], t_s[analysed]
    quality = Quality.from_counts(rr.size, n_corrected, gaps)
    frequency = _or_none(hrv.frequency_domain, seg_nn)
    rsa = _or_none(hrv.rsa_amplitude, seg_t, seg_nn)
    rate = _or_none(hrv.breathing_rate, seg_nn)
    coherence = _or_none(hrv.coherence, seg_nn)
    return SessionSummary(
        nn_ms=nn,
        t_s=t_s,
        analysed=analysed,
        quality=quality,
        time=hrv.time_domain(seg_nn),
        frequency=frequency,
        poincare=hrv.poincare(seg_nn),
        rsa=rsa,
        breathing_rate_per_min=rate if rate is not None and math.isfinite(rate) else None,
        coherence=coherence,
    )


def format_summary(s: SessionSummary) -> list[str]:
    """The summary as lines of text for a terminal."""
    q, t = s.quality, s.time
    lines = [
        (
            f"Session: {q.n_intervals} beats over {mm_ss(float(s.t_s[-1]))} (mm:ss); "
            f"{q.n_corrected} interval(s) corrected as artefacts ({100 * q.share_corrected:.1f}%), "
            f"{q.n_gaps} gap(s) ({q.gap_s:.1f} s)"
        ),
    ]
    if s.analysed.stop - s.analysed.start < s.nn_ms.size:
        t0 = float(s.t_s[s.analysed.start] - s.nn_ms[s.analysed.start] / 1000.0)
        t1 = float(s.t_s[s.analysed.stop - 1])
        lines.append(f"Metrics of the longest unbroken stretch: {mm_ss(t0)} to {mm_ss(t1)} (mm:ss), "
                     f"{s.analysed.stop - s.analysed.start} beats")
    lines += [
        f"Heart rate      {t['mean_hr_bpm']:6.1f} beats/min   (mean RR {t['mean_rr_ms']:.0f} ms)",
        (
            f"RMSSD           {t['rmssd_ms']:6.1f} ms          (ln RMSSD {t['ln_rmssd']:.2f}; "
            f"SDNN {t['sdnn_ms']:.1f} ms; pNN50 {t['pnn50_pct']:.1f}%)"
        ),
    ]
    if s.rsa is not None and np.any(np.isfinite(s.rsa.amplitude_bpm)):
        amp = s.rsa.amplitude_bpm[np.isfinite(s.rsa.amplitude_bpm)]
        lines.append(
            f"RSA amplitude   {float(np.median(amp)):6.1f} beats/min   (median peak-to-trough over "
            f"{amp.size} breaths; last 5: {hrv.rsa_summary_bpm(amp):.1f})"
        )
    if s.breathing_rate_per_min is not None:
        lines.append(f"Breathing rate  {s.breathing_rate_per_min:6.1f} breaths/min (from the heart-rate rhythm)")
    if s.coherence is not None:
        lines.append(f"Coherence       {s.coherence:6.2f}             (HeartMath ratio, last 64 s)")
    if s.frequency is not None:
        f = s.frequency
        lines.append(
            f"LF / HF power   {f['lf_ms2']:6.0f} / {f['hf_ms2']:.0f} ms²  (LF/HF {f['lf_hf']:.2f}; "
            f"LF peak {f['lf_peak_hz']:.3f} Hz)"
        )
    lines.append(f"Poincaré        SD1 {s.poincare['sd1_ms']:.1f} ms, SD2 {s.poincare['sd2_ms']:.1f} ms")
    return lines
