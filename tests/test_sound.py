"""The breathing tone: it follows fullness, has no clicks, streams like it renders in one go,
and plays for real, in step with the pacer, through PortAudio and ALSA with no sound card."""

from __future__ import annotations

import doctest
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import biofeedback.sound
from biofeedback.errors import BiofeedbackError, InvalidInputError, SoundUnavailableError
from biofeedback.sound import BlockClock, BreathSynth

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sound_helpers import (
    PacedSchedule,
    envelope_lag_s,
    local_maxima,
    null_sink_server,
    rms_envelope,
    sound_env,
    zero_crossing_pitch,
)

RATE = 48000.0
REPO = Path(__file__).resolve().parents[1]


def max_step(y: np.ndarray) -> float:
    return float(np.max(np.abs(np.diff(y.astype(np.float64)))))


def slope_bound(synth: BreathSynth) -> float:
    # the largest sample-to-sample change a smooth tone at full pitch and loudness can make
    top_hz = float(synth.pitch_hz(1.0))
    amp = float(synth.amplitude(1.0))
    partials = biofeedback.sound.HARMONICS
    return 2 * np.pi * top_hz / synth.sample_rate_hz * amp * sum(k * h for k, h in enumerate(partials, 1)) / sum(partials)


def test_docstring_examples_are_true() -> None:
    result = doctest.testmod(biofeedback.sound, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


def test_louder_and_higher_when_full() -> None:
    synth = BreathSynth(RATE)
    assert float(synth.pitch_hz(0.0)) == pytest.approx(110.0)
    assert float(synth.pitch_hz(1.0)) == pytest.approx(165.0)
    assert float(synth.amplitude(1.0)) == pytest.approx(0.3)
    assert float(synth.amplitude(0.0)) == pytest.approx(0.3 * 0.15)
    empty = synth.render(np.zeros(int(RATE)))
    full = synth.render(np.ones(int(RATE)))
    assert np.sqrt(np.mean(full.astype(float) ** 2)) > 4 * np.sqrt(np.mean(empty.astype(float) ** 2))
    assert np.max(np.abs(full)) <= 0.3 + 1e-6
    # a steady fullness is a steady tone at the mapped pitch (a hold holds)
    _, f_empty = zero_crossing_pitch(empty.astype(float), RATE, 0.25)
    _, f_full = zero_crossing_pitch(full.astype(float), RATE, 0.25)
    assert np.allclose(f_empty[1:], 110.0, atol=0.5) and np.allclose(f_full[1:], 165.0, atol=0.5)


def test_blocks_equal_one_shot_and_have_no_clicks() -> None:
    breathing = PacedSchedule(((6.0, 1), (10.0, 2)), start_s=0.0)  # a pace change at t = 10 s
    t = np.arange(int(22 * RATE)) / RATE
    x = breathing.fullness_at(t)
    one = BreathSynth(RATE).render(x)
    streamed = BreathSynth(RATE)
    rng = np.random.default_rng(7)
    cuts = np.sort(rng.choice(np.arange(1, x.size), 300, replace=False))
    parts = [streamed.render(c) for c in np.split(x, cuts)]
    joined = np.concatenate(parts)
    assert joined.shape == one.shape
    np.testing.assert_allclose(joined, one, rtol=0, atol=2e-6)
    bound = slope_bound(BreathSynth(RATE))
    change = int(10.0 * RATE)
    assert max_step(one[change - 4800:change + 4800]) <= bound
    assert max_step(joined) <= bound
    # across every block boundary too
    edges = cuts[(cuts > 1) & (cuts < x.size - 1)]
    assert np.max(np.abs(joined[edges].astype(float) - joined[edges - 1])) <= bound


def test_a_phase_reset_would_click_and_the_bound_catches_it() -> None:
    # the check above can fail: restarting the oscillator at a block boundary jumps
    x = np.full(4800, 0.8)
    smooth = BreathSynth(RATE).render(x)
    cut = int(np.argmax(np.abs(smooth[1000:2000]))) + 1000  # near a crest
    a, b = BreathSynth(RATE), BreathSynth(RATE)
    restarted = np.concatenate([a.render(x[:cut]), b.render(x[cut:])])
    bound = slope_bound(BreathSynth(RATE))
    assert max_step(smooth) <= bound
    assert max_step(restarted) > 10 * bound


def test_bad_fullness_and_settings_are_refused() -> None:
    synth = BreathSynth(RATE)
    with pytest.raises(InvalidInputError, match="fullness"):
        synth.render([0.1, float("nan")])
    with pytest.raises(InvalidInputError, match="sample_rate_hz"):
        BreathSynth(600.0)
    with pytest.raises(InvalidInputError, match="volume"):
        BreathSynth(RATE, volume=2.0)
    assert synth.render([]).size == 0
    assert np.max(np.abs(synth.render(np.full(100, 5.0)))) <= 0.3 + 1e-6  # clipped to full


def test_block_clock_keeps_blocks_contiguous_and_follows_the_measurement() -> None:
    clock = BlockClock(1000.0)
    rng = np.random.default_rng(3)
    starts, measured, t = [], [], 0.0
    for _ in range(400):
        measured.append(t + rng.normal(0.0, 0.003))  # callback wake-up jitter, s
        starts.append(clock.block_times(measured[-1], 10)[0])
        t += 0.01005  # the beat clock runs 0.5% fast against the sound card's 10 ms blocks
    nudges = np.abs(np.diff(starts) - 0.010)
    assert np.max(np.abs(np.diff(measured) - 0.010)) > 0.01  # the measurements jump by more than 10 ms
    assert np.max(nudges) < 0.001  # each block follows on from the last, nudged by < 1 ms
    true_starts = np.arange(400) * 0.01005
    assert abs(np.mean(np.array(starts[-100:]) - true_starts[-100:])) < 0.0015  # and follows the clock's drift
    assert clock.block_times(100.0, 5)[0] == 100.0  # a jump beyond max_error_s is taken at once


def test_each_block_is_rendered_for_when_it_will_be_heard() -> None:
    from biofeedback.display.sound import BlockRenderer

    breathing = PacedSchedule(((12.0, 3),), start_s=9.0)
    now = [10.0]
    renderer = BlockRenderer(breathing.fullness_at, lambda: now[0], sample_rate_hz=RATE)
    reference = BreathSynth(RATE)
    k = np.arange(1024)
    first = renderer.block(1024, 0.035)  # PortAudio: heard in 35 ms
    np.testing.assert_allclose(first, reference.render(breathing.fullness_at(10.035 + k / RATE)), atol=2e-6)
    now[0] = 10.0 + 1024 / RATE + 0.002  # the next callback wakes 2 ms late
    second = renderer.block(1024, 0.035)
    due = 10.035 + (1024 + k) / RATE + 0.05 * 0.002  # contiguous, nudged by 5% of the 2 ms
    np.testing.assert_allclose(second, reference.render(breathing.fullness_at(due)), atol=2e-6)
    assert renderer.blocks == 2 and renderer.first_block_beat_s == pytest.approx(10.035)
    fast = BlockRenderer(breathing.fullness_at, lambda: 10.0, speed=10.0, sample_rate_hz=RATE)
    fast.block(16, 0.035)
    assert fast.first_block_beat_s == pytest.approx(10.35)  # a 10x replay: 35 ms of sound is 0.35 s of beats


def test_the_output_lead_falls_back_to_the_stream_latency_when_the_host_reports_nonsense() -> None:
    from biofeedback.display.sound import output_lead_s

    assert output_lead_s(100.0, 100.035, 0.05) == pytest.approx(0.035)
    assert output_lead_s(100.0, 0.0, 0.05) == 0.05  # host API without timing
    assert output_lead_s(100.0, 99.0, 0.05) == 0.05  # in the past
    assert output_lead_s(100.0, 103.0, 0.05) == 0.05  # seconds ahead: not believed


def test_without_sounddevice_one_line_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    from biofeedback.display import sound as display_sound

    monkeypatch.setitem(sys.modules, "sounddevice", None)  # import sounddevice -> ImportError
    with pytest.raises(SoundUnavailableError) as err:
        display_sound.SoundPrompt(lambda t: np.zeros_like(t), lambda: 0.0)
    message = str(err.value)
    assert isinstance(err.value, BiofeedbackError)
    assert "\n" not in message
    assert "pip install 'biofeedback[sound]'" in message and "apt-get install libportaudio2" in message


def test_without_portaudio_the_same_line(tmp_path: Path) -> None:
    # sounddevice installed, the PortAudio library not findable: sounddevice raises OSError
    code = (
        "import ctypes.util\n"
        "ctypes.util.find_library = lambda name: None\n"
        "from biofeedback.display.sound import SoundPrompt\n"
        "from biofeedback.errors import SoundUnavailableError\n"
        "try:\n"
        "    SoundPrompt(lambda t: t, lambda: 0.0)\n"
        "except SoundUnavailableError as e:\n"
        "    print(e)\n"
    )
    pytest.importorskip("sounddevice")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         env={**os.environ, "PYTHONPATH": str(REPO)}, check=False)
    assert out.stdout.strip() == (
        "sound needs the PortAudio library: pip install 'biofeedback[sound]' "
        "(and, on Debian or Ubuntu, apt-get install libportaudio2)"), out.stderr


def test_an_output_device_that_is_not_there_is_one_line() -> None:
    pytest.importorskip("sounddevice")
    from biofeedback.display.sound import SoundPrompt

    with pytest.raises(SoundUnavailableError) as err:  # sounddevice raises ValueError for an unknown name
        SoundPrompt(lambda t: np.zeros_like(t), lambda: 0.0, device="no such output device")
    assert str(err.value) == ("cannot open the sound output (No output device matching 'no such output device'); "
                              "check the output device, or play without --sound")


class Capture:
    """What the null sink plays, read back from its monitor, with the time each chunk arrived."""

    def __init__(self, env: dict[str, str], socket: Path, rate_hz: int) -> None:
        self.rate_hz = rate_hz
        self.proc = subprocess.Popen(
            ["parec", f"--server=unix:{socket}", "--device=nosoundcard.monitor", "--raw", "--format=float32le",
             f"--rate={rate_hz}", "--channels=1", "--latency-msec=5"],
            stdout=subprocess.PIPE, env=env)
        self.chunks: list[tuple[float, bytes]] = []
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        while True:
            data = self.proc.stdout.read1(4096)
            if not data:
                return
            self.chunks.append((time.monotonic(), data))

    def stop(self) -> tuple[np.ndarray, float]:
        """The samples, and the monotonic time of the first one (earliest consistent with arrivals)."""
        self.proc.terminate()
        self.proc.wait(timeout=10)
        self.thread.join(timeout=10)
        assert self.proc.stdout is not None
        self.proc.stdout.close()
        raw = b"".join(d for _, d in self.chunks)
        y = np.frombuffer(raw[: len(raw) // 4 * 4], dtype="<f4").astype(np.float64)
        ends = np.cumsum([len(d) // 4 for _, d in self.chunks])  # approximately; chunks are whole samples
        arrivals = np.array([t for t, _ in self.chunks])
        # a sample arrives after it is played: the earliest arrival minus its index bounds the start
        first_s = float(np.min(arrivals - ends / self.rate_hz))
        return y, first_s


@pytest.mark.skipif(shutil.which("pulseaudio") is None or shutil.which("parec") is None,
                    reason="needs pulseaudio and parec (.ci/run installs them)")
def test_plays_in_step_with_the_breath_through_alsa_with_no_sound_card(tmp_path: Path) -> None:
    pytest.importorskip("sounddevice")
    schedule = ((30.0, 3), (20.0, 2))  # 2 s breaths, then a pace change to 3 s breaths
    raw = tmp_path / "played.raw"
    with null_sink_server(tmp_path, 48000) as socket:
        env = sound_env(tmp_path, socket, raw)
        env["PYTHONPATH"] = str(REPO)
        config = tmp_path / "config.json"
        config.write_text(json.dumps({"schedule": schedule, "start_after_s": 0.5, "end_after_s": 0.5}), encoding="utf-8")
        capture = Capture(env, socket, 48000)
        out = subprocess.run([sys.executable, str(REPO / "tests" / "sound_player.py"), str(config),
                              str(tmp_path / "result.json")], env=env, capture_output=True, text=True, timeout=90,
                             check=False)
        heard, first_monotonic_s = capture.stop()
    assert out.returncode == 0, out.stderr
    result = json.loads((tmp_path / "result.json").read_text(encoding="utf-8"))
    rate = result["sample_rate_hz"]
    assert rate == 48000.0
    start_s = result["start_s"]
    breathing = PacedSchedule(schedule, start_s=start_s)
    end_s = breathing.end_s
    synth = BreathSynth(rate)
    inhale_ends = breathing.inhale_ends_s()

    # 1. The ALSA file plugin recorded exactly what PortAudio played.
    played = np.fromfile(raw, dtype="<f4").astype(np.float64)
    blocks = result["blocks"]
    # beat-clock time each sample was rendered for; the last block or two may still have been
    # in PortAudio's buffer when the stream stopped
    t_played = np.concatenate([t0 + np.arange(n) / rate for t0, n, _ in blocks])
    assert t_played.size - 0.1 * rate <= played.size <= t_played.size
    t_played = t_played[:played.size]
    breathing_part = (t_played > start_s) & (t_played < end_s)
    assert max_step(played[breathing_part]) <= slope_bound(synth)  # no clicks, at the pace change too
    centres, pitch = zero_crossing_pitch(played, rate, 0.1)
    at = np.interp(centres, np.arange(played.size) / rate, t_played)
    expected_pitch = synth.pitch_hz(breathing.fullness_at(at))
    ok = np.isfinite(pitch) & (at > start_s) & (at < end_s)
    assert np.max(np.abs(pitch[ok] - expected_pitch[ok])) < 2.0  # Hz: the pitch rises and falls with the breath
    assert np.ptp(pitch[ok]) > 50.0

    # 2. What the null sink played, against the pacer on the shared monotonic clock.
    beat0 = first_monotonic_s - result["origin_monotonic_s"]  # beat-clock time of the capture's first sample
    t_env, env_rms = rms_envelope(heard, rate, 0.05)
    t_env = t_env + beat0
    during = (t_env > start_s + 0.1) & (t_env < end_s - 0.1)
    def expected_env(t: np.ndarray) -> np.ndarray:
        return synth.amplitude(breathing.fullness_at(t))

    lag_s, corr = envelope_lag_s(t_env[during], env_rms[during], expected_env)
    assert abs(lag_s) < 0.1, f"the sound lags the pacer by {lag_s * 1000:.0f} ms"
    assert corr > 0.97  # louder on the inhale, softer on the exhale, in step
    peaks = local_maxima(t_env, env_rms, inhale_ends)
    assert np.max(np.abs(peaks - inhale_ends)) < 0.1  # every breath's peak at the end of its inhale
    # 2 s, 2 s, then 2.4 s and 3 s between the peaks: the pace change shows
    np.testing.assert_allclose(np.diff(peaks), [2.0, 2.0, 2.4, 3.0], atol=0.05)
    print(f"\nsound lag behind the pacer: {lag_s * 1000:.1f} ms (envelope cross-correlation); "
          f"peaks off by {np.max(np.abs(peaks - inhale_ends)) * 1000:.0f} ms at most; "
          f"reported output latency {result['latency_s'] * 1000:.1f} ms, underruns {result['underruns']}")
