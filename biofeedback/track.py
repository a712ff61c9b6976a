"""Take your pace with you: the breathing tone written to a WAV file.

The same sound as ``train --sound`` (:class:`~biofeedback.sound.BreathSynth`), rendered from
a fullness curve on a clock that starts at 0 with the file, 16-bit mono PCM, so it plays on a
phone, in bed, with no strap and no computer. The file is private (mode 0600) like everything
we write. It is rendered into a hidden file beside it and renamed into place once whole, so an
interrupted render (Ctrl-C, a full disk) leaves no half track and an earlier file as it was.
"""

from __future__ import annotations

import logging
import os
import wave
from collections.abc import Callable
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt

from biofeedback._validate import check_positive
from biofeedback.errors import FileFormatError
from biofeedback.formats import check_writable, mark_wav, open_private
from biofeedback.sound import BreathSynth

__all__ = ["TRACK_RATE_HZ", "write_track"]

log = logging.getLogger(__name__)

TRACK_RATE_HZ: Final[int] = 44100  # Hz, what every phone plays
BLOCK_S: Final[float] = 1.0  # rendered and written a second at a time, s
FADE_S: Final[float] = 2.0  # fade in at the start and out at the end, s


def write_track(
    path: str | os.PathLike[str],
    fullness_at: Callable[[npt.NDArray[np.float64]], npt.ArrayLike],
    duration_s: float,
    *,
    sample_rate_hz: int = TRACK_RATE_HZ,
    volume: float = 0.5,
    force: bool = False,
) -> int:
    """Write the breathing tone for ``duration_s`` to a 16-bit mono WAV file at ``path``.

    Parameters
    ----------
    path : path-like
        The WAV file to write (replaced, once the new one is whole, if it exists; mode 0600).
    fullness_at : callable
        Times in s from the start of the track (ndarray) to fullness 0..1, e.g. a pacer's
        ``fullness_at`` with ``start_s=0``.
    duration_s : float
        Length of the track, s (> 0).
    sample_rate_hz : int
        Sample rate, Hz.
    volume : float
        Peak amplitude when full, 0..1 of full scale (the player's own volume does the rest).
    force : bool
        Replace an existing file that biofeedback did not write (a track we wrote is
        replaced without it: it carries our mark, see :func:`biofeedback.formats.mark_wav`).

    Returns
    -------
    int
        Samples written.

    Raises
    ------
    InvalidInputError
        ``duration_s`` not a positive number.
    FileFormatError
        The file cannot be written.
    """
    d = check_positive(duration_s, "duration_s", "seconds")
    rate = int(sample_rate_hz)
    synth = BreathSynth(float(rate), volume=volume)
    total = round(d * rate)
    block = int(BLOCK_S * rate)
    fade = min(int(FADE_S * rate), total // 2)
    check_writable(path, force=force)  # the user's path named in the error, before any work
    target = Path(path)
    partial = target.with_name(f".{target.name}.partial")
    try:
        with open_private(partial, "wb") as raw, wave.open(raw, "wb") as wav:
            wav.setnchannels(1)
            wav.setsampwidth(2)
            wav.setframerate(rate)
            for start in range(0, total, block):
                n = np.arange(start, min(start + block, total))
                y = synth.render(np.asarray(fullness_at(n / rate), dtype=np.float64)).astype(np.float64)
                if fade:  # raised-cosine fades: no click when the track starts or stops
                    y *= _fade(n, fade) * _fade(total - 1 - n, fade)
                wav.writeframes(np.round(y * 32767.0).astype("<i2").tobytes())
        mark_wav(partial)
        os.replace(partial, target)
    except BaseException as exc:
        partial.unlink(missing_ok=True)
        if isinstance(exc, OSError) and not isinstance(exc, FileFormatError):
            raise FileFormatError(f"cannot write {os.fspath(path)}: {exc.strerror}; choose another path") from None
        raise
    log.info("wrote %s: %d samples, %.1f s", os.fspath(path), total, total / rate)
    return total


def _fade(k: npt.NDArray[np.int_], fade: int) -> npt.NDArray[np.float64]:
    """Gain 0..1 rising over the first ``fade`` samples of ``k`` samples from an edge."""
    u = np.clip(k / fade, 0.0, 1.0)
    return np.asarray(0.5 - 0.5 * np.cos(np.pi * u), dtype=np.float64)
