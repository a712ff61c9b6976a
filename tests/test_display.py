"""The recording status line: live heart rate and RMSSD of the last 60 s."""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np

from biofeedback import hrv
from biofeedback.analysis import mm_ss
from biofeedback.beats import Beat, BeatFlags
from biofeedback.display.status import RecordStatus
from biofeedback.formats import read_rr_file
from biofeedback.sources.base import LinkLost, LinkRestored

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data" / "pyhrv_nsrdb_5min.txt"


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
    # the 4:30 line shows RMSSD of the beats that ended in the 60 s before the beat printed
    t = np.array([b.t_s for b in bs])
    i = int(np.searchsorted(t, 270.0))
    window = [b.rr_ms for b in bs if t[i] - 60.0 < b.t_s <= t[i]]
    shown = re.search(r"RMSSD\(60 s\) +([\d.]+) ms", lines[-1])
    assert shown and float(shown[1]) == round(hrv.time_domain(window)["rmssd_ms"], 1)


def test_on_a_terminal_the_line_is_rewritten_in_place() -> None:
    out = Tty()
    status = RecordStatus(out)
    for b in beats()[:3]:
        status.beat(b)
    status.event(LinkLost(3.0))
    status.event(LinkRestored(5.0, attempts=2))
    status.done()
    text = out.getvalue()
    assert text.count("\r") == 3
    assert "RMSSD(60 s)    -- ms" in text.split("\r")[1]  # one beat: no RMSSD yet
    assert "\nlink lost (link lost); reconnecting…\n" in text
    assert "link restored after 2 attempt(s)\n" in text


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
