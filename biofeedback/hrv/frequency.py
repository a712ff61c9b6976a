"""Frequency-domain HRV metrics: the RR spectrum and its VLF, LF and HF band powers."""

from __future__ import annotations

import math
from typing import Final, Literal

import numpy as np
import numpy.typing as npt

from biofeedback._validate import check_positive, rr_array
from biofeedback.errors import InvalidInputError
from biofeedback.hrv._spectral import (
    DEFAULT_FS_HZ,
    WELCH_NFFT,
    WELCH_NPERSEG,
    FloatArray,
    band_peak_hz,
    band_power,
    check_band,
    lomb_psd,
    resample_tachogram,
    welch_psd,
)

__all__ = ["HF_HZ", "LF_HZ", "MIN_DURATION_S", "VLF_HZ", "frequency_domain", "power_spectrum"]

VLF_HZ: Final[tuple[float, float]] = (0.0033, 0.04)  # very low frequency band, Hz
LF_HZ: Final[tuple[float, float]] = (0.04, 0.15)  # low frequency band, Hz
HF_HZ: Final[tuple[float, float]] = (0.15, 0.4)  # high frequency band, Hz
MIN_DURATION_S: Final[float] = 4.0  # shortest span of beat times a spectrum is computed on, s
LOMB_MAX_HZ: Final[float] = 0.5  # default top of the Lomb–Scargle frequency grid, Hz

Method = Literal["welch", "lomb"]


def _checked_rr(rr_ms: npt.ArrayLike, what: str, fs_hz: float) -> FloatArray:
    rr = rr_array(rr_ms, min_count=3, what=what)
    span_s = float(np.sum(rr[1:])) / 1000.0
    if span_s < MIN_DURATION_S or span_s * fs_hz < 3.0:
        raise InvalidInputError(
            f"rr_ms spans {span_s:.2f} s of beats; {what} needs at least {MIN_DURATION_S:g} s "
            f"and 4 samples at fs_hz={fs_hz:g} (give a longer series)"
        )
    return rr


def power_spectrum(
    rr_ms: npt.ArrayLike,
    *,
    method: Method = "welch",
    fs_hz: float = DEFAULT_FS_HZ,
    nperseg: int = WELCH_NPERSEG,
    nfft: int = WELCH_NFFT,
    max_hz: float | None = None,
) -> tuple[FloatArray, FloatArray]:
    """Power spectral density of an RR series, ms²/Hz.

    ``method="welch"`` (default): beat times from the cumulative sum of ``rr_ms``, a
    not-a-knot cubic spline resampled at ``fs_hz``, mean removed, Welch's method with a Hann
    window of ``nperseg`` samples (64 s at 4 Hz; the whole series when shorter), 50%
    overlap, ``nfft``-point FFT, one-sided density scaling.
    ``method="lomb"``: the Lomb–Scargle periodogram of the RR values at their beat times
    (no resampling), scaled to the same one-sided density, on the Welch bins
    ``k · fs_hz / nfft`` (k ≥ 1) up to ``max_hz`` (default 0.5 Hz).

    Parameters
    ----------
    rr_ms : array_like
        RR intervals, ms, at least 3, whose beats span at least 4 s.
    method : {"welch", "lomb"}
    fs_hz : float
        Resampling rate for Welch (and bin spacing ``fs_hz / nfft`` for both), Hz.
    nperseg : int
        Welch segment length, samples.
    nfft : int
        FFT length, samples.
    max_hz : float, optional
        Highest frequency returned, Hz (default: ``fs_hz / 2`` for Welch, 0.5 for Lomb).

    Returns
    -------
    freq_hz : ndarray
        Frequencies, Hz.
    psd_ms2_per_hz : ndarray
        One-sided power spectral density, ms²/Hz.

    Raises
    ------
    InvalidInputError
        Bad ``rr_ms`` (empty, NaN, non-positive, too short), unknown ``method``, or a
        non-positive ``fs_hz``, ``nperseg``, ``nfft`` or ``max_hz``.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(300) * 1.0
    >>> f, p = power_spectrum(1000.0 + 50.0 * np.sin(2 * np.pi * 0.1 * t))
    >>> round(float(f[np.argmax(p)]), 3)
    0.1
    """
    fs = check_positive(fs_hz, "fs_hz", "Hz")
    seg = int(check_positive(nperseg, "nperseg", "samples"))
    n_fft = int(check_positive(nfft, "nfft", "samples"))
    top = None if max_hz is None else check_positive(max_hz, "max_hz", "Hz")
    if method not in ("welch", "lomb"):
        raise InvalidInputError(f"method must be 'welch' or 'lomb', got {method!r}")
    rr = _checked_rr(rr_ms, "power_spectrum", fs)
    if method == "welch":
        _, x = resample_tachogram(rr, fs)
        f, p = welch_psd(x - np.mean(x), fs, seg, n_fft)
        if top is not None:
            keep = f <= top
            f, p = f[keep], p[keep]
        return f, p
    top_hz = LOMB_MAX_HZ if top is None else top
    df = fs / max(n_fft, seg)
    f = np.arange(1, math.floor(top_hz / df + 1e-9) + 1, dtype=np.float64) * df
    if f.size == 0:
        raise InvalidInputError(f"max_hz={top_hz:g} is below the first frequency bin {df:g} Hz")
    return f, lomb_psd(np.cumsum(rr) / 1000.0, rr, f)


def frequency_domain(
    rr_ms: npt.ArrayLike,
    *,
    method: Method = "welch",
    fs_hz: float = DEFAULT_FS_HZ,
    nperseg: int = WELCH_NPERSEG,
    nfft: int = WELCH_NFFT,
    vlf_hz: tuple[float, float] = VLF_HZ,
    lf_hz: tuple[float, float] = LF_HZ,
    hf_hz: tuple[float, float] = HF_HZ,
) -> dict[str, float]:
    """Frequency-domain HRV metrics: VLF, LF, HF and total power, LF/HF, band peaks.

    The spectrum is :func:`power_spectrum` with the same ``method``, ``fs_hz``,
    ``nperseg`` and ``nfft``. Default (``"welch"``): beat times from the cumulative sum,
    not-a-knot cubic spline (:class:`scipy.interpolate.CubicSpline`'s, computed in numpy) resampled at 4 Hz,
    mean removed, :func:`scipy.signal.welch` with a Hann window of 256 samples (64 s), 50%
    overlap, nfft 4096, density scaling. A series shorter than 256 samples (64 s) is one
    Hann-windowed segment of its own length (``nperseg`` = number of samples), so a 60 s
    window works. ``"lomb"``: the Lomb–Scargle periodogram of the unevenly sampled beats,
    scaled to ms²/Hz so that band powers are comparable with Welch's.

    Each band power is the trapezoid rule over the bins with ``low <= f < high``.

    Parameters
    ----------
    rr_ms : array_like
        RR intervals, ms, at least 3, spanning at least 4 s. Artefacts distort spectra:
        correct them first. VLF needs several minutes to mean anything (Task Force 1996
        recommends ≥ 2 min for LF and 5 min as the standard).
    method : {"welch", "lomb"}
    fs_hz : float
        Resampling rate, Hz.
    nperseg, nfft : int
        Welch segment length and FFT length, samples.
    vlf_hz, lf_hz, hf_hz : tuple of float
        Band edges ``(low, high)``, Hz. Defaults (0.0033, 0.04), (0.04, 0.15), (0.15, 0.4).

    Returns
    -------
    dict of str to float
        ``vlf_ms2``, ``lf_ms2``, ``hf_ms2``
            Power in each band, ms².
        ``total_ms2``
            Power over ``[vlf low, hf high)`` (0.0033–0.4 Hz) integrated in one piece, ms²
            (slightly above the sum of the three bands, which each skip the trapezoid
            between their last bin and the next band's first).
        ``lf_hf``
            ``lf_ms2 / hf_ms2``, dimensionless (NaN when HF power is 0).
        ``vlf_peak_hz``, ``lf_peak_hz``, ``hf_peak_hz``
            Frequency of the largest density in each band, Hz (bin frequency; NaN if the
            band has no power, e.g. a constant series).

    Raises
    ------
    InvalidInputError
        Bad ``rr_ms`` (empty, NaN, non-positive, fewer than 3 intervals or under 4 s),
        unknown ``method``, bad ``fs_hz``/``nperseg``/``nfft``, or a band not
        ``0 <= low < high``.

    References
    ----------
    Task Force of the ESC and NASPE (1996). Heart rate variability: standards of
    measurement, physiological interpretation and clinical use. Circulation 93, 1043–1065.
    Welch, P. D. (1967). IEEE Trans. Audio Electroacoust. 15(2), 70–73.
    Lomb, N. R. (1976). Astrophys. Space Sci. 39, 447–462; Scargle, J. D. (1982).
    Astrophys. J. 263, 835–853.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> t = np.arange(300) * 1.0
    >>> rr = 1000.0 + 40.0 * np.sin(2 * np.pi * 0.25 * t) + rng.normal(0, 5, t.size)
    >>> m = frequency_domain(rr)
    >>> m["hf_ms2"] > 10 * m["lf_ms2"], round(m["hf_peak_hz"], 2)
    (True, 0.25)
    """
    vlf = check_band(vlf_hz, "vlf_hz")
    lf = check_band(lf_hz, "lf_hz")
    hf = check_band(hf_hz, "hf_hz")
    top = max(LOMB_MAX_HZ, hf[1], lf[1], vlf[1]) if method == "lomb" else None
    f, p = power_spectrum(rr_ms, method=method, fs_hz=fs_hz, nperseg=nperseg, nfft=nfft, max_hz=top)
    vlf_p = band_power(f, p, *vlf)
    lf_p = band_power(f, p, *lf)
    hf_p = band_power(f, p, *hf)
    return {
        "vlf_ms2": vlf_p,
        "lf_ms2": lf_p,
        "hf_ms2": hf_p,
        "total_ms2": band_power(f, p, vlf[0], hf[1]),
        "lf_hf": lf_p / hf_p if hf_p > 0.0 else math.nan,
        "vlf_peak_hz": band_peak_hz(f, p, *vlf),
        "lf_peak_hz": band_peak_hz(f, p, *lf),
        "hf_peak_hz": band_peak_hz(f, p, *hf),
    }
