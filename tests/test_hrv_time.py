"""Time-domain HRV metrics: hand-checked values, NeuroKit2 agreement on real recordings, errors.

Data: PhysioNet nsrdb (via pyhrv), nsr2db and "RR interval time series from healthy
subjects" (ODC-By 1.0), and a Polar H10 session (MIT); see ../shared/data/README.md.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from biofeedback.errors import InvalidInputError
from biofeedback.hrv import time_domain

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
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
