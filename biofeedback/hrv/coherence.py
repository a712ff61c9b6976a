"""HeartMath's heart-rhythm coherence ratio over the last 64 s of a tachogram.

McCraty et al. (2009) define coherence from the HRV power spectrum of a 64 s window: find
the highest peak in 0.04–0.26 Hz, integrate a 0.030 Hz-wide band centred on it (the peak
power), and divide by the rest of the total power: ``peak / (total − peak)``. A person
breathing slowly and regularly puts nearly all their variability into one peak near
0.1 Hz, and the ratio climbs; irregular, fast or noisy rhythms spread the power out.
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np
import numpy.typing as npt

from biofeedback._validate import check_positive, rr_array
from biofeedback.errors import InvalidInputError
from biofeedback.hrv._spectral import (
    DEFAULT_FS_HZ,
    WELCH_NFFT,
    FloatArray,
    band_power,
    check_band,
    local_peak_index,
    resample_tachogram,
    welch_psd,
)
from biofeedback.hrv.frequency import HF_HZ, LF_HZ, VLF_HZ

__all__ = ["COHERENCE_WINDOW_S", "coherence", "coherence_detail"]

COHERENCE_WINDOW_S: Final[float] = 64.0  # HeartMath's analysis window, s
PEAK_SEARCH_HZ: Final[tuple[float, float]] = (LF_HZ[0], 0.26)  # where the coherence peak is sought, Hz
PEAK_WIDTH_HZ: Final[float] = 0.030  # width of the band integrated around the peak, Hz
TOTAL_HZ: Final[tuple[float, float]] = (VLF_HZ[0], HF_HZ[1])  # total power range, VLF to HF, Hz
_SPLINE_MARGIN_BEATS: Final[int] = 4  # beats kept before the window so the spline is local


def _window_spectrum(rr_ms: npt.ArrayLike, window_s: float, fs_hz: float, nfft: int) -> tuple[FloatArray, FloatArray]:
    rr = rr_array(rr_ms, min_count=3, what="coherence")
    t = np.cumsum(rr) / 1000.0
    span_s = float(t[-1] - t[0])
    if span_s < window_s:
        raise InvalidInputError(
            f"rr_ms spans {span_s:.1f} s of beats; coherence needs at least window_s={window_s:g} s "
            "(give a longer series or a shorter window_s)"
        )
    first = max(0, int(np.searchsorted(t, t[-1] - window_s, side="left")) - _SPLINE_MARGIN_BEATS)
    _, x = resample_tachogram(rr[first:], fs_hz)
    n = round(window_s * fs_hz)
    x = x[-n:]
    # one Hann-windowed segment of the whole window (Welch with nperseg = n), mean removed
    return welch_psd(x - np.mean(x), fs_hz, n, max(nfft, n))


def coherence_detail(
    rr_ms: npt.ArrayLike,
    *,
    window_s: float = COHERENCE_WINDOW_S,
    fs_hz: float = DEFAULT_FS_HZ,
    nfft: int = WELCH_NFFT,
    peak_search_hz: tuple[float, float] = PEAK_SEARCH_HZ,
    peak_width_hz: float = PEAK_WIDTH_HZ,
    total_hz: tuple[float, float] = TOTAL_HZ,
) -> dict[str, float]:
    """HeartMath coherence of the last ``window_s`` seconds, with its parts.

    Spectral estimate: the RR series on its beat times (cumulative sum) is resampled at
    ``fs_hz`` by a not-a-knot cubic spline (through the window's beats and a few before
    it), the last ``round(window_s · fs_hz)`` samples (256 = 64 s at 4 Hz, ending at the
    last beat) have their mean removed and make one Hann-windowed periodogram, zero-padded
    to ``nfft`` (bins of 1/1024 Hz), one-sided density in ms²/Hz: the same estimate
    :func:`~biofeedback.hrv.frequency_domain` makes of a 64 s series. Powers are trapezoid
    integrals over ``[low, high)``.

    Parameters
    ----------
    rr_ms : array_like
        RR intervals, ms, in order; their beats must span at least ``window_s``.
    window_s : float
        Analysis window, s (HeartMath: 64).
    fs_hz : float
        Resampling rate, Hz.
    nfft : int
        FFT length, samples.
    peak_search_hz : tuple of float
        Where the peak is sought, Hz (0.04, 0.26).
    peak_width_hz : float
        Width of the band centred on the peak, Hz (0.030).
    total_hz : tuple of float
        Range of the total power, Hz (0.0033, 0.4).

    Returns
    -------
    dict of str to float
        ``coherence_ratio``
            ``peak_ms2 / (total_ms2 − peak_ms2)``, dimensionless (``inf`` if all the power
            is in the peak band, NaN if there is no power at all).
        ``peak_hz``
            Frequency of the highest spectral peak (local maximum) in ``peak_search_hz``,
            Hz: leakage rising into 0.04 Hz from the VLF band is not a peak (NaN if no
            power).
        ``peak_ms2``
            Power in ``[peak_hz − width/2, peak_hz + width/2)``, ms².
        ``total_ms2``
            Power in ``total_hz``, ms².

    Raises
    ------
    InvalidInputError
        If ``rr_ms`` is empty, has NaN/inf or non-positive values, spans less than
        ``window_s``, or a parameter is not positive / a band not ``0 <= low < high``.

    References
    ----------
    McCraty, R., Atkinson, M., Tomasino, D., & Bradley, R. T. (2009). The coherent heart:
    heart–brain interactions, psychophysiological coherence, and the emergence of
    system-wide order. Integral Review 5(2), 10–115 (HeartMath Institute).

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(120) * 1.0
    >>> d = coherence_detail(1000.0 + 60.0 * np.sin(2 * np.pi * 0.1 * t))
    >>> round(d["peak_hz"], 2), d["coherence_ratio"] > 5
    (0.1, True)
    """
    win = check_positive(window_s, "window_s", "seconds")
    fs = check_positive(fs_hz, "fs_hz", "Hz")
    n_fft = int(check_positive(nfft, "nfft", "samples"))
    width = check_positive(peak_width_hz, "peak_width_hz", "Hz")
    lo, hi = check_band(peak_search_hz, "peak_search_hz")
    t_lo, t_hi = check_band(total_hz, "total_hz")
    if win * fs < 4:
        raise InvalidInputError(f"window_s={win:g} s at fs_hz={fs:g} gives fewer than 4 samples")
    f, p = _window_spectrum(rr_ms, win, fs, n_fft)
    k = local_peak_index(f, p, lo, hi)
    peak_hz = math.nan if k is None else float(f[k])
    peak = band_power(f, p, peak_hz - width / 2.0, peak_hz + width / 2.0)
    total = band_power(f, p, t_lo, t_hi)
    rest = total - peak
    if total <= 0.0:
        ratio = math.nan
    elif rest <= 0.0:
        ratio = math.inf
    else:
        ratio = peak / rest
    return {"coherence_ratio": ratio, "peak_hz": peak_hz, "peak_ms2": peak, "total_ms2": total}


def coherence(
    rr_ms: npt.ArrayLike,
    *,
    window_s: float = COHERENCE_WINDOW_S,
    fs_hz: float = DEFAULT_FS_HZ,
    nfft: int = WELCH_NFFT,
    peak_search_hz: tuple[float, float] = PEAK_SEARCH_HZ,
    peak_width_hz: float = PEAK_WIDTH_HZ,
    total_hz: tuple[float, float] = TOTAL_HZ,
) -> float:
    """HeartMath coherence ratio of the last 64 s: peak power / (total power − peak power).

    Dimensionless. See :func:`coherence_detail` for the method, parameters, the peak
    frequency and powers, and the reference (McCraty et al. 2009).

    Raises
    ------
    InvalidInputError
        As :func:`coherence_detail`.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> coherence(rng.normal(900.0, 40.0, 100)) < 1.0
    True
    """
    return coherence_detail(
        rr_ms,
        window_s=window_s,
        fs_hz=fs_hz,
        nfft=nfft,
        peak_search_hz=peak_search_hz,
        peak_width_hz=peak_width_hz,
        total_hz=total_hz,
    )["coherence_ratio"]
