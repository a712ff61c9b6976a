"""Where measurements come from: a BLE strap, a simulated person, a recorded file."""

from biofeedback.sources.base import (
    HeartRateSource,
    LinkLost,
    LinkRestored,
    Measurement,
    RejectedFrame,
    SourceEvent,
    SourceInfo,
)

__all__ = ["HeartRateSource", "LinkLost", "LinkRestored", "Measurement", "RejectedFrame", "SourceEvent", "SourceInfo"]
