"""biofeedback: an HRV-biofeedback breathing trainer for Bluetooth LE heart-rate straps.

Not a medical device: for relaxation and practice only.

The core (decoding, beats, HRV, and later pacer and coach) is plain data in, plain data
out; the shell (sources, store, session, display, CLI) does the I/O. See README.md.

The public names below are loaded on first use (PEP 562), so that importing the package
(as ``python -m biofeedback --help`` does) does not load numpy.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> the module that defines it
_LAZY: dict[str, str] = {
    "Beat": "biofeedback.beats",
    "BeatClock": "biofeedback.beats",
    "BeatFlags": "biofeedback.beats",
    "Gap": "biofeedback.beats",
    "Measurement": "biofeedback.beats",
    "beat_times_s": "biofeedback.beats",
    "BiofeedbackError": "biofeedback.errors",
    "InvalidInputError": "biofeedback.errors",
    "MalformedFrameError": "biofeedback.errors",
    "HeartRateMeasurement": "biofeedback.hrm",
    "SensorContact": "biofeedback.hrm",
    "BreathGuide": "biofeedback.guide",
    "Coach": "biofeedback.coach",
    "BreathPattern": "biofeedback.pacer",
    "BreathState": "biofeedback.pacer",
    "Pacer": "biofeedback.pacer",
    "Preset": "biofeedback.pacer",
    "parse_preset": "biofeedback.pacer",
    "Controller": "biofeedback.protocols",
    "Decision": "biofeedback.protocols",
    "FixedPace": "biofeedback.protocols",
    "SteppedProtocol": "biofeedback.protocols",
}

__all__ = [
    "Beat",
    "BeatClock",
    "BeatFlags",
    "BiofeedbackError",
    "BreathGuide",
    "BreathPattern",
    "BreathState",
    "Coach",
    "Controller",
    "Decision",
    "FixedPace",
    "Gap",
    "HeartRateMeasurement",
    "InvalidInputError",
    "MalformedFrameError",
    "Measurement",
    "Pacer",
    "Preset",
    "SensorContact",
    "SteppedProtocol",
    "__version__",
    "beat_times_s",
    "parse_preset",
]

if TYPE_CHECKING:
    from biofeedback.beats import Beat, BeatClock, BeatFlags, Gap, Measurement, beat_times_s
    from biofeedback.coach import Coach
    from biofeedback.errors import BiofeedbackError, InvalidInputError, MalformedFrameError
    from biofeedback.guide import BreathGuide
    from biofeedback.hrm import HeartRateMeasurement, SensorContact
    from biofeedback.pacer import BreathPattern, BreathState, Pacer, Preset, parse_preset
    from biofeedback.protocols import Controller, Decision, FixedPace, SteppedProtocol


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'biofeedback' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
