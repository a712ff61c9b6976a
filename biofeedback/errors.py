"""The one exception family of biofeedback.

Every error the package raises on purpose derives from :class:`BiofeedbackError`, and,
where one fits, from the matching builtin too (``InvalidInputError`` is a ``ValueError``),
so callers can catch either. The CLI turns any ``BiofeedbackError`` into one line on
stderr and a non-zero exit code; its message must say what is wrong and what to do.
"""

from __future__ import annotations

__all__ = [
    "BiofeedbackError",
    "BluetoothError",
    "BluetoothUnavailableError",
    "ConnectError",
    "DisplayUnavailableError",
    "EmulatorError",
    "FileFormatError",
    "InvalidInputError",
    "MalformedFrameError",
    "SoundUnavailableError",
    "SessionNotFoundError",
    "StoreError",
    "StrapChoiceError",
    "StrapNotFoundError",
]


class BiofeedbackError(Exception):
    """Base of every error raised by biofeedback on purpose."""

    exit_code: int = 1


class InvalidInputError(BiofeedbackError, ValueError):
    """An argument is unusable: empty, NaN, negative, or too short for the metric."""


class MalformedFrameError(BiofeedbackError, ValueError):
    """A Heart Rate Measurement notification does not follow the GATT specification."""


class FileFormatError(BiofeedbackError, ValueError):
    """A file could not be read as the format it claims to be."""


class BluetoothError(BiofeedbackError):
    """Something between us and the strap failed (adapter, BlueZ, radio, strap)."""

    exit_code = 2


class BluetoothUnavailableError(BluetoothError):
    """No usable Bluetooth adapter, or the BlueZ daemon is not running."""


class StrapNotFoundError(BluetoothError):
    """No heart-rate strap matching the request was found."""


class StrapChoiceError(BluetoothError):
    """Several straps are in range and none was named."""


class ConnectError(BluetoothError):
    """The strap was found but refused or dropped the connection attempt."""


class EmulatorError(BiofeedbackError):
    """The emulated BlueZ (private D-Bus bus, emulated strap) could not start or was misused."""


class DisplayUnavailableError(BiofeedbackError, RuntimeError):
    """The window prompt cannot open: no graphical display (or no Tk) on this machine."""

    exit_code = 2


class SoundUnavailableError(BiofeedbackError, RuntimeError):
    """Sound cannot be played: sounddevice or PortAudio is missing, or no output device works."""


class StoreError(BiofeedbackError, OSError):
    """The session store cannot be used: locked by another writer, damaged, not ours, too new."""


class SessionNotFoundError(StoreError, LookupError):
    """No session with the requested id in the store."""
