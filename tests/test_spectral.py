"""The chunked Welch estimator equals scipy.signal.welch (it exists to bound memory)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import welch

from biofeedback.hrv._band_factors import band_factor, fft_band_powers
from biofeedback.hrv._spectral import band_peak_hz, band_power, welch_psd


@pytest.mark.parametrize("n", [2, 3, 100, 240, 256, 257, 1000, 70_000])
@pytest.mark.parametrize(("nperseg", "nfft"), [(256, 4096), (256, 255), (128, 513)])
@pytest.mark.parametrize("detrend", ["constant", "linear"])
def test_welch_psd_equals_scipy(n: int, nperseg: int, nfft: int, detrend: str) -> None:
    x = np.random.default_rng(n).normal(1000.0, 50.0, n)
    seg = min(nperseg, n)
    f_ref, p_ref = welch(x, fs=4.0, window="hann", nperseg=seg, noverlap=seg // 2, nfft=max(nfft, seg),
                         detrend=detrend, scaling="density")
    f, p = welch_psd(x, 4.0, nperseg, nfft, detrend)  # type: ignore[arg-type]
    np.testing.assert_allclose(f, f_ref, rtol=0, atol=1e-15)
    # the scale: the largest density, or the variance where a line through 2 points leaves only rounding
    np.testing.assert_allclose(p, p_ref, rtol=0, atol=1e-12 * max(float(np.max(p_ref)), float(np.var(x))))


def test_band_power_and_peak_use_the_bins_in_low_inclusive_high_exclusive() -> None:
    f = np.arange(9) / 8.0  # bins exactly on the band edges below
    p = np.arange(9, dtype=np.float64) + 1.0  # rising density: the top bin is the largest
    # [0.25, 0.5) holds the bins 0.25 and 0.375, not 0.5
    assert band_power(f, p, 0.25, 0.5) == 0.125 * (3.0 + 4.0) / 2.0
    assert band_peak_hz(f, p, 0.25, 0.5) == 0.375
    # fewer than two bins inside: no area
    assert band_power(f, p, 0.25, 0.375) == 0.0


BAND_SETS = [
    ((0.0033, 0.04), (0.04, 0.15), (0.15, 0.4)),  # the Task Force bands
    ((0.0, 0.04), (0.04, 0.15), (0.15, 0.4)),  # VLF from 0 Hz: the DC bin is in the band
    ((0.0033, 0.04), (0.04, 0.15), (0.15, 2.5)),  # HF up past the Nyquist bin (2 Hz at 4 Hz)
    ((4 / 1024, 40 / 1024), (40 / 1024, 154 / 1024), (154 / 1024, 410 / 1024)),  # edges on bins
]


@pytest.mark.parametrize("bands", BAND_SETS, ids=["task_force", "from_dc", "to_nyquist", "on_bins"])
@pytest.mark.parametrize("n", [240, 256])
def test_streaming_band_routes_equal_the_batch_band_powers(
    bands: tuple[tuple[float, float], tuple[float, float], tuple[float, float]], n: int
) -> None:
    # SlidingHRV's two routes (the FFT and the low-rank factor) must compute what
    # frequency_domain computes from the same samples: welch_psd of one Hann segment and
    # band_power, including the unfolded DC and Nyquist bins (regression: both routes
    # doubled them, so a band from 0 Hz or up to fs/2 disagreed with the batch)
    x = np.random.default_rng(n).normal(1000.0, 50.0, n)
    f, p = welch_psd(x - np.mean(x), 4.0, n, 4096)
    expected = [band_power(f, p, lo, hi) for lo, hi in bands]
    expected.append(band_power(f, p, bands[0][0], bands[2][1]) - sum(expected))  # the junction terms
    fft_route = fft_band_powers(x, 4.0, 4096, bands)
    factor = band_factor(n, 4.0, 4096, bands)
    factor_route = [float(np.sum((b @ x) ** 2)) for b in factor]
    scale = float(np.max(expected))
    np.testing.assert_allclose(fft_route, expected, rtol=0, atol=1e-10 * scale)
    np.testing.assert_allclose(factor_route, expected, rtol=0, atol=1e-9 * scale)


def test_the_hann_window_and_detrending_are_scipys() -> None:
    import scipy.signal

    from biofeedback.hrv._spectral import detrend_rows, hann_window

    for n in [*range(1, 300), 512, 1024, 4096]:
        np.testing.assert_array_equal(hann_window(n), scipy.signal.get_window("hann", n))
    rng = np.random.default_rng(2)
    for shape in [(1, 1), (1, 2), (1, 8), (3, 7), (40, 256), (300, 512)]:
        x = 1000.0 + 50.0 * rng.standard_normal(shape) + np.arange(shape[1]) * 0.3
        np.testing.assert_array_equal(detrend_rows(x, "constant"), scipy.signal.detrend(x, axis=-1, type="constant"))
        # the line in closed form, not by scipy.linalg.lstsq: equal to rounding (x is ~1000)
        np.testing.assert_allclose(detrend_rows(x, "linear"), scipy.signal.detrend(x, axis=-1, type="linear"),
                                   rtol=0, atol=1e-10)


def spline_cases() -> list[tuple[str, np.ndarray, np.ndarray]]:
    from _data import DATA

    rng = np.random.default_rng(7)
    cases = []
    for n in [2, 3, 4, 5, 6, 7, 8, 9, 16, 17, 1001]:
        rr = rng.uniform(300.0, 2000.0, n)
        cases.append((f"random_{n}", np.cumsum(rr) / 1000.0, rr + rng.normal(0.0, 50.0, n)))
    x = np.cumsum(np.array([1.0, 1e-3, 5.0, 1e-3, 1e-3, 20.0, 1.0, 0.5, 1e-2]))  # spacings 1:20,000 apart
    cases.append(("uneven", x, np.sin(x) * 100.0))
    for name in ("pyhrv_nsrdb_5min", "polarh10_slow_breathing"):
        rr = np.loadtxt(DATA / f"{name}.txt")
        cases.append((name, np.cumsum(rr) / 1000.0, rr))
    return cases


@pytest.mark.parametrize(("x", "v"), [c[1:] for c in spline_cases()], ids=[c[0] for c in spline_cases()])
def test_the_spline_is_scipys_not_a_knot_cubic_spline(x: np.ndarray, v: np.ndarray) -> None:
    # the batch resampling is written in numpy so that a replay need not import scipy.interpolate
    # (~0.4 s); it must stay the spline the documented method names, to rounding
    from scipy.interpolate import CubicSpline

    from biofeedback.hrv._spline import not_a_knot_spline

    at = np.concatenate([np.linspace(x[0], x[-1], 4 * len(x) + 3), x, [x[0] - 0.3, x[-1] + 0.3]])
    spline = CubicSpline(x, v, bc_type="not-a-knot")
    for points in (at, np.sort(at)):  # in any order, and sorted (knots among the points: the grid's route)
        np.testing.assert_allclose(not_a_knot_spline(x, v, points), spline(points),
                                   rtol=0, atol=1e-11 * float(np.max(np.abs(v))))


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 31, 32, 33, 1000])
def test_cyclic_reduction_solves_a_diagonally_dominant_tridiagonal_system(n: int) -> None:
    from biofeedback.hrv._spline import solve_tridiagonal

    rng = np.random.default_rng(n)
    sub, sup = rng.uniform(-1.0, 1.0, n), rng.uniform(-1.0, 1.0, n)
    diag = (np.abs(sub) + np.abs(sup) + rng.uniform(0.01, 1.0, n)) * rng.choice([-1.0, 1.0], n)
    dense = np.diag(diag) + np.diag(sub[1:], -1) + np.diag(sup[:-1], 1)
    rhs = rng.normal(0.0, 10.0, n)
    np.testing.assert_allclose(solve_tridiagonal(sub, diag, sup, rhs), np.linalg.solve(dense, rhs),
                               rtol=1e-10, atol=1e-10)
