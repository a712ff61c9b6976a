"""The history commands: sessions, show ID (and FILE), plot ID, trends; their errors."""

from __future__ import annotations

import datetime as dt
import stat
from pathlib import Path

import pytest
from _history_data import add_paced, add_unpaced, open_store, paced_beats

from biofeedback.cli import main

T0 = dt.datetime(2026, 11, 2, 6, 0, tzinfo=dt.UTC)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))  # the first-run notice, out of the way
    (tmp_path / "config" / "biofeedback").mkdir(parents=True, exist_ok=True)
    (tmp_path / "config" / "biofeedback" / "first-run-notice-shown").touch()
    data = tmp_path / "data"
    with open_store(data) as store:
        for i in range(5):
            sid = add_paced(store, T0 + dt.timedelta(days=i), paced_beats(20 + i, minutes=3),
                            summary={"baseline_hr_bpm": 72.0 - i, "final_hr_bpm": 67.0 - i, "resonance_bpm": 5.5,
                                     "quality": 0.99})
            store.set_ratings(sid, pain_before=6, pain_after=4 - (i % 2))
        add_unpaced(store, T0 + dt.timedelta(days=6), 1, minutes=4)
    return data


def test_sessions_lists_the_store_newest_first(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sessions", "--data-dir", str(home)]) == 0
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if line[:3].strip().isdigit()]
    assert [int(line.split()[0]) for line in lines] == [6, 5, 4, 3, 2, 1]
    assert lines[1].split() == ["5", "11-06", "07:00", "3.0", "sim:1", "68", "→", "63", "5.0", "5.5", "99%",
                                "6", "→", "4", "–"]
    assert lines[0].split()[3:5] == ["3.6", "file:x.txt"]  # 240 beats of about 0.9 s
    assert max(len(line) for line in out.splitlines()) <= 80


def test_every_command_honours_biofeedback_home(home: Path, capsys: pytest.CaptureFixture[str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BIOFEEDBACK_HOME", str(home))
    assert main(["sessions"]) == 0
    assert "file:x.txt" in capsys.readouterr().out
    assert main(["show", "2"]) == 0
    assert "Your heart rate went from 71 to 66 beats/min." in capsys.readouterr().out


def test_show_id_and_show_file(home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", "1", "--data-dir", str(home)]) == 0
    out = capsys.readouterr().out
    assert "Session 1 (complete" in out
    assert "Your heart rate went from 72 to 67 beats/min." in out
    assert "Pain: 6 before, 4 after (2 less)." in out
    assert "Heart rate" in out and "beats/min" in out
    rr_file = tmp_path / "rr.txt"
    rr_file.write_text("\n".join(str(900 + (i % 5) * 10) for i in range(200)) + "\n")
    assert main(["show", str(rr_file)]) == 0
    assert f"HRV of {rr_file}" in capsys.readouterr().out


def test_plot_writes_the_figure_privately(home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for fmt in ("png", "svg", "pdf"):
        out = tmp_path / f"s.{fmt}"
        assert main(["plot", "3", "-o", str(out), "--data-dir", str(home)]) == 0
        assert out.stat().st_size > 1000 and stat.S_IMODE(out.stat().st_mode) == 0o600
    assert main(["plot", "6", "-o", str(tmp_path / "unpaced.png"), "--data-dir", str(home)]) == 0
    assert main(["trends", "-o", str(tmp_path / "t.png"), "--data-dir", str(home)]) == 0
    out = capsys.readouterr().out
    assert "Over the last 6 days your resting heart rate fell by" in out
    assert "After a session your pain was 2.4 points lower than before, on average (5 sessions rated)." in out


def test_trends_since_a_date(home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["trends", "--since", "2026-11-04", "-o", str(tmp_path / "t.png"), "--data-dir", str(home)]) == 0
    out = capsys.readouterr().out
    # sessions 3, 4, 5 (pain 6 -> 4, 3, 4) and the unrated import: fewer than 4 rated, so no pain headline
    assert "pain" not in out
    assert "resting heart rate" in out and "(4 sessions)" in out
    assert main(["trends", "--since", "2027-01-01", "-o", str(tmp_path / "t2.png"), "--data-dir", str(home)]) == 1
    assert "No sessions stored since 2027-01-01" in capsys.readouterr().out


def _one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    return err


def test_errors_are_one_line(home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                             monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "nowhere"
    assert main(["sessions", "--data-dir", str(empty)]) == 1
    assert f"no session store at {empty / 'sessions.db'}" in _one_line_error(capsys)
    assert not (empty / "sessions.db").exists()  # a reading command makes no store
    assert main(["plot", "99", "-o", str(tmp_path / "x.png"), "--data-dir", str(home)]) == 1
    assert "no session 99" in _one_line_error(capsys)
    assert main(["show", "99", "--data-dir", str(home)]) == 1
    assert "no session 99" in _one_line_error(capsys)
    with pytest.raises(SystemExit) as exc:
        main(["trends", "--since", "2026-02-30", "--data-dir", str(home)])
    assert exc.value.code == 2
    assert "'2026-02-30' is not a date" in _one_line_error(capsys)
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.setattr("sys.platform", "linux")
    assert main(["plot", "1", "--data-dir", str(home)]) == 2
    assert "give -o FILE.png" in _one_line_error(capsys)
    assert main(["plot", "1", "-o", str(tmp_path / "x.xyz"), "--data-dir", str(home)]) == 1
    assert "cannot draw a .xyz image" in _one_line_error(capsys)


def test_show_counts_the_coachs_changes_in_words(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # regression: "changed the pace 1 time(s)"
    with open_store(tmp_path) as store:
        for paces in [(6.0,), (6.0, 5.5)]:
            add_paced(store, T0, paced_beats(20, minutes=3, paces=paces))
    assert main(["show", "1", "--data-dir", str(tmp_path)]) == 0
    assert "  The coach changed the pace 1 time; the last: pace 6.0\n" in capsys.readouterr().out
    assert main(["show", "2", "--data-dir", str(tmp_path)]) == 0
    assert "  The coach changed the pace 2 times; the last: pace 5.5\n" in capsys.readouterr().out
