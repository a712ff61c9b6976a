"""The breathing track: a WAV whose breath period, measured from the file, is the pace."""

from __future__ import annotations

import stat
import sys
import wave
from pathlib import Path

import numpy as np
import pytest

from biofeedback.errors import FileFormatError, InvalidInputError
from biofeedback.pacer import BreathPattern, Pacer
from biofeedback.sound import BreathSynth
from biofeedback.track import TRACK_RATE_HZ, write_track

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sound_helpers import breath_period_s, rms_envelope, zero_crossing_pitch


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    with wave.open(str(path), "rb") as w:
        assert (w.getnchannels(), w.getsampwidth()) == (1, 2)
        rate = w.getframerate()
        y = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float64) / 32767.0
    return y, rate


@pytest.mark.parametrize("pace_bpm", [5.5, 6.5])
def test_the_breath_period_measured_from_the_file_is_the_pace(tmp_path: Path, pace_bpm: float) -> None:
    minutes = 3.0
    breathing = Pacer(BreathPattern(pace_bpm, inhale_share=0.4))
    path = tmp_path / "pace.wav"
    n = write_track(path, breathing.fullness_at, minutes * 60)
    y, rate = read_wav(path)
    assert rate == 44100 and y.size == n == int(minutes * 60 * 44100)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    period_s, n_peaks = breath_period_s(y, rate)  # measured from the file alone
    assert n_peaks >= int(minutes * pace_bpm) - 1
    assert period_s == pytest.approx(60.0 / pace_bpm, rel=1e-4), period_s  # 5.5 /min: 10.909 s (README: 0.01%)
    t, env = rms_envelope(y, rate, 0.05)
    # and it rises in pitch as it swells: pitch and loudness move together
    tc, pitch = zero_crossing_pitch(y, rate, 0.25)
    env_at = np.interp(tc, t, env)
    ok = np.isfinite(pitch) & (tc > 3) & (tc < t[-1] - 3)
    assert np.corrcoef(pitch[ok], env_at[ok])[0, 1] > 0.95
    assert 105 < np.min(pitch[ok]) < 115 and 155 < np.max(pitch[ok]) < 170


def test_the_track_fades_in_and_out(tmp_path: Path) -> None:
    path = tmp_path / "short.wav"
    write_track(path, lambda t: np.full(np.shape(t), 1.0), 10.0, volume=0.5)
    y, rate = read_wav(path)
    assert abs(y[0]) < 1e-4 and abs(y[-1]) < 1e-4  # no click at either end
    assert np.max(np.abs(y[: rate // 10])) < 0.01 and np.max(np.abs(y[-rate // 10:])) < 0.01
    same = BreathSynth(float(rate), volume=0.5).render(np.ones(y.size)).astype(np.float64)
    middle = slice(3 * rate, 7 * rate)  # between the fades, the tone itself, to 16-bit precision
    np.testing.assert_allclose(y[middle], same[middle], rtol=0, atol=1.0 / 32767)


def test_bad_duration_and_path(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="duration"):
        write_track(tmp_path / "x.wav", lambda t: t, 0.0)
    with pytest.raises(FileFormatError, match="cannot write"):
        write_track(tmp_path / "missing" / "x.wav", lambda t: np.zeros_like(t), 1.0)


def test_an_interrupted_track_leaves_the_earlier_file_and_no_half_track(tmp_path: Path) -> None:
    folder = tmp_path / "tracks"
    folder.mkdir()
    path = folder / "pace.wav"
    write_track(path, lambda t: np.full(np.shape(t), 0.5), 2.0)
    before = path.read_bytes()
    blocks: list[int] = []

    def fullness_then_ctrl_c(t: np.ndarray) -> np.ndarray:
        blocks.append(len(t))
        if len(blocks) == 3:  # Ctrl-C during the third second of rendering
            raise KeyboardInterrupt
        return np.full(np.shape(t), 0.5)

    with pytest.raises(KeyboardInterrupt):
        write_track(path, fullness_then_ctrl_c, 10.0)
    assert len(blocks) == 3
    assert path.read_bytes() == before  # the earlier track, whole
    assert [p.name for p in folder.iterdir()] == ["pace.wav"]  # no partial file left behind


def test_a_track_we_wrote_is_replaced_but_a_users_own_wav_is_not(tmp_path: Path) -> None:
    ours = tmp_path / "ours.wav"
    write_track(ours, lambda t: np.full(np.shape(t), 0.5), 3.0)
    with wave.open(str(ours), "rb") as w:  # the mark at the end does not disturb a reader
        assert w.getnframes() == 3 * TRACK_RATE_HZ
    write_track(ours, lambda t: np.full(np.shape(t), 0.2), 2.0)  # ours: replaced without asking
    with wave.open(str(ours), "rb") as w:
        assert w.getnframes() == 2 * TRACK_RATE_HZ
    theirs = tmp_path / "theirs.wav"
    with wave.open(str(theirs), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\0\0" * 800)
    before = theirs.read_bytes()
    with pytest.raises(FileFormatError, match="not written by biofeedback"):
        write_track(theirs, lambda t: np.full(np.shape(t), 0.5), 1.0)
    assert theirs.read_bytes() == before
    write_track(theirs, lambda t: np.full(np.shape(t), 0.5), 1.0, force=True)
    assert theirs.read_bytes() != before
