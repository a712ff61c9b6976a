"""HRV metrics over RR-interval arrays: one module per metric family.

- :func:`time_domain` (mean RR/HR, SDNN, RMSSD, pNN50, ln RMSSD)
- :func:`frequency_domain` and :func:`power_spectrum` (VLF/LF/HF powers, LF/HF, peaks)

All functions take RR intervals in ms (beat times from their cumulative sum) and raise
:class:`biofeedback.errors.InvalidInputError` on unusable input.
"""

from __future__ import annotations

from biofeedback.hrv.frequency import frequency_domain, power_spectrum
from biofeedback.hrv.time_domain import time_domain

__all__ = ["frequency_domain", "power_spectrum", "time_domain"]
