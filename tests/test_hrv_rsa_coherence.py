"""RSA amplitude, breathing rate and HeartMath coherence: synthetic anchors, real recordings, errors.

Data: a Polar H10 slow-breathing session (MIT) and PhysioNet nsrdb via pyhrv (ODC-By 1.0);
see tests/data/README.md.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import pytest
from _data import DATA
from scipy.interpolate import CubicSpline
from scipy.signal import periodogram

from biofeedback.errors import InvalidInputError
from biofeedback.hrv import (
    breathing_rate,
    coherence,
    coherence_detail,
    rsa_amplitude,
    rsa_summary_bpm,
)


def load_rr(name: str) -> npt.NDArray[np.float64]:
    return np.loadtxt(DATA / name, dtype=np.float64)


def rr_tachogram(duration_s: float, mean_ms: float, amp_ms: float, freq_hz: float) -> npt.NDArray[np.float64]:
    """RR intervals whose value at their own beat time is ``mean + amp·sin(2π f t)``."""
    rr: list[float] = []
    t = 0.0
    while t < duration_s:
        r = mean_ms
        for _ in range(30):
            r = mean_ms + amp_ms * math.sin(2 * math.pi * freq_hz * (t + r / 1000.0))
        rr.append(r)
        t += r / 1000.0
    return np.array(rr)


def hr_tachogram(
    duration_s: float, mean_bpm: float, amp_bpm: float, freq_hz: float, phase: float = 0.0
) -> npt.NDArray[np.float64]:
    """RR intervals whose instantaneous HR at their own beat is ``mean + amp·sin(2π f t + phase)``."""
    rr: list[float] = []
    t = 0.0
    while t < duration_s:
        r = 60000.0 / mean_bpm
        for _ in range(50):  # fixed point: the HR is evaluated at the beat that ends r
            r = 60000.0 / (mean_bpm + amp_bpm * math.sin(2 * math.pi * freq_hz * (t + r / 1000.0) + phase))
        rr.append(r)
        t += r / 1000.0
    return np.array(rr)


# --- RSA amplitude -------------------------------------------------------------------


@pytest.mark.parametrize("phase", [0.0, 0.3, 1.0, 2.0])
def test_rsa_of_a_20_bpm_swing_with_pacer_onsets(phase: float) -> None:
    rr = hr_tachogram(300.0, 60.0, 10.0, 0.1, phase)
    onsets = np.arange(0.0, 300.0, 10.0)
    b = rsa_amplitude(None, rr, onsets)
    assert len(b) == 28  # cycles wholly inside [first beat, last beat]
    np.testing.assert_allclose(b.amplitude_bpm, 20.0, atol=1.0)  # measured 19.27-19.97
    np.testing.assert_array_equal(b.end_s - b.start_s, 10.0)
    assert b.breathing_rate_per_min == 6.0


@pytest.mark.parametrize("phase", [0.0, 0.3, 1.0, 2.0])
def test_rsa_of_a_20_bpm_swing_found_from_the_tachogram(phase: float) -> None:
    rr = hr_tachogram(300.0, 60.0, 10.0, 0.1, phase)
    b = rsa_amplitude(None, rr)
    assert len(b) >= 28
    np.testing.assert_allclose(b.amplitude_bpm, 20.0, atol=1.0)
    cycle_s = np.diff(b.start_s)
    np.testing.assert_allclose(cycle_s, 10.0, atol=0.5)  # filter edge effects: measured <= 0.37 s
    np.testing.assert_allclose(cycle_s[2:-2], 10.0, atol=0.05)  # measured <= 0.026 s
    assert b.breathing_rate_per_min == pytest.approx(6.0, abs=0.01)


def test_a_beat_on_a_breath_boundary_belongs_to_the_breath_it_starts() -> None:
    # cycles are [onset_i, onset_{i+1}): the fast beat at exactly 10 s is in the third cycle only
    t_s = np.arange(1.0, 21.0)
    rr = np.full(t_s.size, 1000.0)
    rr[t_s == 10.0] = 500.0  # 120 beats/min against 60
    b = rsa_amplitude(t_s, rr, [1.0, 5.0, 10.0, 15.0, 20.0])
    assert b.start_s.tolist() == [1.0, 5.0, 10.0, 15.0]
    assert b.amplitude_bpm.tolist() == [0.0, 0.0, 60.0, 0.0]


def test_rsa_uses_given_beat_times_across_a_gap() -> None:
    rr = hr_tachogram(120.0, 60.0, 10.0, 0.1)
    t = np.cumsum(rr) / 1000.0
    keep = (t < 40.0) | (t >= 60.0)  # beats of 40-60 s lost: the chain re-anchored
    onsets = np.arange(0.0, 120.0, 10.0)
    b = rsa_amplitude(t[keep], rr[keep], onsets)
    assert np.isnan(b.amplitude_bpm[b.start_s == 40.0]).all()
    assert np.isnan(b.amplitude_bpm[b.start_s == 50.0]).all()
    finite = b.amplitude_bpm[np.isfinite(b.amplitude_bpm)]
    assert finite.size == len(b) - 2
    np.testing.assert_allclose(finite, 20.0, atol=1.0)
    assert rsa_summary_bpm(b.amplitude_bpm) == pytest.approx(20.0, abs=1.0)


def test_slow_breathing_recording_rate_and_rsa() -> None:
    rr = load_rr("polarh10_slow_breathing.txt")
    rate = breathing_rate(rr)
    assert rate == pytest.approx(4.0, abs=0.5)  # measured 3.85 /min (peak 0.066 Hz)
    b = rsa_amplitude(None, rr)
    assert 36 <= len(b) <= 42  # measured 40 breaths in 10 min
    median = float(np.nanmedian(b.amplitude_bpm))
    assert median > 10.0  # measured 14.2 bpm: a large swing
    rest = rsa_amplitude(None, load_rr("pyhrv_nsrdb_5min.txt"))
    assert median > float(np.nanmedian(rest.amplitude_bpm))  # measured 10.8 bpm


@pytest.mark.parametrize("breaths_per_min", [3.0, 6.0, 12.0, 15.0])
def test_breathing_rate_of_a_synthetic_tachogram(breaths_per_min: float) -> None:
    rng = np.random.default_rng(7)
    rr = hr_tachogram(180.0, 65.0, 8.0, breaths_per_min / 60.0)
    rr = rr + rng.normal(0.0, 5.0, rr.size)
    assert breathing_rate(rr) == pytest.approx(breaths_per_min, abs=0.2)


def test_breathing_rate_on_a_60_s_window() -> None:
    rr = hr_tachogram(65.0, 65.0, 8.0, 0.1)
    assert breathing_rate(rr) == pytest.approx(6.0, abs=0.2)


def test_flat_tachogram_has_no_rate_no_breaths_and_no_coherence() -> None:
    flat = np.full(200, 1000.0)
    assert math.isnan(breathing_rate(flat))
    b = rsa_amplitude(None, flat)
    assert len(b) == 0 and math.isnan(b.breathing_rate_per_min)
    d = coherence_detail(flat)
    assert math.isnan(d["coherence_ratio"]) and math.isnan(d["peak_hz"]) and d["total_ms2"] == 0.0


def test_rsa_summary_is_the_median_of_the_last_breaths() -> None:
    assert rsa_summary_bpm([30.0, 12.0, 11.0, 13.0, 40.0, 12.5]) == 12.5
    assert rsa_summary_bpm([30.0, 12.0, 11.0, 13.0, 40.0, 12.5], last_n=2) == 26.25
    assert rsa_summary_bpm([5.0, math.nan, 7.0], last_n=5) == 6.0
    assert rsa_summary_bpm(np.array([9.0])) == 9.0


# --- coherence -----------------------------------------------------------------------


def test_pure_0_1_hz_oscillation_is_highly_coherent() -> None:
    d = coherence_detail(rr_tachogram(120.0, 1000.0, 50.0, 0.1))
    assert d["peak_hz"] == pytest.approx(0.1, abs=4.0 / 4096)
    # a 64 s Hann window spreads a line over ±0.031 Hz: the 0.03 Hz band holds 89% (1117.5
    # of 1250.8 ms²), so even a perfect sinusoid scores about 8.4, not infinity
    assert d["coherence_ratio"] == pytest.approx(8.38, rel=0.02)
    assert d["total_ms2"] == pytest.approx(50.0**2 / 2, rel=0.01)
    assert d["peak_ms2"] < d["total_ms2"]


def reference_coherence(rr: npt.NDArray[np.float64]) -> tuple[float, float]:
    """HeartMath's definition written out with scipy: the ratio and the peak frequency.

    The grid starts at the fifth beat before the 64 s window, as coherence_detail's does
    (its spline runs through four beats before the window); the spline here runs through
    every beat, so the two differ only by the spline's far ends (measured <= 6e-5).
    """
    t = np.cumsum(rr) / 1000.0
    first = max(0, int(np.searchsorted(t, t[-1] - 64.0)) - 4)
    grid = np.arange(t[first], t[-1] + 1e-9, 0.25)
    x = CubicSpline(t, rr)(grid)[-256:]
    f, p = periodogram(x - x.mean(), fs=4.0, window="hann", nfft=4096, detrend="constant", scaling="density")

    def power(lo: float, hi: float) -> float:
        m = (f >= lo) & (f < hi)
        return float(np.trapezoid(p[m], f[m]))

    i = np.flatnonzero((f >= 0.04) & (f < 0.26))
    local = i[(p[i] >= p[i - 1]) & (p[i] >= p[i + 1])]
    peak_hz = float(f[local[np.argmax(p[local])]])
    peak = power(peak_hz - 0.015, peak_hz + 0.015)
    return peak / (power(0.0033, 0.4) - peak), peak_hz


@pytest.mark.parametrize("name", ["polarh10_slow_breathing.txt", "pyhrv_nsrdb_5min.txt"])
@pytest.mark.parametrize("n_beats", [100, 200, 337])
def test_coherence_follows_the_heartmath_definition(name: str, n_beats: int) -> None:
    # 64 s, peak in [0.04, 0.26) Hz, 0.03 Hz around it over the rest of [0.0033, 0.4) Hz;
    # a total over [0, 0.5) Hz instead moves these windows by 0.15-10%
    rr = load_rr(name)[:n_beats]
    ratio, peak_hz = reference_coherence(rr)
    d = coherence_detail(rr)
    assert d["peak_hz"] == peak_hz
    assert d["coherence_ratio"] == pytest.approx(ratio, rel=2e-4)


def test_coherence_peak_is_sought_below_0_26_hz() -> None:
    # a larger 0.3 Hz rhythm (fast breathing) is outside HeartMath's peak search: the peak is
    # the 0.1 Hz one, and the 0.3 Hz power counts against it
    slow = rr_tachogram(130.0, 800.0, 15.0, 0.1)
    rr = slow + 40.0 * np.sin(2 * np.pi * 0.3 * np.cumsum(slow) / 1000.0)
    d = coherence_detail(rr)
    assert d["peak_hz"] == pytest.approx(0.1, abs=0.005)
    assert d["coherence_ratio"] < 0.2  # measured 0.126


def test_white_noise_is_not_coherent() -> None:
    rng = np.random.default_rng(0)
    assert coherence(rng.normal(900.0, 40.0, 300)) < 0.5  # measured 0.28


def test_slow_breathing_is_more_coherent_than_a_resting_recording() -> None:
    slow = coherence(load_rr("polarh10_slow_breathing.txt"))
    rest = coherence(load_rr("pyhrv_nsrdb_5min.txt"))
    assert slow > 2.0 * rest  # measured 1.31 vs 0.46


def test_coherence_peak_is_not_vlf_leakage_at_the_band_edge() -> None:
    # a strong 0.02 Hz wave leaks above 0.04 Hz through the 64 s window; the 0.1 Hz wave is
    # the only real peak in 0.04-0.26 Hz (regression: the band's top bin sat at 0.04 Hz)
    slow = rr_tachogram(130.0, 1000.0, 120.0, 0.02)
    t = np.cumsum(slow) / 1000.0
    rr = slow + 20.0 * np.sin(2 * np.pi * 0.1 * t)
    d = coherence_detail(rr)
    assert d["peak_hz"] == pytest.approx(0.1, abs=0.005)


def test_coherence_looks_only_at_the_last_window() -> None:
    rng = np.random.default_rng(2)
    calm = hr_tachogram(100.0, 60.0, 6.0, 0.1)
    noisy = rng.normal(900.0, 40.0, 200)
    assert coherence(np.concatenate([noisy, calm])) == pytest.approx(coherence(calm), rel=1e-9)


# --- bad input -----------------------------------------------------------------------


GOOD = hr_tachogram(120.0, 60.0, 6.0, 0.1)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: rsa_amplitude(None, []), "empty"),
        (lambda: rsa_amplitude(None, [1000.0, math.nan, 1000.0]), "NaN"),
        (lambda: rsa_amplitude(None, [1000.0, -1.0, 1000.0]), "negative"),
        (lambda: rsa_amplitude(None, GOOD[:30]), "needs at least 50 s"),
        (lambda: rsa_amplitude(np.arange(5.0), GOOD), "one time per beat"),
        (lambda: rsa_amplitude(np.zeros(GOOD.size), GOOD), "strictly increasing"),
        (lambda: rsa_amplitude(None, GOOD, [10.0]), "at least 2"),
        (lambda: rsa_amplitude(None, GOOD, [10.0, 5.0]), "strictly increasing"),
        (lambda: rsa_amplitude(None, GOOD, [10.0, math.inf]), "NaN or infinite"),
        (lambda: rsa_amplitude(None, GOOD, band_hz=(0.4, 0.04)), "band_hz"),
        (lambda: breathing_rate([]), "empty"),
        (lambda: breathing_rate(GOOD[:40]), "needs at least 50 s"),
        (lambda: breathing_rate(GOOD, t_s=np.arange(3.0)), "one time per beat"),
        (lambda: breathing_rate(GOOD, fs_hz=-4.0), "fs_hz"),
        (lambda: rsa_summary_bpm([]), "non-empty"),
        (lambda: rsa_summary_bpm([math.nan]), "no valid"),
        (lambda: rsa_summary_bpm([-3.0]), "negative"),
        (lambda: rsa_summary_bpm([3.0], last_n=0), "last_n"),
        (lambda: coherence([]), "empty"),
        (lambda: coherence([900.0, math.nan] * 50), "NaN"),
        (lambda: coherence([900.0, 0.0] * 50), "negative"),
        (lambda: coherence(GOOD[:50]), "needs at least window_s=64"),
        (lambda: coherence(GOOD, window_s=0.0), "window_s"),
        (lambda: coherence_detail(GOOD, peak_search_hz=(0.3, 0.1)), "peak_search_hz"),
    ],
)
def test_bad_input_raises_invalid_input_error(call: object, match: str) -> None:
    with pytest.raises(InvalidInputError, match=match):
        call()  # type: ignore[operator]
