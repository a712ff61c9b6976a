"""The evidence the coach weighs: each breath's heart-rate swing, and the pace that maximises it.

Three pieces, all numbers in, numbers out:

* :func:`corrected_beats`: the artefact-corrected beats of a stretch of the beat chain
  (:func:`biofeedback.artifacts.correct_artifacts_with_report`, the Kubios method), on the
  beat clock, with the share of intervals that had to be corrected.
* :func:`breath_evidence`: one breath's swing, read as the oscillation *locked to the
  prompt*: the instantaneous heart rate of the beats inside the breath is regressed on
  ``1, t, cos 2πφ, sin 2πφ`` with ``φ`` the prompt's phase (0 at the inhale onset), and the
  swing is the peak-to-trough of the fitted sinusoid, ``2·√(a² + b²)`` beats/min. Unlike the
  max − min of the beats (:func:`biofeedback.hrv.rsa_amplitude`), it is not inflated by
  beat-to-beat noise, and it ignores rhythms at other rates (Mayer waves, the person's own
  breathing when they do not follow).
* :func:`lock_share`: how much of the heart-rate variance of the last breaths the prompt's
  rhythm explains (R² of the same regression over several breaths). A person who follows
  the prompt at a slow pace has most of their heart-rate variance at the prompt's rate
  (respiratory sinus arrhythmia; Lehrer, Vaschillo & Vaschillo 2000); one who breathes on
  their own has next to none there.
* :func:`fit_peak`: the pace of the largest swing from *every* breath so far, a weighted,
  kernel-localised quadratic fit of swing against pace, with a delta-method standard error
  of the peak. A single breath's swing is noisy and the curve is broad near its peak
  (Hirsch & Bishop 1981; Vaschillo et al. 2002), so no pace is judged on one breath.

References
----------
Hirsch, J. A., & Bishop, B. (1981). Respiratory sinus arrhythmia in humans: how breathing
pattern modulates heart rate. Am. J. Physiol. 241, H620–H629.
Lehrer, P. M., Vaschillo, E., & Vaschillo, B. (2000). Resonant frequency biofeedback training
to increase cardiac variability. Appl. Psychophysiol. Biofeedback 25, 177–191.
Vaschillo, E., Lehrer, P., Rishe, N., & Konstantinov, M. (2002). Heart rate variability
biofeedback as a method for assessing baroreflex function. Appl. Psychophysiol. Biofeedback
27, 1–27.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from biofeedback.artifacts import MIN_INTERVALS, correct_artifacts_with_report

__all__ = [
    "BreathEvidence",
    "PeakFit",
    "breath_evidence",
    "corrected_beats",
    "fit_peak",
    "lock_share",
    "smooth_swing",
]

FloatArray = npt.NDArray[np.float64]

_GRID_BLOCK: Final[int] = 16  # grid paces of the swing curve computed at once (bounds the work arrays)
MIN_BREATH_BEATS: Final[int] = 5  # beats a breath needs for its swing to be read
TWO_PI: Final[float] = 2.0 * math.pi


@dataclass(frozen=True, slots=True)
class BreathEvidence:
    """What one breath of the prompt showed about the heart.

    Attributes
    ----------
    onset_s, end_s : float
        The breath, inhale onset to the next inhale onset, s on the beat clock.
    pace_bpm : float
        The prompt's pace during it, breaths/min.
    swing_bpm : float
        Peak-to-trough heart rate of the oscillation locked to the prompt, beats/min.
    phase_rad : float
        Phase of that oscillation against the prompt: how far into the breath heart rate
        peaks (0: at the inhale onset; positive: later), radians in (−π, π].
    mean_hr_bpm : float
        Mean instantaneous heart rate of the breath's beats, beats/min.
    n_beats : int
        Beats inside the breath.
    corrected_share : float
        Share of those beats whose interval artefact correction changed, 0–1.
    locked_share : float
        Share of the heart rate's variance about a linear trend that the prompt-locked
        oscillation explains, over the beats ``swing_bpm`` is read from (this breath, or the
        run it ends): a partial R², 0–1. Low when the heart did not follow (the person
        lapsed in the run, or noise swamped the swing); NaN when the heart rate is exactly
        linear in time. Pure noise reads about ``2 / (n − 2)`` on ``n`` beats (0.05 on the
        ~40 beats of a 3-breath run).
    """

    onset_s: float
    end_s: float
    pace_bpm: float
    swing_bpm: float
    phase_rad: float
    mean_hr_bpm: float
    n_beats: int
    corrected_share: float
    locked_share: float


@dataclass(frozen=True, slots=True)
class PeakFit:
    """The pace of the largest swing, estimated from the breaths so far.

    Attributes
    ----------
    peak_bpm : float
        Estimated pace of the largest swing, breaths/min, within the visited paces.
    peak_swing_bpm : float
        The fitted swing there, beats/min.
    se_bpm : float
        Standard error of ``peak_bpm``, breaths/min (``inf`` when the fit has no peak inside
        the visited paces).
    curved : bool
        True when the fitted curve bends down with its peak inside the visited paces.
    n_breaths : int
        Breaths that carried weight in the fit.
    """

    peak_bpm: float
    peak_swing_bpm: float
    se_bpm: float
    curved: bool
    n_breaths: int


def corrected_beats(t_s: FloatArray, rr_ms: FloatArray) -> tuple[FloatArray, FloatArray, npt.NDArray[np.bool_]]:
    """The artefact-corrected beats of a stretch of the beat chain.

    Parameters
    ----------
    t_s : ndarray
        Beat times, s on the beat clock (the beat ending each interval), increasing. Beats
        may be missing (a live artefact check skipped them): times are kept as given.
    rr_ms : ndarray
        The intervals as measured, ms, one per beat. The stretch must not span a gap.

    Returns
    -------
    t_s, nn_ms, corrected : ndarray
        The corrected beats (a missed beat is split, an extra one merged, so their number
        may differ), their times (s), and whether each was changed. A corrected beat's time
        is placed by the corrected intervals' cumulative sum, mapped onto the given beat
        times piecewise linearly (so a skipped stretch stays where it was). Fewer than
        :data:`~biofeedback.artifacts.MIN_INTERVALS` intervals are returned unchanged (the
        method needs context).
    """
    if rr_ms.size < MIN_INTERVALS:
        return t_s, rr_ms, np.zeros(rr_ms.size, dtype=np.bool_)
    nn, report, _ = correct_artifacts_with_report(rr_ms)
    flagged = np.asarray(report.is_artifact, dtype=np.bool_)
    if not flagged.any():
        return t_s, rr_ms, flagged
    if nn.size == rr_ms.size:
        return t_s, nn, flagged
    chain = np.cumsum(rr_ms)
    t_nn = np.interp(np.cumsum(nn) * (chain[-1] / float(np.sum(nn))), chain, t_s)
    # a corrected beat lies inside the span of an interval that was flagged
    span_end = t_s[flagged]
    span_start = span_end - rr_ms[flagged] / 1000.0
    tol = 1e-6
    inside = (t_nn[:, None] > span_start[None, :] + tol) & (t_nn[:, None] <= span_end[None, :] + tol)
    return t_nn, nn, inside.any(axis=1)


def _design(t_s: FloatArray, phase: FloatArray, trend: int) -> FloatArray:
    tc = t_s - float(np.mean(t_s))
    span = max(float(np.ptp(t_s)), 1e-9)
    cols = [np.ones_like(t_s)] + [(tc / span) ** k for k in range(1, trend + 1)]
    cols += [np.cos(TWO_PI * phase), np.sin(TWO_PI * phase)]
    return np.column_stack(cols)


def _sinusoid_fit(x: FloatArray, hr_bpm: FloatArray, n_trend: int) -> tuple[FloatArray, float]:
    """Least squares of ``hr_bpm`` on the columns of ``x`` (``n_trend`` trend columns, then
    cos and sin of the prompt's phase): the coefficients, and the share of the variance about
    the trend that the sinusoid explains (a partial R², 0–1; NaN when nothing is left about
    the trend)."""
    coef, *_ = np.linalg.lstsq(x, hr_bpm, rcond=None)
    r_full = hr_bpm - x @ coef
    trend = x[:, :n_trend]
    r_trend = hr_bpm - trend @ np.linalg.lstsq(trend, hr_bpm, rcond=None)[0]
    ss = float(r_trend @ r_trend)
    share = max(0.0, 1.0 - float(r_full @ r_full) / ss) if ss > 1e-12 else math.nan
    return np.asarray(coef, dtype=np.float64), share


def breath_evidence(
    t_s: FloatArray,
    hr_bpm: FloatArray,
    corrected: npt.NDArray[np.bool_],
    onset_s: float,
    end_s: float,
    pace_bpm: float,
    *,
    from_s: float | None = None,
) -> BreathEvidence | None:
    """One breath's swing locked to the prompt, or None when too few beats fall inside.

    Parameters
    ----------
    t_s, hr_bpm : ndarray
        Beat times (s) and instantaneous heart rates (``60000 / nn_ms``, beats/min) of
        corrected beats covering the breath.
    corrected : ndarray of bool
        Whether each beat's interval was changed by artefact correction.
    onset_s, end_s : float
        The breath, s on the beat clock: the prompt's phase runs linearly from 0 at
        ``onset_s`` to 1 at ``end_s`` (the pacer keeps a pace for a whole breath).
    pace_bpm : float
        The prompt's pace during the breath, breaths/min.
    from_s : float, optional
        The start of a run of whole breaths at this same pace that ends with this one
        (s, an inhale onset ``k`` breaths back): the oscillation is then read over the whole
        run (a narrower band: Mayer waves and 1/f noise near the pace count less), and
        ``swing_bpm`` and ``phase_rad`` describe the run. Default: this breath alone.

    Returns
    -------
    BreathEvidence or None
        None when fewer than :data:`MIN_BREATH_BEATS` beats lie in ``[onset_s, end_s)``.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(0.0, 10.0, 0.8)
    >>> hr = 65.0 + 5.0 * np.cos(2 * np.pi * t / 10.0)
    >>> e = breath_evidence(t, hr, np.zeros(t.size, bool), 0.0, 10.0, 6.0)
    >>> round(e.swing_bpm, 2), round(abs(e.phase_rad), 2)
    (10.0, 0.0)
    """
    start = onset_s if from_s is None else min(from_s, onset_s)
    inside = (t_s >= start) & (t_s < end_s)
    n = int(np.count_nonzero(inside))
    if n < MIN_BREATH_BEATS:
        return None
    t = t_s[inside]
    hr = hr_bpm[inside]
    phase = (t - start) / (end_s - onset_s)
    coef, locked = _sinusoid_fit(_design(t, phase, 1), hr, 2)
    a, b = float(coef[-2]), float(coef[-1])
    return BreathEvidence(
        onset_s=float(onset_s),
        end_s=float(end_s),
        pace_bpm=float(pace_bpm),
        swing_bpm=2.0 * math.hypot(a, b),
        phase_rad=math.atan2(b, a),
        mean_hr_bpm=float(np.mean(hr)),
        n_beats=n,
        corrected_share=float(np.count_nonzero(corrected[inside])) / n,
        locked_share=locked,
    )


def lock_share(t_s: FloatArray, hr_bpm: FloatArray, phase_cycles: FloatArray) -> float:
    """Share of heart-rate variance explained by the prompt's rhythm, 0–1.

    The heart rate is regressed on a quadratic trend and on ``cos 2πφ, sin 2πφ`` of the
    prompt's phase ``φ`` (in cycles, continuous across breaths); the result is the share of
    the detrended variance the sinusoid explains (a partial R²).

    Parameters
    ----------
    t_s, hr_bpm : ndarray
        Beat times (s) and heart rates (beats/min), at least 8 beats.
    phase_cycles : ndarray
        The prompt's phase at each beat, cycles (breath index plus the fraction through it).

    Returns
    -------
    float
        0 (the prompt's rhythm is absent from the heart rate) to 1 (it is all there is);
        NaN with fewer than 8 beats or a flat heart rate.
    """
    if t_s.size < 8:
        return math.nan
    return _sinusoid_fit(_design(t_s, phase_cycles, 2), hr_bpm, 3)[1]


def smooth_swing(
    pace_bpm: FloatArray, swing_bpm: FloatArray, weight: FloatArray, grid_bpm: FloatArray, bandwidth_bpm: float
) -> tuple[FloatArray, FloatArray]:
    """The swing curve smoothed over pace: a kernel-weighted local quadratic at each grid pace.

    Parameters
    ----------
    pace_bpm, swing_bpm, weight : ndarray
        One entry per breath: pace (breaths/min), swing (beats/min), trust (≥ 0).
    grid_bpm : ndarray
        Paces to evaluate the curve at, breaths/min.
    bandwidth_bpm : float
        Standard deviation of the Gaussian kernel, breaths/min.

    Returns
    -------
    curve_bpm, n_eff : ndarray
        The smoothed swing at each grid pace (beats/min; NaN where the local fit is
        singular) and the summed kernel weight there (how many breaths' worth of evidence).

    Notes
    -----
    Breaths share paces (the prompt moves in steps), so the powers ``x^j`` and the kernel of
    ``x = pace − grid pace`` are computed once per distinct pace and gathered per breath:
    every term, and every sum over the breaths (a whole row at a time), is the same floating-
    point operation on the same numbers as the plain formula, so the result is the same bit
    for bit. The grid is taken :data:`_GRID_BLOCK` paces at a time, so that the work arrays
    of a day of breaths stay a few MB.
    """
    grid = np.asarray(grid_bpm, dtype=np.float64)
    paces, which = np.unique(pace_bpm, return_inverse=True)
    x = paces[None, :] - grid[:, None]  # (grid, distinct paces)
    kernel = np.exp(-0.5 * (x / bandwidth_bpm) ** 2)
    powers = [x**j for j in range(5)]
    m = np.empty((grid.size, 5))
    ty = np.empty((grid.size, 3))
    for lo in range(0, grid.size, _GRID_BLOCK):
        rows = slice(lo, lo + _GRID_BLOCK)
        # np.take gives C-ordered rows (``a[:, idx]`` would be Fortran-ordered, and a row sum over
        # it would add in another order): each row is then summed as the plain formula sums it
        k = weight[None, :] * np.take(kernel[rows], which, axis=1)
        for j in range(5):
            kx = k * np.take(powers[j][rows], which, axis=1)
            m[rows, j] = kx.sum(axis=1)
            if j < 3:
                ty[rows, j] = (kx * swing_bpm[None, :]).sum(axis=1)
    a = np.stack([m[:, 0:3], m[:, 1:4], m[:, 2:5]], axis=1)
    det = np.linalg.det(a)
    ok = np.abs(det) > 1e-9 * np.maximum(m[:, 0], 1e-12) ** 3
    curve = np.full(grid.size, math.nan)
    if ok.any():
        curve[ok] = np.linalg.solve(a[ok], ty[ok][:, :, None])[:, 0, 0]
    return curve, m[:, 0]


def fit_peak(
    pace_bpm: FloatArray,
    swing_bpm: FloatArray,
    weight: FloatArray,
    *,
    bandwidth_bpm: float,
    local_bpm: float = 1.0,
    min_evidence: float = 3.0,
) -> PeakFit | None:
    """The pace of the largest swing, from every breath so far.

    The swing curve is smoothed over pace (:func:`smooth_swing`) on a 0.05 breaths/min grid
    over the visited paces; its highest point where at least ``min_evidence`` breaths' worth
    of kernel weight lies is the peak. The peak is *curved* when the smoothed curve falls
    on both sides of it within the supported paces. Its standard error comes from a
    weighted quadratic over the breaths around it (kernel ``1.5 · bandwidth``): the
    covariance of the coefficients, by the delta method, for the vertex ``−β1 / 2β2``.

    Parameters
    ----------
    pace_bpm, swing_bpm, weight : ndarray
        One entry per breath: its pace (breaths/min), its swing (beats/min) and how much it
        is trusted (≥ 0).
    bandwidth_bpm : float
        Width of the smoothing kernel, breaths/min.
    min_evidence : float
        Kernel weight a grid pace needs to be a candidate, in breaths' worth of weight (a
        breath the coach trusts fully weighs 1; its weights shrink that, see ``Coach``).

    Returns
    -------
    PeakFit or None
        None when no pace has enough evidence.

    Examples
    --------
    >>> import numpy as np
    >>> p = np.repeat([5.0, 5.5, 6.0, 6.5, 7.0], 3)
    >>> s = 10.0 - 2.0 * (p - 5.8) ** 2
    >>> f = fit_peak(p, s, np.ones(p.size), bandwidth_bpm=0.6)
    >>> round(f.peak_bpm, 1), f.curved
    (5.8, True)
    """
    keep = weight > 1e-3
    if np.count_nonzero(keep) < 4:
        return None
    p, s, w = pace_bpm[keep], swing_bpm[keep], weight[keep]
    lo, hi = float(np.min(p)), float(np.max(p))
    grid = np.arange(round(lo, 2), hi + 1e-9, 0.05)
    if grid.size < 3:
        return None
    curve, n_eff = smooth_swing(p, s, w, grid, bandwidth_bpm)
    usable = (n_eff >= min_evidence) & np.isfinite(curve)
    if not usable.any():
        return None
    idx = np.flatnonzero(usable)
    k = idx[int(np.argmax(curve[idx]))]
    peak = float(grid[k])
    if 0 < k < grid.size - 1 and usable[k - 1] and usable[k + 1]:
        c0, c1, c2 = curve[k - 1], curve[k], curve[k + 1]
        den = c0 - 2.0 * c1 + c2
        if den < 0:
            peak += 0.05 * float(np.clip(0.5 * (c0 - c2) / den, -0.5, 0.5))
    drop = 0.02 * float(curve[k])
    curved = bool(np.any(curve[idx[idx < k]] < curve[k] - drop)) and bool(np.any(curve[idx[idx > k]] < curve[k] - drop))
    # refine: a kernel-weighted quadratic of log swing around the peak, re-centred on its vertex
    log_s = np.log(np.maximum(s, 0.2 * float(np.median(s))))
    center, se = peak, math.inf
    for _ in range(4):
        vertex, se = _log_vertex(p, log_s, w, center, local_bpm)
        if not math.isfinite(vertex):
            break
        vertex = min(max(vertex, lo), hi)
        moved = abs(vertex - center)
        center = vertex
        if moved < 0.01:
            break
    if math.isfinite(se) and lo < center < hi:
        at = smooth_swing(p, s, w, np.array([center]), bandwidth_bpm)[0][0]
        return PeakFit(center, float(at) if math.isfinite(at) else float(curve[k]), se, True, int(p.size))
    return PeakFit(peak, float(curve[k]), math.inf, curved, int(p.size))


def _log_vertex(p: FloatArray, log_s: FloatArray, w: FloatArray, center: float, bandwidth: float) -> tuple[float, float]:
    """Vertex of a kernel-weighted quadratic of log swing around ``center`` and its standard
    error (delta method), breaths/min; NaN and inf when the fit does not bend down."""
    x = p - center
    k = w * np.exp(-0.5 * (x / bandwidth) ** 2)
    design = np.column_stack([np.ones_like(x), x, x * x])
    sw = np.sqrt(k)
    coef, *_ = np.linalg.lstsq(design * sw[:, None], log_s * sw, rcond=None)
    b1, b2 = float(coef[1]), float(coef[2])
    n_eff = float(k.sum() ** 2 / max(float((k * k).sum()), 1e-300))
    if b2 >= 0.0 or n_eff <= 4.0:
        return math.nan, math.inf
    resid = log_s - design @ coef
    sigma2 = float((k * resid * resid).sum() / k.sum()) * n_eff / (n_eff - 3.0)
    xtwx = (design * (k * n_eff / k.sum())[:, None]).T @ design
    try:
        cov = sigma2 * np.linalg.inv(xtwx)
    except np.linalg.LinAlgError:
        return math.nan, math.inf
    grad = np.array([0.0, -1.0 / (2.0 * b2), b1 / (2.0 * b2 * b2)])
    var = float(grad @ cov @ grad)
    return center - b1 / (2.0 * b2), math.sqrt(var) if math.isfinite(var) and var >= 0.0 else math.inf
