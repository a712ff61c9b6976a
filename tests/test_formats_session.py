"""RR files in, beat CSV out, and the record loop over a replayed source."""

from __future__ import annotations

import asyncio
import csv
import stat
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest
from _data import DATA

from biofeedback.beats import Beat, Measurement
from biofeedback.errors import FileFormatError, InvalidInputError
from biofeedback.formats import BeatCsvWriter, read_rr_file
from biofeedback.notifications import group_into_notifications
from biofeedback.session import RecordSummary, record
from biofeedback.sources.base import LinkLost, LinkRestored, SourceEvent
from biofeedback.sources.replay import ReplaySource

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"


def test_reads_the_recordings_as_ms() -> None:
    rr = read_rr_file(DATA / "pyhrv_nsrdb_5min.txt")
    assert rr.size == 337
    assert 600 < rr.mean() < 1200
    polar = read_rr_file(SAMPLE / "polarh10_slow_breathing.txt")
    assert polar.size == 620 and polar[:3].tolist() == [936.0, 1020.0, 1078.0]


def test_reads_csv_with_rr_column_and_seconds(tmp_path: Path) -> None:
    p = tmp_path / "a.csv"
    p.write_text("t_s,rr_ms,flags\n0.8,800.0,\n1.7,900.5,after_gap\n")
    assert read_rr_file(p).tolist() == [800.0, 900.5]
    p = tmp_path / "b.txt"
    p.write_text("RR\n0.8\n0.9\n")
    assert read_rr_file(p).tolist() == pytest.approx([800.0, 900.0])
    p = tmp_path / "c.csv"
    p.write_text("time;rr_s\n0;0.75\n")
    assert read_rr_file(p).tolist() == [750.0]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "empty"),
        ("800\n900\nabc\n", r"c\.txt:3: 'abc' is not a number"),
        ("800\n-5\n", "not a positive number"),
        ("time,hr\n1,60\n", "no RR column"),
    ],
)
def test_broken_files_name_the_file_and_line(tmp_path: Path, content: str, message: str) -> None:
    p = tmp_path / "c.txt"
    p.write_text(content)
    with pytest.raises(FileFormatError, match=message):
        read_rr_file(p)


def test_missing_file() -> None:
    with pytest.raises(FileFormatError, match="no such file"):
        read_rr_file("/nonexistent/rr.txt")


def test_beat_csv_is_private_and_round_trips(tmp_path: Path) -> None:
    p = tmp_path / "s.csv"
    rr = [812.5, 937.5, 1000.9765625]
    with BeatCsvWriter(p) as w:
        t = 0.0
        for x in rr:
            t += x / 1000
            w.write(Beat(t, x))
    assert stat.S_IMODE(p.stat().st_mode) == 0o600
    with p.open() as f:
        rows = list(csv.DictReader(f))
    assert [float(r["rr_ms"]) for r in rows] == rr
    assert read_rr_file(p).tolist() == rr


def test_group_into_notifications_keeps_every_interval() -> None:
    rr = read_rr_file(DATA / "pyhrv_nsrdb_5min.txt")
    frames = group_into_notifications(rr)
    assert [x for _, f in frames for x in f] == rr.tolist()
    counts = {len(f) for _, f in frames}
    assert {0, 1, 2} <= counts  # slow and fast seconds both occur


def test_record_stops_at_the_requested_beat_clock_time() -> None:
    rr = read_rr_file(DATA / "pyhrv_nsrdb_5min.txt")
    beats: list[Beat] = []
    summary = asyncio.run(record(ReplaySource(rr), beats.append, duration_s=60.0))
    t = np.array([b.t_s for b in beats])
    expected = np.cumsum(rr) / 1000
    n = int(np.searchsorted(expected, 60.0, side="right"))
    assert len(beats) == summary.beats == n
    np.testing.assert_allclose(t, expected[:n], atol=1e-9)
    assert summary.duration_s == pytest.approx(expected[n - 1])


def test_record_plays_a_whole_file_and_closes_the_source() -> None:
    rr = read_rr_file(SAMPLE / "polarh10_slow_breathing.txt")
    beats: list[Beat] = []
    closed = []

    async def source() -> AsyncIterator[SourceEvent]:
        try:
            async for e in ReplaySource(rr):
                yield e
        finally:
            closed.append(True)

    asyncio.run(record(source(), beats.append))
    assert [b.rr_ms for b in beats] == rr.tolist()
    assert closed == [True]


def test_record_breaks_the_chain_on_link_loss() -> None:
    async def source() -> AsyncIterator[SourceEvent]:
        for i in range(1, 6):
            yield Measurement(float(i), 60, (1000.0,))
        yield LinkLost(5.5)
        yield LinkRestored(20.0, attempts=3)
        for i in range(21, 24):
            yield Measurement(float(i), 60, (1000.0,))

    beats: list[Beat] = []
    summary = RecordSummary()
    asyncio.run(record(source(), beats.append, summary=summary))
    assert summary.link_losses == 1 and summary.beats == 8
    (gap,) = summary.gaps
    assert gap.start_s == pytest.approx(5.0) and gap.end_s == pytest.approx(20.0)
    assert beats[5].t_s == pytest.approx(21.0)


@pytest.mark.parametrize(
    ("options", "named"),
    [({"period_s": 0.0}, "period_s"), ({"period_s": float("nan")}, "period_s"),
     ({"speed": 0.0}, "speed"), ({"speed": -2.0}, "speed"), ({"speed": float("inf")}, "speed")],
)
def test_regression_replay_rejects_a_speed_or_period_that_is_not_positive(
    options: dict[str, float], named: str
) -> None:
    # period_s=0 silently yielded no beat at all, speed=0 raised ZeroDivisionError only
    # once playing, a negative speed played as fast as it could
    with pytest.raises(InvalidInputError, match=named):
        ReplaySource([800.0, 810.0], **options)
    if named == "period_s":
        with pytest.raises(InvalidInputError, match=named):
            group_into_notifications([800.0, 810.0], **options)
