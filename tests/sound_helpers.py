"""Helpers for the sound tests: the pacer playing a schedule, an audio server with no sound card, analysis.

``PacedSchedule`` drives the real :class:`biofeedback.pacer.Pacer` through a schedule of paces,
so the sound tests hear exactly what the prompt shows (``Pacer.fullness_at``).

Playing for real without a sound card: PulseAudio with a null sink consumes samples at the real
sample rate (the ALSA ``null`` plugin alone consumes them as fast as they come, so a stream on it
runs hundreds of times faster than real time). ALSA's default device, set in an ``.asoundrc`` in
a temporary HOME, is the ``file`` plugin in front of that PulseAudio stream, so every sample the
application plays is also written, raw, to a file.
"""

from __future__ import annotations

import contextlib
import math
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt

from biofeedback.pacer import BreathPattern, Pacer


class PacedSchedule:
    """The real :class:`~biofeedback.pacer.Pacer` made to play ``schedule``: ``[(pace_bpm,
    n_breaths), ...]`` from ``start_s``, each new pace requested just before its first breath
    (no step limit, so a test can change pace by more than 0.5 at once). After the schedule the
    pacer breathes on at the last pace."""

    def __init__(self, schedule: tuple[tuple[float, int], ...], start_s: float = 0.0,
                 inhale_share: float = 0.4) -> None:
        self.pacer = Pacer(BreathPattern(schedule[0][0], inhale_share), start_s, max_step_bpm=math.inf)
        onset = start_s
        for pace, n in schedule:
            self.pacer.request(pace)
            for _ in range(n):
                self.pacer.at(onset)  # fixes the breath that begins here at the pace asked for
                onset += 60.0 / pace
        self.end_s = onset
        self.onsets_s = np.append(self.pacer.onsets_s, onset)  # every breath's onset and the end of the last, s
        assert self.onsets_s.size == sum(n for _, n in schedule) + 1
        self.fullness_at = self.pacer.fullness_at

    def inhale_ends_s(self) -> npt.NDArray[np.float64]:
        """The end of each breath's inhale, s."""
        return np.array([t + self.pacer.at(t).part_left_s for t in self.onsets_s[:-1]])


def rms_envelope(y: npt.NDArray[np.float64], rate_hz: float, window_s: float = 0.05) -> tuple[
        npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """RMS per window and the window centres (s from the first sample)."""
    n = round(window_s * rate_hz)
    m = y.size // n
    blocks = y[: m * n].reshape(m, n)
    return (np.arange(m) + 0.5) * n / rate_hz, np.sqrt(np.mean(blocks**2, axis=1))


def zero_crossing_pitch(y: npt.NDArray[np.float64], rate_hz: float, window_s: float = 0.1) -> tuple[
        npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Fundamental per window from upward zero crossings (Hz) and the window centres (s)."""
    n = round(window_s * rate_hz)
    m = y.size // n
    up = (y[:-1] < 0) & (y[1:] >= 0)
    idx = np.flatnonzero(up)
    # sub-sample crossing times, then crossings per second within each window
    frac = -y[idx] / (y[idx + 1] - y[idx])
    tc = (idx + frac) / rate_hz
    centres = (np.arange(m) + 0.5) * n / rate_hz
    f = np.full(m, np.nan)
    for i in range(m):
        c = tc[(tc >= i * n / rate_hz) & (tc < (i + 1) * n / rate_hz)]
        if c.size >= 3:
            f[i] = (c.size - 1) / (c[-1] - c[0])
    return centres, f


def local_maxima(t: npt.NDArray[np.float64], v: npt.NDArray[np.float64], near_s: npt.NDArray[np.float64],
                 search_s: float = 0.5, fit_s: float = 0.25) -> npt.NDArray[np.float64]:
    """Time of the top of ``v`` near each of ``near_s``: the largest value within ``search_s``,
    refined by a least-squares parabola through the values within ``fit_s`` of it (the
    window-to-window ripple of an RMS envelope would throw a three-point fit off)."""
    out = []
    for c in near_s:
        sel = np.flatnonzero(np.abs(t - c) <= search_s)
        i = sel[np.argmax(v[sel])]
        fit = np.abs(t - t[i]) <= fit_s
        a, b, _ = np.polyfit(t[fit] - t[i], v[fit], 2)
        out.append(t[i] - b / (2 * a))
    return np.asarray(out)


def envelope_lag_s(t: npt.NDArray[np.float64], measured: npt.NDArray[np.float64],
                   expected_at: Callable[[npt.NDArray[np.float64]], npt.NDArray[np.float64]],
                   max_lag_s: float = 0.3) -> tuple[float, float]:
    """How late ``measured`` (sampled at ``t``) follows ``expected_at(t)``, s, in 1 ms steps,
    and the correlation at that lag: the lag that best correlates the two."""
    lags = np.arange(-max_lag_s, max_lag_s + 0.0005, 0.001)
    r = np.array([np.corrcoef(measured, expected_at(t - lag))[0, 1] for lag in lags])
    i = int(np.argmax(r))
    return float(lags[i]), float(r[i])


def breath_period_s(y: npt.NDArray[np.float64], rate_hz: float, *, edge_s: float = 3.0) -> tuple[float, int]:
    """Mean breath period of a recorded breathing tone, s, from the spacing of its loudness
    peaks (found from the sound alone, away from the first and last ``edge_s``), and how many
    peaks it used."""
    from scipy.signal import find_peaks

    t, env = rms_envelope(y, rate_hz, 0.05)
    found, _ = find_peaks(env, distance=int(3.0 / 0.05), prominence=0.5 * np.ptp(env))
    found = found[(t[found] > edge_s) & (t[found] < t[-1] - edge_s)]
    peaks = local_maxima(t, env, t[found], fit_s=1.5)  # the tops of slow breaths are broad
    return float((peaks[-1] - peaks[0]) / (peaks.size - 1)), int(peaks.size)


ASOUNDRC = """pcm.!default {{
    type file
    slave.pcm {{ type pulse; server "unix:{socket}" }}
    file "{raw}"
    format "raw"
}}
ctl.!default {{ type pulse; server "unix:{socket}" }}
"""


@contextlib.contextmanager
def null_sink_server(home: Path, rate_hz: int = 48000) -> Iterator[Path]:
    """A private PulseAudio server with only a null sink; yields the path of its socket."""
    pulseaudio = shutil.which("pulseaudio")
    assert pulseaudio, "pulseaudio is not installed (.ci/run installs it)"
    runtime = home / "pulse-runtime"
    runtime.mkdir(mode=0o700)
    socket = runtime / "native"
    env = {**os.environ, "HOME": str(home), "XDG_RUNTIME_DIR": str(runtime)}
    env.pop("PULSE_SERVER", None)
    log = open(home / "pulseaudio.log", "wb")  # noqa: SIM115  (closed below)
    proc = subprocess.Popen(
        [pulseaudio, "-n", "--daemonize=no", "--exit-idle-time=-1", "--disallow-exit", "--use-pid-file=no",
         "--disable-shm", "--log-target=stderr", "--log-level=warning",
         "-L", f"module-null-sink sink_name=nosoundcard rate={rate_hz}",
         "-L", f"module-native-protocol-unix socket={socket} auth-anonymous=1"],
        env=env, stdout=log, stderr=log, start_new_session=True)
    try:
        deadline = time.monotonic() + 20.0
        while not socket.exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("pulseaudio did not start: " + (home / "pulseaudio.log").read_text())
            time.sleep(0.05)
        yield socket
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def sound_env(home: Path, socket: Path, raw: Path) -> dict[str, str]:
    """Environment for a process whose ALSA default device records to ``raw`` via the server."""
    (home / ".asoundrc").write_text(ASOUNDRC.format(socket=socket, raw=raw), encoding="utf-8")
    nowhere = home / "no-runtime"  # so ALSA's pulse hook does not replace our default device
    nowhere.mkdir(mode=0o700, exist_ok=True)
    env = {**os.environ, "HOME": str(home), "XDG_RUNTIME_DIR": str(nowhere)}
    env.pop("PULSE_SERVER", None)
    return env
