"""biofeedback: an HRV-biofeedback breathing trainer for Bluetooth LE heart-rate straps.

Not a medical device: for relaxation and practice only.

The core (decoding, beats, HRV, and later pacer and coach) is plain data in, plain data
out; the shell (sources, store, session, display, CLI) does the I/O. See README.md.
"""

from biofeedback.beats import Beat, BeatClock, BeatFlags, Gap, Measurement, beat_times_s
from biofeedback.errors import BiofeedbackError, InvalidInputError, MalformedFrameError
from biofeedback.hrm import HeartRateMeasurement, SensorContact

__version__ = "0.1.0"

__all__ = [
    "Beat",
    "BeatClock",
    "BeatFlags",
    "BiofeedbackError",
    "Gap",
    "HeartRateMeasurement",
    "InvalidInputError",
    "MalformedFrameError",
    "Measurement",
    "SensorContact",
    "__version__",
    "beat_times_s",
]
