"""Time-domain HRV metrics: hand-checked values, NeuroKit2 agreement on real recordings, errors.

Data: PhysioNet nsrdb (via pyhrv), nsr2db and "RR interval time series from healthy
subjects" (ODC-By 1.0), and a Polar H10 session (MIT); see tests/data/README.md.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import pytest
from _data import DATA
from hypothesis import given, settings
from hypothesis import strategies as st

from biofeedback.errors import InvalidInputError
from biofeedback.hrv import poincare, time_domain

FILES = [
    "pyhrv_nsrdb_5min.txt",
    "pyhrv_nsrdb_60min.txt",
    "polarh10_slow_breathing.txt",
    "nsr2db_nsr001.txt",
    "rrhealthy_000.txt",
]


def load_rr(name: str, max_s: float = 3600.0) -> npt.NDArray[np.float64]:
    """The first ``max_s`` seconds of a recording (the 24 h files are cut to 1 h)."""
    rr = np.loadtxt(DATA / name, dtype=np.float64)
    return rr[np.cumsum(rr) <= max_s * 1000.0]


def peaks_from_rr(rr: npt.NDArray[np.float64]) -> tuple[npt.NDArray[np.int64], int]:
    """Integer R-peak sample indices rebuilding the RR chain exactly, and their sampling rate."""
    for fs in (128, 1000):  # nsr2db is stored in 1/128 s; the others in whole ms
        samples = rr * fs / 1000.0
        if np.all(samples == np.rint(samples)):
            return np.concatenate([[0], np.cumsum(np.rint(samples))]).astype(np.int64), fs
    raise AssertionError("RR values are not on a 1/128 s or 1 ms grid")


def test_hand_checked_values() -> None:
    m = time_domain([800.0, 850.0, 790.0, 900.0])
    # successive differences 50, -60, 110: NN50 counts |d| > 50 strictly, so 2 of 3
    assert m["mean_rr_ms"] == 835.0
    assert m["rmssd_ms"] == pytest.approx(math.sqrt((50**2 + 60**2 + 110**2) / 3), rel=1e-15)
    assert m["sdnn_ms"] == pytest.approx(math.sqrt((35**2 + 15**2 + 45**2 + 65**2) / 3), rel=1e-15)
    assert m["pnn50_pct"] == pytest.approx(200.0 / 3.0, rel=1e-15)
    assert m["ln_rmssd"] == pytest.approx(math.log(m["rmssd_ms"]), rel=1e-15)
    assert set(m) == {"mean_rr_ms", "mean_hr_bpm", "sdnn_ms", "rmssd_ms", "pnn50_pct", "ln_rmssd"}


def test_mean_hr_is_the_mean_of_instantaneous_rates() -> None:
    m = time_domain([500.0, 1000.0])
    assert m["mean_hr_bpm"] == 90.0  # (120 + 60) / 2, not 60000 / 750 = 80
    assert m["mean_rr_ms"] == 750.0


def test_constant_series_has_zero_variability_without_warnings() -> None:
    m = time_domain([1000.0] * 10)
    assert m["sdnn_ms"] == 0.0 and m["rmssd_ms"] == 0.0 and m["pnn50_pct"] == 0.0
    assert m["ln_rmssd"] == -math.inf


@settings(max_examples=60, deadline=None)
@given(
    rr=st.lists(st.floats(300.0, 2000.0), min_size=2, max_size=60),
    k=st.floats(0.5, 2.0),
)
def test_scaling_the_intervals_scales_the_metrics(rr: list[float], k: float) -> None:
    a = time_domain(rr)
    b = time_domain([k * x for x in rr])
    assert b["mean_rr_ms"] == pytest.approx(k * a["mean_rr_ms"], rel=1e-12)
    assert b["mean_hr_bpm"] == pytest.approx(a["mean_hr_bpm"] / k, rel=1e-12)
    assert b["sdnn_ms"] == pytest.approx(k * a["sdnn_ms"], rel=1e-9, abs=1e-9)
    assert b["rmssd_ms"] == pytest.approx(k * a["rmssd_ms"], rel=1e-9, abs=1e-9)
    assert 0.0 <= a["pnn50_pct"] <= 100.0
    assert a["mean_hr_bpm"] >= 60000.0 / a["mean_rr_ms"] * (1 - 1e-12)  # Jensen


@pytest.mark.parametrize("name", FILES)
def test_agrees_with_neurokit2_on_real_recordings(name: str) -> None:
    nk = pytest.importorskip("neurokit2")
    rr = load_rr(name)
    peaks, fs = peaks_from_rr(rr)
    ref = nk.hrv_time(peaks, sampling_rate=fs)
    m = time_domain(rr)
    n = rr.size
    assert m["mean_rr_ms"] == pytest.approx(float(ref["HRV_MeanNN"].iloc[0]), rel=1e-9)
    assert m["sdnn_ms"] == pytest.approx(float(ref["HRV_SDNN"].iloc[0]), rel=1e-9)
    assert m["rmssd_ms"] == pytest.approx(float(ref["HRV_RMSSD"].iloc[0]), rel=1e-9)
    # NeuroKit2 0.2.13 divides NN50 by N (intervals); we divide by N - 1 (differences)
    assert m["pnn50_pct"] * (n - 1) / n == pytest.approx(float(ref["HRV_pNN50"].iloc[0]), rel=1e-9)
    # it has no mean HR: check ours against its own definition
    assert m["mean_hr_bpm"] == pytest.approx(float(np.mean(60000.0 / rr)), rel=1e-12)


@pytest.mark.parametrize(
    ("bad", "match"),
    [
        ([], "empty"),
        ([800.0, float("nan"), 810.0], "NaN"),
        ([800.0, -5.0, 810.0], "negative"),
        ([800.0, 0.0], "negative"),
        ([800.0], "at least 2"),
        ([[800.0, 810.0]], "1-D"),
        (["a", "b"], "numbers"),
    ],
)
def test_bad_input_raises_invalid_input_error(bad: object, match: str) -> None:
    with pytest.raises(InvalidInputError, match=match) as info:
        time_domain(bad)  # type: ignore[arg-type]
    assert "rr_ms" in str(info.value)
    assert isinstance(info.value, ValueError)


# --- Poincaré ------------------------------------------------------------------------


def test_poincare_hand_checked() -> None:
    m = poincare([800.0, 850.0, 790.0, 900.0])
    d = np.array([-50.0, 60.0, -110.0]) / math.sqrt(2)  # (rr[i] - rr[i+1]) / √2
    s = np.array([1650.0, 1640.0, 1690.0]) / math.sqrt(2)
    assert m["sd1_ms"] == pytest.approx(float(np.std(d, ddof=1)), rel=1e-15)
    assert m["sd2_ms"] == pytest.approx(float(np.std(s, ddof=1)), rel=1e-15)
    assert m["sd1_sd2"] == pytest.approx(m["sd1_ms"] / m["sd2_ms"], rel=1e-15)


@pytest.mark.parametrize("name", FILES)
def test_sd1_is_rmssd_over_root_2_with_matching_ddof(name: str) -> None:
    rr = load_rr(name)
    sd1 = poincare(rr)["sd1_ms"]
    td = time_domain(rr)
    diff = np.diff(rr)
    m = diff.size
    # SD1 = SDSD/√2 exactly; SDSD² = (M·RMSSD² − M·mean(d)²)/(M − 1) with M differences
    assert sd1 == pytest.approx(float(np.std(diff, ddof=1)) / math.sqrt(2), rel=1e-12)
    sdsd2 = (m * td["rmssd_ms"] ** 2 - m * float(np.mean(diff)) ** 2) / (m - 1)
    assert sd1 == pytest.approx(math.sqrt(sdsd2 / 2), rel=1e-9)
    # hence SD1 ≈ RMSSD/√2, off by the factor √(M/(M−1)) (0.15% at 5 min) and mean(d)
    assert sd1 == pytest.approx(td["rmssd_ms"] / math.sqrt(2), rel=0.005)
    # SD1² + SD2² = 2·SDNN² up to end effects of the N − 1 pairs (Brennan et al. 2001)
    sd2 = poincare(rr)["sd2_ms"]
    assert sd1**2 + sd2**2 == pytest.approx(2 * td["sdnn_ms"] ** 2, rel=0.01)


@pytest.mark.parametrize("name", ["pyhrv_nsrdb_5min.txt", "polarh10_slow_breathing.txt"])
def test_poincare_agrees_with_neurokit2(name: str) -> None:
    nk = pytest.importorskip("neurokit2")
    rr = load_rr(name)
    peaks, fs = peaks_from_rr(rr)
    ref = nk.hrv_nonlinear(peaks, sampling_rate=fs)
    m = poincare(rr)
    assert m["sd1_ms"] == pytest.approx(float(ref["HRV_SD1"].iloc[0]), rel=1e-9)
    assert m["sd2_ms"] == pytest.approx(float(ref["HRV_SD2"].iloc[0]), rel=1e-9)
    assert m["sd1_sd2"] == pytest.approx(float(ref["HRV_SD1SD2"].iloc[0]), rel=1e-9)


@pytest.mark.parametrize(
    ("bad", "match"),
    [
        ([], "empty"),
        ([800.0, math.inf, 800.0], "NaN or infinite"),
        ([800.0, -1.0, 700.0], "negative"),
        ([800.0, 810.0], "at least 3"),
    ],
)
def test_poincare_bad_input(bad: list[float], match: str) -> None:
    with pytest.raises(InvalidInputError, match=match):
        poincare(bad)


def test_hrv_package_exports_exactly_its_documented_names() -> None:
    from biofeedback import hrv

    expected = {
        "time_domain",
        "frequency_domain",
        "power_spectrum",
        "poincare",
        "coherence",
        "coherence_detail",
        "rsa_amplitude",
        "rsa_summary_bpm",
        "breathing_rate",
        "RsaBreaths",
        "find_artifacts",
        "correct_artifacts",
        "SlidingHRV",
    }
    assert set(hrv.__all__) == expected
    for name in hrv.__all__:
        assert callable(getattr(hrv, name)), name


@pytest.mark.parametrize(
    "module",
    [
        "biofeedback.beats",
        "biofeedback.artifacts",
        "biofeedback.hrv",
        "biofeedback.hrv._spectral",
        "biofeedback.hrv.time_domain",
        "biofeedback.hrv.frequency",
        "biofeedback.hrv.poincare",
        "biofeedback.hrv.coherence",
        "biofeedback.hrv.rsa",
        "biofeedback.hrv.sliding",
    ],
)
def test_docstring_examples_are_true(module: str) -> None:
    # the examples in the core's docstrings are what a reader copies: run them
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0, module
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {module}"
