"""One recording's HRV, summarised: what ``biofeedback show`` and ``demo`` print and plot.

Artefacts are corrected first (:func:`biofeedback.artifacts.correct_artifacts_with_report`),
then every metric is computed on the NN intervals. A metric that the recording is too
short for is left out (None) rather than guessed.

Where the beat chain broke (a :class:`~biofeedback.beats.Gap`: the link dropped, or the
strap sent no RR for a while), the intervals on either side are not one series: a
successive difference across the gap, or a spectrum of the two stretches joined end to
end, would describe no real heartbeat. So each unbroken stretch of the
:class:`~biofeedback.recording.Recording` is corrected on its own, and the metrics are
those of the longest stretch; the quality figures cover the whole session.

Text for people is not made here: :mod:`biofeedback.display.summary` writes the summary
as lines for a terminal.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, TypeVar

import numpy as np
import numpy.typing as npt

from biofeedback import hrv
from biofeedback._validate import rr_array
from biofeedback.artifacts import MIN_INTERVALS, Quality, correct_artifacts_with_report
from biofeedback.errors import InvalidInputError
from biofeedback.recording import Recording

__all__ = ["MIN_STRETCH_BEATS", "Corrected", "SessionSummary", "correct_recording", "summarise"]

FloatArray = npt.NDArray[np.float64]
MIN_STRETCH_BEATS: Final[int] = 3  # the longest unbroken stretch needs this many beats for any metric


@dataclass(frozen=True, eq=False)
class SessionSummary:
    """HRV of one recording, after artefact correction.

    Attributes
    ----------
    recording : Recording
        What was summarised.
    nn_ms : ndarray
        Corrected intervals of the whole session, ms.
    t_s : ndarray
        Their beat times on the beat clock, s: each stretch from where it started.
    stretches : tuple of slice
        The unbroken stretches of the recording, as slices of ``nn_ms`` and ``t_s``.
    analysed : slice
        The stretch the metrics describe (one of ``stretches``): the longest.
    quality : Quality
        Share of intervals corrected, gaps (whole session).
    time : dict or None
        :func:`biofeedback.hrv.time_domain` keys; None when the longest stretch has fewer
        than :data:`MIN_STRETCH_BEATS` beats.
    frequency : dict or None
        :func:`biofeedback.hrv.frequency_domain` keys; None when too short.
    poincare : dict or None
        ``sd1_ms``, ``sd2_ms``, ``sd1_sd2``; None when too short.
    rsa : RsaBreaths or None
        Per-breath peak-to-trough heart rate; None when too short.
    breathing_rate_per_min : float or None
        Dominant RSA rhythm, breaths/min.
    coherence : float or None
        HeartMath coherence ratio of the last 64 s.
    is_artifact : ndarray of bool or None
        One per recorded interval (``recording.rr_ms``): whether correction replaced it.
    """

    recording: Recording
    nn_ms: npt.NDArray[np.float64]
    t_s: npt.NDArray[np.float64]
    stretches: tuple[slice, ...]
    analysed: slice
    quality: Quality
    time: dict[str, float] | None
    frequency: dict[str, float] | None
    poincare: dict[str, float] | None
    rsa: hrv.RsaBreaths | None
    breathing_rate_per_min: float | None
    coherence: float | None
    is_artifact: npt.NDArray[np.bool_] | None = None

    @property
    def analysed_beats(self) -> int:
        """Beats in the stretch the metrics describe."""
        return int(self.analysed.stop - self.analysed.start)


_T = TypeVar("_T")


def _or_none(fn: Callable[..., _T], *args: Any) -> _T | None:
    """``fn(*args)``, or None when the recording is too short (or flat) for that metric."""
    try:
        return fn(*args)
    except InvalidInputError:
        return None


@dataclass(frozen=True, eq=False)
class Corrected:
    """A recording with its artefacts corrected, each unbroken stretch on its own.

    Attributes
    ----------
    nn_ms, t_s : ndarray of float64
        Corrected intervals of the whole session (ms) and their beat times (s, each
        stretch from where it started).
    stretches : tuple of slice
        The unbroken stretches, as slices of ``nn_ms`` and ``t_s``.
    is_artifact : ndarray of bool
        One per recorded interval: whether correction replaced it.
    """

    nn_ms: FloatArray
    t_s: FloatArray
    stretches: tuple[slice, ...]
    is_artifact: npt.NDArray[np.bool_]

    @property
    def n_corrected(self) -> int:
        """Recorded intervals that correction replaced."""
        return int(np.count_nonzero(self.is_artifact))


def correct_recording(recording: Recording, *, what: str = "artefact correction") -> Corrected:
    """Correct the artefacts of each unbroken stretch of ``recording`` on its own.

    A stretch shorter than :data:`~biofeedback.artifacts.MIN_INTERVALS` is too short to
    judge and is kept as it is.

    Raises
    ------
    InvalidInputError
        Fewer intervals in all than artefact correction needs (:data:`MIN_INTERVALS`).
    """
    rr = rr_array(recording.rr_ms, min_count=MIN_INTERVALS, what=what)
    nn_parts: list[FloatArray] = []
    t_parts: list[FloatArray] = []
    is_artifact = np.zeros(rr.size, dtype=np.bool_)
    for stretch in recording.stretches():
        part = rr[stretch]
        if part.size >= MIN_INTERVALS:
            nn, report, _ = correct_artifacts_with_report(part)
            is_artifact[stretch] = report.is_artifact
        else:  # too short to judge: kept as it is
            nn = part
        start_s = float(recording.t_s[stretch.start]) - float(part[0]) / 1000.0
        nn_parts.append(nn)
        t_parts.append(start_s + np.cumsum(nn) / 1000.0)
    bounds = np.cumsum([0] + [part.size for part in nn_parts])
    stretches = tuple(slice(int(a), int(b)) for a, b in itertools.pairwise(bounds))
    return Corrected(np.concatenate(nn_parts), np.concatenate(t_parts), stretches, is_artifact)


def summarise(recording: Recording) -> SessionSummary:
    """Correct artefacts and compute every metric the recording is long enough for.

    Parameters
    ----------
    recording : Recording
        Its unbroken stretches (:meth:`Recording.stretches`) are corrected each on its own,
        and the metrics are those of the longest (by time).

    Raises
    ------
    InvalidInputError
        Fewer intervals than artefact correction needs (:data:`MIN_INTERVALS`).
    """
    c = correct_recording(recording, what="a session summary")
    nn_all, t_all, stretches = c.nn_ms, c.t_s, c.stretches
    n_corrected = c.n_corrected
    rr = recording.rr_ms
    nn_parts = [nn_all[s] for s in stretches]
    analysed = stretches[int(np.argmax([part.sum() for part in nn_parts]))]
    seg_nn, seg_t = nn_all[analysed], t_all[analysed]
    quality = Quality.from_counts(rr.size, n_corrected, recording.gaps)
    long_enough = seg_nn.size >= MIN_STRETCH_BEATS
    rate = _or_none(hrv.breathing_rate, seg_nn) if long_enough else None
    return SessionSummary(
        recording=recording,
        nn_ms=nn_all,
        t_s=t_all,
        stretches=stretches,
        analysed=analysed,
        quality=quality,
        time=hrv.time_domain(seg_nn) if long_enough else None,
        frequency=_or_none(hrv.frequency_domain, seg_nn) if long_enough else None,
        poincare=hrv.poincare(seg_nn) if long_enough else None,
        rsa=_or_none(hrv.rsa_amplitude, seg_t, seg_nn) if long_enough else None,
        breathing_rate_per_min=rate if rate is not None and math.isfinite(rate) else None,
        coherence=_or_none(hrv.coherence, seg_nn) if long_enough else None,
        is_artifact=c.is_artifact,
    )
