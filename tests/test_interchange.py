"""Export and import of sessions: the interchange CSV round-trips byte for byte, the Kubios file
gives back the same RR, plain RR files are read in the right unit, malformed files are refused
by line with the store unchanged, implausible intervals are kept and flagged."""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from biofeedback.beats import Beat, BeatFlags, Gap
from biofeedback.errors import FileFormatError
from biofeedback.formats import read_recording, read_rr_file, write_recording
from biofeedback.interchange import (
    COLUMNS,
    export_csv,
    export_kubios,
    import_files,
    read_session_file,
)
from biofeedback.recording import LinkEvent, RecordingMeta
from biofeedback.store import SessionStore

START = dt.datetime(2026, 11, 3, 6, 45, 12, 125000, tzinfo=dt.UTC)
TABLES = ("sessions", "beats", "events", "frames")


def _rich_session(store: SessionStore, *, status: str = "complete") -> int:
    """A session with everything the store keeps: strap, gaps, link events, coach decisions,
    a battery event, missing cells, ratings, a note with a line break and quotes."""
    meta = RecordingMeta(start_utc=START, utc_offset_s=3600, source="ble", device_name="Polar H10 A1B2C3D4",
                         device_address="A0:9E:1A:12:34:56", software_version="0.1.0")
    sid = store.start_session(meta, {"minutes": 12, "preset": "resonance", "target_drop_pct": 5.0})
    rng = np.random.default_rng(4)
    t_s = 0.0
    for i in range(120):
        rr = float(np.round(rng.normal(950.0, 60.0) * 1.024) / 1.024)  # 1/1024 s steps, as a strap sends
        t_s += rr / 1000.0
        flags = BeatFlags.NONE
        if i in (40, 90):
            gap_start = t_s
            t_s += 7.5 + i / 1000  # the chain breaks for a while
            store.add_link_event(sid, LinkEvent(gap_start, "lost", "link lost"))
            store.add_link_event(sid, LinkEvent(t_s - 1.0, "restored", "after 2 attempts"))
            store.add_gap(sid, Gap(gap_start, t_s - rr / 1000.0, "link lost"))
            flags = BeatFlags.AFTER_GAP
        if i == 7:
            flags |= BeatFlags.ARTIFACT | BeatFlags.CORRECTED
        if i % 25 == 3:
            store.add_event(sid, t_s, "coach", f"the pace goes to {6.0 - i / 100:.2f}", stage="descend",
                            data={"pace_bpm": 6.0 - i / 100, "code": "descend"})
        if i == 60:
            store.add_event(sid, t_s, "battery", "battery 80%", data={"level_pct": 80})
        store.add_beat(sid, Beat(t_s, rr, flags), hr_bpm=None if i % 11 == 0 else float(round(60000 / rr)),
                       pace_bpm=None if i < 3 else 6.0 - i / 100, phase=None if i < 3 else (i % 13) / 13)
    store.add_event(sid, t_s + 0.5, "note", "the end", data={})
    store.finish_session(sid, {"baseline_hr_bpm": 64.25, "final_hr_bpm": 61.0, "resonance_bpm": 5.5,
                               "quality": 0.98, "swings_bpm": [8.5, 9.25, float("nan")]},
                         complete=status == "complete")
    store.set_ratings(sid, pain_before=4, tension_before=7, tension_after=3)
    store.set_note(sid, 'first "real" session\nfelt warm')
    return sid


def _counts(path: Path) -> dict[str, int]:
    with sqlite3.connect(path) as conn:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}


@pytest.fixture
def store(tmp_path: Path) -> SessionStore:
    with SessionStore(tmp_path / "a" / "sessions.db") as s:
        yield s


def test_export_import_export_is_byte_identical_and_the_session_the_same(store: SessionStore, tmp_path: Path) -> None:
    sid = _rich_session(store)
    first = export_csv(store, sid)
    path = tmp_path / "s.csv"
    path.write_text(first, encoding="utf-8")
    with SessionStore(tmp_path / "b" / "sessions.db") as other:
        (result,) = import_files(other, [path])
        assert result.session_id is not None and result.file.kind == "session-csv"
        assert export_csv(other, result.session_id) == first
        a, b = store.session(sid), other.session(result.session_id)
        for name in ("meta", "end_utc", "status", "settings", "n_beats", "duration_s", "n_gaps", "gap_total_s",
                     "baseline_hr_bpm", "resonance_bpm", "pain_before", "tension_before", "pain_after",
                     "tension_after", "note"):
            assert getattr(a, name) == getattr(b, name), name
        assert a.summary is not None and b.summary is not None
        assert a.summary["swings_bpm"][:2] == b.summary["swings_bpm"][:2] and np.isnan(b.summary["swings_bpm"][2])
        ta, tb = store.beat_table(sid), other.beat_table(result.session_id)
        for column in COLUMNS:
            np.testing.assert_array_equal(getattr(ta, column), getattr(tb, column))
        assert store.events(sid) != [] and sorted(store.events(sid), key=lambda e: (e.t_s, e.kind)) == sorted(
            other.events(result.session_id), key=lambda e: (e.t_s, e.kind))
        assert store.recording(sid).gaps == other.recording(result.session_id).gaps


def test_the_csv_is_what_the_readme_says(store: SessionStore) -> None:
    sid = _rich_session(store)
    lines = export_csv(store, sid).splitlines()
    assert lines[0] == "# format: biofeedback-session/1"
    header = lines.index(",".join(COLUMNS))
    head = dict(ln[2:].split(": ", 1) for ln in lines[:header])
    assert head["start_utc"] == "2026-11-03T06:45:12.125000+00:00" and head["status"] == "complete"
    assert head["pain_before"] == "4" and "pain_after" not in head
    assert head["note"] == '"first \\"real\\" session\\nfelt warm"'
    rows = [ln for ln in lines[header + 1:] if not ln.startswith("#")]
    beats = store.beat_table(sid)
    assert len(rows) == 120
    first = rows[0].split(",")
    assert first[0] == repr(float(beats.t_s[0])) and first[1] == repr(float(beats.rr_ms[0]))
    assert first[3] == "" and first[4] == "" and first[5] == ""  # nothing stored: empty cells
    assert rows[7].split(",")[2] == "artifact+corrected" and rows[40].split(",")[2] == "after_gap"
    events = [ln for ln in lines if ln.startswith("# event: ")]
    assert len(events) == 5 + 1 + 1 and sum('"kind": "coach"' in e for e in events) == 5
    gap_at = next(i for i, ln in enumerate(lines) if ln.startswith("# gap: "))
    assert lines[gap_at + 1] == rows[40]  # a gap just before the beat that closes it


def test_an_export_reads_as_a_beat_csv_too(store: SessionStore, tmp_path: Path) -> None:
    sid = _rich_session(store)
    path = tmp_path / "s.csv"
    path.write_text(export_csv(store, sid))
    rec, stored = read_recording(path), store.recording(sid)
    np.testing.assert_array_equal(rec.rr_ms, stored.rr_ms)
    np.testing.assert_array_equal(rec.flags, stored.flags)
    assert rec.gaps == stored.gaps and rec.link_events == stored.link_events and rec.meta == stored.meta


@pytest.mark.parametrize("status", ["incomplete", "interrupted"])
def test_the_status_and_end_come_back(store: SessionStore, tmp_path: Path, status: str) -> None:
    sid = _rich_session(store, status=status)
    text = export_csv(store, sid)
    if status == "interrupted":
        text = text.replace("# status: incomplete", "# status: interrupted")
        text = text.replace("# end_utc: ", "# end_utc: 2026-11-03T07:30:00+00:00\n# was_end: ", 1)
    path = tmp_path / "s.csv"
    path.write_text(text)
    with SessionStore(tmp_path / "b.db") as other:
        (r,) = import_files(other, [path])
        assert r.session_id is not None
        row = other.session(r.session_id)
        assert row.status == status
        if status == "interrupted":
            assert row.end_utc == dt.datetime(2026, 11, 3, 7, 30, tzinfo=dt.UTC)
        else:
            assert row.end_utc == store.session(sid).end_utc
            assert export_csv(other, r.session_id) == text


def test_the_kubios_file_parses_back_to_the_same_rr(store: SessionStore, tmp_path: Path) -> None:
    sid = _rich_session(store)
    text = export_kubios(store, sid)
    numbers = [ln for ln in text.splitlines() if not ln.startswith("#")]
    assert len(numbers) == 120 and all(float(x) > 0 for x in numbers)
    path = tmp_path / "k.txt"
    path.write_text(text)
    expected = store.beat_table(sid).rr_ms
    np.testing.assert_array_equal(read_rr_file(path), expected)  # exact, not to a tolerance
    np.testing.assert_array_equal(np.loadtxt(path, comments="#"), expected)  # any tool skipping '#' lines
    f = read_session_file(path)
    assert f.kind == "rr-ms" and not f.dated_from_mtime and f.recording.meta.start_utc == START


def _write(path: Path, text: str, mtime: float | None = None) -> Path:
    path.write_text(text)
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def test_the_unit_is_found_from_the_values_and_can_be_forced(tmp_path: Path) -> None:
    seconds = _write(tmp_path / "s.txt", "0.812\n0.9\n1.25\n12.5\n0.95\n")  # one long pause does not make it ms
    millis = _write(tmp_path / "ms.txt", "RR\n812\n900\n1250\n950\n")
    f = read_session_file(seconds)
    assert f.kind == "rr-s" and f.unit_detected
    np.testing.assert_allclose(f.recording.rr_ms, [812.0, 900.0, 1250.0, 12500.0, 950.0], rtol=1e-15)
    assert f.implausible == (3,)  # 12.5 s cannot be one heartbeat: kept, flagged
    assert read_session_file(millis).kind == "rr-ms"
    np.testing.assert_array_equal(read_session_file(millis).recording.rr_ms, [812.0, 900.0, 1250.0, 950.0])
    forced = read_session_file(seconds, "rr-ms")
    assert forced.kind == "rr-ms" and not forced.unit_detected
    np.testing.assert_array_equal(forced.recording.rr_ms, [0.812, 0.9, 1.25, 12.5, 0.95])
    assert forced.implausible == (0, 1, 2, 3, 4)
    np.testing.assert_array_equal(read_session_file(millis, "rr-s").recording.rr_ms, [812e3, 900e3, 1250e3, 950e3])


def test_csv_rr_files_of_other_apps(tmp_path: Path) -> None:
    hrv_logger = _write(tmp_path / "hrvlogger.csv", "date,rr,since start\n2025-03-15 09:00:15.123,823,0\n"
                        "2025-03-15 09:00:15.946,812,823\n2025-03-15 09:00:16.758,845,1635\n")
    polar = _write(tmp_path / "polar.txt", "Phone timestamp;RR-interval [ms]\n2022-03-15T09:00:15.123+00:00;823\n"
                   "2022-03-15T09:00:15.946+00:00;812\n")
    logged = read_session_file(hrv_logger)
    np.testing.assert_array_equal(logged.recording.rr_ms, [823.0, 812.0, 845.0])
    local = dt.datetime(2025, 3, 15, 9, 0, 15, 123000).astimezone()  # no offset in the file: this computer's time
    assert not logged.dated_from_mtime and not logged.recording.meta.start_estimated
    assert logged.recording.meta.start_utc == local.astimezone(dt.UTC) - dt.timedelta(milliseconds=823)
    assert logged.recording.meta.utc_offset_s == round(local.utcoffset().total_seconds())  # type: ignore[union-attr]
    from_polar = read_session_file(polar)
    np.testing.assert_array_equal(from_polar.recording.rr_ms, [823.0, 812.0])
    assert from_polar.recording.meta.start_utc == dt.datetime(2022, 3, 15, 9, 0, 14, 300000, tzinfo=dt.UTC)
    seconds = _write(tmp_path / "rr_s.csv", "t,rr_s\n0.8,0.8\n1.7,0.9\n")
    f = read_session_file(seconds)
    assert f.kind == "rr-s" and not f.unit_detected
    np.testing.assert_array_equal(f.recording.rr_ms, [800.0, 900.0])


def test_a_file_without_a_date_is_dated_from_its_modification_time(tmp_path: Path) -> None:
    when = dt.datetime(2026, 10, 1, 7, 0, tzinfo=dt.UTC)
    path = _write(tmp_path / "elite.txt", "1000\n1000\n1500\n", mtime=when.timestamp())
    f = read_session_file(path)
    assert f.dated_from_mtime and f.recording.meta.start_estimated
    assert f.recording.meta.start_utc == when - dt.timedelta(seconds=3.5)
    np.testing.assert_array_equal(f.recording.t_s, [1.0, 2.0, 3.5])
    assert f.settings == {"imported_from": "elite.txt", "import_format": "rr-ms", "unit": "ms", "unit_detected": True}


def test_implausible_intervals_are_kept_and_flagged_never_dropped(tmp_path: Path) -> None:
    path = _write(tmp_path / "rr.txt", "900\n150\n905\n3500\n199.9\n200\n3000\n910\n")
    with SessionStore(tmp_path / "s.db") as store:
        (r,) = import_files(store, [path])
        assert r.session_id is not None
        rec = store.recording(r.session_id)
        np.testing.assert_array_equal(rec.rr_ms, [900, 150, 905, 3500, 199.9, 200, 3000, 910])
        flagged = np.flatnonzero(rec.flags & int(BeatFlags.ARTIFACT))
        np.testing.assert_array_equal(flagged, [1, 3, 4])
        assert r.file.implausible == (1, 3, 4)


def test_an_implausible_interval_in_our_csv_is_flagged_too(store: SessionStore, tmp_path: Path) -> None:
    sid = _rich_session(store)
    beats = store.beat_table(sid)
    text = export_csv(store, sid)
    row = f"{float(beats.t_s[5])!r},{float(beats.rr_ms[5])!r},"
    assert text.count(row) == 1
    t4 = float(beats.t_s[4])
    text = text.replace(row, f"{t4 + 0.15!r},150.0,")
    path = _write(tmp_path / "s.csv", text)
    f = read_session_file(path)
    assert f.implausible == (5,) and f.recording.flags[5] == int(BeatFlags.ARTIFACT)
    assert f.recording.rr_ms[5] == 150.0


def _bad_session_csv(store: SessionStore, tmp_path: Path, old: str, new: str) -> tuple[Path, int]:
    """The export with one line changed; the line number of the change."""
    text = export_csv(store, _rich_session(store))
    lines = text.splitlines(keepends=True)
    at = next(i for i, ln in enumerate(lines) if ln.startswith(old))
    lines[at] = new
    return _write(tmp_path / "bad.csv", "".join(lines)), at + 1


@pytest.mark.parametrize(
    ("old", "new", "says"),
    [
        ("# settings: ", "# settings: {minutes: 12}\n", "settings '{minutes: 12}' is not JSON"),
        ("# status: ", "# status: finished\n", "status 'finished' is not one of"),
        ("# pain_before: ", "# pain_before: 11\n", "pain_before '11' is not a whole number from 0 to 10"),
        ("# event: ", '# event: {"t_s": 1.0, "kind": "gap"}\n', "a gap event goes on a '# gap:' line"),
        ("# event: ", "# event: [1, 2]\n", "an event line needs a JSON object"),
        ("t_s,", "t_s,rr_ms,flags,hr_bpm,pace_bpm\n", "the column header must be"),
        ("# start_utc: ", "# start_utc: 2026-11-03 06:45\n", "start_utc '2026-11-03 06:45' has no UTC offset"),
        ("# start_utc: ", "# start_utc: yesterday\n", "start_utc 'yesterday' is not an ISO 8601 time"),
        ("# utc_offset_s: ", "# utc_offset_s: 1h\n", "utc_offset_s '1h' is not a whole number of s"),
        ("# end_utc: ", "# end_utc: 2026-11-03T07:00\n", "end_utc '2026-11-03T07:00' has no UTC offset"),
    ],
)
def test_a_malformed_header_or_event_is_refused_by_line(
    store: SessionStore, tmp_path: Path, old: str, new: str, says: str
) -> None:
    path, line = _bad_session_csv(store, tmp_path, old, new)
    with pytest.raises(FileFormatError, match=r"^") as err:
        read_session_file(path)
    assert f"{path}:{line}: " in str(err.value) and says in str(err.value)


@pytest.mark.parametrize(
    ("cells", "says"),
    [
        ({5: None}, "5 cells; a beat row has 6"),
        ({0: "0.5"}, "is not later than the beat before"),
        ({1: "-900.0"}, "a positive rr_ms"),
        ({1: ""}, "a positive rr_ms"),
        ({3: "sixty"}, "hr_bpm 'sixty' is not a number"),
        ({3: "nan"}, "hr_bpm 'nan' is not a finite number"),
        ({5: "inf"}, "phase 'inf' is not a finite number"),
        ({2: "odd"}, "unknown flag 'odd'"),
    ],
)
def test_a_malformed_beat_row_is_refused_by_line(
    store: SessionStore, tmp_path: Path, cells: dict[int, str | None], says: str
) -> None:
    text = export_csv(store, _rich_session(store))
    lines = text.splitlines(keepends=True)
    at = [i for i, ln in enumerate(lines) if ln[0].isdigit()][30]
    row = lines[at].rstrip("\n").split(",")
    for i, cell in cells.items():
        row[i] = cell  # type: ignore[call-overload]
    lines[at] = ",".join(c for c in row if c is not None) + "\n"
    path = _write(tmp_path / "bad.csv", "".join(lines))
    with pytest.raises(FileFormatError) as err:
        read_session_file(path)
    assert f"{path}:{at + 1}: " in str(err.value) and says in str(err.value)


@pytest.mark.parametrize(
    ("text", "line", "says"),
    [
        ("800\n900\nabc\n950\n", 3, "'abc' is not a number"),
        ("800\n\n# a note\n0\n950\n", 4, "0.0 is not an interval"),
        ("800\n-900\n", 2, "-900.0 is not an interval"),
        ("RR\n800\nx\n", 3, "'x' is not a number"),
        ("t_s,rr_ms\n0.8,800\n1.6,x\n", 3, "'x' in column rr_ms is not a number"),
    ],
)
def test_a_malformed_rr_file_is_refused_by_line(tmp_path: Path, text: str, line: int, says: str) -> None:
    path = _write(tmp_path / "bad.txt", text)
    with pytest.raises(FileFormatError) as err:
        read_session_file(path)
    assert f"{path}:{line}: " in str(err.value) and says in str(err.value)


def test_a_refused_import_leaves_the_store_unchanged(store: SessionStore, tmp_path: Path) -> None:
    sid = _rich_session(store)
    good = _write(tmp_path / "good.csv", export_csv(store, sid).replace("# source: ble", "# source: ble2"))
    bad = _write(tmp_path / "bad.txt", "800\n900\nabc\n")
    before = _counts(store.path)
    with pytest.raises(FileFormatError, match=r"bad\.txt:3: "):
        import_files(store, [good, bad])  # the good file first: it is not stored either
    assert _counts(store.path) == before
    assert [s.id for s in store.sessions()] == [sid]
    (r,) = import_files(store, [good])
    after = _counts(store.path)
    assert r.session_id == sid + 1 and after["sessions"] == before["sessions"] + 1
    assert after["beats"] == before["beats"] + 120 and after["events"] == 2 * before["events"]


def test_importing_a_session_twice_stores_it_once(store: SessionStore, tmp_path: Path) -> None:
    path = _write(tmp_path / "rr.txt", "800\n900\n850\n")
    (first,) = import_files(store, [path])
    again = import_files(store, [path, path])
    assert first.session_id is not None and [r.skipped for r in again] == [True, True]
    assert len(store.sessions()) == 1


def test_an_empty_or_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(FileFormatError, match="no such file"):
        read_session_file(tmp_path / "nope.csv")
    with pytest.raises(FileFormatError, match="no beats in the file"):
        read_session_file(_write(tmp_path / "e.txt", "# only a comment\n\n"))
    with pytest.raises(FileFormatError, match="not a biofeedback CSV"):
        read_session_file(_write(tmp_path / "rr.txt", "800\n900\n"), "csv")


def test_a_session_exported_while_it_is_recorded_comes_back_interrupted(store: SessionStore, tmp_path: Path) -> None:
    sid = store.start_session(RecordingMeta(start_utc=START, source="ble"), {"minutes": 10})
    for i in range(1, 12):
        store.add_beat(sid, Beat(i * 0.9, 900.0), hr_bpm=66.0)
    text = export_csv(store, sid)
    assert "# status: recording\n" in text and "# end_utc" not in text
    with SessionStore(tmp_path / "b.db") as other:
        (r,) = import_files(other, [_write(tmp_path / "s.csv", text)])
        assert r.session_id is not None
        row = other.session(r.session_id)
        assert row.status == "interrupted" and row.n_beats == 11
        assert row.end_utc == START + dt.timedelta(seconds=9.9)


def test_our_beat_csv_imports_with_its_gaps_and_link_events(tmp_path: Path) -> None:
    meta = RecordingMeta(start_utc=START, utc_offset_s=-18000, source="ble", device_name="Polar H10")
    beats = [Beat(0.9, 900.0), Beat(1.8, 900.0), Beat(12.7, 900.0, BeatFlags.AFTER_GAP), Beat(13.6, 900.0)]
    from biofeedback.recording import Recording

    rec = Recording.from_beats(beats, meta, gaps=[Gap(1.8, 11.8, "no RR for 10 s")],
                               link_events=[LinkEvent(1.8, "lost", "link lost"), LinkEvent(11.0, "restored", "")])
    path = tmp_path / "record.csv"
    write_recording(path, rec)
    for fmt in ("auto", "csv"):
        with SessionStore(tmp_path / f"{fmt}.db") as store:
            (r,) = import_files(store, [path], fmt)
            assert r.file.kind == "beat-csv" and r.session_id is not None and not r.file.dated_from_mtime
            back = store.recording(r.session_id)
            assert back.gaps == rec.gaps and back.link_events == rec.link_events and back.meta == meta
            np.testing.assert_array_equal(back.flags, rec.flags)
            assert store.session(r.session_id).settings == {"imported_from": "record.csv", "import_format": "beat-csv"}


def test_the_progress_callback_counts_reading_then_storing(store: SessionStore, tmp_path: Path) -> None:
    paths = [_write(tmp_path / f"{i}.txt", f"{800 + i}\n900\n850\n") for i in range(3)]
    seen: list[tuple[int, int]] = []
    import_files(store, paths, progress=lambda done, total: seen.append((done, total)))
    assert seen == [(i, 6) for i in range(1, 7)]
