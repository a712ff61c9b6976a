"""Artefact detection and correction (Lipponen & Tarvainen 2019) on synthetic and real RR.

Real recordings come from tests/data (see its README; nsrdb, nsr2db and the healthy
RR data set are PhysioNet data, ODC-By 1.0). The corruption tests inject about 2% missed,
extra and ectopic beats into a recording that was first cleaned with
:func:`correct_artifacts` itself, so that the injected beats are the only artefacts and
the ground truth is exact; the 24-hour files are cut to one hour starting at beat 20,000.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache

import numpy as np
import numpy.typing as npt
import pytest
from _data import DATA
from hypothesis import given, settings
from hypothesis import strategies as st

from biofeedback.analysis import summarise
from biofeedback.artifacts import (
    MIN_INTERVALS,
    ArtifactKind,
    ArtifactReport,
    Quality,
    _rolling,
    classify_artifacts,
    correct_artifacts,
    correct_artifacts_with_report,
    find_artifacts,
    quality,
    window_quality,
)
from biofeedback.beats import BeatFlags, Gap
from biofeedback.errors import InvalidInputError
from biofeedback.hrv.frequency import frequency_domain
from biofeedback.recording import Recording, RecordingMeta

FloatArray = npt.NDArray[np.float64]
K = ArtifactKind


@cache
def recording(name: str) -> FloatArray:
    """A recording; the 24 h files cut to the hour that starts at beat 20,000."""
    rr = np.loadtxt(DATA / f"{name}.txt")
    if rr.size > 50_000:
        rr = rr[20_000:]
        rr = rr[: int(np.searchsorted(np.cumsum(rr), 3600e3))]
    rr.setflags(write=False)
    return rr


@cache
def clean(name: str) -> FloatArray:
    nn = correct_artifacts(recording(name))
    nn.setflags(write=False)
    return nn


def synthetic(n: int = 300, seed: int = 7) -> FloatArray:
    """Clean RR, ms: 900 ms mean, a 60 ms swing every 12 beats (breathing), 15 ms noise."""
    rng = np.random.default_rng(seed)
    i = np.arange(n)
    return 900.0 + 60.0 * np.sin(2 * np.pi * i / 12) + rng.normal(0.0, 15.0, n)


@dataclass(frozen=True)
class Event:
    kind: str
    positions: tuple[int, ...]  # corrupted intervals, indices into the corrupted series


def corrupt(rr: FloatArray, seed: int, share: float = 0.02, min_sep: int = 6) -> tuple[FloatArray, list[Event]]:
    """Inject ``share`` * n events, at least ``min_sep`` beats apart, equally of three kinds.

    missed: intervals c and c+1 merged; extra: interval c split at a random 20-80% point;
    ectopic (premature beat): interval c shortened by 20-40%, c+1 lengthened by the same.
    Positions are tracked through the length changes.
    """
    rng = np.random.default_rng(seed)
    n = rr.size
    chosen: list[int] = []
    taken = np.zeros(n, dtype=bool)
    for c in rng.permutation(np.arange(3, n - 4)):
        if len(chosen) == round(share * n):
            break
        if not taken[max(0, c - min_sep) : c + min_sep + 1].any():
            chosen.append(int(c))
            taken[c] = True
    out: list[float] = []
    events: list[Event] = []
    i = 0
    for c, kind in zip(sorted(chosen), rng.integers(0, 3, len(chosen)), strict=True):
        out.extend(rr[i:c])
        p = len(out)
        if kind == 0:
            out.append(rr[c] + rr[c + 1])
            events.append(Event("missed", (p,)))
            i = c + 2
        elif kind == 1:
            f = rng.uniform(0.2, 0.8)
            out.extend([rr[c] * f, rr[c] * (1 - f)])
            events.append(Event("extra", (p, p + 1)))
            i = c + 1
        else:
            d = rr[c] * rng.uniform(0.2, 0.4)
            out.extend([rr[c] - d, rr[c + 1] + d])
            events.append(Event("ectopic", (p, p + 1)))
            i = c + 2
    out.extend(rr[i:])
    return np.array(out), events


def recall_precision(flags: npt.NDArray[np.bool_], events: list[Event]) -> tuple[float, float]:
    """A flag within one beat of a corrupted interval is a hit."""
    near = np.zeros(flags.size, dtype=bool)
    for e in events:
        for p in e.positions:
            near[max(0, p - 1) : p + 2] = True
    found = [bool(flags[max(0, e.positions[0] - 1) : e.positions[-1] + 2].any()) for e in events]
    flagged = np.flatnonzero(flags)
    return float(np.mean(found)), float(near[flagged].mean()) if flagged.size else 1.0


def time_metrics(rr: FloatArray) -> FloatArray:
    """Mean RR, SDNN (N - 1), RMSSD, ms."""
    return np.array([rr.mean(), rr.std(ddof=1), np.sqrt(np.mean(np.diff(rr) ** 2))])


# ----------------------------------------------------------------- synthetic, one of each


def planted() -> tuple[FloatArray, FloatArray]:
    """Synthetic RR with one artefact of each kind; returns (clean, corrupted)."""
    rr = synthetic()
    x = rr.copy()
    d = 0.3 * x[40]
    x[40] -= d  # premature beat ending interval 40 ...
    x[41] += d  # ... and its compensatory pause
    x[190] *= 1.4  # long
    x[240] *= 0.6  # short
    y = np.concatenate((x[:140], [x[140] * 0.35, x[140] * 0.65], x[141:]))  # extra beat (139, 140 after the merge below)
    y = np.concatenate((y[:90], [y[90] + y[91]], y[92:]))  # missed beat -> 90; net shift 0 after 141
    return rr, y


def test_each_kind_is_classified_on_a_synthetic_series() -> None:
    assert not find_artifacts(synthetic()).any()
    _, y = planted()
    kinds = classify_artifacts(y).kinds
    flagged = {int(i): K(kinds[i]) for i in np.flatnonzero(kinds)}
    assert flagged == {
        40: K.ECTOPIC,
        41: K.ECTOPIC,
        90: K.MISSED,
        139: K.EXTRA,
        140: K.EXTRA,
        190: K.LONG,
        240: K.SHORT,
    }


def test_correction_splits_merges_recentres_and_interpolates() -> None:
    rr, y = planted()
    nn = correct_artifacts(y)
    assert nn.size == rr.size  # one beat added back, one removed
    # missed: two intervals summing to the merged one, each half of it
    assert nn[90] + nn[91] == pytest.approx(y[90], abs=1e-9)
    assert nn[90] == nn[91] == pytest.approx(y[90] / 2)
    # extra: the two short intervals merged (their sum restores the original interval)
    assert nn[140] == pytest.approx(rr[140], abs=1e-9)
    # ectopic: both intervals become their mean; the pair keeps its duration
    assert nn[40] == nn[41] == pytest.approx((rr[40] + rr[41]) / 2)
    # long and short: linear interpolation between the neighbours
    assert nn[190] == pytest.approx((rr[189] + rr[191]) / 2)
    assert nn[240] == pytest.approx((rr[239] + rr[241]) / 2)
    # everything else untouched
    untouched = np.setdiff1d(np.arange(rr.size), [40, 41, 90, 91, 140, 190, 240])
    np.testing.assert_array_equal(nn[untouched], rr[untouched])


def test_two_missed_beats_in_a_row_are_split_in_three() -> None:
    rr = synthetic()
    y = np.concatenate((rr[:100], [rr[100:103].sum()], rr[103:]))
    report = classify_artifacts(y)
    assert report.counts["missed"] == 1 and report.kinds[100] == K.MISSED
    nn = correct_artifacts(y)
    assert nn.size == rr.size
    np.testing.assert_allclose(nn[100:103], rr[100:103].sum() / 3)
    assert nn.sum() == pytest.approx(y.sum(), rel=1e-12)


@pytest.mark.parametrize("where", [0, -1])
def test_a_missed_beat_at_either_end_is_found_and_split(where: int) -> None:
    rr = synthetic(60)
    y = rr.copy()
    if where == 0:
        y = np.concatenate(([rr[0] + rr[1]], rr[2:]))
    else:
        y = np.concatenate((rr[:-2], [rr[-2] + rr[-1]]))
    kinds = classify_artifacts(y).kinds
    assert np.flatnonzero(kinds).tolist() == [where % y.size]
    assert kinds[where] == K.MISSED
    assert correct_artifacts(y).size == rr.size


def test_report_properties() -> None:
    _, y = planted()
    report = classify_artifacts(y)
    assert report.counts == {"ectopic": 2, "missed": 1, "extra": 2, "long": 1, "short": 1}
    assert report.share == pytest.approx(7 / y.size)
    assert report.is_artifact.dtype == np.bool_ and report.is_artifact.sum() == 7
    assert report.kinds.dtype == np.int8 and report.kinds.size == y.size
    with pytest.raises(ValueError):
        report.kinds[0] = 1  # read-only
    assert ArtifactReport(np.zeros(0, dtype=np.int8)).share == 0.0


def test_with_report_returns_the_same_correction_and_quality() -> None:
    _, y = planted()
    nn, report, q = correct_artifacts_with_report(y, gaps=[Gap(10.0, 12.5, "link lost")])
    np.testing.assert_array_equal(nn, correct_artifacts(y))
    np.testing.assert_array_equal(report.kinds, classify_artifacts(y).kinds)
    assert q == Quality(n_intervals=y.size, n_corrected=7, share_corrected=7 / y.size, n_gaps=1, gap_s=2.5)


# ----------------------------------------------------------------- real recordings


def test_slow_breathing_swings_are_not_artefacts() -> None:
    rr = recording("polarh10_slow_breathing")
    report = classify_artifacts(rr)
    assert report.share <= 0.01
    assert int(report.is_artifact.sum()) == 2  # at 620 intervals: 0.32%
    # the swings are large: 20+ beats/min peak to trough within single breaths
    hr = 60_000.0 / rr
    assert hr.max() - hr.min() > 20


def slow_breathing(pace_bpm: float, hr_swing_bpm: float, seed: int = 0) -> FloatArray:
    """10 min of beats whose heart rate follows the breath: 70 +- swing/2 beats/min."""
    rng = np.random.default_rng(seed)
    t_s, out = 0.0, []
    while t_s < 600.0:
        hr = 70.0 + hr_swing_bpm / 2 * np.sin(2 * np.pi * pace_bpm / 60.0 * t_s)
        rr = 60_000.0 / hr + rng.normal(0.0, 8.0)
        out.append(rr)
        t_s += rr / 1000.0
    return np.array(out)


@pytest.mark.parametrize("pace_bpm", [4.0, 5.5, 7.0])
@pytest.mark.parametrize("hr_swing_bpm", [20.0, 40.0])
def test_synthetic_slow_breathing_with_big_swings_is_clean(pace_bpm: float, hr_swing_bpm: float) -> None:
    rr = slow_breathing(pace_bpm, hr_swing_bpm)
    hr = 60_000.0 / rr
    assert hr.max() - hr.min() > hr_swing_bpm  # the swing is there (plus noise)
    assert not find_artifacts(rr).any()


def test_128hz_sampling_jitter_is_not_taken_for_ectopic_beats() -> None:
    # nsr2db is annotated from 128 Hz ECG: RR in 7.8 ms steps, and in calm stretches the
    # quartile deviation of dRR is a few ms. Without the 40 ms threshold floor, +-20 ms
    # alternations pass for ectopic pairs (NeuroKit2's first pass flags 220 intervals of
    # this hour); with it, 68 (1.3%).
    rr = recording("nsr2db_nsr001")
    assert rr.size == 5352
    report = classify_artifacts(rr)
    assert int(report.is_artifact.sum()) == 68
    assert report.counts == {"ectopic": 58, "missed": 0, "extra": 0, "long": 10, "short": 0}
    # every interval marked ectopic has a beat-to-beat change above the floor next to it
    drr = np.abs(np.diff(rr, prepend=rr[0], append=rr[-1]))  # drr[i]: rr[i] - rr[i - 1]
    ectopic = np.flatnonzero(report.kinds == ArtifactKind.ECTOPIC)
    assert np.maximum(drr[ectopic], drr[ectopic + 1]).min() > 40.0


def test_paper_details_pinned_on_real_recordings() -> None:
    # Regression anchor for details the seeded-corruption tests do not see: doubling the
    # negative mRR (Lipponen & Tarvainen 2019) makes 3 long intervals of nsrdb missed beats
    # and finds 5 short intervals in rrhealthy_000; the look-ahead to the next beat finds 4
    # short ones there (3 of them the same). Counts measured with this implementation.
    nsrdb = classify_artifacts(recording("pyhrv_nsrdb_60min"))
    assert nsrdb.counts == {"ectopic": 21, "missed": 3, "extra": 0, "long": 62, "short": 6}
    assert np.flatnonzero(nsrdb.kinds == ArtifactKind.MISSED).tolist() == [923, 1079, 1798]
    healthy = classify_artifacts(np.loadtxt(DATA / "rrhealthy_000.txt", max_rows=20_000))
    assert healthy.counts == {"ectopic": 723, "missed": 0, "extra": 2, "long": 14, "short": 38}
    for i in (6544, 12667, 14503, 16682, 18244, 19533):
        assert healthy.kinds[i] == ArtifactKind.SHORT, i


RECORDINGS = ["pyhrv_nsrdb_60min", "polarh10_slow_breathing", "rrhealthy_000", "nsr2db_nsr001"]


@pytest.mark.parametrize("name", RECORDINGS)
def test_seeded_corruption_is_found_and_corrected(name: str) -> None:
    base = clean(name)
    assert classify_artifacts(base).share < 0.005  # cleaning leaves (almost) nothing to find
    for seed in range(3):
        y, events = corrupt(base, seed)
        assert len(events) == round(0.02 * base.size)
        recall, precision = recall_precision(find_artifacts(y), events)
        assert recall >= 0.95, (seed, recall)
        assert precision >= 0.9, (seed, precision)
        nn = correct_artifacts(y)
        np.testing.assert_allclose(time_metrics(nn), time_metrics(base), rtol=0.05)


@pytest.mark.parametrize("name", RECORDINGS)
def test_band_powers_after_correction(name: str) -> None:
    base = clean(name)
    f0 = frequency_domain(base)
    y, _ = corrupt(base, 0)
    f1 = frequency_domain(correct_artifacts(y))
    fy = frequency_domain(y)
    for band in ("lf_ms2", "hf_ms2"):
        assert f1[band] == pytest.approx(f0[band], rel=0.05)
        assert fy[band] > 1.05 * f0[band]  # uncorrected, the artefacts inflate the bands


def test_agrees_with_neurokit2_first_pass_within_one_beat() -> None:
    nk = pytest.importorskip("neurokit2")
    y, _ = corrupt(clean("pyhrv_nsrdb_60min"), 0)
    peaks = np.concatenate(([0.0], np.cumsum(y))).round().astype(int)
    info, _ = nk.signal_fixpeaks(peaks, sampling_rate=1000, method="Kubios", iterative=False)
    theirs = np.zeros(y.size, dtype=bool)
    for key in ("ectopic", "missed", "extra", "longshort"):
        idx = np.asarray(info[key], dtype=int) - 1  # peak k ends interval k - 1
        theirs[idx[idx >= 0]] = True
    ours = find_artifacts(y)

    def covered(a: npt.NDArray[np.bool_], b: npt.NDArray[np.bool_]) -> float:
        near = b | np.roll(b, 1) | np.roll(b, -1)
        return float(near[a].mean())

    assert covered(theirs, ours) >= 0.98  # measured 0.993 (151 NeuroKit2 flags, 163 ours)
    assert covered(ours, theirs) >= 0.98  # measured 1.000


# ----------------------------------------------------------------- windows and edge cases


def test_rolling_quantiles_match_a_direct_computation() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=40)
    q1, q3 = _rolling(x, 9, (0.25, 0.75))
    for i in range(x.size):
        w = x[max(0, i - 4) : i + 5]
        assert q1[i] == pytest.approx(np.quantile(w, 0.25))
        assert q3[i] == pytest.approx(np.quantile(w, 0.75))
    (short,) = _rolling(x[:5], 9, (0.5,))  # window longer than the series
    np.testing.assert_allclose(short, [np.median(x[: min(5, i + 5)]) for i in range(5)])


def test_short_series_work_from_eight_intervals() -> None:
    assert MIN_INTERVALS == 8
    rr = [800.0, 810.0, 805.0, 790.0, 800.0, 795.0, 805.0, 800.0]
    assert classify_artifacts(rr).kinds.tolist() == [0] * 8
    np.testing.assert_array_equal(correct_artifacts(rr), rr)
    for seed in range(20):  # a doubled interval in the middle of 8 is found, alone
        r = synthetic(8, seed)
        r[4] *= 2
        assert np.flatnonzero(find_artifacts(r)).tolist() == [4], seed
    r = synthetic(20)
    r[10] *= 2
    assert np.flatnonzero(find_artifacts(r)).tolist() == [10]


def test_a_perfectly_regular_series_is_clean() -> None:
    assert not find_artifacts(np.full(50, 1000.0)).any()
    np.testing.assert_array_equal(correct_artifacts(np.full(50, 1000.0)), np.full(50, 1000.0))


@pytest.mark.parametrize(
    ("rr", "match"),
    [
        ([], "rr_ms is empty"),
        ([800.0, np.nan] * 4, "NaN"),
        ([800.0, -5.0] * 4, "negative"),
        ([800.0] * 7, "has 7 intervals; artefact detection needs at least 8"),
        ([[800.0] * 8], "1-D"),
        (["a"] * 8, "must be numbers"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(rr: npt.ArrayLike, match: str) -> None:
    for fn in (classify_artifacts, find_artifacts, correct_artifacts, quality):
        with pytest.raises(InvalidInputError, match=match.replace("artefact detection", ".*")):
            fn(rr)


def test_bad_parameters_are_refused() -> None:
    rr = synthetic(50)
    with pytest.raises(InvalidInputError, match="window_beats must be a positive odd"):
        classify_artifacts(rr, window_beats=90)
    with pytest.raises(InvalidInputError, match="median_beats"):
        classify_artifacts(rr, median_beats=0)
    with pytest.raises(InvalidInputError, match="alpha must be positive"):
        classify_artifacts(rr, alpha=0.0)
    with pytest.raises(InvalidInputError, match="end_s"):
        window_quality(rr, start_s=5.0, end_s=4.0)
    with pytest.raises(InvalidInputError, match="one flag per interval"):
        window_quality(rr, start_s=0.0, end_s=45.0, is_artifact=[True])


@dataclass
class Span:  # any object with start_s and end_s will do
    start_s: float
    end_s: float


def test_session_and_window_quality() -> None:
    _, y = planted()
    gaps: list[Gap | Span] = [Gap(10.0, 12.5, "link lost"), Span(100.0, 101.0)]
    q = quality(y, gaps)
    assert q == Quality(y.size, 7, 7 / y.size, 2, 3.5)
    # a window from 11 s to 50 s sees 1.5 s of the first gap, none of the second
    flags = classify_artifacts(y).is_artifact
    wq = window_quality(y[:50], start_s=11.0, end_s=50.0, gaps=gaps, is_artifact=flags[:50])
    assert wq == Quality(50, 2, 0.04, 1, 1.5)
    # classified on its own, the window finds the same ectopic pair
    assert window_quality(y[:50], start_s=11.0, end_s=50.0) == Quality(50, 2, 0.04, 0, 0.0)
    assert window_quality(y[:50], start_s=0.0, end_s=9.0, gaps=[Span(5.0, 5.0)]).n_gaps == 1


def test_quality_from_counts_is_the_one_way_to_build_a_quality() -> None:
    gaps: list[Gap | Span] = [Gap(10.0, 12.5, "link lost"), Span(100.0, 101.0), Span(50.0, 50.0)]
    assert Quality.from_counts(400, 6, gaps) == Quality(400, 6, 0.015, 3, 3.5)
    # clipped to a span: 1.5 s of the first gap, the zero-length one inside, not the last
    assert Quality.from_counts(40, 1, gaps, start_s=11.0, end_s=60.0) == Quality(40, 1, 0.025, 2, 1.5)
    assert Quality.from_counts(0, 0) == Quality(0, 0, 0.0, 0, 0.0)
    # the session summary builds its quality the same way
    _, y = planted()
    t = np.cumsum(y) / 1000.0
    i = int(np.searchsorted(t, 10.0))
    gap = Gap(float(t[i - 1]), float(t[i - 1]) + 2.5, "link lost")
    t[i:] += 2.5
    flags = np.zeros(y.size, dtype=np.int64)
    flags[i] = int(BeatFlags.AFTER_GAP)
    meta = RecordingMeta(start_utc=dt.datetime(2026, 1, 5, tzinfo=dt.UTC))
    s = summarise(Recording(meta=meta, t_s=t, rr_ms=y, flags=flags, gaps=(gap,)))
    assert s.quality == Quality.from_counts(y.size, s.quality.n_corrected, [gap])
    assert (s.quality.n_gaps, s.quality.gap_s) == (1, 2.5)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(300.0, 2000.0), min_size=MIN_INTERVALS, max_size=120))
def test_any_valid_series_is_classified_and_corrected_to_positive_intervals(rr: list[float]) -> None:
    report = classify_artifacts(rr)
    assert report.kinds.size == len(rr)
    assert set(np.unique(report.kinds).tolist()) <= {int(k) for k in ArtifactKind}
    nn = correct_artifacts(rr)
    assert np.all(np.isfinite(nn)) and np.all(nn > 0)
    if not report.is_artifact.any():
        np.testing.assert_array_equal(nn, rr)


def test_rolling_edges_equal_numpy_quantile_of_each_shrinking_window() -> None:
    """The vectorised end windows of the rolling quantiles equal np.quantile, window by window, to the bit."""
    from biofeedback.artifacts import _edge_quantiles

    rng = np.random.default_rng(7)
    for trial in range(200):
        n = int(rng.integers(1, 250))
        half = int(rng.choice([1, 3, 5, 45]))
        x = rng.normal(900.0, 80.0, n) * float(rng.choice([1.0, 1e-3, 1e3]))
        if trial % 5 == 0:
            x = np.round(x)  # ties
        qs = (0.25, 0.5, 0.75)
        got = _edge_quantiles(x, np.arange(n), half, qs)
        for q, values in zip(qs, got, strict=True):
            expected = [np.quantile(x[max(0, i - half) : i + half + 1], q) for i in range(n)]
            np.testing.assert_array_equal(values, expected)


def test_the_rolling_quantiles_of_full_windows_are_numpys_bit_for_bit() -> None:
    from numpy.lib.stride_tricks import sliding_window_view

    from biofeedback.artifacts import _full_window_quantiles

    rng = np.random.default_rng(0)
    for width in (1, 3, 11, 91):
        for n in (width, width + 1, 200, 3000):
            x = np.abs(rng.standard_normal(n)) * rng.choice([1e-3, 1.0, 100.0])
            x[::7] = x[0]  # ties
            view = sliding_window_view(x, width)
            for qs in [(0.5,), (0.25, 0.75), (0.1, 0.9, 0.33)]:
                for got, want in zip(_full_window_quantiles(view, qs), np.quantile(view, qs, axis=1), strict=True):
                    np.testing.assert_array_equal(got, want)
