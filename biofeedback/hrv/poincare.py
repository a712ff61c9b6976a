"""Poincaré-plot descriptors SD1 and SD2 (Brennan, Palaniswami & Kamen 2001)."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from biofeedback._validate import rr_array

__all__ = ["poincare"]


def poincare(rr_ms: npt.ArrayLike) -> dict[str, float]:
    """SD1 and SD2 of the Poincaré plot of ``rr_ms[i + 1]`` against ``rr_ms[i]``.

    Each pair is rotated by 45°: ``x1 = (rr[i] − rr[i+1]) / √2`` (across the line of
    identity) and ``x2 = (rr[i] + rr[i+1]) / √2`` (along it); SD1 and SD2 are their
    standard deviations with the N − 1 denominator over the N − 1 pairs (as NeuroKit2 and
    hrv-analysis; pyhrv uses N). So ``SD1 = SDSD / √2``, with SDSD the standard deviation
    (N − 1 denominator) of the successive differences, which is ``RMSSD / √2`` up to the
    mean of the differences.

    Parameters
    ----------
    rr_ms : array_like
        RR intervals, ms, at least 3 (two pairs).

    Returns
    -------
    dict of str to float
        ``sd1_ms``
            Short-term (beat-to-beat) variability, ms.
        ``sd2_ms``
            Long-term variability, ms.
        ``sd1_sd2``
            ``sd1_ms / sd2_ms``, dimensionless (NaN when SD2 is 0).

    Raises
    ------
    InvalidInputError
        If ``rr_ms`` is empty, not 1-D, has NaN/inf or non-positive values, or fewer than
        3 intervals.

    References
    ----------
    Brennan, M., Palaniswami, M., & Kamen, P. (2001). Do existing measures of Poincaré plot
    geometry reflect nonlinear features of heart rate variability? IEEE Trans. Biomed. Eng.
    48(11), 1342–1347.

    Examples
    --------
    >>> m = poincare([800.0, 850.0, 790.0, 900.0])
    >>> round(m["sd1_ms"], 3), round(m["sd2_ms"], 3)
    (60.964, 18.708)
    """
    rr = rr_array(rr_ms, min_count=3, what="poincare")
    x1 = (rr[:-1] - rr[1:]) / math.sqrt(2.0)
    x2 = (rr[:-1] + rr[1:]) / math.sqrt(2.0)
    sd1 = float(np.std(x1, ddof=1))
    sd2 = float(np.std(x2, ddof=1))
    return {"sd1_ms": sd1, "sd2_ms": sd2, "sd1_sd2": sd1 / sd2 if sd2 > 0.0 else math.nan}
