"""The recording status line, in plain words: heart rate, and the RMSSD of the last 60 s
once 60 s of beats are there; and the text summary of a recording."""

from __future__ import annotations

import io
import re

import numpy as np
from _data import SAMPLE_DATA

from biofeedback import hrv
from biofeedback._words import plural
from biofeedback.beats import Beat, BeatFlags
from biofeedback.display.outcome import outcome_lines
from biofeedback.display.status import RMSSD_MIN_BEATS, RecordStatus
from biofeedback.display.summary import mm_ss
from biofeedback.formats import read_rr_file
from biofeedback.outcome import SessionOutcome
from biofeedback.recording import LinkEvent

SAMPLE = SAMPLE_DATA / "pyhrv_nsrdb_5min.txt"
VARIATION = re.compile(r"beat-to-beat variation \(RMSSD\) (\d+) ms")


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def beats() -> list[Beat]:
    rr = read_rr_file(SAMPLE)
    return [Beat(t, r) for t, r in zip(np.cumsum(rr) / 1000, rr, strict=True)]


def test_off_a_terminal_one_line_every_30_s_with_the_window_rmssd() -> None:
    out = io.StringIO()
    status = RecordStatus(out)
    bs = beats()
    for b in bs:
        status.beat(b)
    lines = out.getvalue().splitlines()
    assert [line[:5] for line in lines] == [mm_ss(30.0 * k) for k in range(1, 10)]
    # at 00:30 the 60 s window is not covered yet: no figure, but when it comes
    assert "beat-to-beat variation (RMSSD) in 30 s" in lines[0] and not VARIATION.search(lines[0])
    # the 4:30 line shows RMSSD of the beats that ended in the 60 s before the beat printed
    t = np.array([b.t_s for b in bs])
    i = int(np.searchsorted(t, 270.0))
    window = [b.rr_ms for b in bs if t[i] - 60.0 < b.t_s <= t[i]]
    shown = VARIATION.search(lines[-1])
    assert shown and int(shown[1]) == round(hrv.time_domain(window)["rmssd_ms"])
    rate = re.search(r"heart rate (\d+) beats/min", lines[-1])
    assert rate and int(rate[1]) == round(60000 / np.mean([b.rr_ms for b in bs[i - 4 : i + 1]]))


def test_on_a_terminal_the_line_is_rewritten_in_place() -> None:
    out = Tty()
    status = RecordStatus(out)
    for b in beats()[:3]:
        status.beat(b)
    status.event(LinkEvent(3.0, "lost", "link lost"))
    status.event(LinkEvent(3.0, "restored", "after 2 attempts"))
    status.done()
    text = out.getvalue()
    assert text.count("\r") == 3
    # regression: "1 beats"
    assert text.split("\r")[1] == "00:00  heart rate … · beat-to-beat variation (RMSSD) in 60 s · 1 beat "
    assert text.split("\r")[2] == "00:01  heart rate … · beat-to-beat variation (RMSSD) in 59 s · 2 beats "
    assert "\nlink lost (link lost); reconnecting…\n" in text
    assert "link restored after 2 attempts\n" in text


def test_the_variation_is_shown_only_once_its_window_is_covered_and_restarts_after_a_gap() -> None:
    # two beats gave "RMSSD(60 s) 84.0 ms"; and a status that ignored AFTER_GAP showed, right
    # after a gap, a figure that spans it
    out = Tty()
    status = RecordStatus(out)
    rr_before = [1000.0, 1100.0] * 40  # 80 s with a large swing
    rr_after = [800.0, 810.0] * 50  # 81 s after a 5 s gap, with a small one
    t = 0.0
    shown: list[tuple[float, str]] = []
    for k, rr in enumerate(rr_before + rr_after):
        after_gap = k == len(rr_before)
        t += rr / 1000 + (5.0 if after_gap else 0.0)
        status.beat(Beat(t, rr, BeatFlags.AFTER_GAP if after_gap else BeatFlags.NONE))
        shown.append((t, out.getvalue().rsplit("\r", 1)[1]))
    figures = [(t_s, VARIATION.search(line)) for t_s, line in shown]
    first = next(t_s for t_s, m in figures if m)
    assert 60.0 <= first < 61.1 and sum(1 for t_s, _ in figures if t_s < first) >= RMSSD_MIN_BEATS
    gap_at = len(rr_before)
    after = figures[gap_at:]
    # none for the first 60 s after the gap, then the RMSSD of the beats after it only
    assert all(m is None for t_s, m in after if t_s - after[0][0] < 59.0)
    m_last = after[-1][1]
    assert m_last and int(m_last[1]) == round(hrv.time_domain(rr_after[-75:])["rmssd_ms"]) == 10
    assert "heart rate 74 beats/min" in shown[-1][1]


def test_a_tick_moves_the_elapsed_time_on_between_beats() -> None:
    out = Tty()
    status = RecordStatus(out)
    status.tick(0.5)  # nothing drawn yet: nothing to move on
    assert out.getvalue() == ""
    status.beat(Beat(1.0, 1000.0))
    status.tick(1.6)  # still 00:01: no redraw
    status.tick(2.05)
    lines = out.getvalue().split("\r")[1:]
    assert [line[:5] for line in lines] == ["00:01", "00:02"]
    assert lines[1].rstrip().endswith("· 1 beat")


def test_regression_off_a_terminal_a_long_gap_gives_one_line_not_one_per_missed_period() -> None:
    # the next line was due 30 s after the previous one was due: after a 5-minute gap
    # (link lost, clock re-anchored) every beat printed a line until it had caught up
    out = io.StringIO()
    status = RecordStatus(out)
    for k in range(1, 31):  # 30 s of beats at 1 s
        status.beat(Beat(float(k), 1000.0))
    status.beat(Beat(331.0, 1000.0, BeatFlags.AFTER_GAP))  # 300 s later
    for k in range(332, 361):
        status.beat(Beat(float(k), 1000.0))
    assert [line[:5] for line in out.getvalue().splitlines()] == ["00:30", "05:31", "06:00"]


def test_the_recording_line_names_the_device_and_its_address_only_when_known() -> None:
    import datetime as dt

    from biofeedback.display.summary import format_meta
    from biofeedback.recording import RecordingMeta

    start = dt.datetime(2026, 11, 2, 6, 30, tzinfo=dt.UTC)
    sim = RecordingMeta(start_utc=start, utc_offset_s=3600, source="sim:3", device_name="simulated person")
    strap = RecordingMeta(start_utc=start, source="ble", device_name="Polar H10 A1B2C3D4",
                          device_address="A0:9E:1A:12:34:56")
    assert format_meta(sim) == "Recorded 2026-11-02 07:30 (UTC+01:00); source sim:3, simulated person"
    assert format_meta(strap).endswith("source ble, Polar H10 A1B2C3D4 (A0:9E:1A:12:34:56)")


def test_counts_in_words_one_beat_two_beats() -> None:
    assert [plural(n, "beat") for n in (0, 1, 2)] == ["0 beats", "1 beat", "2 beats"]
    assert (plural(1, "loss", "losses"), plural(2, "loss", "losses")) == ("1 loss", "2 losses")


def test_the_signal_line_says_an_artefact_for_one() -> None:
    # regression: "1 beat corrected as artefacts"
    def signal(n_artefacts: int, n_gaps: int) -> str:
        o = SessionOutcome(duration_s=600.4, n_beats=612, baseline_hr_bpm=68.2, final_hr_bpm=63.1,
                           swing_start_bpm=6.1, swing_end_bpm=11.8, n_breaths=55, resonance_bpm=5.5,
                           n_artefacts=n_artefacts, artefact_share=n_artefacts / 612, n_gaps=n_gaps,
                           gap_total_s=4.2 * n_gaps, quality=0.99, n_decisions=6, ended_early=False)
        return outcome_lines(o)[-1]

    assert signal(1, 0) == "Signal: 1 beat corrected as an artefact (0.2%); no gaps."
    assert signal(2, 2) == "Signal: 2 beats corrected as artefacts (0.3%); 2 gaps of 8.4 s in all."
    assert signal(0, 1) == "Signal: 0 beats corrected as artefacts (0.0%); 1 gap of 4.2 s in all."
