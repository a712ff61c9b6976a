"""``biofeedback track``: a breathing-guide WAV at the pace asked for."""

from __future__ import annotations

import stat
import sys
import wave
from pathlib import Path

import numpy as np
import pytest

from biofeedback.cli import main

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
    ["track", "--pace", "6", "--minutes", "-1", "-o", "x.wav"],
    ["track", "--minutes", "5", "-o", "x.wav"],
])
def test_wrong_track_options_get_one_line_and_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "error" in err


def test_an_unwritable_path_or_pattern_is_one_line_and_exit_1(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["track", "--pace", "6", "--minutes", "1", "-o", str(tmp_path / "no" / "x.wav")]) == 1
    assert main(["track", "--pace", "6", "--inhale-share", "1.5", "-o", str(tmp_path / "x.wav")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and "cannot write" in err[0] and "inhale_share" in err[1]
