"""``biofeedback export`` and ``biofeedback import``: files, modes, refusals in one line, the samples."""

from __future__ import annotations

import datetime as dt
import sqlite3
import stat
import sys
from pathlib import Path

import numpy as np
import pytest

from biofeedback.cli import main
from biofeedback.cli_interchange import samples_folder
from biofeedback.interchange import export_csv
from biofeedback.paths import store_path
from biofeedback.store import SessionStore

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = sorted((ROOT / "sample_data" / "simulated").glob("*.csv"))
POLAR = ROOT / "sample_data" / "polarh10_slow_breathing.txt"


def _one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


def _rows(db: Path) -> tuple[int, ...]:
    with sqlite3.connect(db) as conn:
        return tuple(conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("sessions", "beats", "events"))


def test_import_then_export_to_stdout_and_to_a_private_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["import", str(POLAR)]) == 0
    out = capsys.readouterr().out
    assert f"{POLAR}: session 1, 620 beats over 10.0 min" in out
    assert "dated from its modification time" in out and "1 session added to" in out
    with SessionStore(store_path()) as store:
        expected = export_csv(store, 1)
    assert main(["export", "1"]) == 0
    assert capsys.readouterr().out == expected
    target = tmp_path / "one.csv"
    assert main(["export", "1", "-o", str(target)]) == 0
    assert "Session 1 (620 beats) written to" in capsys.readouterr().out
    assert target.read_text() == expected and stat.S_IMODE(target.stat().st_mode) == 0o600
    assert main(["export", "1", "-o", str(target), "--format", "kubios"]) == 0  # ours: replaced without --force
    rr = np.loadtxt(target, comments="#")
    assert rr.size == 620 and rr[0] == 936.0 and stat.S_IMODE(target.stat().st_mode) == 0o600


def test_export_never_replaces_a_file_of_the_users_without_force(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["import", str(POLAR)]) == 0
    mine = tmp_path / "notes.txt"
    mine.write_text("my own notes\n")
    capsys.readouterr()
    assert main(["export", "1", "-o", str(mine)]) == 1
    assert "was not written by biofeedback" in _one_line_error(capsys)
    assert mine.read_text() == "my own notes\n"
    assert main(["export", "1", "-o", str(mine), "--force", "--format", "kubios"]) == 0
    assert mine.read_text().startswith("# format: biofeedback-rr/1\n")


def test_a_malformed_file_is_one_line_and_nothing_is_imported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["import", str(POLAR)]) == 0
    db = store_path()
    before = _rows(db)
    bad = tmp_path / "bad.txt"
    bad.write_text("812\n830\n0.8.1\n")
    good = tmp_path / "good.txt"
    good.write_text("812\n830\n845\n")
    capsys.readouterr()
    assert main(["import", str(good), str(bad)]) == 1
    assert _one_line_error(capsys) == f"biofeedback: error: {bad}:3: '0.8.1' is not a number; expected one RR " \
                                      "interval in ms per line\n"
    assert _rows(db) == before


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["export", "7"], "no session 7 in"),
        (["import", "nope.txt"], "nope.txt: no such file"),
        (["import"], "give a FILE to import, or --samples"),
        (["export", "1", "--format", "edf"], "invalid choice: 'edf'"),
        (["import", "x.txt", "--format", "rr-min"], "invalid choice: 'rr-min'"),
    ],
)
def test_mistakes_are_one_line(argv: list[str], says: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["import", str(POLAR)]) == 0
    capsys.readouterr()
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own errors
        code = exc.code  # type: ignore[assignment]
    assert code == (2 if "--format" in argv or argv == ["import"] else 1)
    assert says in _one_line_error(capsys)


def test_export_without_a_store_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", "1", "--data-dir", str(tmp_path / "empty")]) == 1
    assert "no session store at" in _one_line_error(capsys)
    assert not (tmp_path / "empty" / "sessions.db").exists()


def test_the_unit_and_implausible_intervals_are_said(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rr_s = tmp_path / "elite.txt"
    rr_s.write_text("0.81\n0.83\n0.12\n0.84\n")
    assert main(["import", str(rr_s), "--data-dir", str(tmp_path / "d")]) == 0
    out = capsys.readouterr().out
    assert "read as seconds" in out
    assert "1 interval outside 200-3000 ms cannot be heartbeats: kept, flagged as artefacts (beat 3)" in out
    with SessionStore(tmp_path / "d" / "sessions.db") as store:
        np.testing.assert_allclose(store.recording(1).rr_ms, [810.0, 830.0, 120.0, 840.0], rtol=1e-15)
    assert main(["import", str(rr_s), "--format", "rr-ms", "--data-dir", str(tmp_path / "e")]) == 0
    assert "4 intervals outside" in capsys.readouterr().out


@pytest.mark.skipif(not SAMPLES, reason="the simulated samples are generated into sample_data/simulated")
def test_import_samples_into_a_fresh_store_shows_weeks_of_practice(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "fresh"
    assert main(["import", "--samples", "--data-dir", str(data)]) == 0
    out = capsys.readouterr().out
    assert samples_folder() == ROOT / "sample_data" / "simulated"
    assert f"Imported {len(SAMPLES)} files" in out and f"{len(SAMPLES)} sessions added" in out
    with SessionStore(data / "sessions.db") as store:
        sessions = store.sessions()
        assert len(sessions) == len(SAMPLES) >= 15
        days = sorted(s.meta.start_local.date() for s in sessions)
        assert days[-1] - days[0] >= dt.timedelta(days=21)
        assert all(s.settings.get("simulated") is True and s.meta.device_name == "simulated person" for s in sessions)
        # sessions of 10-15 min on the beat clock, each ending at its last beat before the end (as train does)
        assert all(9.9 <= s.minutes <= 15.0 and s.complete for s in sessions)
        by_date = sorted(sessions, key=lambda s: s.meta.start_utc)
        first, last = by_date[: len(by_date) // 3], by_date[-(len(by_date) // 3):]
        resting = [float(np.mean([s.baseline_hr_bpm for s in part if s.baseline_hr_bpm])) for part in (first, last)]
        assert resting[1] < resting[0] - 1.0  # the resting heart rate falls over the weeks
        rated = [s for s in sessions if s.tension_before is not None and s.tension_after is not None]
        assert len(rated) >= len(sessions) // 2 and all(s.tension_after <= s.tension_before for s in rated)
        assert sum(bool(store.events(s.id, "coach")) for s in sessions) == len(sessions)
        for s, path in zip(by_date, SAMPLES, strict=True):  # each file as it was shipped
            assert export_csv(store, s.id) == path.read_text(encoding="utf-8"), path.name
    assert main(["import", "--samples", "--data-dir", str(data)]) == 0  # again: nothing twice
    assert f"{len(SAMPLES)} files already in the store: skipped." in capsys.readouterr().out


def test_many_files_on_a_terminal_get_a_progress_bar(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    files = []
    for i in range(6):
        files.append(tmp_path / f"rr{i}.txt")
        files[-1].write_text(f"{800 + i}\n900\n850\n")
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert main(["import", *map(str, files), "--data-dir", str(tmp_path / "d")]) == 0
    captured = capsys.readouterr()
    assert "Importing 6 files" in captured.err and "100%" in captured.err
    assert "Imported 6 files: 18 beats" in captured.out and "6 sessions added" in captured.out
    assert "6 of them dated from their modification time (no date inside)." in captured.out
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False)
    assert main(["import", *map(str, files), "--data-dir", str(tmp_path / "e")]) == 0
    assert capsys.readouterr().err == ""  # not a terminal: no bar


def test_import_of_a_single_interval_says_one_beat(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # regression: "1 beats over 0.0 min"
    one = tmp_path / "one.txt"
    one.write_text("900\n")
    assert main(["import", str(one)]) == 0
    assert f"{one}: session 1, 1 beat over 0.0 min, from " in capsys.readouterr().out
