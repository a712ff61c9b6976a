"""Artefacts judged beat by beat, as they arrive: what the coach and the prompt may use.

The session's own correction (:mod:`biofeedback.artifacts`, Lipponen & Tarvainen 2019)
looks at 91 beats around each one, the future included, so it runs on the whole session at
its end. The live loop cannot wait: :class:`LiveArtefactFilter` decides at once, from the
beats before, whether one interval is plausible. It uses the classic relative rule (an
interval more than a share away from its reference is an artefact; Malik et al. 1996 use
20% from the previous interval), with the median of the last :data:`REFERENCE_BEATS`
accepted intervals as the reference and a share of :data:`MAX_DEVIATION` (30%): the
large, smooth swings of slow breathing (an RSA of 25-30 beats/min peak-to-trough stays
within about 25% of the median of one breath's beats) pass; a missed beat (twice the
interval), an extra one (half) or a noise spike does not. Several rejected in a row mean
the heart rate itself moved (standing up): the reference starts again from them.

A rejected beat is not corrected into a made-up value: the coach and the prompt skip it
(the heart rate of the beats either side is there), and the share of rejected beats is the
prompt's signal quality.

References
----------
Malik, M., et al. (1996). Heart rate variability: standards of measurement, physiological
interpretation and clinical use. Task Force of the ESC and NASPE. Circulation 93(5), 1043-1065.
"""

from __future__ import annotations

from collections import deque
from typing import Final

__all__ = ["MAX_DEVIATION", "REFERENCE_BEATS", "LiveArtefactFilter"]

REFERENCE_BEATS: Final[int] = 11  # the reference is the median of this many accepted intervals
MIN_REFERENCE: Final[int] = 5  # before this many are accepted, every plausible interval is accepted
MAX_DEVIATION: Final[float] = 0.3  # an interval further than this share from the reference is an artefact
MAX_REJECTED_IN_A_ROW: Final[int] = 3  # this many rejected in a row: the level moved, start again
MIN_RR_MS: Final[float] = 250.0  # 240 beats/min: shorter is never a heartbeat, ms
MAX_RR_MS: Final[float] = 2500.0  # 24 beats/min: longer is never a single heartbeat here, ms
QUALITY_BEATS: Final[int] = 100  # the signal quality is the share rejected of this many recent beats


class LiveArtefactFilter:
    """Accepts or rejects each interval as it arrives (see the module's rule).

    Attributes
    ----------
    n_seen, n_rejected : int
        Intervals judged and rejected so far.

    Examples
    --------
    >>> f = LiveArtefactFilter()
    >>> [f.accept(rr) for rr in [800.0, 810, 790, 805, 800, 1600, 795, 400, 410, 800]]
    [True, True, True, True, True, False, True, False, False, True]
    >>> f.n_rejected, round(f.recent_share, 2)
    (3, 0.3)
    """

    def __init__(self) -> None:
        self._accepted: deque[float] = deque(maxlen=REFERENCE_BEATS)
        self._rejected: list[float] = []
        self._recent: deque[bool] = deque(maxlen=QUALITY_BEATS)
        self.n_seen = 0
        self.n_rejected = 0

    def reset(self) -> None:
        """Forget the reference (after a gap of the beat chain: the level may have moved)."""
        self._accepted.clear()
        self._rejected.clear()

    @property
    def recent_share(self) -> float:
        """Share of the last :data:`QUALITY_BEATS` intervals rejected, 0..1 (0 before any)."""
        return sum(self._recent) / len(self._recent) if self._recent else 0.0

    def accept(self, rr_ms: float) -> bool:
        """Whether the interval ``rr_ms`` (ms) is plausible given the accepted ones before it."""
        ok = MIN_RR_MS <= rr_ms <= MAX_RR_MS
        if ok and len(self._accepted) >= MIN_REFERENCE:
            ref = sorted(self._accepted)[len(self._accepted) // 2]
            ok = abs(rr_ms - ref) <= MAX_DEVIATION * ref
            if not ok and MIN_RR_MS <= rr_ms <= MAX_RR_MS:
                self._rejected.append(rr_ms)
                if len(self._rejected) >= MAX_REJECTED_IN_A_ROW and _close(self._rejected):
                    # the heart rate moved: the recent intervals are the new reference
                    self._accepted.clear()
                    self._accepted.extend(self._rejected)
                    self._rejected.clear()
                    ok = True
        if ok:
            self._rejected.clear()
            self._accepted.append(rr_ms)
        self.n_seen += 1
        self.n_rejected += not ok
        self._recent.append(not ok)
        return ok


def _close(rr_ms: list[float]) -> bool:
    """Whether intervals agree with each other within the allowed share (a steady new level)."""
    lo, hi = min(rr_ms), max(rr_ms)
    return hi - lo <= MAX_DEVIATION * lo
