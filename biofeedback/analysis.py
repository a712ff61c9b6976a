"""One recording's HRV, summarised: what ``biofeedback show`` and ``demo`` print and plot.

Artefacts are corrected first (:func:`biofeedback.artifacts.correct_artifacts_with_report`),
then every metric is computed on the NN intervals. A metric that the recording is too
short for is left out (None) rather than guessed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from biofeedback import hrv
from biofeedback._validate import rr_array
from biofeedback.artifacts import Quality, correct_artifacts_with_report
from biofeedback.beats import Gap
from biofeedback.errors import InvalidInputError

__all__ = ["SessionSummary", "format_summary", "summarise"]


@dataclass(frozen=True, eq=False)
class SessionSummary:
    """HRV of one recording, after artefact correction.

    Attributes
    ----------
    nn_ms : ndarray
        Corrected intervals, ms.
    t_s : ndarray
        Their beat times, s (cumulative sum).
    quality : Quality
        Share of intervals corrected, gaps.
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
    quality: Quality
    time: dict[str, float]
    frequency: dict[str, float] | None
    poincare: dict[str, float]
    rsa: hrv.RsaBreaths | None
    breathing_rate_per_min: float | None
    coherence: float | None


_T = TypeVar("_T")


def _or_none(fn: Callable[..., _T], *args: Any) -> _T | None:
    """``fn(*args)``, or None when the recording is too short (or flat) for that metric."""
    try:
        return fn(*args)
    except InvalidInputError:
        return None


def summarise(rr_ms: npt.ArrayLike, gaps: Iterable[Gap] = ()) -> SessionSummary:
    """Correct artefacts and compute every metric the recording is long enough for.

    Raises
    ------
    InvalidInputError
        Fewer intervals than artefact correction needs, or bad values.
    """
    rr = rr_array(rr_ms, what="a session summary")
    nn, _, quality = correct_artifacts_with_report(rr, gaps=list(gaps))
    t_s = np.cumsum(nn) / 1000.0
    frequency = _or_none(hrv.frequency_domain, nn)
    rsa = _or_none(hrv.rsa_amplitude, t_s, nn)
    rate = _or_none(hrv.breathing_rate, nn)
    coherence = _or_none(hrv.coherence, nn)
    return SessionSummary(
        nn_ms=nn,
        t_s=t_s,
        quality=quality,
        time=hrv.time_domain(nn),
        frequency=frequency,
        poincare=hrv.poincare(nn),
        rsa=rsa,
        breathing_rate_per_min=rate if rate is not None and math.isfinite(rate) else None,
        coherence=coherence,
    )


def format_summary(s: SessionSummary) -> list[str]:
    """The summary as lines of text for a terminal."""
    q, t = s.quality, s.time
    minutes, seconds = divmod(round(float(s.t_s[-1])), 60)
    lines = [
        (
            f"Session: {q.n_intervals} beats over {minutes}:{seconds:02d} (mm:ss); "
            f"{q.n_corrected} interval(s) corrected as artefacts ({100 * q.share_corrected:.1f}%), "
            f"{q.n_gaps} gap(s) ({q.gap_s:.1f} s)"
        ),
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
