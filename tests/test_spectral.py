"""The chunked Welch estimator equals scipy.signal.welch (it exists to bound memory)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import welch

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
    np.testing.assert_allclose(p, p_ref, rtol=0, atol=1e-12 * float(np.max(p_ref)))


def test_band_power_and_peak_use_the_bins_in_low_inclusive_high_exclusive() -> None:
    f = np.arange(9) / 8.0  # bins exactly on the band edges below
    p = np.arange(9, dtype=np.float64) + 1.0  # rising density: the top bin is the largest
    # [0.25, 0.5) holds the bins 0.25 and 0.375, not 0.5
    assert band_power(f, p, 0.25, 0.5) == 0.125 * (3.0 + 4.0) / 2.0
    assert band_peak_hz(f, p, 0.25, 0.5) == 0.375
    # fewer than two bins inside: no area
    assert band_power(f, p, 0.25, 0.375) == 0.0
