"""Respiratory sinus arrhythmia: per-breath heart-rate swing and the breathing rate.

The vagal-tone proxy of a breathing trainer is the peak-to-trough heart rate of each
breath: heart rate rises on the inhale and falls on the exhale, and the swing is largest
near the person's resonance rate, about 4.5–7 breaths/min (Lehrer & Gevirtz 2014). At
those rates the swing sits below the classic HF band, so it is measured per breath rather
than as HF power. When the person breathes on their own (no pacer), the breaths are found
from the tachogram itself: its dominant oscillation between 0.04 and 0.4 Hz is the
breathing rhythm.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from biofeedback._validate import check_positive, finite_array, rr_array
from biofeedback.errors import InvalidInputError
from biofeedback.hrv._spectral import (
    DEFAULT_FS_HZ,
    WELCH_NFFT,
    FloatArray,
    check_band,
    parabolic_peak,
    resample_on_times,
    welch_psd,
)

__all__ = ["RESPIRATION_HZ", "RsaBreaths", "breathing_rate", "rsa_amplitude", "rsa_summary_bpm"]

RESPIRATION_HZ: Final[tuple[float, float]] = (0.04, 0.4)  # breathing rhythms sought, Hz (2.4–24 /min)
RATE_SEGMENT_S: Final[float] = 128.0  # Welch segment for the breathing-rate spectrum, s
MIN_CYCLES: Final[float] = 2.0  # the series must hold this many cycles of the slowest rate
BANDPASS_RATIO: Final[float] = 1.5  # cycle-finding band: dominant frequency ÷ and × this
BANDPASS_ORDER: Final[int] = 2  # Butterworth order of the cycle-finding band-pass


@dataclass(frozen=True, eq=False)
class RsaBreaths:
    """Per-breath RSA amplitudes.

    Attributes
    ----------
    start_s, end_s : ndarray
        Each breath cycle ``[start_s, end_s)``, s on the beat clock.
    amplitude_bpm : ndarray
        Peak-to-trough instantaneous heart rate in that cycle (max − min of
        ``60000 / rr_ms`` over the beats inside it), beats/min; NaN if fewer than 2 beats
        fall inside (a gap).
    breathing_rate_per_min : float
        Breaths per minute: 60 over the median cycle length with given onsets, or the
        spectral estimate of :func:`breathing_rate` when cycles come from the tachogram.
    """

    start_s: FloatArray
    end_s: FloatArray
    amplitude_bpm: FloatArray
    breathing_rate_per_min: float

    def __len__(self) -> int:
        return int(self.amplitude_bpm.size)


def _times_array(t_s: npt.ArrayLike, n: int, name: str, what: str) -> FloatArray:
    t = finite_array(t_s, name=name, holds="times in s", what=what)
    if n >= 0 and t.size != n:
        raise InvalidInputError(f"{name} has {t.size} times but rr_ms has {n} intervals: give one time per beat")
    if np.any(np.diff(t) <= 0):
        raise InvalidInputError(f"{name} must be strictly increasing (s) for {what}")
    return t


def _beats(t_s: npt.ArrayLike | None, rr_ms: npt.ArrayLike, what: str, min_count: int) -> tuple[FloatArray, FloatArray]:
    rr = rr_array(rr_ms, min_count=min_count, what=what)
    t = np.cumsum(rr) / 1000.0 if t_s is None else _times_array(t_s, rr.size, "t_s", what)
    return t, rr


def _dominant_hz(grid_x: FloatArray, fs_hz: float, band: tuple[float, float]) -> float:
    """Largest spectral peak of an evenly sampled series in ``band``, parabolically refined, Hz.

    NaN for a flat series (peak-to-peak below 1e-9 of its mean: only rounding noise left).
    """
    if float(np.ptp(grid_x)) <= 1e-9 * abs(float(np.mean(grid_x))):
        return math.nan
    seg = min(grid_x.size, round(RATE_SEGMENT_S * fs_hz))
    f, p = welch_psd(grid_x, fs_hz, seg, max(WELCH_NFFT, seg), detrend="linear")
    return parabolic_peak(f, p, *band)


def _even_rr(t: FloatArray, rr: FloatArray, fs_hz: float, band: tuple[float, float], what: str) -> FloatArray:
    span_s = float(t[-1] - t[0])
    need_s = MIN_CYCLES / band[0]
    if span_s < need_s:
        raise InvalidInputError(
            f"rr_ms spans {span_s:.1f} s of beats; {what} needs at least {need_s:.0f} s "
            f"({MIN_CYCLES:g} cycles of the slowest rate, {band[0]:g} Hz)"
        )
    _, x = resample_on_times(t, rr, fs_hz)
    return x


def breathing_rate(
    rr_ms: npt.ArrayLike,
    *,
    t_s: npt.ArrayLike | None = None,
    band_hz: tuple[float, float] = RESPIRATION_HZ,
    fs_hz: float = DEFAULT_FS_HZ,
) -> float:
    """Breathing rate estimated from the tachogram, breaths/min.

    The RR series (on its beat times: ``t_s`` if given, else the cumulative sum) is
    resampled at ``fs_hz`` by a not-a-knot cubic spline; its Welch spectrum (Hann segments
    of 128 s or the whole series if shorter, 50% overlap, each segment's linear trend
    removed, nfft ≥ 4096) is searched for its largest local maximum in ``band_hz``, whose
    frequency is refined by parabolic interpolation through the three top bins. The rate is
    60 × that frequency. It follows breathing because respiratory sinus arrhythmia makes
    breathing the dominant rhythm of the heart period at rest (Lehrer & Gevirtz 2014).
    Caveat: with fast, shallow breathing the ~0.1 Hz baroreflex (Mayer) wave can be the
    larger rhythm, and its rate is returned instead; a pacer's own rate is better when
    there is one.

    Parameters
    ----------
    rr_ms : array_like
        RR intervals, ms; the beats must span at least ``2 / band_hz[0]`` s (50 s).
    t_s : array_like, optional
        Beat times, s on the beat clock, one per interval (use it when the chain has gaps).
    band_hz : tuple of float
        Range of breathing frequencies sought, Hz (0.04–0.4, i.e. 2.4–24 breaths/min).
    fs_hz : float
        Resampling rate, Hz.

    Returns
    -------
    float
        Breaths per minute; NaN if the tachogram has no variability in ``band_hz``.

    Raises
    ------
    InvalidInputError
        Bad ``rr_ms`` (empty, NaN, non-positive, too short), ``t_s`` not one finite,
        strictly increasing time per interval, or a bad band or ``fs_hz``.

    References
    ----------
    Lehrer, P. M., & Gevirtz, R. (2014). Heart rate variability biofeedback: how and why
    does it work? Frontiers in Psychology 5, 756.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(300) * 1.0
    >>> round(breathing_rate(1000.0 + 50.0 * np.sin(2 * np.pi * 0.1 * t)), 1)
    6.0
    """
    band = check_band(band_hz, "band_hz")
    fs = check_positive(fs_hz, "fs_hz", "Hz")
    t, rr = _beats(t_s, rr_ms, "breathing_rate", 3)
    x = _even_rr(t, rr, fs, band, "breathing_rate")
    return 60.0 * _dominant_hz(x, fs, band)


def _cycle_bounds_from_tachogram(
    t: FloatArray, rr: FloatArray, fs: float, band: tuple[float, float]
) -> tuple[FloatArray, float]:
    """Upward zero crossings of the band-passed heart rate, s, and the dominant frequency, Hz."""
    x = _even_rr(t, rr, fs, band, "rsa_amplitude")
    f0 = _dominant_hz(x, fs, band)
    if math.isnan(f0):  # a flat tachogram: no oscillation, no cycles
        return np.empty(0, dtype=np.float64), f0
    hr = 60000.0 / x
    nyq = fs / 2.0
    lo = max(f0 / BANDPASS_RATIO, 0.005)
    hi = min(f0 * BANDPASS_RATIO, 0.95 * nyq)
    from scipy.signal import butter, sosfiltfilt  # type: ignore[import-untyped]  # ~0.4 s: only here

    sos = butter(BANDPASS_ORDER, [lo, hi], btype="bandpass", fs=fs, output="sos")
    y = np.asarray(sosfiltfilt(sos, hr - np.mean(hr)), dtype=np.float64)
    grid = t[0] + np.arange(y.size, dtype=np.float64) / fs
    k = np.flatnonzero((y[:-1] < 0.0) & (y[1:] >= 0.0))
    frac = -y[k] / (y[k + 1] - y[k])
    return grid[k] + frac / fs, f0


def rsa_amplitude(
    t_s: npt.ArrayLike | None,
    rr_ms: npt.ArrayLike,
    breath_onsets_s: npt.ArrayLike | None = None,
    *,
    band_hz: tuple[float, float] = RESPIRATION_HZ,
    fs_hz: float = DEFAULT_FS_HZ,
) -> RsaBreaths:
    """Per-breath RSA amplitude: the peak-to-trough heart rate of each breath cycle, bpm.

    For each cycle ``[start, end)`` the amplitude is ``max − min`` of the instantaneous
    heart rate ``60000 / rr_ms`` of the beats whose time lies in it (beats, not an
    interpolated curve: the figure a person sees on a beat-by-beat display).

    With ``breath_onsets_s`` (the pacer's inhale starts), the cycles are
    ``[onset_i, onset_{i+1})`` for the consecutive onsets whose cycle lies within
    ``[t_s[0], t_s[-1]]``. Without, the cycles are found from the tachogram: the dominant
    frequency ``f0`` is estimated as in :func:`breathing_rate`, the heart rate resampled at
    ``fs_hz`` (cubic spline of RR, then ``60000 / rr``) is band-passed to
    ``[f0 / 1.5, 1.5 · f0]`` (Butterworth order 2, forward-backward, zero phase), and each
    cycle runs from one upward zero crossing to the next (each holds one peak and one
    trough).

    Parameters
    ----------
    t_s : array_like or None
        Beat times, s on the beat clock, one per interval (the beat ending it); None for an
        unbroken chain, whose times are ``cumsum(rr_ms) / 1000``.
    rr_ms : array_like
        RR intervals, ms. Correct artefacts first: one ectopic beat makes a huge swing.
    breath_onsets_s : array_like, optional
        Start times of each inhale, s on the beat clock, strictly increasing, at least 2.
    band_hz : tuple of float
        Breathing frequencies sought when there are no onsets, Hz (0.04–0.4).
    fs_hz : float
        Resampling rate when there are no onsets, Hz.

    Returns
    -------
    RsaBreaths
        ``start_s``, ``end_s`` (s), ``amplitude_bpm`` (beats/min) per cycle, and
        ``breathing_rate_per_min`` (breaths/min). Empty arrays if no whole cycle fits (or,
        without onsets, the tachogram is flat: then the rate is NaN too).

    Raises
    ------
    InvalidInputError
        Bad ``rr_ms`` (empty, NaN, non-positive; without onsets, shorter than
        ``2 / band_hz[0]`` s), ``t_s`` or ``breath_onsets_s`` not finite and strictly
        increasing, ``t_s`` not one per interval, or bad ``band_hz``/``fs_hz``.

    References
    ----------
    Lehrer, P. M., & Gevirtz, R. (2014). Heart rate variability biofeedback: how and why
    does it work? Frontiers in Psychology 5, 756.
    Lehrer, P. M., Vaschillo, E., & Vaschillo, B. (2000). Resonant frequency biofeedback
    training to increase cardiac variability. Appl. Psychophysiol. Biofeedback 25(3), 177–191.

    Examples
    --------
    >>> import numpy as np
    >>> rr = np.array([1000.0, 900.0, 800.0, 900.0, 1000.0] * 4)  # breaths of 4.6 s
    >>> onsets = np.arange(4) * 4.6 + 1.0  # the first beat is at 1.0 s
    >>> b = rsa_amplitude(None, rr, onsets)
    >>> b.amplitude_bpm.round(1).tolist(), round(b.breathing_rate_per_min, 2)
    ([15.0, 15.0, 15.0], 13.04)
    """
    band = check_band(band_hz, "band_hz")
    fs = check_positive(fs_hz, "fs_hz", "Hz")
    if breath_onsets_s is None:
        t, rr = _beats(t_s, rr_ms, "rsa_amplitude", 3)
        bounds, f0 = _cycle_bounds_from_tachogram(t, rr, fs, band)
        rate = 60.0 * f0
    else:
        t, rr = _beats(t_s, rr_ms, "rsa_amplitude", 2)
        on = _times_array(breath_onsets_s, -1, "breath_onsets_s", "rsa_amplitude")
        if on.size < 2:
            raise InvalidInputError("breath_onsets_s needs at least 2 inhale starts (one whole breath)")
        rate = 60.0 / float(np.median(np.diff(on)))
        bounds = on
    starts, ends = bounds[:-1], bounds[1:]
    inside = (starts >= t[0]) & (ends <= t[-1])
    starts, ends = starts[inside], ends[inside]
    hr = 60000.0 / rr
    lo_idx = np.searchsorted(t, starts, side="left")
    hi_idx = np.searchsorted(t, ends, side="left")
    amp = np.full(starts.size, math.nan)
    for i, (a, b) in enumerate(zip(lo_idx, hi_idx, strict=True)):
        if b - a >= 2:
            seg = hr[a:b]
            amp[i] = float(np.max(seg) - np.min(seg))
    return RsaBreaths(start_s=starts, end_s=ends, amplitude_bpm=amp, breathing_rate_per_min=rate)


def rsa_summary_bpm(amplitudes_bpm: npt.ArrayLike, last_n: int = 5) -> float:
    """Median of the last ``last_n`` per-breath RSA amplitudes, beats/min.

    The median of a few breaths is robust to one breath spoiled by a sigh, a swallow or
    an artefact. NaN amplitudes (breaths over a gap) are skipped before taking the last
    ``last_n``.

    Parameters
    ----------
    amplitudes_bpm : array_like
        Per-breath amplitudes, beats/min, oldest first (e.g. ``rsa_amplitude(...).amplitude_bpm``).
    last_n : int
        How many of the latest valid breaths to summarise (≥ 1).

    Returns
    -------
    float
        Median amplitude, beats/min.

    Raises
    ------
    InvalidInputError
        If ``amplitudes_bpm`` is empty, not 1-D, has negative or infinite values or no
        valid (non-NaN) amplitude, or ``last_n`` < 1.

    Examples
    --------
    >>> rsa_summary_bpm([30.0, 12.0, 11.0, 13.0, 40.0, 12.5], last_n=5)
    12.5
    """
    try:
        a = np.asarray(amplitudes_bpm, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"amplitudes_bpm must be numbers (beats/min): {exc}") from None
    if a.ndim != 1 or a.size == 0:
        raise InvalidInputError("amplitudes_bpm must be a non-empty 1-D sequence of per-breath amplitudes, bpm")
    if isinstance(last_n, bool) or not isinstance(last_n, int | np.integer) or last_n < 1:
        raise InvalidInputError(f"last_n must be a positive integer, got {last_n!r}")
    if np.any(np.isinf(a)) or np.any(a < 0):
        raise InvalidInputError("amplitudes_bpm contains infinite or negative values: amplitudes are >= 0 bpm")
    valid = a[~np.isnan(a)]
    if valid.size == 0:
        raise InvalidInputError("amplitudes_bpm has no valid (non-NaN) amplitude to summarise")
    return float(np.median(valid[-int(last_n) :]))
