"""Play the breathing tone live, in step with the pacer (sounddevice / PortAudio).

:class:`SoundPrompt` opens an output stream whose callback renders each block from the pacer's
fullness at the moment that block will be heard: the beat-clock time now (``now_s()``, the
session's clock) plus the time PortAudio says the block's first sample needs to reach the
speaker (``outputBufferDacTime - currentTime``), so the stream's buffering does not make the
sound lag the pacer. :class:`~biofeedback.sound.BlockClock` keeps successive blocks contiguous,
:class:`~biofeedback.sound.BreathSynth` keeps the phase, so there are no clicks.

sounddevice is an optional extra (``pip install 'biofeedback[sound]'``) and needs the PortAudio
library (``apt-get install libportaudio2`` on Debian); without either, constructing a
:class:`SoundPrompt` raises :class:`~biofeedback.errors.SoundUnavailableError` saying so.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from types import ModuleType, TracebackType
from typing import Any, Final, Self

import numpy as np
import numpy.typing as npt

from biofeedback.errors import SoundUnavailableError
from biofeedback.sound import VOLUME, BlockClock, BreathSynth

__all__ = ["INSTALL_HINT", "BlockRenderer", "SoundPrompt", "load_sounddevice", "output_lead_s"]

log = logging.getLogger(__name__)

INSTALL_HINT: Final[str] = ("pip install 'biofeedback[sound]' (and, on Debian or Ubuntu, "
                            "apt-get install libportaudio2)")
SAMPLE_RATE_HZ: Final[float] = 48000.0  # the rate nearly every output device takes natively
MAX_LEAD_S: Final[float] = 1.0  # a reported output latency beyond this is not believed, s

FullnessAt = Callable[[npt.NDArray[np.float64]], npt.ArrayLike]


def load_sounddevice() -> ModuleType:
    """Import sounddevice, or raise :class:`SoundUnavailableError` naming what to install."""
    try:
        import sounddevice  # type: ignore[import-untyped, import-not-found, unused-ignore]  # no stubs
    except ImportError:
        raise SoundUnavailableError(f"sound needs the sounddevice package: {INSTALL_HINT}") from None
    except OSError:  # sounddevice is there but the PortAudio library is not
        raise SoundUnavailableError(f"sound needs the PortAudio library: {INSTALL_HINT}") from None
    module: ModuleType = sounddevice
    return module


def output_lead_s(current_s: float, dac_s: float, fallback_s: float) -> float:
    """How long until a block's first sample is heard, s: PortAudio's ``outputBufferDacTime -
    currentTime``, or ``fallback_s`` (the stream's latency) where a host API reports nonsense
    (zero times, a negative or huge lead)."""
    lead_s = float(dac_s) - float(current_s)
    if float(dac_s) == 0.0 or not (math.isfinite(lead_s) and 0.0 <= lead_s <= MAX_LEAD_S):
        return float(fallback_s)
    return lead_s


def _unavailable(what: str, exc: BaseException) -> SoundUnavailableError:
    return SoundUnavailableError(f"{what} ({exc}); check the output device, or play without --sound")


class BlockRenderer:
    """What the audio callback does, with no device: each block from the pacer at its play time.

    Parameters are those of :class:`SoundPrompt`. :meth:`block` takes the block's length and
    how long until it is heard, and returns its samples: the tone for ``fullness_at`` of the
    beat-clock times ``now_s() + speed * lead_s`` onward, contiguous with the block before.
    """

    def __init__(self, fullness_at: FullnessAt, now_s: Callable[[], float], *, speed: float = 1.0,
                 sample_rate_hz: float = SAMPLE_RATE_HZ, volume: float = VOLUME) -> None:
        self._fullness_at = fullness_at
        self._now_s = now_s
        self._speed = float(speed)
        self.synth = BreathSynth(sample_rate_hz, volume=volume)
        self.clock = BlockClock(sample_rate_hz, speed=speed)
        self.blocks = 0
        self.first_block_beat_s: float | None = None

    def block(self, frames: int, lead_s: float) -> npt.NDArray[np.float32]:
        """The next ``frames`` samples, to be heard ``lead_s`` seconds from now."""
        heard_s = float(self._now_s()) + self._speed * lead_s
        t_s = self.clock.block_times(heard_s, frames)
        out = self.synth.render(np.asarray(self._fullness_at(t_s), dtype=np.float64))
        if self.first_block_beat_s is None and frames:
            self.first_block_beat_s = float(t_s[0])
        self.blocks += 1
        return out


class SoundPrompt:
    """The breathing tone on the default output device, following ``fullness_at``.

    Parameters
    ----------
    fullness_at : callable
        Beat-clock times (ndarray, s) to fullness 0..1 (ndarray of the same length): the
        pacer's ``fullness_at``. Called from the audio thread, once per block; it must be
        quick and safe to call while the session requests pace changes.
    now_s : callable
        The beat-clock time now, s (the session's smooth clock). Called from the audio thread.
    speed : float
        Beat-clock seconds per second (1 live; a replay at 10x passes 10).
    sample_rate_hz : float
        Output sample rate, Hz.
    volume : float
        Peak amplitude when full, 0..1 of full scale.
    device : int or str, optional
        PortAudio output device (index or name); None for the system default.
    latency : float or str
        The stream's buffering, s, or PortAudio's "high" / "low". The lead is compensated
        either way; "high" gives the fewest underruns on a busy machine.

    Raises
    ------
    SoundUnavailableError
        sounddevice or PortAudio is missing (the message says what to install), or the output
        device cannot be opened.

    Notes
    -----
    Use as a context manager (or call :meth:`start` and :meth:`close`). ``lead_s`` records
    the output latency the stream reports and ``blocks`` the blocks played; ``underruns``
    counts the blocks PortAudio reported an output underflow for.
    """

    def __init__(
        self,
        fullness_at: FullnessAt,
        now_s: Callable[[], float],
        *,
        speed: float = 1.0,
        sample_rate_hz: float = SAMPLE_RATE_HZ,
        volume: float = VOLUME,
        device: int | str | None = None,
        latency: float | str = "high",
    ) -> None:
        self._sd = load_sounddevice()
        self._renderer = BlockRenderer(fullness_at, now_s, speed=speed, sample_rate_hz=sample_rate_hz, volume=volume)
        self._error: BaseException | None = None
        self.underruns = 0
        self.lead_s: float | None = None
        try:
            self._stream = self._sd.OutputStream(
                samplerate=sample_rate_hz, channels=1, dtype="float32", device=device, latency=latency,
                callback=self._callback)
        except (self._sd.PortAudioError, ValueError) as exc:  # ValueError: no device of that name
            raise _unavailable("cannot open the sound output", exc) from None

    @property
    def sample_rate_hz(self) -> float:
        """Output sample rate, Hz."""
        return self._renderer.synth.sample_rate_hz

    @property
    def blocks(self) -> int:
        """Blocks played so far."""
        return self._renderer.blocks

    @property
    def first_block_beat_s(self) -> float | None:
        """Beat-clock time the first block was rendered for, s."""
        return self._renderer.first_block_beat_s

    @property
    def latency_s(self) -> float:
        """The output latency PortAudio reports for the stream, s."""
        return float(self._stream.latency)

    def start(self) -> None:
        """Start playing.

        Raises
        ------
        SoundUnavailableError
            The device would not start (the stream is closed again).
        """
        try:
            self._stream.start()
        except self._sd.PortAudioError as exc:
            self._stream.close()
            raise _unavailable("cannot start the sound output", exc) from None

    def close(self) -> None:
        """Stop playing and release the device; re-raises an error from the audio thread."""
        try:
            self._stream.stop()
        finally:
            self._stream.close()
        if self._error is not None:
            raise SoundUnavailableError(f"the sound stopped: {self._error}") from self._error

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def _callback(self, outdata: Any, frames: int, time_info: Any, status: Any) -> None:
        # the audio thread: no logging, no allocation beyond one block, nothing that blocks
        if status.output_underflow:
            self.underruns += 1
        try:
            lead_s = output_lead_s(time_info.currentTime, time_info.outputBufferDacTime, self._stream.latency)
            outdata[:, 0] = self._renderer.block(frames, lead_s)
        except Exception as exc:  # surfaced by close(); silence rather than noise meanwhile
            outdata.fill(0)
            self._error = exc
            raise self._sd.CallbackAbort from exc
        self.lead_s = lead_s
