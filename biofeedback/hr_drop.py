"""The heart-rate drop of a session: baseline minus final heart rate.

One definition for the three places that report it: a session's outcome
(:class:`biofeedback.outcome.SessionOutcome`), a stored session's row
(:class:`biofeedback.store.StoredSession`) and the history's rows and figures
(:mod:`biofeedback.history`). It is light (no numpy, no scipy) so that the store can use it.
"""

from __future__ import annotations


def hr_drop_bpm(baseline_hr_bpm: float | None, final_hr_bpm: float | None) -> float | None:
    """Baseline minus final heart rate, beats/min (positive: it fell); None if either is None.

    >>> hr_drop_bpm(72.0, 66.5), hr_drop_bpm(None, 66.5)
    (5.5, None)
    """
    if baseline_hr_bpm is None or final_hr_bpm is None:
        return None
    return baseline_hr_bpm - final_hr_bpm


def hr_drop_pct(baseline_hr_bpm: float | None, final_hr_bpm: float | None) -> float | None:
    """The drop as a percentage of the baseline heart rate; None if either is None or the
    baseline is 0.

    >>> hr_drop_pct(80.0, 72.0), hr_drop_pct(0.0, 72.0)
    (10.0, None)
    """
    drop = hr_drop_bpm(baseline_hr_bpm, final_hr_bpm)
    if drop is None or not baseline_hr_bpm:
        return None
    return 100.0 * drop / baseline_hr_bpm
