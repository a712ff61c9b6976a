"""Raw strap frames back into measurements, through the decoder itself.

A strap's notifications (0x2A37 payloads) are decoded by
:meth:`biofeedback.hrm.HeartRateMeasurement.from_bytes`. :class:`FrameDecoder` is the one
place that turns ``(arrival time, bytes)`` into a :class:`~biofeedback.beats.Measurement`
and counts, logs and sets apart a frame that does not decode (a
:class:`~biofeedback.beats.RejectedFrame`, which a store keeps with the others): the BLE
source uses it on every notification as it arrives, and a stored session replays its
frames through it, so a fix of the decoder re-applies to old sessions, rejected frames
included.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator

from biofeedback.beats import Measurement, RejectedFrame
from biofeedback.errors import MalformedFrameError
from biofeedback.hrm import HeartRateMeasurement

__all__ = ["FrameDecoder"]

log = logging.getLogger(__name__)


class FrameDecoder:
    """Decodes raw 0x2A37 frames; a malformed one is counted, logged and skipped.

    Parameters
    ----------
    origin : str
        Where the frames come from, for the log ("Polar H10 ...", "session 12").

    Attributes
    ----------
    malformed_frames : int
        Frames that did not decode so far. The first is logged as a warning, the rest
        at debug level.

    Examples
    --------
    >>> decoder = FrameDecoder("test")
    >>> m = decoder.decode(1.5, bytes([0x10, 60, 0x00, 0x04]))
    >>> m.t_arrival_s, m.heart_rate_bpm, m.rr_ms
    (1.5, 60, (1000.0,))
    >>> decoder.decode(2.5, b"") is None, decoder.malformed_frames
    (True, 1)
    >>> decoder.read(3.5, b"\\x10")
    RejectedFrame(t_arrival_s=3.5, raw=b'\\x10', reason='frame 10 is truncated: no heart-rate field')
    """

    def __init__(self, origin: object = "the strap") -> None:
        self.origin = origin
        self.malformed_frames = 0

    def decode(self, t_arrival_s: float, payload: bytes) -> Measurement | None:
        """One frame as a measurement (raw bytes kept), or None when it does not decode.

        Parameters
        ----------
        t_arrival_s : float
            When it arrived, s on the source's clock.
        payload : bytes
            The 0x2A37 Heart Rate Measurement value.
        """
        got = self.read(t_arrival_s, payload)
        return got if isinstance(got, Measurement) else None

    def read(self, t_arrival_s: float, payload: bytes) -> Measurement | RejectedFrame:
        """One frame as a measurement (raw bytes kept), or as a rejected frame (counted
        and logged) when it does not decode; parameters as :meth:`decode`."""
        try:
            hrm = HeartRateMeasurement.from_bytes(payload)
        except MalformedFrameError as exc:
            self.malformed_frames += 1
            level = logging.WARNING if self.malformed_frames == 1 else logging.DEBUG
            log.log(level, "skipping malformed frame from %s: %s", self.origin, exc)
            return RejectedFrame(t_arrival_s=t_arrival_s, raw=bytes(payload), reason=str(exc))
        return Measurement(
            t_arrival_s=t_arrival_s,
            heart_rate_bpm=hrm.heart_rate_bpm,
            rr_ms=hrm.rr_ms,
            contact=hrm.contact,
            raw=bytes(payload),
        )

    def measurements(self, frames: Iterable[tuple[float, bytes]]) -> Iterator[Measurement]:
        """The measurements of ``(arrival time s, payload)`` frames, in order, malformed ones skipped."""
        for t_arrival_s, payload in frames:
            m = self.decode(t_arrival_s, payload)
            if m is not None:
                yield m
