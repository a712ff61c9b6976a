"""A soft tone that breathes: louder and higher while breathing in, falling while breathing out.

The pacer's ``fullness`` (0 empty .. 1 full, one value per output sample) drives a low tone
with two soft harmonics. Fullness maps smoothly to

- pitch: ``low_hz * pitch_ratio ** fullness`` (110 Hz empty to 165 Hz full, a fifth, by default);
- loudness: ``volume * (floor + (1 - floor) * fullness)``: never silent, so the sound is one
  continuous thing, and never beyond ``volume`` (full scale is 1);
- brightness: the harmonics grow a little as the lungs fill.

Holds keep fullness constant, so the tone holds steady. The oscillator's phase is carried from
one block to the next (the streaming state of :class:`BreathSynth`), and the frequency is
integrated per sample, so a continuous fullness curve gives a click-free sound at block
boundaries and at pace changes alike. Rendering in blocks equals rendering in one go.

:class:`BlockClock` gives the beat-clock time of each sample of a block from a measured start
time (the caller's estimate of when the block will be heard), keeping successive blocks
contiguous and pulling gently toward the measurement, so callback jitter never makes the
fullness curve step.

The core takes numbers and returns numbers: no clock, no audio device, no files.

References
----------
Lehrer, P. M., & Gevirtz, R. (2014). Heart rate variability biofeedback: how and why does it
work? Frontiers in Psychology, 5, 756 (paced breathing guided by sound or light).
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np
import numpy.typing as npt

from biofeedback._validate import check_positive, finite_array
from biofeedback.errors import InvalidInputError

__all__ = ["BlockClock", "BreathSynth"]

LOW_HZ: Final[float] = 110.0  # Hz, the tone with empty lungs (A2)
PITCH_RATIO: Final[float] = 1.5  # full / empty pitch: a fifth up (165 Hz)
FLOOR: Final[float] = 0.15  # loudness with empty lungs, as a share of the loudness when full
VOLUME: Final[float] = 0.3  # peak amplitude when full, share of full scale (1.0)
HARMONICS: Final[tuple[float, ...]] = (1.0, 0.3, 0.1)  # amplitudes of partials 1, 2, 3 when full
BRIGHTNESS_FLOOR: Final[float] = 0.4  # harmonic amplitudes with empty lungs, share of full


def _share(value: float, name: str) -> float:
    v = float(value)
    if not math.isfinite(v) or not 0.0 <= v <= 1.0:
        raise InvalidInputError(f"{name} must be between 0 and 1, got {value!r}")
    return v


class BreathSynth:
    """Render the breathing tone block by block, phase-continuous.

    Parameters
    ----------
    sample_rate_hz : float
        Output sample rate, Hz.
    low_hz : float
        Fundamental with empty lungs (fullness 0), Hz.
    pitch_ratio : float
        Fundamental when full divided by ``low_hz`` (>= 1; 1 keeps the pitch fixed).
    volume : float
        Loudness when full, 0..1 of full scale: the samples stay within +-volume (the
        partials' crests do not coincide, so the tone's peak is about 0.8 of it).
    floor : float
        Loudness with empty lungs as a share of the loudness when full, 0..1.

    Raises
    ------
    InvalidInputError
        A parameter out of range, or the highest partial at or above the Nyquist frequency.

    Examples
    --------
    >>> import numpy as np
    >>> synth = BreathSynth(sample_rate_hz=8000.0)
    >>> y = synth.render(np.linspace(0.0, 1.0, 8000))
    >>> y.dtype, y.shape, bool(np.abs(y).max() <= 0.3)
    (dtype('float32'), (8000,), True)
    """

    def __init__(
        self,
        sample_rate_hz: float = 48000.0,
        *,
        low_hz: float = LOW_HZ,
        pitch_ratio: float = PITCH_RATIO,
        volume: float = VOLUME,
        floor: float = FLOOR,
    ) -> None:
        self._rate_hz = check_positive(sample_rate_hz, "sample_rate_hz", "Hz")
        self._low_hz = check_positive(low_hz, "low_hz", "Hz")
        self._ratio = check_positive(pitch_ratio, "pitch_ratio", "(a ratio)")
        if self._ratio < 1.0:
            raise InvalidInputError(f"pitch_ratio must be at least 1 (the tone rises as you breathe in), got {pitch_ratio!r}")
        self._volume = _share(volume, "volume")
        self._floor = _share(floor, "floor")
        top_hz = self._low_hz * self._ratio * len(HARMONICS)
        if top_hz >= self._rate_hz / 2:
            raise InvalidInputError(
                f"sample_rate_hz {self._rate_hz:g} is too low for a {top_hz:g} Hz partial: use at least {2 * top_hz:g} Hz"
            )
        self._norm = 1.0 / sum(HARMONICS)
        self._phase_cycles = 0.0  # oscillator phase at the next sample, cycles in [0, 1)

    @property
    def sample_rate_hz(self) -> float:
        """Output sample rate, Hz."""
        return self._rate_hz

    @property
    def phase_cycles(self) -> float:
        """Oscillator phase at the next sample to render, cycles in [0, 1) (the streaming state)."""
        return self._phase_cycles

    def pitch_hz(self, fullness: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Fundamental frequency for each fullness value, Hz (fullness clipped to 0..1)."""
        x = np.clip(np.asarray(fullness, dtype=np.float64), 0.0, 1.0)
        return np.asarray(self._low_hz * self._ratio**x, dtype=np.float64)

    def amplitude(self, fullness: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Peak amplitude of the tone for each fullness value, share of full scale."""
        x = np.clip(np.asarray(fullness, dtype=np.float64), 0.0, 1.0)
        return np.asarray(self._volume * (self._floor + (1.0 - self._floor) * x), dtype=np.float64)

    def render(self, fullness: npt.ArrayLike) -> npt.NDArray[np.float32]:
        """The next block of sound, one output sample per fullness value.

        Parameters
        ----------
        fullness : array_like
            Fullness of the lungs, 0 (empty) .. 1 (full), one value per output sample, in
            order; values outside 0..1 are clipped. It should be a continuous curve sampled at
            ``sample_rate_hz`` (the pacer's ``fullness_at`` of the samples' beat-clock times).

        Returns
        -------
        ndarray of float32
            The samples, in -``volume`` .. ``volume``.

        Raises
        ------
        InvalidInputError
            Not a 1-D array of finite numbers.
        """
        x = np.clip(finite_array(fullness, name="fullness", holds="fullness values 0..1", what="BreathSynth.render"),
                    0.0, 1.0)
        n = x.size
        if n == 0:
            return np.zeros(0, dtype=np.float32)
        step_cycles = self._low_hz * self._ratio**x / self._rate_hz
        # phase of sample k: the carried phase plus the steps of the samples before it
        cycles = np.empty(n)
        cycles[0] = 0.0
        np.cumsum(step_cycles[:-1], out=cycles[1:])
        cycles += self._phase_cycles
        self._phase_cycles = float((cycles[-1] + step_cycles[-1]) % 1.0)
        angle = 2.0 * np.pi * cycles
        s1 = np.sin(angle)
        c1 = np.cos(angle)
        s2 = 2.0 * s1 * c1  # sin 2a
        s3 = s1 * (3.0 - 4.0 * s1 * s1)  # sin 3a
        bright = BRIGHTNESS_FLOOR + (1.0 - BRIGHTNESS_FLOOR) * x
        tone = HARMONICS[0] * s1 + bright * (HARMONICS[1] * s2 + HARMONICS[2] * s3)
        out = (self._norm * self.amplitude(x)) * tone
        return out.astype(np.float32)


class BlockClock:
    """Beat-clock times of the samples of successive output blocks, contiguous and smooth.

    An audio callback measures when its block will be heard (on the beat clock) with the
    jitter of the callback's wake-up. Using each measurement as is would make the fullness
    curve step a little at every block. Instead each block starts where the previous one
    ended, pulled toward the measurement by ``correction`` of the difference; a difference
    larger than ``max_error_s`` (the session paused, the clock jumped) is taken at once.

    Parameters
    ----------
    sample_rate_hz : float
        Output sample rate, Hz.
    speed : float
        Beat-clock seconds per second of sound (1 live; more for a faster replay).
    correction : float
        Share of the measured error corrected per block, 0..1 (0.05: about 20 blocks).
    max_error_s : float
        Errors beyond this, s, are taken at once rather than smoothed.

    Examples
    --------
    >>> clock = BlockClock(1000.0)
    >>> clock.block_times(10.0, 3).tolist()
    [10.0, 10.001, 10.002]
    >>> round(float(clock.block_times(10.0131, 2)[0]), 6)  # due at 10.003, measured 10.1 ms late
    10.003505
    """

    def __init__(self, sample_rate_hz: float, *, speed: float = 1.0, correction: float = 0.05,
                 max_error_s: float = 0.5) -> None:
        self._rate_hz = check_positive(sample_rate_hz, "sample_rate_hz", "Hz")
        self._speed = check_positive(speed, "speed", "beat-clock seconds per second")
        self._correction = _share(correction, "correction")
        self._max_error_s = check_positive(max_error_s, "max_error_s", "s")
        self._next_s: float | None = None

    @property
    def next_s(self) -> float | None:
        """Beat-clock time of the next sample if blocks stay contiguous, s (None before the first)."""
        return self._next_s

    def block_times(self, measured_start_s: float, n_samples: int) -> npt.NDArray[np.float64]:
        """Beat-clock times of a block's ``n_samples`` samples, s.

        Parameters
        ----------
        measured_start_s : float
            When the block's first sample will be heard, on the beat clock, as measured, s.
        n_samples : int
            Samples in the block.
        """
        measured = float(measured_start_s)
        if not math.isfinite(measured):
            raise InvalidInputError(f"measured_start_s must be a finite time in s, got {measured_start_s!r}")
        if n_samples < 0:
            raise InvalidInputError(f"n_samples must be zero or more, got {n_samples!r}")
        if self._next_s is None or abs(measured - self._next_s) > self._max_error_s:
            start = measured
        else:
            start = self._next_s + self._correction * (measured - self._next_s)
        step_s = self._speed / self._rate_hz
        self._next_s = start + n_samples * step_s
        return np.asarray(start + np.arange(n_samples) * step_s, dtype=np.float64)
