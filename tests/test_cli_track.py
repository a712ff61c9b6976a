"""``biofeedback track``: a breathing-guide WAV at the pace asked for."""

from __future__ import annotations

import datetime as dt
import os
import signal
import stat
import subprocess
import sys
import time
import wave
from pathlib import Path

import numpy as np
import pytest

from biofeedback.beats import Beat
from biofeedback.cli import main
from biofeedback.errors import InvalidInputError
from biofeedback.pacer import parse_preset
from biofeedback.paths import STORE_FILE
from biofeedback.recording import RecordingMeta
from biofeedback.store import SessionStore

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sound_helpers import breath_period_s


def test_track_writes_a_wav_at_the_pace(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "pace.wav"
    assert main(["track", "--pace", "5.5", "--minutes", "3", "--inhale-share", "0.4", "-o", str(out)]) == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    with wave.open(str(out), "rb") as w:
        rate = w.getframerate()
        assert (w.getnchannels(), w.getsampwidth(), w.getnframes()) == (1, 2, 180 * rate)
        y = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float64) / 32767.0
    period_s, n_peaks = breath_period_s(y, rate)
    assert n_peaks >= 15
    assert period_s == pytest.approx(60.0 / 5.5, rel=0.005)  # 10.909 s
    assert "03:00 of breathing at 5.5 breaths/min" in capsys.readouterr().out


@pytest.mark.parametrize("argv", [
    ["track", "--pace", "0", "-o", "x.wav"],
    ["track", "--pace", "0.0001", "-o", "x.wav"],  # printed 'Pace: 0 breaths/min' and wrote a flat track
    ["track", "--pace", "61", "-o", "x.wav"],
    ["track", "--pace", "nan", "-o", "x.wav"],
    ["track", "--pace", "6", "--minutes", "-1", "-o", "x.wav"],
    ["track", "--minutes", "5", "-o", "x.wav"],
    ["track", "--pace", "6", "--resonance", "-o", "x.wav"],
    ["track", "--resonance", "--preset", "box", "-o", "x.wav"],
    ["track", "--preset", "calm", "-o", "x.wav"],  # adapts to the heart: a track cannot
    ["track", "--preset", "resonance", "-o", "x.wav"],
])
def test_wrong_track_options_get_one_line_and_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str],
                                                    tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)  # a track wrongly written lands here, not in the checkout
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert list(here.iterdir()) == []  # and nothing was written
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "error" in err


def test_a_pace_out_of_range_says_the_range_of_fixed_presets(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["track", "--pace", "0.0001", "-o", "x.wav"])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert "argument --pace: '0.0001' must be a number of breaths/min from 1 to 60" in err
    with pytest.raises(InvalidInputError, match="from 1 to 60"):
        parse_preset("fixed:0.0001")  # the same range


def test_an_unwritable_path_or_pattern_is_one_line_and_exit_1(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["track", "--pace", "6", "--minutes", "1", "-o", str(tmp_path / "no" / "x.wav")]) == 1
    assert main(["track", "--pace", "6", "--inhale-share", "1.5", "-o", str(tmp_path / "x.wav")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and "cannot write" in err[0] and "inhale_share" in err[1]


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    with wave.open(str(path), "rb") as w:
        rate = w.getframerate()
        y = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float64) / 32767.0
    return y, rate


def test_resonance_takes_the_median_of_the_stored_sessions(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "mine"
    t0 = dt.datetime(2026, 11, 20, 7, 0, tzinfo=dt.UTC)
    with SessionStore(data / STORE_FILE) as store:
        for k, (pace, complete) in enumerate([(5.2, True), (6.1, True), (9.0, False), (5.8, True)]):
            sid = store.start_session(RecordingMeta(start_utc=t0 + dt.timedelta(days=k), source="sim:1"))
            store.add_beat(sid, Beat(1.0, 1000.0))
            store.finish_session(sid, {"resonance_bpm": pace}, complete=complete)  # 9.0 ended early: not used
    out = tmp_path / "mine.wav"
    assert main(["track", "--resonance", "--data-dir", str(data), "--minutes", "3", "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "your resonance pace 5.8 breaths/min, the median of your last 3 sessions" in text
    y, rate = read_wav(out)
    period_s, n_peaks = breath_period_s(y, rate)
    assert n_peaks >= 15
    assert period_s == pytest.approx(60.0 / 5.8, rel=0.005)  # 10.345 s


def test_resonance_with_one_session_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with SessionStore(tmp_path / "data" / STORE_FILE) as store:  # BIOFEEDBACK_HOME (conftest)
        sid = store.start_session(RecordingMeta(start_utc=dt.datetime(2026, 11, 20, tzinfo=dt.UTC)))
        store.finish_session(sid, {"resonance_bpm": 5.25})
    assert main(["track", "--resonance", "--minutes", "0.5", "-o", str(tmp_path / "t.wav")]) == 0
    assert "your resonance pace 5.25 breaths/min, your last session" in capsys.readouterr().out


def test_resonance_without_a_stored_one_is_one_line_and_creates_no_store(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    out = tmp_path / "t.wav"
    assert main(["track", "--resonance", "--data-dir", str(empty), "-o", str(out)]) == 1
    assert list(empty.iterdir()) == []  # no store made by looking
    found_none = tmp_path / "none"
    with SessionStore(found_none / STORE_FILE) as store:
        sid = store.start_session(RecordingMeta(start_utc=dt.datetime(2026, 11, 20, tzinfo=dt.UTC)))
        store.finish_session(sid, {"resonance_bpm": None})  # a session that found no resonance pace
    assert main(["track", "--resonance", "--data-dir", str(found_none), "-o", str(out)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"biofeedback: error: no stored sessions with a resonance pace in {d} yet; train first or give --pace"
                   for d in (empty, found_none)]
    assert not out.exists()


def test_a_preset_gives_its_pattern(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "box.wav"
    assert main(["track", "--preset", "fixed:4.5", "--minutes", "3", "-o", str(out)]) == 0
    assert "4.5 breaths/min, the preset fixed:4.5" in capsys.readouterr().out
    period_s, _ = breath_period_s(*read_wav(out))
    assert period_s == pytest.approx(60.0 / 4.5, rel=0.005)


def test_a_preset_with_holds_and_another_inhale_share_says_what_it_plays(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # regression: the line still read "the preset box (4 s in, hold 4 s, 4 s out, hold 4 s)"
    out = tmp_path / "box.wav"
    assert main(["track", "--preset", "box", "--inhale-share", "0.75", "--minutes", "0.5", "-o", str(out)]) == 0
    said = capsys.readouterr().out.splitlines()[0]
    assert said == "Pace: 3.75 breaths/min, the preset box with 75% of the breathing in: 6 s in, hold 4 s, 2 s out, hold 4 s"
    assert main(["track", "--preset", "4-7-8", "--minutes", "0.5", "--force", "-o", str(out)]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "Pace: 3.16 breaths/min, the preset 4-7-8 (4 s in, hold 7 s, 8 s out)"


def test_a_file_of_the_users_needs_force(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "song.wav"
    out.write_bytes(b"not ours")
    assert main(["track", "--pace", "6", "--minutes", "0.2", "-o", str(out)]) == 1
    assert out.read_bytes() == b"not ours"
    assert "--force" in capsys.readouterr().err
    assert main(["track", "--pace", "6", "--minutes", "0.2", "--force", "-o", str(out)]) == 0
    assert read_wav(out)[0].size == 12 * 44100


def test_ctrl_c_during_the_render_writes_nothing_and_keeps_the_earlier_track(tmp_path: Path) -> None:
    out = tmp_path / "long.wav"
    assert main(["track", "--pace", "6", "--minutes", "0.2", "-o", str(out)]) == 0
    before = out.read_bytes()
    partial = tmp_path / ".long.wav.partial"
    proc = subprocess.Popen([sys.executable, "-m", "biofeedback", "track", "--pace", "6", "--minutes", "600",
                             "-o", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None and not (
            partial.exists() and partial.stat().st_size > 44100 * 2):  # a second of sound rendered
        time.sleep(0.05)
    assert proc.poll() is None, proc.communicate()
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert stderr.splitlines() == [f"interrupted: nothing written ({out} left as it was)"]
    assert "Wrote" not in stdout
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".long")) == []
