"""One recording's summary: every metric after artefact correction, short recordings, text.

Data: a Polar H10 slow-breathing session (kieranabrennan/dont-hold-your-breath, MIT); see
tests/data/README.md.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pytest
from _data import DATA

from biofeedback import hrv
from biofeedback.analysis import summarise
from biofeedback.beats import BeatFlags, Gap
from biofeedback.display.summary import format_summary, mm_ss
from biofeedback.errors import InvalidInputError
from biofeedback.recording import Recording, RecordingMeta

META = RecordingMeta(start_utc=dt.datetime(2026, 1, 5, 6, 30, tzinfo=dt.UTC), utc_offset_s=3600,
                     source="file:test")


def recording(rr: npt.ArrayLike, gaps: Sequence[tuple[int, float, str]] = ()) -> Recording:
    """A recording of ``rr`` with a gap of ``s`` seconds before beat ``i`` for each (i, s, reason)."""
    rr = np.asarray(rr, dtype=np.float64)
    t = np.cumsum(rr) / 1000.0
    flags = np.zeros(rr.size, dtype=np.int64)
    out = []
    for i, seconds, reason in gaps:
        t[i:] += seconds
        flags[i] = int(BeatFlags.AFTER_GAP)
        out.append(Gap(float(t[i - 1]), float(t[i - 1]) + seconds, reason))
    return Recording(meta=META, t_s=t, rr_ms=rr, flags=flags, gaps=tuple(out))


def test_summary_is_the_metrics_of_the_corrected_intervals() -> None:
    rr = np.loadtxt(DATA / "polarh10_slow_breathing.txt")
    s = summarise(recording(rr))
    nn = hrv.correct_artifacts(rr)
    np.testing.assert_array_equal(s.nn_ms, nn)
    np.testing.assert_array_equal(s.t_s, np.cumsum(nn) / 1000.0)
    assert s.quality.n_intervals == 620 and s.quality.n_corrected == 2
    assert s.time == hrv.time_domain(nn)
    assert s.frequency == hrv.frequency_domain(nn)
    assert s.poincare == hrv.poincare(nn)
    assert s.coherence == hrv.coherence(nn)
    assert s.breathing_rate_per_min == hrv.breathing_rate(nn)
    assert s.rsa is not None and len(s.rsa) == 40
    np.testing.assert_array_equal(s.rsa.amplitude_bpm, hrv.rsa_amplitude(None, nn).amplitude_bpm)
    # the figures the README shows for this session
    assert round(s.time["mean_hr_bpm"], 1) == 62.3 and round(s.time["rmssd_ms"], 1) == 36.9
    assert round(s.coherence, 2) == 1.31 and round(s.breathing_rate_per_min, 1) == 3.9


def test_a_short_recording_leaves_out_what_it_is_too_short_for() -> None:
    rr = np.loadtxt(DATA / "polarh10_slow_breathing.txt")[:40]  # 40 s
    s = summarise(recording(rr, [(3, 2.0, "link lost")]))
    assert s.frequency is not None  # 4 s is enough for a spectrum
    assert s.rsa is None and s.breathing_rate_per_min is None  # 50 s needed
    assert s.coherence is None  # 64 s needed
    assert (s.quality.n_gaps, s.quality.gap_s) == (1, 2.0)
    lines = format_summary(s)
    assert lines[0] == "Recorded 2026-01-05 07:30 (UTC+01:00); source file:test"
    assert lines[1] == "Session: 40 beats over 00:42 (mm:ss); 0 intervals corrected as artefacts (0.0%), 1 gap (2.0 s)"
    assert not any(line.startswith(("Heart-rate swing", "Steadiness", "Breathing")) for line in lines)
    assert lines[-1].startswith("Short / long-term spread (Poincaré)")


def test_a_flat_recording_has_no_breathing_rate() -> None:
    s = summarise(recording(np.full(120, 1000.0)))
    assert s.breathing_rate_per_min is None  # NaN from the flat tachogram becomes None
    assert s.rsa is not None and len(s.rsa) == 0
    assert not any(line.startswith("Heart-rate swing") for line in format_summary(s))


def test_too_few_intervals_raise() -> None:
    with pytest.raises(InvalidInputError, match="at least 8"):
        summarise(recording(np.full(5, 1000.0)))


def test_a_gap_splits_the_session_and_the_metrics_are_the_longest_stretchs() -> None:
    rr = np.loadtxt(DATA / "polarh10_slow_breathing.txt")
    rec = recording(rr, [(200, 30.0, "link lost")])  # 30 s without the strap after beat 200
    (gap,) = rec.gaps
    s = summarise(rec)
    first, second = hrv.correct_artifacts(rr[:200]), hrv.correct_artifacts(rr[200:])
    np.testing.assert_array_equal(s.nn_ms, np.concatenate([first, second]))
    assert s.analysed == slice(first.size, first.size + second.size)
    assert s.time == hrv.time_domain(second)
    assert s.frequency == hrv.frequency_domain(second)
    assert s.coherence == hrv.coherence(second)
    # beat times on the beat clock: the second stretch starts where the gap ends
    np.testing.assert_allclose(s.t_s[first.size :], gap.end_s + np.cumsum(second) / 1000.0, atol=1e-9)
    assert s.rsa is not None and s.rsa.start_s[0] >= gap.end_s
    assert (s.quality.n_gaps, s.quality.gap_s, s.quality.n_intervals) == (1, 30.0, 620)
    assert s.stretches == (slice(0, first.size), s.analysed)
    lines = format_summary(s)
    assert lines[1].startswith("Session: 620 beats over 10:31 (mm:ss);")
    assert lines[2] == f"Figures of the longest unbroken stretch: {mm_ss(gap.end_s)} to 10:31 (mm:ss), {second.size} beats"


def test_no_successive_difference_is_taken_across_a_gap() -> None:
    # 3 min at 60 bpm, the strap away for 20 s, then 4 min at 100 bpm, each with a small swing
    k = np.arange(420)
    before = 1000.0 + 20.0 * np.sin(2 * np.pi * k[:180] / 10)
    after = 600.0 + 20.0 * np.sin(2 * np.pi * k[:400] / 10)
    rr = np.concatenate([before, after])
    s = summarise(recording(rr, [(180, 20.0, "link lost")]))
    assert s.quality.n_corrected == 0
    assert s.time == hrv.time_domain(after)  # the 400 ms step across the gap is in no RMSSD
    joined = summarise(recording(rr)).time
    assert s.time is not None and joined is not None
    assert s.time["rmssd_ms"] < joined["rmssd_ms"]  # as it is when the gap is ignored


def test_regression_a_longest_stretch_of_two_beats_gives_the_quality_and_no_metric() -> None:
    # time_domain and poincare were called without the guard the other metrics have: a
    # recording cut every two beats ended in a traceback
    s = summarise(recording(np.full(12, 800.0), [(i, 5.0, "link lost") for i in range(2, 12, 2)]))
    assert (s.quality.n_intervals, s.quality.n_gaps, s.quality.gap_s) == (12, 5, 25.0)
    assert s.analysed_beats == 2 and len(s.stretches) == 6
    assert (s.time, s.poincare, s.frequency, s.rsa, s.coherence, s.breathing_rate_per_min) == (None,) * 6
    assert format_summary(s)[-1].startswith("The figures need an unbroken stretch of at least 3 beats; the longest here has 2")
