"""Band powers of a window of evenly spaced samples by a low-rank projection (for SlidingHRV).

The batch method (:func:`~biofeedback.hrv.frequency.frequency_domain`) computes a band power
of ``n`` samples ``x`` (ms, at ``fs_hz``) as: mean removed, Hann window, ``nfft``-point FFT,
one-sided density, trapezoid over the ``[low, high)`` bins. That is a quadratic form
``x^T Q_n x`` (ms²) in the raw samples, with the mean removal, the window, the density
scaling and the trapezoid weights folded into ``Q_n``. ``Q_n`` is positive semi-definite
with few significant eigenvalues (about 2 · n · bandwidth / fs, Slepian's count), so it is
factored once per ``n`` as ``B_n^T B_n`` (eigenvalues below :data:`EIG_RTOL` of the largest
dropped) and the band power is ``‖B_n x‖²``: one small matrix-vector product per band
(about 50 × 240 for HF at 4 Hz) instead of an FFT.

Windows longer than ``nperseg`` samples use Welch segments of ``nperseg`` with 50% overlap,
as the batch does, and average ``‖B_nperseg s‖²`` over the segments ``s``. A factor is built
(about 15 ms) for a segment length once it has been met :data:`FACTOR_AFTER` times in this
process and then cached; until then that length's powers come from the FFT itself, exactly
as the batch computes them (:func:`fft_band_powers`). The two routes agree to ~1e-13.

Each computation yields four *groups*: the VLF, LF and HF powers and the junction terms, the
half-bin trapezoids that the one-piece total over ``[vlf_low, hf_high)`` adds across the
junctions of touching bands; the total is the sum of the four.

References
----------
Slepian, D. (1978). Prolate spheroidal wave functions, Fourier analysis, and uncertainty V.
Bell Syst. Tech. J. 57(5), 1371–1430.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Final

import numpy as np
import numpy.typing as npt

from biofeedback.hrv._spectral import FloatArray, band_power, welch_psd

__all__ = [
    "EIG_RTOL",
    "FACTOR_AFTER",
    "N_GROUPS",
    "Bands",
    "Factor",
    "SpecParams",
    "band_factor",
    "fft_band_powers",
    "segment_factor",
    "window_band_power",
]

Bands = tuple[tuple[float, float], tuple[float, float], tuple[float, float]]  # VLF, LF, HF, Hz
SpecParams = tuple[float, int, int, Bands]  # fs_hz, nperseg, nfft, bands
Factor = tuple[FloatArray, FloatArray, FloatArray, FloatArray]  # B of VLF, LF, HF, junction rows

N_GROUPS: Final[int] = 4  # VLF, LF, HF, junction
EIG_RTOL: Final[float] = 1e-12  # eigenvalues of a band's quadratic form kept above this × max
FACTOR_AFTER: Final[int] = 3  # a segment length met this often gets a factor (else FFT)
_SEEN_MAX: Final[int] = 4096  # bound on the per-process count of segment lengths met

_seen_n: dict[tuple[int, float, int, Bands], int] = {}


@lru_cache(maxsize=256)
def band_factor(n: int, fs_hz: float, nfft: int, bands: Bands) -> Factor:
    """Factor the band-power quadratic forms of an ``n``-sample Hann segment.

    Parameters
    ----------
    n : int
        Segment length, samples.
    fs_hz : float
        Sampling rate, Hz.
    nfft : int
        FFT length, samples (``>= n``).
    bands : Bands
        The VLF, LF and HF bands ``(low, high)``, Hz.

    Returns
    -------
    Factor
        Four matrices ``B_g`` of ``n`` columns such that, for a raw segment ``x`` (ms; its
        mean is removed inside ``B_g``), ``‖B_g x‖²`` is the VLF, LF and HF power (ms²), and
        for the fourth the junction terms of the one-piece total.
    """
    k = np.arange(n, dtype=np.float64)
    win = 0.5 - 0.5 * np.cos(2.0 * np.pi * k / n)  # scipy's periodic Hann, as welch uses
    scale = 1.0 / (fs_hz * float(np.sum(win * win)))  # density, before folding
    df = fs_hz / nfft
    freq = np.arange(nfft // 2 + 1, dtype=np.float64) * df

    def rows(bins: npt.NDArray[np.int64], weights: FloatArray) -> FloatArray:
        phase = 2.0 * np.pi * np.outer(bins, k) / nfft
        g = np.concatenate([np.cos(phase), np.sin(phase)]) * win
        g -= g.mean(axis=1, keepdims=True)  # x - mean(x) folded in
        # one-sided: every bin doubled but DC and (nfft even) Nyquist, as welch_psd folds
        fold = np.where((bins == 0) | (2 * bins == nfft), 1.0, 2.0)
        w = np.sqrt(np.concatenate([weights * fold, weights * fold]) * scale)
        return np.asarray(g * w[:, None], dtype=np.float64)

    def band_rows(low: float, high: float) -> FloatArray:
        bins = np.flatnonzero((freq >= low) & (freq < high)).astype(np.int64)
        if bins.size < 2:
            return np.zeros((0, n), dtype=np.float64)
        w = np.full(bins.size, df)
        w[0] = w[-1] = df / 2.0
        g = rows(bins, w)
        lam, vec = np.linalg.eigh(g.T @ g)
        keep = lam > EIG_RTOL * max(float(lam[-1]), 0.0)
        return np.ascontiguousarray((vec[:, keep] * np.sqrt(lam[keep])).T)

    (v0, v1), (l0, l1), (h0, h1) = bands
    # the one-piece total over [v0, h1) = the three bands + the half-bin trapezoids
    # across each junction of adjacent (touching) bands
    junction: list[int] = []
    for (a0, a1), (b0, b1) in (((v0, v1), (l0, l1)), ((l0, l1), (h0, h1))):
        ka = np.flatnonzero((freq >= a0) & (freq < a1))
        kb = np.flatnonzero((freq >= b0) & (freq < b1))
        if a1 == b0 and ka.size >= 2 and kb.size >= 2:
            junction += [int(ka[-1]), int(kb[0])]
    extra = rows(np.asarray(junction, dtype=np.int64), np.full(len(junction), df / 2.0))
    return (
        band_rows(v0, v1),
        band_rows(l0, l1),
        band_rows(h0, h1),
        np.ascontiguousarray(extra),
    )


def segment_factor(n: int, fs_hz: float, nfft: int, bands: Bands) -> Factor | None:
    """The cached :func:`band_factor` for ``n``-sample segments, or None while ``n`` is rare.

    Each call counts one meeting of ``(n, fs_hz, nfft, bands)`` in this process; from the
    :data:`FACTOR_AFTER`-th call on the factor is returned (built on first need).
    """
    key = (n, fs_hz, nfft, bands)
    count = _seen_n.get(key, 0)
    if count < FACTOR_AFTER:
        if len(_seen_n) > _SEEN_MAX:  # bounded bookkeeping
            _seen_n.clear()
        _seen_n[key] = count + 1
        return None
    return band_factor(n, fs_hz, nfft, bands)


def fft_band_powers(x: FloatArray, fs_hz: float, nfft: int, bands: Bands) -> list[float]:
    """VLF, LF, HF and junction power (ms²) of one Hann segment ``x`` (ms), by the FFT.

    The batch computation itself (:func:`welch_psd` of the one segment, mean removed, and
    :func:`band_power`), for segment lengths that have no factor yet.
    """
    f, p = welch_psd(x - np.mean(x), fs_hz, x.size, nfft)
    (v0, v1), (l0, l1), (h0, h1) = bands
    vlf, lf, hf = band_power(f, p, v0, v1), band_power(f, p, l0, l1), band_power(f, p, h0, h1)
    return [vlf, lf, hf, band_power(f, p, v0, h1) - vlf - lf - hf]


def window_band_power(
    x: FloatArray,
    group: int,
    spec: SpecParams,
    powers: list[float | None],
    factors: dict[int, Factor] | None,
) -> float:
    """Power of one group of a window's samples, ms², as the batch Welch method computes it.

    Parameters
    ----------
    x : FloatArray
        The window's samples, ms, evenly spaced at ``spec[0]`` Hz.
    group : int
        0 VLF, 1 LF, 2 HF, 3 junction terms (see the module docstring).
    spec : SpecParams
        ``(fs_hz, nperseg, nfft, bands)``.
    powers : list of float or None
        The window's four group powers so far: the result is stored at ``powers[group]``,
        and all four are stored when the FFT route runs (it yields them at once).
    factors : dict or None
        The caller's own cache of factors by window length (checked first, filled when a
        factor is obtained), or None to use only the per-process cache.

    Returns
    -------
    float
        ``powers[group]``.
    """
    fs, nperseg, nfft, bands = spec
    n = x.size
    if n <= nperseg:
        fac = None if factors is None else factors.get(n)
        if fac is None:
            fac = segment_factor(n, fs, max(nfft, n), bands)
            if fac is None:
                every = fft_band_powers(x, fs, max(nfft, n), bands)
                powers[:] = every
                return every[group]
            if factors is not None:
                factors[n] = fac
        z = fac[group] @ x
        v = float(z @ z)
    else:
        step = nperseg - nperseg // 2
        segs = np.lib.stride_tricks.sliding_window_view(x, nperseg)[::step]
        zz = segs @ band_factor(nperseg, fs, max(nfft, nperseg), bands)[group].T
        v = float(np.vdot(zz, zz)) / segs.shape[0]
    powers[group] = v
    return v
