"""Artefact detection and correction of RR intervals (Lipponen & Tarvainen, 2019).

A chest strap misses an R wave now and then (one RR interval twice as long), counts a
noise spike as a beat (one interval split in two short ones), or the heart itself fires
an ectopic beat (a short interval followed by a compensatory long one). A few such
intervals ruin RMSSD and the spectrum, so they are found and corrected before any metric.

The method is the one Kubios HRV uses:

    Lipponen JA, Tarvainen MP (2019). A robust algorithm for heart rate variability time
    series artefact correction using novel beat classification. Journal of Medical
    Engineering & Technology 43(3):173-181. doi:10.1080/03091902.2019.1640306

Detection, in brief. With ``dRR_i = RR_i - RR_{i-1}`` and ``mRR_i = RR_i - median11(RR)_i``
(negative values doubled), each series is divided by a time-varying threshold: ``alpha``
(5.2) times the quartile deviation ``(Q3 - Q1) / 2`` of its absolute values over the 91
surrounding beats. Because the thresholds follow the local spread of the series, the large
but smooth swings of slow breathing (respiratory sinus arrhythmia of 20-30 beats/min
peak-to-trough) raise the threshold instead of being flagged. A beat with ``|dRR| > 1``
(normalised) is a candidate; it is *ectopic* when its neighbours' dRR lie in the ectopic
regions of the (S11, S12) plane (constants ``c1 = 0.13``, ``c2 = 0.17``), *long* or
*short* when it lies in the long/short regions of the (S21, S22) plane or ``|mRR| > 3``;
a long interval close to a whole multiple of the local median is a *missed* beat, a short
one whose sum with the next is close to the median an *extra* beat.

Differences from the paper and from NeuroKit2's ``signal_fixpeaks(method="Kubios")``,
which this module was checked against (within one beat, every flag of one is near a flag
of the other on a seeded corruption of the nsrdb 60-min recording):

* Both thresholds have a floor of :data:`MIN_THRESHOLD_MS` (40 ms). Without it a very
  regular or coarsely sampled series (ECG at 128 Hz: RR in 7.8 ms steps) has a quartile
  deviation of a few ms, and sampling jitter of +-20 ms alternating from beat to beat
  passes for ectopic beats: on an hour of the nsr2db record nsr001 NeuroKit2 flags 220
  intervals, this module 68. Real artefacts change an interval by 100 ms or more, so
  the floor costs them nothing; a perfectly regular (simulated) series divides by 40,
  not by 0.
* The series is extended at each end by point reflection (two intervals, so the local
  trend continues and no jump is invented there), and the first interval is judged like
  the others (NeuroKit2 never flags it).
* A long interval is a missed beat when ``|RR / n - median| < Th2`` with
  ``n = max(2, round(RR / median))``: for ``n = 2`` this is the paper's rule, and it also
  recognises two or more missed beats in a row, which are then split into ``n`` parts.
* A long interval is also a missed beat, and a short one an extra beat, when it is
  flagged by ``|mRR| > 3`` alone (the paper asks for the S21/S22 test there too): at the
  ends of the series the S22 neighbours are guesses, and the sum tests decide.
* The classification is evaluated for all beats at once (vectorised), then grouped into
  events, so the two intervals around one displaced beat form *one* ectopic event
  (both intervals marked ``ECTOPIC``) instead of a "short" and an "ectopic" flag side by
  side; likewise both intervals around an extra beat are marked ``EXTRA``.

Short series: both windows shrink to the series (and at its ends), but the quartile
deviation needs context: with fewer than :data:`MIN_INTERVALS` (8) intervals one artefact
inflates its own threshold (a doubled interval in a synthetic series of 4-7 intervals
went unnoticed in 20 of 20 seeds; from 8 intervals it was found in 20 of 20), so shorter
input is refused with :class:`~biofeedback.errors.InvalidInputError`.

Correction (:func:`correct_artifacts`):

* missed beat: the long interval is split into ``n`` equal intervals (``n = 2`` for one
  missed beat); the total duration is kept;
* extra beat: the two short intervals are merged into one; the total duration is kept;
* ectopic beat: the displaced beat is moved to the middle of its neighbours, i.e. both
  intervals around it become their mean; the total duration is kept;
* long or short interval (and an ectopic beat at the very start): replaced by linear
  interpolation, over the beat index, between the nearest intervals that are not
  replaced; the total duration changes by the difference.

Correction is applied in passes: after each pass the corrected series is checked again,
until nothing is found, the number of findings stops falling, or :data:`MAX_PASSES` passes
have run. The :class:`ArtifactReport` describes the input (first pass).
"""

from __future__ import annotations

import enum
import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, NamedTuple, Protocol

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view

from biofeedback._validate import rr_array
from biofeedback.errors import InvalidInputError

__all__ = [
    "MIN_INTERVALS",
    "ArtifactKind",
    "ArtifactReport",
    "Correction",
    "Quality",
    "classify_artifacts",
    "correct_artifacts",
    "correct_artifacts_with_report",
    "find_artifacts",
    "quality",
    "window_quality",
]

logger = logging.getLogger(__name__)

ALPHA: Final[float] = 5.2  # threshold = ALPHA * quartile deviation, dimensionless
WINDOW_BEATS: Final[int] = 91  # beats in the threshold window
MEDIAN_BEATS: Final[int] = 11  # beats in the median filter of mRR
C1: Final[float] = 0.13  # slope of the ectopic decision boundary, dimensionless
C2: Final[float] = 0.17  # offset of the ectopic decision boundary, dimensionless
MIN_THRESHOLD_MS: Final[float] = 40.0  # floor on both thresholds (Th1, Th2), ms
MIN_INTERVALS: Final[int] = 8  # fewest intervals the method accepts (see module docstring)
MAX_PASSES: Final[int] = 3  # correction passes at most
_CHUNK_ROWS: Final[int] = 16384  # rows of a rolling window evaluated at once (memory)

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
Int8Array = npt.NDArray[np.int8]


class ArtifactKind(enum.IntEnum):
    """What is wrong with one RR interval.

    ``NONE`` is a normal interval. ``ECTOPIC`` marks both intervals around a displaced
    (premature or late) beat; ``EXTRA`` both short intervals around a beat that should
    not be there; ``MISSED`` one long interval that hides one or more beats; ``LONG`` and
    ``SHORT`` an interval too long or too short that fits none of the other patterns.
    """

    NONE = 0
    ECTOPIC = 1
    MISSED = 2
    EXTRA = 3
    LONG = 4
    SHORT = 5


@dataclass(frozen=True, eq=False)
class ArtifactReport:
    """The artefact class of every RR interval of a series.

    Attributes
    ----------
    kinds : ndarray of int8
        One :class:`ArtifactKind` value per input interval (read-only).
    """

    kinds: Int8Array

    @property
    def is_artifact(self) -> BoolArray:
        """True for every interval that is not normal, one per input interval."""
        return np.asarray(self.kinds != ArtifactKind.NONE, dtype=np.bool_)

    @property
    def counts(self) -> dict[str, int]:
        """Number of *intervals* of each kind, keyed by lower-case kind name.

        All five kinds are present (zero when absent); ``NONE`` is not counted. An
        ectopic or extra beat affects two intervals and so counts two.
        """
        tally = np.bincount(self.kinds.astype(np.intp), minlength=len(ArtifactKind))
        return {k.name.lower(): int(tally[k]) for k in ArtifactKind if k is not ArtifactKind.NONE}

    @property
    def share(self) -> float:
        """Fraction of the intervals flagged, 0-1 (0 for an empty report)."""
        n = self.kinds.size
        return float(np.count_nonzero(self.kinds)) / n if n else 0.0


@dataclass(frozen=True)
class Quality:
    """How much of a session (or window) is trustworthy.

    Attributes
    ----------
    n_intervals : int
        RR intervals examined.
    n_corrected : int
        Of those, intervals flagged as artefacts (and so changed by correction).
    share_corrected : float
        ``n_corrected / n_intervals``, 0-1.
    n_gaps : int
        Breaks of the beat chain (e.g. the link was lost) inside the span.
    gap_s : float
        Total time of those breaks inside the span, s.
    """

    n_intervals: int
    n_corrected: int
    share_corrected: float
    n_gaps: int
    gap_s: float

    @classmethod
    def from_counts(
        cls,
        n_intervals: int,
        n_corrected: int,
        gaps: Iterable[_Span] = (),
        *,
        start_s: float = -math.inf,
        end_s: float = math.inf,
    ) -> Quality:
        """The quality of a span from its interval counts and the gaps of the beat chain.

        Parameters
        ----------
        n_intervals : int
            RR intervals examined.
        n_corrected : int
            Of those, intervals flagged as artefacts.
        gaps : iterable of Gap
            Breaks of the beat chain (anything with ``start_s`` and ``end_s``, s).
        start_s, end_s : float
            The span on the beat clock, s; gaps are clipped to it (default: all count).
            A zero-length gap counts when it lies inside.

        Examples
        --------
        >>> from biofeedback.beats import Gap
        >>> Quality.from_counts(200, 3, [Gap(10.0, 12.5, "link lost")])
        Quality(n_intervals=200, n_corrected=3, share_corrected=0.015, n_gaps=1, gap_s=2.5)
        """
        n_gaps, gap_s = _gap_total(gaps, float(start_s), float(end_s))
        return cls(int(n_intervals), int(n_corrected), n_corrected / n_intervals if n_intervals else 0.0, n_gaps, gap_s)


class Correction(NamedTuple):
    """Result of :func:`correct_artifacts_with_report`.

    Attributes
    ----------
    nn_ms : ndarray of float64
        Corrected (normal-to-normal) intervals, ms.
    report : ArtifactReport
        The class of every input interval.
    quality : Quality
        Summary of the corrections and gaps.
    """

    nn_ms: FloatArray
    report: ArtifactReport
    quality: Quality


class _Span(Protocol):
    """Anything with a start and an end on the beat clock (e.g. biofeedback.beats.Gap)."""

    @property
    def start_s(self) -> float: ...

    @property
    def end_s(self) -> float: ...


@dataclass(frozen=True)
class _Params:
    alpha: float
    window_beats: int
    median_beats: int
    c1: float
    c2: float


# --------------------------------------------------------------------------- helpers


def _rolling(x: FloatArray, width: int, qs: tuple[float, ...]) -> list[FloatArray]:
    """Centred rolling quantiles of ``x`` over ``width`` (odd) samples.

    The window shrinks at the ends (like pandas ``rolling(center=True, min_periods=1)``).
    Quantiles use linear interpolation between order statistics.
    """
    n = x.size
    half = width // 2
    out = [np.empty(n) for _ in qs]
    if n > 2 * half:  # interior: full windows, evaluated in chunks to bound memory
        view = sliding_window_view(x, 2 * half + 1)
        for lo in range(0, view.shape[0], _CHUNK_ROWS):
            block = _full_window_quantiles(view[lo : lo + _CHUNK_ROWS], qs)
            for o, b in zip(out, block, strict=True):
                o[half + lo : half + lo + b.size] = b
        edges = [*range(half), *range(n - half, n)]
    else:
        edges = list(range(n))
    if edges:  # the shrinking windows, all at once
        idx = np.asarray(edges, dtype=np.intp)
        for o, v in zip(out, _edge_quantiles(x, idx, half, qs), strict=True):
            o[idx] = v
    return out


def _full_window_quantiles(rows: FloatArray, qs: tuple[float, ...]) -> list[FloatArray]:
    """``np.quantile(rows, q, axis=1)`` ("linear" method) for each ``q``, to the bit, faster.

    Every row has the same length ``m``, so the order statistics each quantile needs are the
    same columns for all rows: one :func:`numpy.partition` finds them, and numpy's own virtual
    index (``(m − 1) q``) and two-sided lerp combine them, as :func:`numpy.quantile`
    does (its cost is mostly overhead on the short rows here).
    """
    m = rows.shape[1]
    picks = []
    for q in qs:
        virtual = (m - 1) * q
        below = min(max(math.floor(virtual), 0), m - 1)
        picks.append((below, min(below + 1, m - 1), virtual - below))
    part = np.partition(rows, sorted({k for b, a, _ in picks for k in (b, a)}), axis=1)
    out = []
    for below, above, t in picks:
        a, b = part[:, below], part[:, above]
        diff = b - a
        out.append(b - diff * (1.0 - t) if t >= 0.5 else a + diff * t)
    return out


def _edge_quantiles(x: FloatArray, idx: npt.NDArray[np.intp], half: int, qs: tuple[float, ...]) -> list[FloatArray]:
    """``np.quantile(x[max(0, i - half) : i + half + 1], q)`` for each ``i`` in ``idx``, to the bit.

    The windows are sorted as rows padded with +inf, and each quantile is numpy's "linear"
    method (virtual index ``q (m - 1)``, then numpy's own two-sided lerp) on its row.
    """
    lo = np.maximum(idx - half, 0)
    m = np.minimum(idx + half + 1, x.size) - lo  # window lengths
    cols = np.arange(int(m.max()))
    take = lo[:, None] + cols[None, :]
    rows = np.where(cols[None, :] < m[:, None], x[np.minimum(take, x.size - 1)], np.inf)
    rows.sort(axis=1)
    r = np.arange(idx.size)
    out = []
    for q in qs:
        virtual = (m - 1).astype(np.float64) * q
        below = np.floor(virtual).astype(np.intp)
        above = np.minimum(below + 1, m - 1)
        t = virtual - below
        a, b = rows[r, below], rows[r, above]
        diff = b - a
        out.append(np.where(t >= 0.5, b - diff * (1.0 - t), a + diff * t))
    return out


def _threshold(x: FloatArray, p: _Params) -> FloatArray:
    """``alpha`` times the rolling quartile deviation of ``|x|``, floored, same unit as x."""
    q1, q3 = _rolling(np.abs(x), p.window_beats, (0.25, 0.75))
    return np.maximum(p.alpha * (q3 - q1) / 2.0, MIN_THRESHOLD_MS)


def _check_params(p: _Params) -> None:
    for name in ("window_beats", "median_beats"):
        value = getattr(p, name)
        if value < 1 or value % 2 == 0:
            raise InvalidInputError(f"{name} must be a positive odd number of beats, got {value}")
    if not p.alpha > 0:
        raise InvalidInputError(f"alpha must be positive, got {p.alpha}")
    if not (np.isfinite(p.c1) and np.isfinite(p.c2)):
        raise InvalidInputError(f"c1 and c2 must be finite numbers, got {p.c1}, {p.c2}")


class _Detail(NamedTuple):
    kinds: Int8Array  # per interval, grouped into events
    pair: BoolArray  # per interval: first of a two-interval event (ectopic or extra beat)
    parts: npt.NDArray[np.intp]  # per interval: beats a MISSED interval is split into


def _detect(rr: FloatArray, p: _Params) -> _Detail:
    """Classify every interval of ``rr`` (ms); vectorised, then grouped into events."""
    n = rr.size
    med = _rolling(rr, p.median_beats, (0.5,))[0]

    # dRR of the series extended by point reflection at each end (two intervals, the
    # trend continues): d[i + 1] is dRR of interval i, for i in -1 .. n + 1.
    ext = np.concatenate((2.0 * rr[0] - rr[2:0:-1], rr, 2.0 * rr[-1] - rr[-2:-4:-1]))
    d = np.diff(ext)
    th1 = _threshold(d[1 : n + 1], p)
    dn = d / np.concatenate((th1[:1], th1, th1[-1:], th1[-1:]))
    cur, prev, nxt, nxt2 = dn[1 : n + 1], dn[0:n], dn[2 : n + 2], dn[3 : n + 3]

    # Decision planes: S11 = S21 = dRR_i.
    s12 = np.where(cur > 0, np.maximum(prev, nxt), np.where(cur < 0, np.minimum(prev, nxt), 0.0))
    s22 = np.where(cur >= 0, np.minimum(nxt, nxt2), np.maximum(nxt, nxt2))

    mrr = rr - med
    mrr = np.where(mrr < 0, 2.0 * mrr, mrr)
    th2 = _threshold(mrr, p)
    mn = mrr / th2

    candidate = np.abs(cur) > 1
    ectopic = candidate & (
        ((cur > 1) & (s12 < -p.c1 * cur - p.c2)) | ((cur < -1) & (s12 > -p.c1 * cur + p.c2))
    )
    # Long/short candidates: every non-ectopic candidate, and the beat after it when
    # |dRR_{i+1}| < |dRR_{i+2}| (the paper's look-ahead).
    lookahead = candidate & ~ectopic & (np.abs(nxt) < np.abs(nxt2))
    longshort_candidate = (candidate & ~ectopic) | np.concatenate(([False], lookahead[:-1]))

    is_long = (cur > 1) & (s22 < -1)
    is_short = (cur < -1) & (s22 > 1)
    odd = is_long | is_short | (np.abs(mn) > 3)
    parts = np.maximum(2, np.rint(rr / med)).astype(np.intp)
    missed = (is_long | (mn > 3)) & (np.abs(rr / parts - med) < th2)
    pair_sum = rr + np.concatenate((rr[1:], [np.inf]))
    extra = (is_short | (mn < -3)) & (np.abs(pair_sum - med) < th2)

    raw = np.zeros(n, dtype=np.int8)
    ls = longshort_candidate & odd & ~ectopic
    raw[ls] = np.where(rr[ls] > med[ls], ArtifactKind.LONG, ArtifactKind.SHORT)
    raw[ls & missed] = ArtifactKind.MISSED
    raw[ls & extra] = ArtifactKind.EXTRA
    raw[ectopic] = ArtifactKind.ECTOPIC
    kinds, pair = _group(raw)
    return _Detail(kinds, pair, parts)


def _group(raw: Int8Array) -> tuple[Int8Array, BoolArray]:
    """Turn per-beat flags into events: a displaced or extra beat spans two intervals.

    Ectopic first (the interval before the flagged one is the other half of the pair),
    then extra (the flagged interval and the next), then the rest where still free.
    Returns the kinds and, per interval, whether it starts a two-interval event.
    """
    kinds = np.zeros_like(raw)
    pair = np.zeros(raw.size, dtype=np.bool_)
    n = raw.size
    for i in np.flatnonzero(raw == ArtifactKind.ECTOPIC):
        if kinds[i] != ArtifactKind.NONE:
            continue  # already the second half of the previous pair
        kinds[i] = ArtifactKind.ECTOPIC
        if i > 0 and kinds[i - 1] == ArtifactKind.NONE:
            kinds[i - 1] = ArtifactKind.ECTOPIC
            pair[i - 1] = True
    for i in np.flatnonzero(raw == ArtifactKind.EXTRA):
        if i + 1 < n and kinds[i] == ArtifactKind.NONE and kinds[i + 1] == ArtifactKind.NONE:
            kinds[i] = kinds[i + 1] = ArtifactKind.EXTRA
            pair[i] = True
    rest = (kinds == ArtifactKind.NONE) & (raw != ArtifactKind.NONE)
    # an extra beat whose partner was taken by another event is just a short interval
    kinds[rest] = np.where(raw[rest] == ArtifactKind.EXTRA, np.int8(ArtifactKind.SHORT), raw[rest])
    return kinds, pair


def _correct_once(rr: FloatArray, detail: _Detail) -> FloatArray:
    """One correction pass: split, merge, re-centre, interpolate (see module docstring)."""
    kinds, pair, parts = detail
    values = rr.copy()
    counts = np.ones(rr.size, dtype=np.intp)

    missed = kinds == ArtifactKind.MISSED
    counts[missed] = parts[missed]
    values[missed] = rr[missed] / parts[missed]

    first = np.flatnonzero(pair)  # first interval of each two-interval event
    extra = first[kinds[first] == ArtifactKind.EXTRA]
    values[extra] = rr[extra] + rr[extra + 1]  # merged ...
    counts[extra + 1] = 0  # ... into the first
    ectopic = first[kinds[first] == ArtifactKind.ECTOPIC]
    values[ectopic] = values[ectopic + 1] = (rr[ectopic] + rr[ectopic + 1]) / 2.0

    in_pair = pair | np.concatenate(([False], pair[:-1]))
    interp = (kinds != ArtifactKind.NONE) & ~missed & ~in_pair  # long, short, lone ectopic

    out = np.repeat(values, counts)
    bad = np.repeat(interp, counts)
    if bad.any():
        good = ~bad
        if not good.any():
            return out  # nothing to interpolate from: leave as is
        pos = np.arange(out.size)
        out[bad] = np.interp(pos[bad], pos[good], out[good])
    return out


def _params(alpha: float, window_beats: int, median_beats: int, c1: float, c2: float) -> _Params:
    p = _Params(float(alpha), int(window_beats), int(median_beats), float(c1), float(c2))
    _check_params(p)
    return p


_DEFAULT = _Params(ALPHA, WINDOW_BEATS, MEDIAN_BEATS, C1, C2)


# --------------------------------------------------------------------------- public API


def classify_artifacts(
    rr_ms: npt.ArrayLike,
    *,
    alpha: float = ALPHA,
    window_beats: int = WINDOW_BEATS,
    median_beats: int = MEDIAN_BEATS,
    c1: float = C1,
    c2: float = C2,
) -> ArtifactReport:
    """Classify every RR interval as normal or as one kind of artefact.

    Lipponen & Tarvainen (2019), J Med Eng Technol 43(3):173-181; see the module
    docstring for the method and where this implementation departs from it.

    Parameters
    ----------
    rr_ms : array_like
        RR intervals, ms, in recording order, at least :data:`MIN_INTERVALS` (8). Series
        shorter than the windows are handled by shrinking the windows to the series.
    alpha : float
        Threshold scale: threshold = ``alpha`` times the quartile deviation.
    window_beats : int
        Beats in the (centred) threshold window; odd.
    median_beats : int
        Beats in the (centred) median filter that gives mRR; odd.
    c1, c2 : float
        Slope and offset of the ectopic decision boundary in the (S11, S12) plane.

    Returns
    -------
    ArtifactReport
        One :class:`ArtifactKind` per input interval.

    Raises
    ------
    InvalidInputError
        ``rr_ms`` empty, not 1-D, NaN/inf, zero/negative or shorter than 8 intervals; or
        a parameter out of range.

    Examples
    --------
    >>> import numpy as np
    >>> rr = 900.0 + 50.0 * np.sin(np.arange(40) / 2)  # a smooth swing, ms
    >>> rr[20] *= 2.0  # a missed beat
    >>> rr = np.insert(rr, 31, 300.0); rr[30] -= 300.0  # an extra beat
    >>> report = classify_artifacts(rr)
    >>> [(int(i), ArtifactKind(report.kinds[i]).name) for i in np.flatnonzero(report.kinds)]
    [(20, 'MISSED'), (30, 'EXTRA'), (31, 'EXTRA')]
    >>> report.counts["extra"], round(report.share, 3)
    (2, 0.073)
    """
    rr = rr_array(rr_ms, min_count=MIN_INTERVALS, what="artefact detection")
    kinds = _detect(rr, _params(alpha, window_beats, median_beats, c1, c2)).kinds
    kinds.setflags(write=False)
    return ArtifactReport(kinds)


def find_artifacts(rr_ms: npt.ArrayLike) -> BoolArray:
    """True for every RR interval that is an artefact (default parameters).

    Parameters
    ----------
    rr_ms : array_like
        RR intervals, ms, at least 8.

    Returns
    -------
    ndarray of bool
        One per input interval.

    Examples
    --------
    >>> find_artifacts([800.0, 810, 790, 805, 1600, 795, 800, 810]).nonzero()[0].tolist()
    [4]
    """
    return classify_artifacts(rr_ms).is_artifact


def _correct(rr: FloatArray, p: _Params) -> tuple[FloatArray, ArtifactReport]:
    first = _detect(rr, p)
    report = ArtifactReport(first.kinds)
    first.kinds.setflags(write=False)
    nn, detail = rr, first
    found = int(np.count_nonzero(detail.kinds))
    for npass in range(MAX_PASSES):
        if found == 0:
            break
        nn = _correct_once(nn, detail)
        if npass + 1 == MAX_PASSES or nn.size < MIN_INTERVALS:
            break
        detail = _detect(nn, p)
        again = int(np.count_nonzero(detail.kinds))
        if again >= found:
            break
        found = again
    logger.debug("corrected %d of %d intervals", int(np.count_nonzero(report.kinds)), rr.size)
    return nn, report


def correct_artifacts(rr_ms: npt.ArrayLike) -> FloatArray:
    """Correct the artefacts of an RR series: the NN (normal-to-normal) intervals.

    Missed beats are split (``n`` equal parts), extra beats merged, ectopic beats moved to
    the middle of their neighbours (all three keep the total duration); long and short
    intervals are replaced by linear interpolation over the beat index. Detection is
    repeated on the corrected series (at most 3 passes). Method: Lipponen & Tarvainen
    (2019), J Med Eng Technol 43(3):173-181.

    Parameters
    ----------
    rr_ms : array_like
        RR intervals, ms, at least 8.

    Returns
    -------
    ndarray of float64
        NN intervals, ms. Its length differs from the input by the beats added for
        missed beats and removed for extra beats.

    Examples
    --------
    >>> correct_artifacts([800.0, 810, 790, 805, 1600, 795, 800, 810]).tolist()
    [800.0, 810.0, 790.0, 805.0, 800.0, 800.0, 795.0, 800.0, 810.0]
    """
    rr = rr_array(rr_ms, min_count=MIN_INTERVALS, what="artefact correction")
    return _correct(rr, _DEFAULT)[0]


def correct_artifacts_with_report(rr_ms: npt.ArrayLike, gaps: Iterable[_Span] = ()) -> Correction:
    """Correct the artefacts and say what was done.

    Parameters
    ----------
    rr_ms : array_like
        RR intervals, ms, at least 8.
    gaps : iterable of Gap
        Breaks of the beat chain in the session (anything with ``start_s`` and ``end_s``,
        s), for :attr:`Quality.n_gaps` and :attr:`Quality.gap_s`.

    Returns
    -------
    Correction
        ``(nn_ms, report, quality)``: the corrected intervals (ms), the class of every
        input interval, and the quality summary.

    Examples
    --------
    >>> nn, report, q = correct_artifacts_with_report([800.0, 810, 790, 805, 1600, 795, 800, 810])
    >>> report.counts["missed"], q.n_corrected, len(nn)
    (1, 1, 9)
    """
    rr = rr_array(rr_ms, min_count=MIN_INTERVALS, what="artefact correction")
    nn, report = _correct(rr, _DEFAULT)
    return Correction(nn, report, _quality(report.is_artifact, gaps))


def _gap_total(gaps: Iterable[_Span], start_s: float, end_s: float) -> tuple[int, float]:
    """Gaps that overlap ``[start_s, end_s]`` (a zero-length gap counts when inside), and
    their total time clipped to it, s."""
    n, total = 0, 0.0
    for g in gaps:
        g_start, g_end = float(g.start_s), float(g.end_s)
        lo, hi = max(g_start, start_s), min(g_end, end_s)
        if hi > lo or (g_start == g_end and start_s <= g_start <= end_s):
            n += 1
            total += max(hi - lo, 0.0)
    return n, total


def _quality(flags: BoolArray, gaps: Iterable[_Span], start_s: float = -math.inf, end_s: float = math.inf) -> Quality:
    return Quality.from_counts(int(flags.size), int(np.count_nonzero(flags)), gaps, start_s=start_s, end_s=end_s)


def quality(rr_ms: npt.ArrayLike, gaps: Iterable[_Span] = ()) -> Quality:
    """Quality of a whole session: share of intervals corrected, and its gaps.

    Parameters
    ----------
    rr_ms : array_like
        The session's RR intervals, ms, at least 8.
    gaps : iterable of Gap
        Breaks of the beat chain (anything with ``start_s`` and ``end_s``, s); all count.

    Returns
    -------
    Quality

    Examples
    --------
    >>> from biofeedback.beats import Gap
    >>> quality([800.0, 810, 790, 805, 1600, 795, 800, 810], gaps=[Gap(3.0, 5.5, "link lost")])
    Quality(n_intervals=8, n_corrected=1, share_corrected=0.125, n_gaps=1, gap_s=2.5)
    """
    return _quality(classify_artifacts(rr_ms).is_artifact, gaps)


def window_quality(
    rr_ms: npt.ArrayLike,
    *,
    start_s: float,
    end_s: float,
    gaps: Iterable[_Span] = (),
    is_artifact: npt.ArrayLike | None = None,
) -> Quality:
    """Quality of a window of beats: share of its intervals flagged, gap time inside it.

    Parameters
    ----------
    rr_ms : array_like
        The window's RR intervals, ms, oldest first.
    start_s, end_s : float
        The window's span on the beat clock, s (for beats at times ``t_s``:
        ``start_s = t_s[0] - rr_ms[0] / 1000``, ``end_s = t_s[-1]``). Gaps are clipped to it.
    gaps : iterable of Gap
        Breaks of the beat chain (anything with ``start_s`` and ``end_s``, s); only the
        parts inside the window count.
    is_artifact : array_like of bool, optional
        Flags of the window's intervals taken from a classification of the whole session
        (better: the detector then sees the context). When omitted the window is
        classified on its own (at least 8 intervals).

    Returns
    -------
    Quality

    Raises
    ------
    InvalidInputError
        Bad ``rr_ms``, ``end_s < start_s``, or ``is_artifact`` of another length.

    Examples
    --------
    >>> window_quality([800.0, 810, 790, 805], start_s=0.0, end_s=3.2,
    ...                is_artifact=[False, False, True, False])
    Quality(n_intervals=4, n_corrected=1, share_corrected=0.25, n_gaps=0, gap_s=0.0)
    """
    if not end_s >= start_s:
        raise InvalidInputError(f"window end_s ({end_s}) must not be before start_s ({start_s})")
    if is_artifact is None:
        flags = classify_artifacts(rr_ms).is_artifact
    else:
        rr = rr_array(rr_ms, what="window_quality")
        flags = np.asarray(is_artifact, dtype=np.bool_)
        if flags.shape != rr.shape:
            raise InvalidInputError(
                f"is_artifact has shape {flags.shape} but rr_ms has {rr.size} intervals: pass one flag per interval"
            )
    return _quality(flags, gaps, float(start_s), float(end_s))
