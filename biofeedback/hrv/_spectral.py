"""Generic spectral helpers for RR-interval series (tachograms).

Plain functions over numpy arrays, shared by :mod:`biofeedback.hrv.frequency`,
:mod:`biofeedback.hrv.coherence`, :mod:`biofeedback.hrv.rsa` and the streaming metrics:

- :func:`resample_tachogram`: the RR series on its beat times, resampled evenly by a
  not-a-knot cubic spline (Task Force 1996; the Kubios and hrv-analysis default);
- :func:`welch_psd`: Welch's averaged periodogram, Hann window, one-sided density;
- :func:`lomb_psd`: the Lomb–Scargle periodogram of the unevenly sampled series, scaled to
  the same one-sided density so band powers compare (Lomb 1976; Scargle 1982);
- :func:`band_power` and :func:`band_peak_hz`: trapezoid power over ``[low, high)`` and
  the frequency of the largest density there.

Units: RR in ms, times in s, frequencies in Hz, densities in ms²/Hz, powers in ms².
"""

from __future__ import annotations

import math
from typing import Final, Literal

import numpy as np
import numpy.typing as npt

from biofeedback.errors import InvalidInputError
from biofeedback.hrv._spline import not_a_knot_spline

# scipy is imported inside the functions that need it: importing scipy.signal costs ~0.4 s of
# CPU, and most callers (a replay, the live prompt) only need the spline, the Hann window and
# the detrending below, which are numpy.

__all__ = [
    "DEFAULT_FS_HZ",
    "WELCH_NFFT",
    "WELCH_NPERSEG",
    "FloatArray",
    "band_peak_hz",
    "band_power",
    "check_band",
    "detrend_rows",
    "hann_window",
    "local_peak_index",
    "lomb_psd",
    "parabolic_peak",
    "resample_on_times",
    "resample_tachogram",
    "welch_psd",
]

FloatArray = npt.NDArray[np.float64]

DEFAULT_FS_HZ: Final[float] = 4.0  # resampling rate of the tachogram, Hz
WELCH_NPERSEG: Final[int] = 256  # Welch segment, samples (64 s at 4 Hz)
WELCH_NFFT: Final[int] = 4096  # FFT length, samples (bin width 1/1024 Hz at 4 Hz)
WELCH_CHUNK_SEGMENTS: Final[int] = 256  # segments transformed at once (bounds memory)


def check_band(band: tuple[float, float], name: str) -> tuple[float, float]:
    """Return ``band`` as ``(low, high)`` floats with ``0 <= low < high``, else raise."""
    try:
        low, high = (float(b) for b in band)
    except (TypeError, ValueError):
        raise InvalidInputError(f"{name} must be a (low, high) pair of frequencies in Hz, got {band!r}") from None
    if not (math.isfinite(low) and math.isfinite(high)) or low < 0 or high <= low:
        raise InvalidInputError(f"{name} must satisfy 0 <= low < high (Hz), got {band!r}")
    return low, high


def resample_tachogram(rr_ms: FloatArray, fs_hz: float = DEFAULT_FS_HZ) -> tuple[FloatArray, FloatArray]:
    """Resample an RR series evenly in time with a not-a-knot cubic spline.

    Each interval ``rr_ms[i]`` is placed at the time of the beat that ends it,
    ``t[i] = cumsum(rr_ms)[i] / 1000`` s, and the spline through ``(t, rr_ms)``
    (:class:`scipy.interpolate.CubicSpline`'s, ``bc_type="not-a-knot"``, computed in numpy by
    :func:`biofeedback.hrv._spline.not_a_knot_spline`) is sampled at
    ``t[0] + k / fs_hz`` for every ``k >= 0`` up to ``t[-1]`` inclusive.

    Parameters
    ----------
    rr_ms : ndarray
        Validated RR intervals, ms (at least 2).
    fs_hz : float
        Resampling rate, Hz.

    Returns
    -------
    t_s : ndarray
        Sample times, s on the beat clock.
    rr_even_ms : ndarray
        Interpolated RR at those times, ms (mean not removed).

    Examples
    --------
    >>> import numpy as np
    >>> t, x = resample_tachogram(np.array([1000.0, 1000.0, 1000.0]), 4.0)
    >>> t.tolist(), x.tolist()
    ([1.0, 1.25, 1.5, 1.75, 2.0, 2.25, 2.5, 2.75, 3.0], [1000.0, 1000.0, 1000.0, 1000.0, 1000.0, 1000.0, 1000.0, 1000.0, 1000.0])
    """
    return resample_on_times(np.cumsum(rr_ms) / 1000.0, rr_ms, fs_hz)


def resample_on_times(t_s: FloatArray, values: FloatArray, fs_hz: float) -> tuple[FloatArray, FloatArray]:
    """Sample the not-a-knot cubic spline through ``(t_s, values)`` at ``t_s[0] + k / fs_hz``.

    ``t_s`` must be strictly increasing (at least 2 points); samples run up to ``t_s[-1]``
    inclusive. Returns the sample times (s) and values.
    """
    n = math.floor((t_s[-1] - t_s[0]) * fs_hz + 1e-9) + 1
    grid_s = t_s[0] + np.arange(n, dtype=np.float64) / fs_hz
    return grid_s, not_a_knot_spline(t_s, values, grid_s)


def welch_psd(
    x: FloatArray,
    fs_hz: float = DEFAULT_FS_HZ,
    nperseg: int = WELCH_NPERSEG,
    nfft: int = WELCH_NFFT,
    detrend: Literal["constant", "linear"] = "constant",
) -> tuple[FloatArray, FloatArray]:
    """One-sided Welch power spectral density of an evenly sampled series.

    Hann window of ``nperseg`` samples (or of the whole series when it is shorter), 50%
    overlap, each segment's mean (or, with ``detrend="linear"``, its straight-line fit)
    removed, zero-padded to ``max(nfft, nperseg)`` points, ``scaling="density"`` (Welch 1967).
    The result is :func:`scipy.signal.welch`'s with those settings (to 1e-12), computed a
    chunk of segments at a time so that a day of beats needs a few MB, not hundreds.

    Parameters
    ----------
    x : ndarray
        Evenly sampled series (e.g. RR in ms), at least 2 samples.
    fs_hz : float
        Sampling rate, Hz.
    nperseg : int
        Segment length, samples.
    nfft : int
        FFT length, samples.
    detrend : {"constant", "linear"}
        What is removed from each segment before windowing.

    Returns
    -------
    freq_hz : ndarray
        Frequencies from 0 to ``fs_hz / 2``, Hz.
    psd : ndarray
        Density, (unit of x)²/Hz (ms²/Hz for RR in ms).
    """
    seg = min(int(nperseg), x.size)
    n_fft = max(int(nfft), seg)
    window = hann_window(seg)  # periodic Hann, as scipy.signal.welch uses
    segments = np.lib.stride_tricks.sliding_window_view(x, seg)[:: seg - seg // 2]
    power = np.zeros(n_fft // 2 + 1)
    # a few hundred segments at a time: a day of beats needs no more than ~10 MB here
    for start in range(0, segments.shape[0], WELCH_CHUNK_SEGMENTS):
        chunk = detrend_rows(segments[start : start + WELCH_CHUNK_SEGMENTS], detrend) * window
        spectrum = np.fft.rfft(chunk, n_fft, axis=-1)
        power += np.sum(spectrum.real**2 + spectrum.imag**2, axis=0)
    psd: FloatArray = power / (fs_hz * float(np.sum(window * window)) * segments.shape[0])
    psd[1 : None if n_fft % 2 else -1] *= 2.0  # one-sided: fold the negative frequencies
    freq_hz: FloatArray = np.fft.rfftfreq(n_fft, 1.0 / fs_hz).astype(np.float64)
    return freq_hz, psd


def hann_window(n: int) -> FloatArray:
    """The periodic (DFT-even) Hann window of ``n`` samples.

    The same values, bit for bit, as ``scipy.signal.get_window("hann", n)`` (scipy's
    ``general_cosine`` with coefficients 0.5, 0.5 on ``n + 1`` points, the last dropped),
    without importing :mod:`scipy.signal`.

    Examples
    --------
    >>> hann_window(4).tolist()
    [0.0, 0.5, 1.0, 0.5]
    """
    if n <= 1:
        return np.ones(n, dtype=np.float64)
    fac = np.linspace(-np.pi, np.pi, n + 1, dtype=np.float64)
    w = np.zeros(n + 1, dtype=np.float64)
    for k, a in enumerate((0.5, 1.0 - 0.5)):
        w += a * np.cos(k * fac)
    return w[:-1]


def detrend_rows(x: FloatArray, kind: Literal["constant", "linear"]) -> FloatArray:
    """Each row of ``x`` with its mean (``"constant"``) or its least-squares line (``"linear"``) removed.

    The values of ``scipy.signal.detrend(x, axis=-1, type=kind)`` (bit for bit for
    ``"constant"``, to rounding for ``"linear"``), in numpy: the line's slope is the
    closed-form least-squares one, ``Σ (a − ā)(x − x̄) / Σ (a − ā)²`` over the sample index
    ``a``, so no :mod:`scipy.linalg` (~0.2 s to import) is needed.
    """
    centred = np.asarray(x - np.mean(x, -1, keepdims=True), dtype=np.float64)
    if kind == "constant":
        return centred
    if kind != "linear":
        raise InvalidInputError(f"detrend must be 'constant' or 'linear', got {kind!r}")
    n = x.shape[-1]
    a = np.arange(n, dtype=np.float64) - (n - 1) / 2.0
    denominator = float(a @ a)
    if denominator == 0.0:  # one sample: its mean is its line
        return centred
    slope = (centred @ a) / denominator
    return np.asarray(centred - slope[..., np.newaxis] * a, dtype=np.float64)


def lomb_psd(t_s: FloatArray, y: FloatArray, freq_hz: FloatArray) -> FloatArray:
    """Lomb–Scargle periodogram of an unevenly sampled series, as a one-sided density.

    The mean of ``y`` is removed, :func:`scipy.signal.lombscargle` (``normalize=False``)
    gives the classical periodogram ``P(f)`` (Scargle 1982), and the density is
    ``2 · P(f) · Δt`` with ``Δt`` the mean sampling interval ``(t[-1] − t[0]) / (N − 1)``.
    For even sampling this is the one-sided periodogram density, so a sinusoid of
    amplitude ``A`` integrates to ``A² / 2`` and band powers compare with Welch's.

    Parameters
    ----------
    t_s : ndarray
        Sample times, s (strictly increasing, at least 2).
    y : ndarray
        Values at those times (e.g. RR in ms).
    freq_hz : ndarray
        Frequencies to evaluate, Hz (> 0).

    Returns
    -------
    ndarray
        Density at ``freq_hz``, (unit of y)²/Hz.
    """
    from scipy.signal import lombscargle  # type: ignore[import-untyped]

    yc = y - np.mean(y)
    p = lombscargle(t_s, yc, 2.0 * np.pi * freq_hz, normalize=False)
    dt_s = (t_s[-1] - t_s[0]) / (t_s.size - 1)
    return np.asarray(2.0 * p * dt_s, dtype=np.float64)


def _band_mask(freq_hz: FloatArray, low: float, high: float) -> npt.NDArray[np.bool_]:
    return np.asarray((freq_hz >= low) & (freq_hz < high), dtype=np.bool_)


def band_power(freq_hz: FloatArray, psd: FloatArray, low: float, high: float) -> float:
    """Power in ``[low, high)`` Hz by the trapezoid rule over the bins inside it.

    Only bins with ``low <= f < high`` are integrated (no interpolation at the edges),
    so 0.0 when fewer than two bins fall inside. Units: those of ``psd`` times Hz.
    """
    m = _band_mask(freq_hz, low, high)
    if np.count_nonzero(m) < 2:
        return 0.0
    return float(np.trapezoid(psd[m], freq_hz[m]))


def band_peak_hz(freq_hz: FloatArray, psd: FloatArray, low: float, high: float) -> float:
    """Frequency of the largest density in ``[low, high)``, Hz; NaN if no bin inside has power."""
    m = _band_mask(freq_hz, low, high)
    if not np.any(m) or not np.max(psd[m]) > 0.0:
        return math.nan
    f = freq_hz[m]
    return float(f[int(np.argmax(psd[m]))])


def local_peak_index(freq_hz: FloatArray, psd: FloatArray, low: float, high: float) -> int | None:
    """Index of the largest local maximum of ``psd`` in ``[low, high)``; None if the band has no power.

    A local maximum is a bin at least as high as both neighbours (neighbours may lie outside
    the band), so leakage rising into the band from below (VLF power at its lower edge) is
    not taken for a peak. If the band holds no local maximum, its largest bin is returned.
    """
    idx = np.flatnonzero(_band_mask(freq_hz, low, high))
    if idx.size == 0 or not np.max(psd[idx]) > 0.0:
        return None
    inner = idx[(idx > 0) & (idx < freq_hz.size - 1)]
    local = inner[(psd[inner] >= psd[inner - 1]) & (psd[inner] >= psd[inner + 1]) & (psd[inner] > 0)]
    cand = local if local.size else idx
    return int(cand[int(np.argmax(psd[cand]))])


def parabolic_peak(freq_hz: FloatArray, psd: FloatArray, low: float, high: float) -> float:
    """Frequency of the largest local maximum in ``[low, high)`` refined by a parabola, Hz.

    The peak bin is :func:`local_peak_index`'s; the vertex of the parabola through it and
    its two neighbours (quadratic interpolation, Smith & Serra 1987) places the estimate
    between bins. NaN if no bin inside the band has power.
    """
    k = local_peak_index(freq_hz, psd, low, high)
    if k is None:
        return math.nan
    if k == 0 or k == freq_hz.size - 1:
        return float(freq_hz[k])
    a, b, c = float(psd[k - 1]), float(psd[k]), float(psd[k + 1])
    denom = a - 2.0 * b + c
    if denom >= 0.0:
        return float(freq_hz[k])
    delta = 0.5 * (a - c) / denom
    return float(freq_hz[k] + delta * (freq_hz[k + 1] - freq_hz[k]))
