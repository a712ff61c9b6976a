"""HRV metrics over RR-interval arrays: one module per metric family.

- :func:`time_domain`: mean RR and HR, SDNN, RMSSD, pNN50, ln RMSSD
- :func:`frequency_domain`, :func:`power_spectrum`: VLF/LF/HF power, LF/HF, band peaks
- :func:`poincare`: SD1, SD2
- :func:`coherence`, :func:`coherence_detail`: HeartMath coherence ratio of the last 64 s
- :func:`rsa_amplitude`, :func:`rsa_summary_bpm`, :func:`breathing_rate`: per-breath
  peak-to-trough heart rate and the breathing rate read from the tachogram
- :func:`find_artifacts`, :func:`correct_artifacts` (from :mod:`biofeedback.artifacts`):
  clean the series before computing any of the above
- :class:`SlidingHRV` (from :mod:`biofeedback.hrv.sliding`): the same metrics over a
  sliding window, updated beat by beat

All take RR intervals in ms (beat times from their cumulative sum unless given) and raise
:class:`biofeedback.errors.InvalidInputError` on unusable input.

Examples
--------
>>> import numpy as np
>>> from biofeedback import hrv
>>> t = np.arange(300) * 1.0
>>> rr = 1000.0 + 50.0 * np.sin(2 * np.pi * 0.1 * t)  # breathing at 6 /min
>>> round(hrv.breathing_rate(rr), 1), hrv.frequency_domain(rr)["lf_ms2"] > 1000
(6.0, True)
"""

from __future__ import annotations

from biofeedback.artifacts import correct_artifacts, find_artifacts
from biofeedback.hrv.coherence import coherence, coherence_detail
from biofeedback.hrv.frequency import frequency_domain, power_spectrum
from biofeedback.hrv.poincare import poincare
from biofeedback.hrv.rsa import (
    RsaBreaths,
    breathing_rate,
    rsa_amplitude,
    rsa_summary_bpm,
)
from biofeedback.hrv.sliding import SlidingHRV
from biofeedback.hrv.time_domain import time_domain

__all__ = [
    "RsaBreaths",
    "SlidingHRV",
    "breathing_rate",
    "coherence",
    "coherence_detail",
    "correct_artifacts",
    "find_artifacts",
    "frequency_domain",
    "poincare",
    "power_spectrum",
    "rsa_amplitude",
    "rsa_summary_bpm",
    "time_domain",
]
