"""One recording's summary: every metric after artefact correction, short recordings, text.

Data: a Polar H10 slow-breathing session (kieranabrennan/dont-hold-your-breath, MIT); see
tests/data/README.md.
"""

from __future__ import annotations

import numpy as np
import pytest
from _data import DATA

from biofeedback import hrv
from biofeedback.analysis import format_summary, mm_ss, summarise
from biofeedback.beats import Gap
from biofeedback.errors import InvalidInputError


def test_summary_is_the_metrics_of_the_corrected_intervals() -> None:
    rr = np.loadtxt(DATA / "polarh10_slow_breathing.txt")
    s = summarise(rr)
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
    s = summarise(rr, [Gap(3.0, 5.0, "link lost")])
    assert s.frequency is not None  # 4 s is enough for a spectrum
    assert s.rsa is None and s.breathing_rate_per_min is None  # 50 s needed
    assert s.coherence is None  # 64 s needed
    assert (s.quality.n_gaps, s.quality.gap_s) == (1, 2.0)
    lines = format_summary(s)
    assert lines[0] == "Session: 40 beats over 00:40 (mm:ss); 0 interval(s) corrected as artefacts (0.0%), 1 gap(s) (2.0 s)"
    assert not any(line.startswith(("RSA", "Coherence", "Breathing")) for line in lines)
    assert lines[-1].startswith("Poincaré")


def test_a_flat_recording_has_no_breathing_rate() -> None:
    s = summarise(np.full(120, 1000.0))
    assert s.breathing_rate_per_min is None  # NaN from the flat tachogram becomes None
    assert s.rsa is not None and len(s.rsa) == 0
    assert not any(line.startswith("RSA") for line in format_summary(s))


def test_too_few_intervals_raise() -> None:
    with pytest.raises(InvalidInputError, match="at least 8"):
        summarise([1000.0] * 5)


def test_a_gap_splits_the_session_and_the_metrics_are_the_longest_stretchs() -> None:
    rr = np.loadtxt(DATA / "polarh10_slow_breathing.txt")
    t = np.cumsum(rr) / 1000.0
    gap = Gap(start_s=t[199], end_s=t[199] + 30.0, reason="link lost")  # 30 s without the strap after beat 200
    s = summarise(rr, [gap])
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
    lines = format_summary(s)
    assert lines[0].startswith("Session: 620 beats over 10:31 (mm:ss);")
    assert lines[1] == f"Metrics of the longest unbroken stretch: {mm_ss(gap.end_s)} to 10:31 (mm:ss), {second.size} beats"


def test_no_successive_difference_is_taken_across_a_gap() -> None:
    # 3 min at 60 bpm, the strap away for 20 s, then 4 min at 100 bpm, each with a small swing
    k = np.arange(420)
    before = 1000.0 + 20.0 * np.sin(2 * np.pi * k[:180] / 10)
    after = 600.0 + 20.0 * np.sin(2 * np.pi * k[:400] / 10)
    rr = np.concatenate([before, after])
    t_gap = before.sum() / 1000.0
    s = summarise(rr, [Gap(t_gap, t_gap + 20.0, "link lost")])
    assert s.quality.n_corrected == 0
    assert s.time == hrv.time_domain(after)  # the 400 ms step across the gap is in no RMSSD
    assert s.time["rmssd_ms"] < summarise(rr).time["rmssd_ms"]  # as it is when the gap is ignored
