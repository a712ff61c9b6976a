"""RR files in, beat CSV out (a Recording to the bit), and the session loop over a replayed source."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import itertools
import os
import stat
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Self

import numpy as np
import pytest
from _data import DATA

from biofeedback.beats import MAX_LAG_S, Beat, BeatFlags, Gap, Measurement
from biofeedback.errors import FileFormatError, InvalidInputError
from biofeedback.formats import BeatCsvSink, BeatCsvWriter, read_recording, read_rr_file, write_recording
from biofeedback.notifications import group_into_notifications
from biofeedback.pieces import Piece, SessionEvent
from biofeedback.recording import LinkEvent, Recording, RecordingMeta
from biofeedback.session import Session
from biofeedback.sources.base import LinkLost, LinkRestored, SourceEvent, SourceInfo
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


class Collect(Piece):
    """A sink that keeps what it is given."""

    def __init__(self) -> None:
        self.beats: list[Beat] = []
        self.events: list[SessionEvent] = []
        self.measurements: list[Measurement] = []
        self.meta: RecordingMeta | None = None
        self.finished: list[Recording] = []

    def begin(self, meta: RecordingMeta) -> None:
        self.meta = meta

    def beat(self, beat: Beat) -> None:
        self.beats.append(beat)

    def event(self, event: SessionEvent) -> None:
        self.events.append(event)

    def measurement(self, m: Measurement) -> None:
        self.measurements.append(m)

    def finish(self, recording: Recording) -> None:
        self.finished.append(recording)


class Scripted:
    """A source playing a list of events, with a pause of wall time before each measurement."""

    def __init__(self, events: Sequence[SourceEvent], *, speed: float = 1.0, pause_s: float = 0.0) -> None:
        self.events = list(events)
        self.speed = speed
        self.pause_s = pause_s
        self.entered = self.exited = 0
        self.now_s = 0.0

    def info(self) -> SourceInfo:
        return SourceInfo(kind="scripted", speed=self.speed, device_name="Strap X", device_address="00:11:22:33:44:55")

    def clock_s(self) -> float:
        return self.now_s

    async def __aenter__(self) -> Self:
        self.entered += 1
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        self.exited += 1

    async def __aiter__(self) -> AsyncIterator[SourceEvent]:
        for event in self.events:
            if isinstance(event, Measurement):
                await asyncio.sleep(self.pause_s)
                self.now_s = event.t_arrival_s
            yield event


def run(session: Session) -> Recording:
    return asyncio.run(session.run())


def test_record_stops_at_the_requested_beat_clock_time() -> None:
    rr = read_rr_file(DATA / "pyhrv_nsrdb_5min.txt")
    sink = Collect()
    rec = run(Session(ReplaySource(rr), sinks=[sink], duration_s=60.0))
    t = np.array([b.t_s for b in sink.beats])
    expected = np.cumsum(rr) / 1000
    n = int(np.searchsorted(expected, 60.0, side="right"))
    assert len(sink.beats) == rec.n_beats == n
    np.testing.assert_allclose(t, expected[:n], atol=1e-9)
    assert rec.duration_s == pytest.approx(expected[n - 1])
    assert sink.finished == [rec] or (len(sink.finished) == 1 and sink.finished[0].n_beats == n)


def test_record_plays_a_whole_file_and_leaves_the_source() -> None:
    rr = read_rr_file(SAMPLE / "polarh10_slow_breathing.txt")
    source = ReplaySource(rr)
    sink = Collect()
    rec = run(Session(source, sinks=[sink]))
    assert [b.rr_ms for b in sink.beats] == rr.tolist() == rec.rr_ms.tolist()
    scripted = Scripted([Measurement(1.0, 60, (1000.0,))])
    run(Session(scripted))
    assert (scripted.entered, scripted.exited) == (1, 1)


def test_record_breaks_the_chain_on_link_loss() -> None:
    events: list[SourceEvent] = [Measurement(float(i), 60, (1000.0,)) for i in range(1, 6)]
    events += [LinkLost(5.5), LinkRestored(20.0, attempts=3)]
    events += [Measurement(float(i), 60, (1000.0,)) for i in range(21, 24)]
    sink = Collect()
    rec = run(Session(Scripted(events), sinks=[sink]))
    assert rec.n_beats == 8
    (gap,) = rec.gaps
    assert gap.start_s == pytest.approx(5.0) and gap.end_s == pytest.approx(20.0) and gap.reason == "link lost"
    assert rec.link_events == (LinkEvent(5.0, "lost", "link lost"), LinkEvent(5.0, "restored", "after 3 attempts"))
    assert sink.beats[5].t_s == pytest.approx(21.0) and sink.beats[5].flags == BeatFlags.AFTER_GAP
    # the sink saw the link events, then the gap just before the beat that closes it
    assert sink.events == [*rec.link_events, gap]


class Probe(Piece):
    """Records every call, in the order pieces get them."""

    def __init__(self, name: str, calls: list[tuple[str, str, object]]) -> None:
        self.name = name
        self.calls = calls

    def begin(self, meta: RecordingMeta) -> None:
        self.calls.append((self.name, "begin", meta.source))

    def measurement(self, m: Measurement) -> None:
        self.calls.append((self.name, "measurement", m.t_arrival_s))

    def beat(self, beat: Beat) -> None:
        self.calls.append((self.name, "beat", beat.t_s))

    def event(self, event: SessionEvent) -> None:
        self.calls.append((self.name, "event", type(event).__name__))

    def tick(self, t_s: float) -> None:
        self.calls.append((self.name, "tick", t_s))

    def finish(self, recording: Recording) -> None:
        self.calls.append((self.name, "finish", recording.n_beats))


def test_the_session_contract_order_of_calls_and_ticks_between_beats() -> None:
    # what a coach (processor), a store (sink) and a prompt (display) will rely on
    calls: list[tuple[str, str, object]] = []
    coach, store, prompt = Probe("coach", calls), Probe("store", calls), Probe("prompt", calls)
    events: list[SourceEvent] = [Measurement(0.0, 0)]  # a settle frame, before any beat
    events += [Measurement(float(i), 60, (1000.0,)) for i in range(1, 5)]
    session = Session(Scripted(events, pause_s=0.2), processors=[coach], sinks=[store], displays=[prompt],
                      tick_s=0.02)
    rec = run(session)
    assert rec.n_beats == 4 and rec.meta.source == "scripted"
    assert rec.meta.device_name == "Strap X" and rec.meta.device_address == "00:11:22:33:44:55"
    no_ticks = [c for c in calls if c[1] != "tick"]
    # the settle frame reached the display as it came, and the others right after begin
    assert no_ticks[:6] == [
        ("prompt", "measurement", 0.0),
        ("coach", "begin", "scripted"), ("store", "begin", "scripted"), ("prompt", "begin", "scripted"),
        ("coach", "measurement", 0.0), ("store", "measurement", 0.0),
    ]
    for k in range(1, 5):  # each notification: the measurement, then its beat, in list order
        at = no_ticks.index(("coach", "measurement", float(k)))
        assert no_ticks[at : at + 6] == [
            ("coach", "measurement", float(k)), ("store", "measurement", float(k)), ("prompt", "measurement", float(k)),
            ("coach", "beat", float(k)), ("store", "beat", float(k)), ("prompt", "beat", float(k)),
        ]
    assert no_ticks[-3:] == [("coach", "finish", 4), ("store", "finish", 4), ("prompt", "finish", 4)]
    # only displays tick; between two beats there is at least one tick, and the ticks never go back
    assert {c[0] for c in calls if c[1] == "tick"} == {"prompt"}
    beat_at = [i for i, c in enumerate(calls) if c[:2] == ("prompt", "beat")]
    for a, b in itertools.pairwise(beat_at):
        assert any(c[1] == "tick" for c in calls[a:b])
    ticks = [float(c[2]) for c in calls if c[1] == "tick"]  # type: ignore[arg-type]
    assert ticks == sorted(ticks) and session.ticks == len(ticks) > 0


def test_the_tick_time_runs_on_from_the_last_beat_on_the_source_clock() -> None:
    source = Scripted([Measurement(10.0, 60, (1000.0, 1000.0))])
    session = Session(source)

    async def main() -> list[float]:
        async with source:
            async for event in source:
                session._take(event)
        out = [session.now_s()]
        source.now_s = 10.75  # 0.75 s of source clock since the notification of the last beat
        out.append(session.now_s())
        source.now_s = 10.5  # the source clock never makes the estimate go back
        out.append(session.now_s())
        return out

    assert asyncio.run(main()) == [2.0, 2.75, 2.75]


def test_regression_a_fast_source_scales_the_lag_threshold_and_keeps_every_beat() -> None:
    # arrival jitter on an emulated strap's clock grows with its speed: a notification 5 s
    # of strap time late is 0.1 s of wall time at 50x. The CLI scaled the lag threshold by
    # the speed; without that, this recording got a false gap and shifted beats
    rr = [1000.0] * 20
    arrivals = [float(i + 1) for i in range(20)]
    arrivals[10] += 5.0  # one notification held up; the rest on time
    arrivals[11] += 5.0
    events = [Measurement(a, 60, (r,)) for a, r in zip(arrivals, rr, strict=True)]
    for speed, gaps in ((50.0, 0), (1.0, 1)):
        session = Session(Scripted(events, speed=speed))
        rec = run(session)
        assert rec.n_beats == 20 and len(rec.gaps) == gaps
        if not gaps:
            np.testing.assert_array_equal(rec.t_s, np.cumsum(rr) / 1000)
        assert session.clock.max_lag_s == MAX_LAG_S * speed
    # the emulated strap tells the session its speed
    from biofeedback.sources.emulated import EmulatedSource

    assert EmulatedSource(np.array(rr), speed=50.0).info().speed == 50.0


def test_stop_ends_the_session_as_its_length_would() -> None:
    rr = read_rr_file(SAMPLE / "polarh10_slow_breathing.txt")
    sink = Collect()

    class StopAt30(Piece):
        def beat(self, beat: Beat) -> None:
            if len(sink.beats) == 30:
                session.stop()

    session = Session(ReplaySource(rr, speed=1000.0), sinks=[sink], displays=[StopAt30()])
    rec = run(session)
    assert rec.n_beats == len(sink.beats) == 30 and len(sink.finished) == 1


def test_a_piece_that_fails_stops_the_session_and_every_piece_still_finishes() -> None:
    sink = Collect()

    class Broken(Piece):
        def beat(self, beat: Beat) -> None:
            raise ZeroDivisionError("a bug")

    with pytest.raises(ZeroDivisionError):
        run(Session(Scripted([Measurement(1.0, 60, (1000.0,))]), processors=[Broken()], sinks=[sink]))
    assert len(sink.finished) == 1


def _meta(**changes: object) -> RecordingMeta:
    base = {"start_utc": dt.datetime(2026, 1, 5, 6, 30, 0, 250000, tzinfo=dt.UTC), "utc_offset_s": 3600,
                "source": "ble", "device_name": "Polar H10 A1B2C3D4", "device_address": "A0:9E:1A:12:34:56",
                "software_version": "0.1.0"}
    base.update(changes)
    return RecordingMeta(**base)  # type: ignore[arg-type]


def test_the_beat_csv_reads_back_the_recording_to_the_bit(tmp_path: Path) -> None:
    rr = read_rr_file(SAMPLE / "polarh10_slow_breathing.txt") / 1.0003  # values that are not round
    t = np.cumsum(rr) / 1000
    t[300:] += 12.5 + 1e-7
    t[450:] += 3.25
    flags = np.zeros(rr.size, dtype=np.int64)
    flags[[300, 450]] = int(BeatFlags.AFTER_GAP)
    flags[100] = int(BeatFlags.NO_CONTACT | BeatFlags.ARTIFACT)
    gaps = (Gap(float(t[299]), float(t[300] - rr[300] / 1000), "link lost"),
            Gap(float(t[449]), float(t[450] - rr[450] / 1000), "chain behind arrival clock"))
    links = (LinkEvent(float(t[299]), "lost", "link lost"), LinkEvent(float(t[299]), "restored", "after 2 attempts"))
    rec = Recording(meta=_meta(), t_s=t, rr_ms=rr, flags=flags, gaps=gaps, link_events=links)
    path = tmp_path / "s.csv"
    write_recording(path, rec)
    back = read_recording(path)
    assert back.meta == rec.meta
    np.testing.assert_array_equal(back.t_s, rec.t_s)
    np.testing.assert_array_equal(back.rr_ms, rec.rr_ms)
    np.testing.assert_array_equal(back.flags, rec.flags)
    assert back.gaps == gaps and back.link_events == links
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    lines = path.read_text().splitlines()
    assert lines[:3] == ["# format: biofeedback-beats/1", "# start_utc: 2026-01-05T06:30:00.250000+00:00",
                         "# utc_offset_s: 3600"]
    assert read_rr_file(path).tolist() == rr.tolist()  # a reader of RR only still reads it


def test_a_live_session_writes_the_same_csv_as_its_recording(tmp_path: Path) -> None:
    events: list[SourceEvent] = [Measurement(float(i), 60, (1000.0,)) for i in range(1, 6)]
    events += [LinkLost(5.5), LinkRestored(20.0, attempts=3)]
    events += [Measurement(float(i), 60, (937.5,)) for i in range(21, 24)]
    live, after = tmp_path / "live.csv", tmp_path / "after.csv"
    rec = run(Session(Scripted(events), sinks=[BeatCsvSink(live)]))
    write_recording(after, rec)
    assert live.read_text() == after.read_text()
    back = read_recording(live)
    assert back.meta == rec.meta and back.gaps == rec.gaps and back.link_events == rec.link_events


def test_a_file_without_a_start_gets_one_from_its_time_marked_estimated(tmp_path: Path) -> None:
    plain = tmp_path / "rr.txt"
    plain.write_text("1000\n1000\n500\n")
    when = dt.datetime(2025, 3, 1, 12, 0, 10, tzinfo=dt.UTC)
    os.utime(plain, (when.timestamp(), when.timestamp()))
    rec = read_recording(plain)
    assert rec.meta.start_utc == when - dt.timedelta(seconds=2.5) and rec.meta.start_estimated
    assert rec.meta.source == "file:rr.txt" and rec.n_beats == 3 and rec.gaps == ()
    # a beat CSV of an older version: no header lines, no gap lines
    old = tmp_path / "old.csv"
    old.write_text("t_s,rr_ms,flags\n1.0,1000.0,\n2.0,1000.0,\n14.5,1000.0,after_gap\n")
    rec = read_recording(old)
    assert rec.meta.start_estimated and rec.gaps == (Gap(2.0, 13.5, "unknown"),)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("# start_utc: yesterday\nt_s,rr_ms,flags\n1.0,1000.0,\n", "start_utc 'yesterday' is not an ISO 8601 time"),
        ("t_s,rr_ms,flags\n# gap: [1, 2]\n1.0,1000.0,after_gap\n", r"s.csv:2: '\[1, 2\]' is not the JSON object"),
        ("t_s,rr_ms,flags\n1.0,1000.0,sneezed\n", "s.csv:2: unknown flag 'sneezed'"),
        ("t_s,rr_ms,flags\n1.0,1000.0,\n0.5,1000.0,\n", "beat times must be strictly increasing"),
    ],
)
def test_a_broken_beat_csv_is_one_error_naming_the_file(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "s.csv"
    path.write_text(content)
    with pytest.raises(FileFormatError, match=message):
        read_recording(path)


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


def test_a_live_session_through_the_store_sink_reads_back_as_its_recording(tmp_path: Path) -> None:
    # the contract between the session loop and the store: begin, every raw frame, every
    # beat, gap and link event arrives, in order, and the store gives the recording back
    from biofeedback.store import SessionStore
    from biofeedback.store.sink import StoreSink

    events: list[SourceEvent] = [Measurement(0.5, 0, (), raw=b"\x16\x00")]  # a settle frame, before any beat
    events += [Measurement(float(i), 60, (1000.0,), raw=bytes([0x16, 60, 0x00, 0x04])) for i in range(1, 6)]
    events += [LinkLost(5.5), LinkRestored(20.0, attempts=3)]
    events += [Measurement(float(i), 64, (937.5,), raw=bytes([0x16, 64, 0xC0, 0x03])) for i in range(21, 24)]
    with SessionStore(tmp_path / "s.db") as store:
        sink = StoreSink(store)
        rec = run(Session(Scripted(events), sinks=[sink]))
        assert sink.session_id is not None
        back = store.recording(sink.session_id)
        frames = store.frames(sink.session_id)
    assert back.meta == rec.meta and back.gaps == rec.gaps and back.link_events == rec.link_events
    np.testing.assert_array_equal(back.t_s, rec.t_s)
    np.testing.assert_array_equal(back.rr_ms, rec.rr_ms)
    np.testing.assert_array_equal(back.flags, rec.flags)
    assert len(frames) == 9 and frames[0].payload == b"\x16\x00"


def test_frames_that_did_not_decode_reach_the_store_in_their_place_and_carry_no_beat(tmp_path: Path) -> None:
    from biofeedback.beats import RejectedFrame
    from biofeedback.store import SessionStore
    from biofeedback.store.sink import FRAMES_BEFORE, StoreSink

    def frame(t_s: float) -> Measurement:
        return Measurement(t_s, 60, (1000.0,), raw=bytes([0x16, 60, 0x00, 0x04]))

    early = RejectedFrame(0.7, b"\x01\x3c", "uint16 heart rate cut short")  # before any beat: held until begin
    late = RejectedFrame(3.5, b"\x10", "no heart-rate field")
    events: list[SourceEvent] = [Measurement(0.5, 0, (), raw=b"\x16\x00"), early, frame(1.0), frame(2.0),
                                 frame(3.0), late, frame(4.0), LinkLost(4.5), LinkRestored(9.0), frame(10.0)]
    with SessionStore(tmp_path / "s.db") as store:
        sink = StoreSink(store)
        rec = run(Session(Scripted(events), sinks=[sink]))
        assert sink.session_id is not None
        frames = store.frames(sink.session_id)
        (lost,) = store.events(sink.session_id, "link_lost")
    assert [(f.t_arrival_s, f.payload) for f in frames] == [
        (e.t_arrival_s, e.raw) for e in events if isinstance(e, Measurement | RejectedFrame)
    ]
    assert lost.data[FRAMES_BEFORE] == 7  # the rejected frames counted among those before it
    assert rec.n_beats == 5 and rec.t_s.tolist() == [1.0, 2.0, 3.0, 4.0, 10.0]
