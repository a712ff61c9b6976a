"""The command line as a user meets it: real bleak against the emulated strap, one-line errors."""

from __future__ import annotations

import asyncio
import csv
import logging
import os
import re
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from ble_helpers import quantised

from biofeedback.beats import Beat, BeatFlags, Gap
from biofeedback.cli import NOTHING_RECORDED, main
from biofeedback.display.status import RecordStatus
from biofeedback.display.summary import mm_ss
from biofeedback.emulator import PrivateBus
from biofeedback.formats import BeatCsvWriter, read_recording, read_rr_file

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data" / "polarh10_slow_breathing.txt"


def test_the_first_run_says_not_a_medical_device_once(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "fresh"))
    with pytest.raises(SystemExit):
        main(["scan", "--timeout", "x"])  # even a mistyped first command gets the notice
    main(["record", "--emulate", str(tmp_path / "nope.txt")])
    err = capsys.readouterr().err
    assert err.count("not a medical device") == 1


def read_csv(path: Path) -> list[dict[str, str]]:
    """The beat rows of a beat CSV (its # lines skipped, as pandas' comment='#' does)."""
    with path.open() as f:
        return list(csv.DictReader(line for line in f if not line.startswith("#")))


def test_record_against_the_emulated_strap_writes_the_beat_csv(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "session.csv"
    code = main(["record", "--emulate", str(SAMPLE), "--speed", "200", "--out", str(out)])
    assert code == 0
    rows = read_csv(out)
    rr = quantised(read_rr_file(SAMPLE))
    assert list(rows[0]) == ["t_s", "rr_ms", "flags"]
    assert len(rows) == rr.size == 620
    np.testing.assert_array_equal([float(r["rr_ms"]) for r in rows], rr)
    np.testing.assert_allclose([float(r["t_s"]) for r in rows], np.cumsum(rr) / 1000, atol=1e-9)
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    printed = capsys.readouterr().out
    assert "Recorded 620 beats over 10:01 (mm:ss); 0 gaps totalling 0.0 s; 0 link losses." in printed
    assert "battery 87%" in printed
    meta = read_recording(out).meta
    assert (meta.source, meta.device_name, meta.device_address) == ("emulated", "Polar H10 EMU12345",
                                                                   "A0:9E:1A:12:34:56")
    assert not meta.start_estimated and meta.software_version == "0.1.0"


def test_record_minutes_count_beat_clock_time(tmp_path: Path) -> None:
    out = tmp_path / "s.csv"
    assert main(["record", "--emulate", str(SAMPLE), "--speed", "200", "--minutes", "2", "--out", str(out)]) == 0
    t = np.array([float(r["t_s"]) for r in read_csv(out)])
    full = np.cumsum(quantised(read_rr_file(SAMPLE))) / 1000
    assert t.size == int(np.searchsorted(full, 120.0, side="right"))
    assert t[-1] <= 120.0 < full[t.size]


@pytest.mark.parametrize(
    "argv",
    [["record", "--minutes", "-1"], ["record", "--bogus"], ["scan", "--timeout", "soon"], ["train-harder"]],
)
def test_wrong_options_get_one_line_and_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("biofeedback")


def test_a_missing_rr_file_is_one_line_and_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["record", "--emulate", str(tmp_path / "nope.txt")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"biofeedback: error: {tmp_path / 'nope.txt'}: no such file; give the path of an RR file"]


def test_no_bluez_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with PrivateBus():  # a system bus with no BlueZ daemon on it
        assert main(["scan", "--timeout", "0.5"]) == 2
        assert main(["record", "--minutes", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2
    assert all(line.startswith("biofeedback: error: ") and "BlueZ" in line for line in err)


def test_ctrl_c_ends_a_recording_cleanly_and_keeps_every_beat(tmp_path: Path) -> None:
    out = tmp_path / "s.csv"
    env = dict(os.environ, XDG_CONFIG_HOME=str(tmp_path / "config"))
    proc = subprocess.Popen(
        [sys.executable, "-m", "biofeedback", "record", "--emulate", str(SAMPLE), "--speed", "20", "--out", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and (not out.exists() or len(read_csv(out)) < 30):
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 0, stderr
    assert "Traceback" not in stderr
    rows = read_csv(out)
    assert len(rows) >= 30
    assert f"Recorded {len(rows)} beats" in stdout
    rr = quantised(read_rr_file(SAMPLE))
    np.testing.assert_array_equal([float(r["rr_ms"]) for r in rows], rr[: len(rows)])


def test_show_prints_the_hrv_of_a_file_and_draws_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from biofeedback import hrv

    png = tmp_path / "s.png"
    assert main(["show", str(SAMPLE), "--plot", str(png)]) == 0
    text = capsys.readouterr().out
    nn = hrv.correct_artifacts(read_rr_file(SAMPLE))
    td = hrv.time_domain(nn)
    rmssd = re.search(r"Beat-to-beat variation \(RMSSD\) +([\d.]+) ms", text)
    hr = re.search(r"Heart rate +([\d.]+) beats/min", text)
    assert rmssd and float(rmssd[1]) == round(td["rmssd_ms"], 1) == 36.9
    assert hr and float(hr[1]) == round(td["mean_hr_bpm"], 1) == 62.3
    assert "2 intervals corrected as artefacts (0.3%)" in text
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert stat.S_IMODE(png.stat().st_mode) == 0o600



def test_regression_show_with_an_unusable_plot_path_is_one_line_not_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # save_figure opened the file with a bare os.open and let matplotlib refuse the suffix:
    # a missing folder or --plot x.txt ended in a traceback (and left an empty x.txt)
    missing = tmp_path / "no-such-folder" / "s.png"
    assert main(["show", str(SAMPLE), "--plot", str(missing)]) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"biofeedback: error: cannot write {missing}: No such file or directory; choose another path"
    ]
    text = tmp_path / "s.txt"
    assert main(["show", str(SAMPLE), "--plot", str(text)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1
    assert err[0].startswith(f"biofeedback: error: {text}: cannot draw a .txt image; give a file name ending in one of ")
    assert ".png" in err[0] and ".svg" in err[0]
    assert not text.exists()

def test_show_a_broken_file_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text("800\n810\nnot-a-number\n")
    assert main(["show", str(bad)]) == 1
    assert capsys.readouterr().err.strip() == (
        f"biofeedback: error: {bad}:3: 'not-a-number' is not a number; expected one RR interval in ms per line"
    )


def test_regression_stopping_an_emulated_recording_stops_the_strap_before_the_emulator_goes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # the emulated recording was cancelled without waiting for it, so the emulated BlueZ
    # was torn down while bleak was still stopping its scan or disconnecting: "Task
    # exception was never retrieved" and tracebacks on stderr
    from biofeedback.pieces import Piece
    from biofeedback.session import Session
    from biofeedback.sources.emulated import EmulatedSource

    source = EmulatedSource(read_rr_file(SAMPLE), speed=50.0)
    seen: list[bool] = []

    class StopAt30(Piece):
        def beat(self, beat: Beat) -> None:
            if len(session.beats) == 30:
                seen.append(source.strap.connected)
                session.stop()

    session = Session(source, displays=[StopAt30()])
    with caplog.at_level(logging.WARNING):
        rec = asyncio.run(session.run())
    assert rec.n_beats == 30 and seen == [True]
    assert source.ble.strap is not None
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text


def test_regression_ctrl_c_reports_the_strap_line_as_a_finished_recording_does(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # a recording without --minutes ends with Ctrl-C; the KeyboardInterrupt handler in
    # main printed only the beat summary, never the strap, battery and malformed-frame line
    import biofeedback.display.status

    class CtrlCAtBeat30(RecordStatus):
        def beat(self, beat: Beat) -> None:
            super().beat(beat)
            if self.beats == 30:
                signal.raise_signal(signal.SIGINT)

    monkeypatch.setattr(biofeedback.display.status, "RecordStatus", CtrlCAtBeat30)  # cli imports it when recording
    out = tmp_path / "s.csv"
    assert main(["record", "--emulate", str(SAMPLE), "--speed", "50", "--out", str(out)]) == 0
    rows = read_csv(out)
    lines = capsys.readouterr().out.splitlines()
    assert lines[-3:] == [
        "Strap: Polar H10 EMU12345 (A0:9E:1A:12:34:56), battery 87%; 0 malformed notifications skipped.",
        (f"Recorded {len(rows)} beats over {mm_ss(float(rows[-1]['t_s']))} (mm:ss); 0 gaps totalling 0.0 s; "
         "0 link losses."),
        f"Beats written to {out}",
    ]
    assert len(rows) >= 30


def test_regression_record_speed_without_emulate_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    # --speed only means something for an emulated strap; with a real one it was silently ignored
    with pytest.raises(SystemExit) as exc:
        main(["record", "--speed", "20", "--minutes", "1"])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [("biofeedback record: error: --speed needs --emulate (a real strap plays in real time) "
                    "(see 'biofeedback record --help')")]


def test_regression_show_of_a_recording_counts_the_gaps_it_recorded(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # show read only the rr_ms column of a beat CSV: a recording with a link loss was
    # summarised as "0 gaps (0.0 s)", against what record itself had reported
    rr = read_rr_file(SAMPLE)
    t = np.cumsum(rr) / 1000
    t[300:] += 12.5  # the link was down for 12.5 s before beat 300
    path = tmp_path / "s.csv"
    with BeatCsvWriter(path) as writer:
        for i, (t_s, rr_ms) in enumerate(zip(t, rr, strict=True)):
            writer.write(Beat(float(t_s), float(rr_ms), BeatFlags.AFTER_GAP if i == 300 else BeatFlags.NONE))
    assert main(["show", str(path)]) == 0
    assert "1 gap (12.5 s)" in capsys.readouterr().out


def test_a_recording_that_recorded_nothing_exits_1_and_says_what_to_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "s.csv"  # the first beat ends at 0.9 s: after 0.06 s nothing was recorded
    assert main(["record", "--emulate", str(SAMPLE), "--speed", "200", "--minutes", "0.001", "--out", str(out)]) == 1
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [f"biofeedback: {NOTHING_RECORDED} ({out} not written)."]
    assert "Recorded 0 beats" in captured.out and not out.exists()


def test_show_of_a_recording_with_only_short_stretches_says_what_it_could_compute(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # time_domain and poincare were called without the guard the other metrics have:
    # a longest unbroken stretch of 2 beats ended in a traceback
    path = tmp_path / "s.csv"
    t = 0.0
    with BeatCsvWriter(path) as writer:
        for i in range(12):
            after_gap = i > 0 and i % 2 == 0
            if after_gap:
                writer.write_event(Gap(t, t + 5.0, "link lost"))
                t += 5.0
            t += 0.8
            writer.write(Beat(t, 800.0, BeatFlags.AFTER_GAP if after_gap else BeatFlags.NONE))
    assert main(["show", str(path)]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    lines = captured.out.splitlines()
    assert lines[2] == "  Session: 12 beats over 00:34 (mm:ss); 0 intervals corrected as artefacts (0.0%), 5 gaps (25.0 s)"
    assert lines[-1] == ("  The figures need an unbroken stretch of at least 3 beats; the longest here has 2: "
                         "record again with the strap worn snugly.")


def test_an_out_file_we_did_not_write_is_refused_unless_force(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    notes = tmp_path / "notes.csv"
    notes.write_text("my own notes, not beats\n")
    assert main(["record", "--emulate", str(SAMPLE), "--speed", "200", "--out", str(notes)]) == 1
    assert capsys.readouterr().err.splitlines() == [
        (f"biofeedback: error: {notes} exists and was not written by biofeedback; choose another file, "
        "or add --force to replace it")
    ]
    assert notes.read_text() == "my own notes, not beats\n"
    png = tmp_path / "holiday.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n a photo")
    assert main(["show", str(SAMPLE), "--plot", str(png)]) == 1
    assert png.read_bytes() == b"\x89PNG\r\n\x1a\n a photo"
    capsys.readouterr()
    # our own files are replaced; a user's with --force
    assert main(["show", str(SAMPLE), "--plot", str(png), "--force"]) == 0
    assert main(["show", str(SAMPLE), "--plot", str(png)]) == 0
    assert main(["record", "--emulate", str(SAMPLE), "--speed", "200", "--minutes", "0.5", "--out", str(notes),
                 "--force"]) == 0
    assert main(["record", "--emulate", str(SAMPLE), "--speed", "200", "--minutes", "0.5", "--out", str(notes)]) == 0
    assert len(read_csv(notes)) == 29  # the beats of the first 30 s


def test_demo_writes_into_the_data_folder_and_never_over_an_earlier_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    home, work = tmp_path / "home", tmp_path / "work"
    work.mkdir()
    monkeypatch.setenv("BIOFEEDBACK_HOME", str(home))
    monkeypatch.chdir(work)
    for _ in range(2):
        assert main(["demo", "--speed", "max", "--minutes", "2"]) == 0
    written = sorted(p.name for p in home.iterdir())
    pngs = sorted(home.glob("demo-*.png"))
    assert len(pngs) == 2 and set(written) - {p.name for p in pngs} <= {"sessions.db", "sessions.db-lock",
                                                                          "sessions.db-shm", "sessions.db-wal"}
    assert list(work.iterdir()) == []  # nothing in the folder the demo ran from
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    said = [line for line in capsys.readouterr().out.splitlines() if line.startswith("Plot written to")]
    assert sorted(said) == sorted(f"Plot written to {p}" for p in pngs)


def test_regression_demo_into_a_new_data_dir_makes_the_folder_first(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # it once checked where its plot would go before anything had made the folder, and refused:
    # "cannot write .../demo-....png: No such file or directory"
    folder = tmp_path / "new" / "data"
    assert main(["demo", "--speed", "max", "--minutes", "2", "--data-dir", str(folder)]) == 0
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert len(list(folder.glob("demo-*.png"))) == 1 and (folder / "sessions.db").is_file()
    assert f"Kept as session 1 in {folder / 'sessions.db'}." in capsys.readouterr().out
