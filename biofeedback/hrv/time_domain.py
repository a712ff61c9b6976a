"""Time-domain HRV metrics of an RR-interval series (Task Force 1996)."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from biofeedback._validate import rr_array

__all__ = ["time_domain"]


def time_domain(rr_ms: npt.ArrayLike) -> dict[str, float]:
    """Time-domain HRV metrics of an RR (NN) interval series.

    Parameters
    ----------
    rr_ms : array_like
        RR intervals, ms, in order, at least 2. Artefacts are not corrected here: clean
        the series first (``find_artifacts`` / ``correct_artifacts``) if it needs it.

    Returns
    -------
    dict of str to float
        ``mean_rr_ms``
            Mean RR interval, ms.
        ``mean_hr_bpm``
            Mean instantaneous heart rate, beats/min: the mean of ``60000 / rr_ms`` over the
            beats (not ``60000 / mean_rr_ms``, which is lower by Jensen's inequality).
        ``sdnn_ms``
            Standard deviation of the intervals with the N − 1 denominator, ms.
        ``rmssd_ms``
            Root mean square of the N − 1 successive differences, ms.
        ``pnn50_pct``
            NN50 (successive differences with absolute value > 50 ms) over the N − 1
            successive differences, percent. NeuroKit2 0.2.13 divides by N instead.
        ``ln_rmssd``
            Natural logarithm of RMSSD in ms (dimensionless; ``-inf`` if RMSSD is 0).

    Raises
    ------
    InvalidInputError
        If ``rr_ms`` is empty, not 1-D, has NaN/inf or non-positive values, or fewer than
        2 intervals.

    References
    ----------
    Task Force of the European Society of Cardiology and the North American Society of
    Pacing and Electrophysiology (1996). Heart rate variability: standards of measurement,
    physiological interpretation and clinical use. Circulation 93(5), 1043–1065.

    Examples
    --------
    >>> m = time_domain([800.0, 850.0, 790.0, 900.0])
    >>> round(m["mean_rr_ms"], 3), round(m["rmssd_ms"], 3), round(m["pnn50_pct"], 3)
    (835.0, 77.889, 66.667)
    """
    rr = rr_array(rr_ms, min_count=2, what="time_domain")
    diff = np.diff(rr)
    rmssd = math.sqrt(float(np.mean(diff * diff)))
    return {
        "mean_rr_ms": float(np.mean(rr)),
        "mean_hr_bpm": float(np.mean(60000.0 / rr)),
        "sdnn_ms": float(np.std(rr, ddof=1)),
        "rmssd_ms": rmssd,
        "pnn50_pct": 100.0 * float(np.count_nonzero(np.abs(diff) > 50.0)) / diff.size,
        "ln_rmssd": math.log(rmssd) if rmssd > 0.0 else -math.inf,
    }
