"""The session store: every column back exactly, private files, WAL, SIGKILL, locks, damage, migrations."""

from __future__ import annotations

import datetime as dt
import os
import signal
import sqlite3
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from biofeedback.beats import Beat, BeatFlags, Gap
from biofeedback.errors import BiofeedbackError, InvalidInputError, SessionNotFoundError, StoreError
from biofeedback.recording import LinkEvent, Recording, RecordingMeta
from biofeedback.store import Event, Frame, SessionStore
from biofeedback.store.schema import APPLICATION_ID, SCHEMA_VERSION

ROOT = Path(__file__).resolve().parents[1]
UTC = dt.UTC
T0 = dt.datetime(2026, 3, 14, 6, 45, 12, 345678, tzinfo=UTC)
META = RecordingMeta(
    start_utc=T0,
    utc_offset_s=5 * 3600 + 1800,
    source="ble",
    device_name="Polar H10 ABC123",
    device_address="A0:9E:1A:12:34:56",
    software_version="0.1.0",
)


def meta_at(start: dt.datetime, offset_s: int = 0, source: str = "sim:1") -> RecordingMeta:
    return RecordingMeta(start_utc=start, utc_offset_s=offset_s, source=source, software_version="0.1.0")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def beat_series(n: int, seed: int = 7) -> list[Beat]:
    """Beats with RR values that are not round in binary or decimal (1/1024 s units and noise)."""
    rng = np.random.default_rng(seed)
    rr = rng.integers(700, 1100, n) * (1000.0 / 1024.0) + rng.random(n) / 3.0
    t = np.cumsum(rr) / 1000.0
    return [Beat(t_s=float(a), rr_ms=float(b)) for a, b in zip(t, rr, strict=True)]


def test_every_column_round_trips_exactly(tmp_path: Path) -> None:
    path = tmp_path / "data" / "sessions.db"
    rng = np.random.default_rng(3)
    beats = beat_series(300)
    # a gap after beat 149: the chain re-anchors 7.25 s later
    gap = Gap(start_s=beats[149].t_s, end_s=beats[149].t_s + 7.25, reason="link lost")
    shifted = [beats[i] for i in range(150)]
    for i, b in enumerate(beats[150:]):
        t = b.t_s + 7.25
        flags = BeatFlags.AFTER_GAP if i == 0 else BeatFlags.NONE
        shifted.append(Beat(t_s=t, rr_ms=b.rr_ms, flags=flags))
    shifted[20] = Beat(shifted[20].t_s, shifted[20].rr_ms, BeatFlags.ARTIFACT | BeatFlags.NO_CONTACT)
    hr = [None if i % 37 == 0 else float(50 + i % 40) for i in range(300)]
    pace = [None if i < 10 else 6.5 - i / 1000 for i in range(300)]
    phase = [None if i < 10 else float(rng.random()) for i in range(300)]
    payloads = [bytes(rng.integers(0, 256, int(rng.integers(1, 20)), dtype=np.uint8)) for _ in range(300)]
    payloads[5] = b"\x00"
    lost = LinkEvent(t_s=beats[149].t_s, kind="lost", detail="strap out of range")
    restored = LinkEvent(t_s=beats[149].t_s, kind="restored", detail="after 3 attempts")
    settings = {"minutes": 10, "preset": "gentle", "target_drop_pct": 8.0, "inhale_share": 0.4}
    summary = {
        "baseline_hr_bpm": 72.25,
        "final_hr_bpm": 65.5,
        "resonance_bpm": 5.75,
        "quality": 0.987,
        "swing_start_bpm": np.float64(6.125),
        "notes": ["ok"],
    }

    with SessionStore(path) as store:
        sid = store.start_session(META, settings)
        for i, b in enumerate(shifted):
            store.add_frame(sid, 1000.0 + i * 0.8123, payloads[i])
            if i == 150:
                store.add_link_event(sid, lost)
                store.add_link_event(sid, restored)
                store.add_gap(sid, gap)
            store.add_beat(sid, b, hr_bpm=hr[i], pace_bpm=pace[i], phase=phase[i])
        store.add_event(sid, 30.5, "coach", "HR swing grew at 6.0", stage="explore", data={"pace_bpm": 6.0})
        store.add_event(sid, 31.0, "battery", "87%", data={"level_pct": 87})
        row = store.finish_session(sid, summary)

    with SessionStore(path) as store:  # a fresh connection reads it all back
        table = store.beat_table(sid)
        assert len(table) == 300
        assert table.t_s.tolist() == [b.t_s for b in shifted]
        assert table.rr_ms.tolist() == [b.rr_ms for b in shifted]  # exact floats, not rounded
        assert table.flags.tolist() == [int(b.flags) for b in shifted]
        np.testing.assert_array_equal(table.hr_bpm, np.array([np.nan if x is None else x for x in hr]))
        np.testing.assert_array_equal(table.pace_bpm, np.array([np.nan if x is None else x for x in pace]))
        np.testing.assert_array_equal(table.phase, np.array([np.nan if x is None else x for x in phase]))
        assert store.frames(sid) == [Frame(1000.0 + i * 0.8123, p) for i, p in enumerate(payloads)]

        rec = store.recording(sid)
        assert rec.meta == META
        assert rec.meta.start_local.utcoffset() == dt.timedelta(hours=5, minutes=30)
        assert rec.gaps == (gap,)
        assert rec.link_events == (lost, restored)
        assert [len(s) for s in (range(300)[x] for x in rec.stretches())] == [150, 150]
        assert rec.gap_total_s == pytest.approx(7.25, abs=1e-9)

        assert store.events(sid, "coach") == [
            Event(30.5, "coach", "HR swing grew at 6.0", "explore", {"pace_bpm": 6.0})
        ]
        assert store.events(sid, "battery")[0].data == {"level_pct": 87}
        assert [e.kind for e in store.events(sid)] == ["link_lost", "link_restored", "gap", "coach", "battery"]

        s = store.session(sid)
        assert s == row
        assert s.status == "complete" and s.complete
        assert s.settings == settings
        assert s.summary == {**summary, "swing_start_bpm": 6.125}
        assert (s.baseline_hr_bpm, s.final_hr_bpm, s.resonance_bpm, s.quality) == (72.25, 65.5, 5.75, 0.987)
        assert s.hr_drop_bpm == pytest.approx(6.75)
        assert s.hr_drop_pct == pytest.approx(100 * 6.75 / 72.25)
        assert (s.n_beats, s.n_gaps) == (300, 1)
        assert s.duration_s == shifted[-1].t_s
        assert s.end_utc == T0 + dt.timedelta(seconds=shifted[-1].t_s)
        assert s.minutes == pytest.approx(shifted[-1].t_s / 60)


def test_files_are_private_whatever_the_umask(tmp_path: Path) -> None:
    folder = tmp_path / "new" / "biofeedback"
    old = os.umask(0)
    try:
        with SessionStore(folder / "sessions.db") as store:
            sid = store.start_session(META)
            store.add_beat(sid, Beat(1.0, 1000.0))
            names = sorted(p.name for p in folder.iterdir())
            assert names == ["sessions.db", "sessions.db-lock", "sessions.db-shm", "sessions.db-wal"]
            assert {n: mode(folder / n) for n in names} == dict.fromkeys(names, 0o600)
            assert mode(folder) == 0o700
    finally:
        os.umask(old)


def test_an_existing_store_with_a_loose_mode_is_tightened(tmp_path: Path) -> None:
    path = tmp_path / "sessions.db"
    SessionStore(path).close()
    path.chmod(0o644)
    tmp_path.chmod(0o755)
    with SessionStore(path):
        assert mode(path) == 0o600
    assert mode(tmp_path) == 0o755  # a folder that was there already is the user's: left as it is


def test_wal_mode_lets_a_reader_read_while_a_session_is_written(tmp_path: Path) -> None:
    path = tmp_path / "sessions.db"
    with SessionStore(path) as writer:
        sid = writer.start_session(META)
        for b in beat_series(10):
            writer.add_beat(sid, b)
        conn = sqlite3.connect(path)
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        conn.close()
        with SessionStore(path) as reader:  # another process's `biofeedback sessions`
            (row,) = reader.sessions()
            assert (row.id, row.status, row.n_beats) == (sid, "recording", 10)
            assert row.duration_s == beat_series(10)[-1].t_s
        writer.add_beat(sid, Beat(100.0, 900.0))  # the reader took nothing from the writer
        assert writer.session(sid).status == "recording"


def test_a_recording_read_during_a_live_session_is_one_moment_of_it(tmp_path: Path,
                                                                    caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "sessions.db"
    with SessionStore(path) as writer, SessionStore(path) as reader:
        sid = writer.start_session(META)
        writer.add_beat(sid, Beat(1.0, 1000.0))
        read_beats = reader.beat_table

        def beats_then_the_writer_goes_on(session_id: int):  # type: ignore[no-untyped-def]
            table = read_beats(session_id)
            writer.add_gap(sid, Gap(start_s=1.0, end_s=9.0, reason="link lost"))  # between the reader's reads
            writer.add_beat(sid, Beat(10.0, 1000.0, BeatFlags.AFTER_GAP))
            return table

        reader.beat_table = beats_then_the_writer_goes_on  # type: ignore[method-assign]
        rec = reader.recording(sid)
        assert (rec.n_beats, rec.gaps) == (1, ())  # not a gap whose beat it did not read ...
        assert not caplog.records  # ... nor a warning about a gap that seems to have lost its beat
        del reader.beat_table
        rec = reader.recording(sid)
        assert rec.n_beats == 2 and rec.gaps == (Gap(start_s=1.0, end_s=9.0, reason="link lost"),)


WRITER = textwrap.dedent(
    """
    import datetime as dt, sys
    from biofeedback.beats import Beat
    from biofeedback.recording import RecordingMeta
    from biofeedback.store import SessionStore

    store = SessionStore(sys.argv[1])
    meta = RecordingMeta(start_utc=dt.datetime(2026, 1, 5, 7, 30, tzinfo=dt.timezone.utc), source="sim:3")
    sid = store.start_session(meta, {"minutes": 60})
    t = 0.0
    i = 0
    while True:
        rr = 800.0 + (i % 50) * 1.1 + 1 / 3
        t += rr / 1000.0
        store.add_frame(sid, 10.0 + t, bytes([16, 60 + i % 5]) + i.to_bytes(4, "little"))
        store.add_beat(sid, Beat(t_s=t, rr_ms=rr), hr_bpm=60 + i % 5, pace_bpm=6.0, phase=(i % 10) / 10)
        if i % 100 == 0:
            store.add_event(sid, t, "coach", "step", stage="explore", data={"i": i})
        print(i, flush=True)
        i += 1
    """
)


def expected_beats(n: int) -> tuple[list[float], list[float]]:
    t, ts, rrs = 0.0, [], []
    for i in range(n):
        rr = 800.0 + (i % 50) * 1.1 + 1 / 3
        t += rr / 1000.0
        ts.append(t)
        rrs.append(rr)
    return ts, rrs


def test_a_session_killed_with_sigkill_keeps_every_beat_it_stored(tmp_path: Path) -> None:
    path = tmp_path / "sessions.db"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    last = -1
    for line in proc.stdout:
        last = int(line)
        if last >= 400:
            break
    proc.send_signal(signal.SIGKILL)  # mid-write: no chance to commit, close or clean up
    proc.wait()
    proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    assert (tmp_path / "sessions.db-wal").exists()  # the beats live in the WAL, not yet checkpointed

    with SessionStore(path) as store:  # no writer alive: the session is closed as interrupted
        (row,) = store.sessions()
        assert row.status == "interrupted" and not row.complete
        n = row.n_beats
        assert n >= last + 1  # every beat the writer was told was stored is there
        ts, rrs = expected_beats(n)
        table = store.beat_table(row.id)
        assert table.t_s.tolist() == ts and table.rr_ms.tolist() == rrs
        assert table.hr_bpm.tolist() == [60 + i % 5 for i in range(n)]
        frames = store.frames(row.id)
        assert len(frames) in (n, n + 1)  # the frame of a beat is written just before it
        assert frames[last].payload == bytes([16, 60 + last % 5]) + last.to_bytes(4, "little")
        assert [e.data["i"] for e in store.events(row.id, "coach")] == list(range(0, n, 100))
        rec = store.recording(row.id)
        assert rec.n_beats == n and rec.duration_s == ts[-1]
        assert row.duration_s == ts[-1]
        assert row.end_utc == rec.meta.start_utc + dt.timedelta(seconds=ts[-1])
        assert row.settings == {"minutes": 60} and row.summary is None


def test_a_live_writers_session_is_not_marked_interrupted_by_a_reader(tmp_path: Path) -> None:
    path = tmp_path / "sessions.db"
    with SessionStore(path) as writer:
        sid = writer.start_session(META)
        writer.add_beat(sid, Beat(1.0, 1000.0))
        with SessionStore(path, busy_timeout_s=0.1) as reader:
            assert reader.session(sid).status == "recording"
            with pytest.raises(StoreError, match="another biofeedback is writing to"):
                reader.mark_interrupted_sessions()
        writer.finish_session(sid, {}, complete=False)  # ended early (Ctrl-C), finished properly
    with SessionStore(path) as store:
        assert store.session(sid).status == "incomplete"


def test_a_never_finished_session_is_marked_interrupted_when_the_store_is_next_opened(tmp_path: Path) -> None:
    path = tmp_path / "sessions.db"
    first = SessionStore(path)
    sid = first.start_session(META)
    for b in beat_series(5):
        first.add_beat(sid, b)
    first._lock.release()  # the writer died without closing: its lock went with it
    with SessionStore(path) as second:
        assert second.session(sid).status == "interrupted"
        assert second.session(sid).n_beats == 5
        assert second.mark_interrupted_sessions() == []
    first._conn.close()


def test_a_store_locked_by_another_writer_gives_one_clear_line(tmp_path: Path) -> None:
    path = tmp_path / "sessions.db"
    SessionStore(path).close()
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        with SessionStore(path, busy_timeout_s=0.1) as store:
            with pytest.raises(StoreError) as err:
                store.start_session(META)
            assert str(err.value) == f"another biofeedback is writing to {path}; close it or use --data-dir"
            assert isinstance(err.value, BiofeedbackError) and "\n" not in str(err.value)
    finally:
        other.execute("ROLLBACK")
        other.close()
    with SessionStore(path) as store:  # nothing was lost or half-written
        assert store.sessions() == []


def test_a_second_writer_is_refused_until_the_first_closes(tmp_path: Path) -> None:
    path = tmp_path / "sessions.db"
    with SessionStore(path) as first:
        sid = first.start_session(META)
        with SessionStore(path, busy_timeout_s=0.1) as second:
            with pytest.raises(StoreError, match=r"another biofeedback is writing to .*; close it or use --data-dir"):
                second.start_session(META)
            assert [s.id for s in second.sessions()] == [sid]  # it still reads
        first.add_beat(sid, Beat(1.0, 1000.0))
    with SessionStore(path) as second:
        assert second.start_session(META) == sid + 1


def test_garbage_in_the_store_file_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "sessions.db"
    garbage = b"this is not a database, but it is someone's file\n" * 100
    path.write_bytes(garbage)
    with pytest.raises(StoreError) as err:
        SessionStore(path)
    assert str(err.value) == (
        f"{path} is not a biofeedback session store (file is not a database); move it aside or use --data-dir"
    )
    assert path.read_bytes() == garbage


def test_a_damaged_store_gives_a_clear_error_not_wrong_data(tmp_path: Path) -> None:
    path = tmp_path / "sessions.db"
    with SessionStore(path) as store:
        sid = store.start_session(META)
        for b in beat_series(3000):
            store.add_beat(sid, b)
        store.finish_session(sid, {})
    data = bytearray(path.read_bytes())
    page = 4096
    rng = np.random.default_rng(0)
    for off in range(2 * page, len(data), page):  # every page but the header and the schema
        data[off : off + page] = rng.integers(0, 256, page, dtype=np.uint8).tobytes()
    path.write_bytes(bytes(data))
    damaged = r"is damaged \(database disk image is malformed\); nothing was changed"
    with pytest.raises(StoreError, match=damaged), SessionStore(path) as store:
        store.recording(sid)
    assert path.read_bytes() == bytes(data)


def test_another_programs_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE contacts (name TEXT)")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="an SQLite database of another program"):
        SessionStore(path)


def test_a_store_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "sessions.db"
    SessionStore(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    conn.close()
    with pytest.raises(StoreError) as err:
        SessionStore(path)
    assert str(err.value) == (
        f"the session store {path} was written by a newer biofeedback (schema version {SCHEMA_VERSION + 5}; "
        f"this one reads up to {SCHEMA_VERSION}); upgrade biofeedback or use --data-dir"
    )


V1_SQL = f"""
PRAGMA application_id = {APPLICATION_ID};
CREATE TABLE sessions (id INTEGER PRIMARY KEY, start_utc TEXT NOT NULL, utc_offset_s INTEGER NOT NULL,
    start_estimated INTEGER NOT NULL DEFAULT 0, end_utc TEXT, source TEXT NOT NULL, device_name TEXT, device_address TEXT, software_version TEXT NOT NULL,
    settings_json TEXT NOT NULL, summary_json TEXT, status TEXT NOT NULL DEFAULT 'recording',
    n_beats INTEGER, duration_s REAL, n_gaps INTEGER, gap_total_s REAL, baseline_hr_bpm REAL, final_hr_bpm REAL,
    resonance_bpm REAL, quality REAL);
CREATE INDEX sessions_by_start ON sessions (start_utc);
CREATE TABLE beats (session_id INTEGER NOT NULL, seq INTEGER NOT NULL, t_s REAL NOT NULL, rr_ms REAL NOT NULL,
    hr_bpm REAL, flags INTEGER NOT NULL, pace_bpm REAL, phase REAL, PRIMARY KEY (session_id, seq)) WITHOUT ROWID;
CREATE TABLE events (session_id INTEGER NOT NULL, seq INTEGER NOT NULL, t_s REAL NOT NULL, kind TEXT NOT NULL,
    stage TEXT, detail TEXT NOT NULL, data_json TEXT, PRIMARY KEY (session_id, seq)) WITHOUT ROWID;
CREATE TABLE frames (session_id INTEGER NOT NULL, seq INTEGER NOT NULL, t_arrival_s REAL NOT NULL,
    payload BLOB NOT NULL, PRIMARY KEY (session_id, seq)) WITHOUT ROWID;
INSERT INTO sessions VALUES (1, '2025-11-02T19:05:00.000000Z', -18000, 0, '2025-11-02T19:05:02.500000Z', 'ble',
    'Polar H10', 'A0:9E:1A:00:00:01', '0.0.9', '{{"minutes": 10}}', '{{"resonance_bpm": 5.5}}', 'complete',
    2, 2.5, 0, 0.0, 70.0, 64.0, 5.5, 0.99);
INSERT INTO beats VALUES (1, 0, 1.25, 1250.0, 48, 0, 6.0, 0.1), (1, 1, 2.5, 1250.0, 48, 4, 6.0, 0.3);
INSERT INTO frames VALUES (1, 0, 12.0, X'10300204');
PRAGMA user_version = 1;
"""


def test_a_version_1_store_is_migrated_and_keeps_its_sessions(tmp_path: Path) -> None:
    path = tmp_path / "sessions.db"
    conn = sqlite3.connect(path)
    conn.executescript(V1_SQL)
    conn.close()
    with SessionStore(path) as store:
        (s,) = store.sessions()
        assert s.meta == RecordingMeta(
            start_utc=dt.datetime(2025, 11, 2, 19, 5, tzinfo=UTC),
            utc_offset_s=-18000,
            source="ble",
            device_name="Polar H10",
            device_address="A0:9E:1A:00:00:01",
            software_version="0.0.9",
        )
        assert (s.status, s.n_beats, s.resonance_bpm, s.hr_drop_bpm) == ("complete", 2, 5.5, 6.0)
        assert (s.pain_before, s.tension_before, s.pain_after, s.tension_after, s.note) == (None,) * 5
        assert store.recording(1).rr_ms.tolist() == [1250.0, 1250.0]
        assert store.beat_table(1).flags.tolist() == [0, int(BeatFlags.ARTIFACT)]
        assert store.frames(1) == [Frame(12.0, b"\x10\x30\x02\x04")]
        store.set_ratings(1, pain_before=7, tension_before=8)
        store.set_ratings(1, pain_after=4, tension_after=3)
        store.set_note(1, "back spasm, lying down")
    with SessionStore(path) as store:
        s = store.session(1)
        assert (s.pain_before, s.tension_before, s.pain_after, s.tension_after) == (7, 8, 4, 3)
        assert s.note == "back spasm, lying down"
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    conn.close()


def test_ratings_are_whole_numbers_from_0_to_10(tmp_path: Path) -> None:
    with SessionStore(tmp_path / "s.db") as store:
        sid = store.start_session(META)
        for bad in (11, -1, 2.5, True):
            with pytest.raises(InvalidInputError, match="pain_after must be a whole number from 0 to 10"):
                store.set_ratings(sid, pain_after=bad)  # type: ignore[arg-type]
        store.set_ratings(sid, pain_after=0, tension_before=10)
        s = store.session(sid)
        assert (s.pain_before, s.tension_before, s.pain_after, s.tension_after) == (None, 10, 0, None)


def test_recent_resonance_is_the_median_of_the_last_complete_sessions(tmp_path: Path) -> None:
    with SessionStore(tmp_path / "s.db") as store:
        assert store.recent_resonance_bpm() is None
        day = dt.timedelta(days=1)
        found = [6.5, 6.0, 5.5, 5.0, 5.25, 4.75]  # oldest first
        for k, pace in enumerate(found):
            sid = store.start_session(meta_at(T0 + k * day))
            store.add_beat(sid, Beat(1.0, 1000.0))
            store.finish_session(sid, {"resonance_bpm": pace})
        stopped = store.start_session(meta_at(T0 + 10 * day))
        store.finish_session(stopped, {"resonance_bpm": 9.0}, complete=False)  # ended early: not trusted
        none_found = store.start_session(meta_at(T0 + 11 * day))
        store.finish_session(none_found, {"resonance_bpm": None})
        store.start_session(meta_at(T0 + 12 * day))  # still running
        assert store.recent_resonance_bpm() == 5.25  # median of 6.0, 5.5, 5.0, 5.25, 4.75
        assert store.recent_resonance_bpm(n=1) == 4.75
        assert store.recent_resonance_bpm(n=2) == 5.0
        # the paces it takes the median of, newest first
        assert store.recent_resonance_paces_bpm() == [4.75, 5.25, 5.0, 5.5, 6.0]
        assert store.recent_resonance_paces_bpm(n=2) == [4.75, 5.25]
        assert store.recent_resonance_paces_bpm(n=50) == found[::-1]
        with pytest.raises(InvalidInputError):
            store.recent_resonance_bpm(n=0)
        with pytest.raises(InvalidInputError, match="recent_resonance_paces_bpm needs n >= 1, got 0"):
            store.recent_resonance_paces_bpm(n=0)
    with SessionStore(tmp_path / "empty.db") as store:
        assert store.recent_resonance_paces_bpm() == []


def test_sessions_are_listed_newest_first_and_filtered_by_day_in_local_time(tmp_path: Path) -> None:
    with SessionStore(tmp_path / "s.db") as store:
        # 23:30 UTC on 1 March is 08:30 on 2 March in Tokyo
        tokyo = store.start_session(meta_at(dt.datetime(2026, 3, 1, 23, 30, tzinfo=UTC), offset_s=9 * 3600))
        early = store.start_session(meta_at(dt.datetime(2026, 2, 27, 7, 0, tzinfo=UTC)))
        late = store.start_session(meta_at(dt.datetime(2026, 3, 3, 7, 0, tzinfo=UTC), source="ble"))
        assert [s.id for s in store.sessions()] == [late, tokyo, early]
        assert [s.id for s in store.sessions(since=dt.date(2026, 3, 2))] == [late, tokyo]
        assert [s.id for s in store.sessions(since=dt.datetime(2026, 3, 2, tzinfo=UTC))] == [late]
        with pytest.raises(InvalidInputError, match="timezone-aware"):
            store.sessions(since=dt.datetime(2026, 3, 2))


def test_a_recording_cut_between_a_gap_and_its_beat_still_reads(tmp_path: Path) -> None:
    with SessionStore(tmp_path / "s.db") as store:
        sid = store.start_session(META)
        store.add_beat(sid, Beat(1.0, 1000.0))
        store.add_beat(sid, Beat(2.0, 1000.0))
        # the beat closing a gap was stored, its gap was not (killed in between)
        store.add_beat(sid, Beat(10.5, 500.0, BeatFlags.AFTER_GAP))
        # a gap whose closing beat never came
        store.add_gap(sid, Gap(start_s=10.5, end_s=20.0, reason="link lost"))
        rec = store.recording(sid)
        assert rec.gaps == (Gap(start_s=2.0, end_s=10.0, reason="not stored"),)
        assert len(store.events(sid, "gap")) == 1  # the unclosed gap is kept as an event


def test_add_recording_stores_a_whole_import_at_once(tmp_path: Path) -> None:
    beats = beat_series(50)
    gap = Gap(start_s=beats[24].t_s, end_s=beats[24].t_s + 3.0, reason="file gap")
    moved = beats[:25] + [
        Beat(b.t_s + 3.0, b.rr_ms, BeatFlags.AFTER_GAP if i == 0 else BeatFlags.NONE) for i, b in enumerate(beats[25:])
    ]
    rec = Recording.from_beats(moved, META, gaps=[gap], link_events=[LinkEvent(gap.start_s, "lost", "x")])
    hr = np.linspace(60, 70, 50)
    with SessionStore(tmp_path / "s.db") as store:
        sid = store.add_recording(rec, settings={"imported_from": "a.csv"}, summary={"final_hr_bpm": 61.0}, hr_bpm=hr)
        back = store.recording(sid)
        assert back.t_s.tolist() == rec.t_s.tolist() and back.rr_ms.tolist() == rec.rr_ms.tolist()
        assert back.gaps == rec.gaps and back.link_events == rec.link_events and back.meta == META
        assert store.beat_table(sid).hr_bpm.tolist() == hr.tolist()
        s = store.session(sid)
        assert (s.status, s.n_beats, s.n_gaps, s.final_hr_bpm) == ("complete", 50, 1, 61.0)
        with pytest.raises(InvalidInputError, match="one value per beat"):
            store.add_recording(rec, pace_bpm=[6.0])
        with pytest.raises(InvalidInputError, match=r"gaps go in recording\.gaps"):  # a gap event has no end
            store.add_recording(rec, events=[Event(gap.start_s, "gap", "file gap", None, {})])
        assert len(store.sessions()) == 1
        assert store.recording(sid).gaps == rec.gaps


def test_bad_writes_are_refused_with_the_reason(tmp_path: Path) -> None:
    with SessionStore(tmp_path / "s.db") as store:
        sid = store.start_session(META)
        store.add_beat(sid, Beat(2.0, 1000.0))
        with pytest.raises(InvalidInputError, match="not later than"):
            store.add_beat(sid, Beat(2.0, 1000.0))
        with pytest.raises(InvalidInputError, match="rr_ms must be a positive number of ms"):
            store.add_beat(sid, Beat(3.0, float("nan")))
        with pytest.raises(InvalidInputError, match="add_gap"):
            store.add_event(sid, 1.0, "gap")
        with pytest.raises(InvalidInputError, match="cannot be stored as JSON"):
            store.start_session(META, {"when": object()})
        with pytest.raises(SessionNotFoundError, match=r"no session 99 in .*; `biofeedback sessions` lists"):
            store.add_beat(99, Beat(1.0, 1000.0))
        with pytest.raises(SessionNotFoundError):
            store.recording(99)
        assert store.session(sid).n_beats == 1


def test_the_modules_example_runs() -> None:
    import doctest

    import biofeedback.store

    result = doctest.testmod(biofeedback.store)
    assert result.attempted > 0 and result.failed == 0


def test_stored_frames_replay_through_the_decoder_to_the_same_beats(tmp_path: Path) -> None:
    from biofeedback.beats import BeatClock, Measurement
    from biofeedback.errors import MalformedFrameError
    from biofeedback.hrm import HeartRateMeasurement, SensorContact

    rng = np.random.default_rng(11)
    frames: list[Frame] = []
    t_arrival = 50.0
    for i in range(120):
        raw = rng.integers(750, 1050, int(rng.integers(0, 3)))  # 0, 1 or 2 RR values, 1/1024 s
        rr = tuple(float(r) * 1000.0 / 1024.0 for r in raw)
        hrm = HeartRateMeasurement(heart_rate_bpm=60 + i % 7, contact=SensorContact.DETECTED, rr_ms=rr)
        t_arrival += sum(rr) / 1000.0 if rr else 0.001
        if i == 60:
            t_arrival += 9.0  # notifications lost: the chain re-anchors, a gap is recorded
        frames.append(Frame(t_arrival, bytes(hrm)))
    frames.insert(30, Frame(frames[29].t_arrival_s + 0.01, b"\x10\x3c\x01"))  # truncated: skipped, kept

    def decode(items: list[Frame]) -> tuple[list[tuple[Beat, int]], list[Gap]]:
        clock, out = BeatClock(), []
        for f in items:
            try:
                hrm = HeartRateMeasurement.from_bytes(f.payload)
            except MalformedFrameError:
                continue
            m = Measurement(f.t_arrival_s, hrm.heart_rate_bpm, hrm.rr_ms, hrm.contact)
            out += [(b, hrm.heart_rate_bpm) for b in clock.add(m)]
        return out, clock.gaps

    live_beats, live_gaps = decode(frames)
    assert len(live_gaps) == 1
    with SessionStore(tmp_path / "s.db") as store:
        sid = store.start_session(META)
        for f in frames:
            store.add_frame(sid, f.t_arrival_s, f.payload)
        for gap in live_gaps:
            store.add_gap(sid, gap)
        for beat, hr in live_beats:
            store.add_beat(sid, beat, hr_bpm=hr)
        store.finish_session(sid, {})
        again, gaps = decode(store.frames(sid))
        rec = store.recording(sid)
        table = store.beat_table(sid)
    assert rec.beats() == [b for b, _ in again]
    assert table.hr_bpm.tolist() == [float(hr) for _, hr in again]
    assert list(rec.gaps) == gaps == live_gaps


def test_two_programs_opening_a_new_store_at_once_create_it_once(tmp_path: Path) -> None:
    path = tmp_path / "new folder" / "sessions.db"  # both make the folder too
    code = textwrap.dedent(
        """
        import sys, time
        from biofeedback.store import SessionStore
        time.sleep(max(0.0, float(sys.argv[2]) - time.time()))
        with SessionStore(sys.argv[1], busy_timeout_s=10) as store:
            print(len(store.sessions()))
        """
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    import time

    at = str(time.time() + 1.5)  # both start together, after their imports
    procs = [
        subprocess.Popen([sys.executable, "-c", code, str(path), at], stdout=subprocess.PIPE, text=True, env=env)
        for _ in range(3)
    ]
    outs = [p.communicate(timeout=60)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0] and outs == ["0\n"] * 3
    assert mode(path.parent) == 0o700 and mode(path) == 0o600
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    conn.close()


def test_the_sink_writes_a_live_session_as_the_loop_delivers_it(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from biofeedback.beats import Measurement
    from biofeedback.hrm import HeartRateMeasurement
    from biofeedback.store.sink import StoreSink

    class Pacer:  # what a pacer answers: the pace and breath phase shown at a beat-clock time
        def at(self, t_s: float) -> SimpleNamespace:
            return SimpleNamespace(pace_bpm=6.0 - t_s / 100, phase=(t_s % 10.0) / 10.0)

    def note(t: float, hr: int, *rr: float) -> Measurement:
        """A notification with its raw bytes, as a strap source delivers it."""
        raw = bytes(HeartRateMeasurement(heart_rate_bpm=hr, rr_ms=rr))
        m = SimpleNamespace(t_arrival_s=t, heart_rate_bpm=hr, rr_ms=rr, raw=raw)
        return m  # type: ignore[return-value]

    with SessionStore(tmp_path / "s.db") as store:
        sink = StoreSink(store, {"minutes": 1}, pacer=Pacer())
        settling = note(9.0, 0)
        sink.measurement(settling)  # a frame before the session's start is kept too
        sink.begin(META)
        assert sink.session_id is not None
        m1 = note(10.0, 61, 1000.0, 1000.0)
        sink.measurement(m1)
        sink.beat(Beat(1.0, 1000.0))
        sink.beat(Beat(2.0, 1000.0))
        lost, restored = LinkEvent(2.0, "lost", "out of range"), LinkEvent(2.0, "restored", "after 1 attempt")
        sink.event(lost)
        sink.event(restored)
        m2 = note(20.0, 64, 937.5)
        sink.measurement(m2)
        gap = Gap(2.0, 19.0625, "link lost")
        sink.event(gap)
        sink.beat(Beat(20.0, 937.5, BeatFlags.AFTER_GAP))
        sink.tick(20.5)
        sink.finish(store.recording(sink.session_id))
        assert store.session(sink.session_id).status == "recording"  # the caller finishes it, with its summary
        store.finish_session(sink.session_id, {"final_hr_bpm": 64.0})

        sid = sink.session_id
        assert store.frames(sid) == [Frame(9.0, settling.raw), Frame(10.0, m1.raw), Frame(20.0, m2.raw)]
        table = store.beat_table(sid)
        assert table.hr_bpm.tolist() == [61.0, 61.0, 64.0]
        assert table.pace_bpm.tolist() == [6.0 - 1 / 100, 6.0 - 2 / 100, 6.0 - 20 / 100]
        assert table.phase.tolist() == [0.1, 0.2, 0.0]
        rec = store.recording(sid)
        assert rec.gaps == (gap,) and rec.link_events == (lost, restored)
        assert store.session(sid).settings == {"minutes": 1}


@pytest.mark.skipif(
    "start_estimated" not in RecordingMeta.__dataclass_fields__, reason="RecordingMeta has no start_estimated yet"
)
def test_an_estimated_start_is_kept(tmp_path: Path) -> None:
    import dataclasses

    estimated = dataclasses.replace(META, start_estimated=True)  # type: ignore[call-arg]
    with SessionStore(tmp_path / "s.db") as store:
        a = store.start_session(estimated)
        b = store.start_session(META)
        assert store.session(a).meta == estimated and store.session(b).meta == META


def count_beats_elsewhere(path: Path) -> int:
    """Beats another connection (another process) sees: only what is committed."""
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute("SELECT count(*) FROM beats").fetchone()[0])
    finally:
        conn.close()


def test_a_batch_commits_at_its_end_and_when_its_transaction_is_old_enough(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    beats = beat_series(20)
    with SessionStore(path) as store:
        sid = store.start_session(META)
        with store.batch(max_delay_s=3600.0):
            for b in beats[:10]:
                store.add_beat(sid, b)
            assert store.session(sid).n_beats == 10  # the writer sees its own rows
            assert count_beats_elsewhere(path) == 0  # nothing committed yet
            rec = Recording.from_rr([800.0] * 5, META)
            store.add_recording(rec)  # all or nothing inside a batch too (a savepoint)
            with pytest.raises(InvalidInputError):
                store.add_recording(rec, hr_bpm=[1.0])
        assert count_beats_elsewhere(path) == 15  # committed at the end
        with store.batch(max_delay_s=0.0):  # every write is already old enough: each commits
            for b in beats[10:]:
                store.add_beat(sid, b)
                assert count_beats_elsewhere(path) == 15 + beats.index(b) - 9
        with pytest.raises(RuntimeError), store.batch(max_delay_s=3600.0):
            store.add_event(sid, beats[-1].t_s, "note", "written, then the caller failed")
            raise RuntimeError("boom")
        assert len(store.events(sid, "note")) == 1
    with SessionStore(path) as store:
        assert store.recording(sid).rr_ms.tolist() == [b.rr_ms for b in beats]
        assert [len(store.beat_table(s.id)) for s in store.sessions()] == [5, 20]  # same start: newest id first


def test_closing_the_store_inside_a_batch_keeps_what_the_batch_holds(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    beats = beat_series(5)
    store = SessionStore(path)
    sid = store.start_session(META)
    with store.batch(max_delay_s=3600.0):
        for b in beats:
            store.add_beat(sid, b)
        assert count_beats_elsewhere(path) == 0
        store.close()  # a finally, or a signal handler, that closes the store mid-batch
    store.close()  # idempotent
    assert count_beats_elsewhere(path) == 5
    with SessionStore(path) as again:
        assert again.recording(sid).t_s.tolist() == [b.t_s for b in beats]
