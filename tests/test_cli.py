"""The command line as a user meets it: real bleak against the emulated strap, one-line errors."""

from __future__ import annotations

import asyncio
import csv
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

from biofeedback.analysis import mm_ss
from biofeedback.beats import Beat
from biofeedback.cli import main
from biofeedback.display.status import RecordStatus
from biofeedback.emulator import PrivateBus
from biofeedback.formats import read_rr_file
from biofeedback.session import RecordSummary

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
    with path.open() as f:
        return list(csv.DictReader(f))


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
    assert "Recorded 620 beats" in printed and "battery 87%" in printed


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
    while time.monotonic() < deadline and (not out.exists() or len(out.read_text().splitlines()) < 30):
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 0, stderr
    assert "Traceback" not in stderr
    rows = read_csv(out)
    assert len(rows) >= 29
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
    rmssd = re.search(r"RMSSD +([\d.]+) ms", text)
    hr = re.search(r"Heart rate +([\d.]+) beats/min", text)
    assert rmssd and float(rmssd[1]) == round(td["rmssd_ms"], 1) == 36.9
    assert hr and float(hr[1]) == round(td["mean_hr_bpm"], 1) == 62.3
    assert "2 interval(s) corrected as artefacts (0.3%)" in text
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


def test_demo_records_through_the_emulated_strap_then_reports(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv_path, png = tmp_path / "d.csv", tmp_path / "d.png"
    assert main(["demo", "--speed", "200", "--out", str(csv_path), "--plot", str(png)]) == 0
    text = capsys.readouterr().out
    assert "Recorded 620 beats" in text and "battery 87%" in text
    rate = re.search(r"Breathing rate +([\d.]+) breaths/min", text)
    assert rate and float(rate[1]) == 3.9  # the sample is slow breathing at about 4 breaths/min
    assert len(read_csv(csv_path)) == 620 and png.exists()


def test_demo_without_dbus_daemon_replays_the_file_instead(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no dbus-daemon to be found
    csv_path = tmp_path / "d.csv"
    assert main(["demo", "--out", str(csv_path), "--plot", str(tmp_path / "d.png")]) == 0
    text = capsys.readouterr().out
    assert "dbus-daemon is not installed" in text and "Recorded 620 beats" in text
    rr = read_rr_file(SAMPLE)
    np.testing.assert_array_equal([float(r["rr_ms"]) for r in read_csv(csv_path)], rr)



def test_regression_ctrl_c_waits_for_the_emulated_recording_to_stop_before_the_emulator_goes() -> None:
    # the emulated recording runs as a task of its own; Ctrl-C (the main task cancelled)
    # cancelled it without waiting for it, so the emulated BlueZ was torn down while bleak
    # was still stopping its scan or disconnecting: "Task exception was never retrieved"
    # and tracebacks on stderr
    from biofeedback.cli import _end_with_strap

    stopped: list[str] = []

    async def recording_body() -> RecordSummary:
        try:
            await asyncio.Event().wait()  # looking for the strap, or streaming
        finally:
            for _ in range(3):  # stop the scan / notifications, disconnect: D-Bus round trips
                await asyncio.sleep(0)
            stopped.append("cleanly")
        return RecordSummary()

    async def main() -> None:
        recording = asyncio.ensure_future(recording_body())
        ending = asyncio.ensure_future(_end_with_strap(recording, asyncio.Event()))
        await asyncio.sleep(0)  # both running
        ending.cancel()  # Ctrl-C
        with pytest.raises(asyncio.CancelledError):
            await ending
        assert stopped == ["cleanly"] and recording.cancelled()

    asyncio.run(main())


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
        "Strap: Polar H10 EMU12345 (A0:9E:1A:12:34:56), battery 87%; 0 malformed notification(s) skipped.",
        (f"Recorded {len(rows)} beats over {mm_ss(float(rows[-1]['t_s']))} (mm:ss); 0 gap(s) totalling 0.0 s; "
         "0 link loss(es)."),
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
    # summarised as "0 gap(s) (0.0 s)", against what record itself had reported
    from biofeedback.beats import BeatFlags
    from biofeedback.formats import BeatCsvWriter

    rr = read_rr_file(SAMPLE)
    t = np.cumsum(rr) / 1000
    t[300:] += 12.5  # the link was down for 12.5 s before beat 300
    path = tmp_path / "s.csv"
    with BeatCsvWriter(path) as writer:
        for i, (t_s, rr_ms) in enumerate(zip(t, rr, strict=True)):
            writer.write(Beat(float(t_s), float(rr_ms), BeatFlags.AFTER_GAP if i == 300 else BeatFlags.NONE))
    assert main(["show", str(path)]) == 0
    assert "1 gap(s) (12.5 s)" in capsys.readouterr().out
