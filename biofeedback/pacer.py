"""The breathing pacer: the breath a prompt shows, as a pure function of time.

A :class:`BreathPattern` is one breath's timing (pace, inhale share, holds). A :class:`Pacer`
lays breaths end to end from ``start_s`` on the beat clock and answers, for any time, what the
prompt shows then (:meth:`Pacer.at`, :meth:`Pacer.fullness_at`). A new pace or pattern takes
effect only at the next breath onset (the end of an exhale, or of the hold after it), never
mid-breath, and no single change of pace is larger than ``max_step_bpm``: the phase is
continuous and the drawn shape never jumps.

The pacer's "now" is the latest time it was asked about (:meth:`Pacer.at`, :meth:`Pacer.fullness_at`).
Breaths up to and including the one in progress then are fixed (stored), so past times are answered
from the stored schedule; a request shapes the breaths that begin after that. What looks ahead of
the beats (the displays, the sound, the simulated person) asks :meth:`Pacer.peek` and
:meth:`Pacer.peek_fullness` instead, which fix nothing. No threads here: the shell serialises calls.

The shape (fullness, 0 empty .. 1 full) is a raised cosine over the inhale and over the exhale,
flat during holds: continuous with a continuous first derivative (zero slope at every part
boundary), so an eased shape with no kinks for the eye or the ear.

Presets (:func:`parse_preset`) are the patterns a user can name: ``resonance`` (adaptive, the
default), ``fixed:X``, ``4-7-8`` (Weil's relaxing breath: 4 s in, 7 s hold, 8 s out), ``box``
(4 s in, hold, out, hold) and ``calm`` (adaptive and gentle, for acute pain).

References
----------
Lehrer, P. M., Vaschillo, E., & Vaschillo, B. (2000). Resonant frequency biofeedback training
to increase cardiac variability. Appl. Psychophysiol. Biofeedback 25(3), 177–191.
Zaccaro, A., et al. (2018). How breath-control can change your life: a systematic review on
psycho-physiological correlates of slow breathing. Front. Hum. Neurosci. 12, 353 (a longer
exhale than inhale is the calming ratio used in most slow-breathing protocols).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from biofeedback._validate import check_positive
from biofeedback.errors import InvalidInputError

__all__ = [
    "DEFAULT_MAX_STEP_BPM",
    "FIXED_PACE_RANGE_BPM",
    "PRESETS",
    "BreathPattern",
    "BreathState",
    "Pacer",
    "Preset",
    "fixed_pace_bpm",
    "parse_preset",
]

DEFAULT_MAX_STEP_BPM: Final[float] = 0.5  # largest change of pace from one breath to the next, breaths/min
PARTS: Final[tuple[str, str, str, str]] = ("inhale", "hold_in", "exhale", "hold_out")


@dataclass(frozen=True, slots=True)
class BreathPattern:
    """The timing of one breath.

    Parameters
    ----------
    pace_bpm : float
        Breaths per minute, > 0; the period is ``60 / pace_bpm`` s, holds included.
    inhale_share : float
        Share of the breathing time (period minus holds) spent breathing in, strictly between 0
        and 1 (default 0.4: a longer exhale calms).
    hold_in_s : float
        Hold after the inhale (lungs full), s, >= 0.
    hold_out_s : float
        Hold after the exhale (lungs empty), s, >= 0.

    Raises
    ------
    InvalidInputError
        A value out of range, or holds that leave no time to breathe in the period.

    Examples
    --------
    >>> p = BreathPattern(6.0)
    >>> p.period_s, p.inhale_s, p.exhale_s
    (10.0, 4.0, 6.0)
    """

    pace_bpm: float
    inhale_share: float = 0.4
    hold_in_s: float = 0.0
    hold_out_s: float = 0.0

    def __post_init__(self) -> None:
        check_positive(self.pace_bpm, "pace_bpm", "breaths per minute")
        share = self.inhale_share
        if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0.0 < share < 1.0:
            raise InvalidInputError(f"inhale_share must be a number between 0 and 1 (exclusive), got {share!r}")
        check_positive(self.hold_in_s, "hold_in_s", "seconds", or_zero=True)
        check_positive(self.hold_out_s, "hold_out_s", "seconds", or_zero=True)
        if self.hold_in_s + self.hold_out_s >= self.period_s:
            raise InvalidInputError(
                f"the holds ({self.hold_in_s:g} s + {self.hold_out_s:g} s) leave no time to breathe in a "
                f"{self.period_s:g} s breath at {self.pace_bpm:g} breaths/min")

    @property
    def period_s(self) -> float:
        """One whole breath, s: ``60 / pace_bpm``."""
        return 60.0 / self.pace_bpm

    @property
    def inhale_s(self) -> float:
        """Time breathing in, s."""
        return (self.period_s - self.hold_in_s - self.hold_out_s) * self.inhale_share

    @property
    def exhale_s(self) -> float:
        """Time breathing out, s."""
        return self.period_s - self.hold_in_s - self.hold_out_s - self.inhale_s

    def at_pace(self, pace_bpm: float) -> BreathPattern:
        """This pattern stretched in time to ``pace_bpm``: the same shares, holds scaled with the period."""
        if pace_bpm == self.pace_bpm:
            return self
        k = self.pace_bpm / pace_bpm
        return replace(self, pace_bpm=pace_bpm, hold_in_s=self.hold_in_s * k, hold_out_s=self.hold_out_s * k)


@dataclass(frozen=True, slots=True)
class BreathState:
    """What the prompt shows at one time: what the sound, the store and the simulated person see.

    Attributes
    ----------
    t_s : float
        Beat-clock time asked for, s.
    pace_bpm : float
        Pace of the breath in progress, breaths/min.
    phase : float
        0..1 through the breath in progress (0 = inhale onset).
    part : str
        ``"inhale"``, ``"hold_in"``, ``"exhale"`` or ``"hold_out"``.
    part_left_s : float
        Time left in this part, s.
    fullness : float
        0 (empty) .. 1 (full), the eased shape.
    breath_index : int
        0 for the first breath.
    onset_s : float
        Inhale onset of the breath in progress, s.
    """

    t_s: float
    pace_bpm: float
    phase: float
    part: str
    part_left_s: float
    fullness: float
    breath_index: int
    onset_s: float


def _rise(u: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Raised cosine from 0 to 1 over u in [0, 1]: zero slope at both ends."""
    out: npt.NDArray[np.float64] = 0.5 - 0.5 * np.cos(np.pi * np.clip(u, 0.0, 1.0))
    return out


def _rise_one(u: float) -> float:
    """:func:`_rise` of one value, as a float (the same result, bit for bit)."""
    return 0.5 - 0.5 * float(np.cos(np.array([np.pi * min(max(u, 0.0), 1.0)]))[0])


class Pacer:
    """Breaths end to end from ``start_s``, a new pattern only at a breath onset.

    Parameters
    ----------
    pattern : BreathPattern
        The first breath's pattern.
    start_s : float
        Beat-clock time of the first inhale onset, s. Earlier times are answered as ``start_s``
        (the first breath, empty lungs).
    max_step_bpm : float
        Largest change of pace from one breath to the next, breaths/min (``math.inf``: none).

    Attributes
    ----------
    pattern : BreathPattern
        The pattern of the latest breath begun (the one in force now).
    max_step_bpm : float

    Examples
    --------
    >>> pacer = Pacer(BreathPattern(6.0))
    >>> s = pacer.at(4.0)
    >>> s.part, s.fullness, s.breath_index
    ('exhale', 1.0, 0)
    >>> pacer.at(12.5).part, pacer.at(12.5).breath_index
    ('inhale', 1)
    >>> pacer.request(4.0)   # from the next onset (20 s), 0.5 per breath at most
    >>> pacer.at(35.0).pace_bpm, pacer.paces_bpm.tolist()
    (5.0, [6.0, 6.0, 5.5, 5.0])
    """

    def __init__(self, pattern: BreathPattern, start_s: float = 0.0, *,
                 max_step_bpm: float = DEFAULT_MAX_STEP_BPM) -> None:
        if not isinstance(pattern, BreathPattern):
            raise InvalidInputError(f"pattern must be a BreathPattern, got {pattern!r}")
        start = float(start_s)
        if not math.isfinite(start):
            raise InvalidInputError(f"start_s must be a finite time in seconds, got {start_s!r}")
        step = float(max_step_bpm)
        if not step > 0.0:  # NaN too; math.inf is allowed (no limit)
            raise InvalidInputError(f"max_step_bpm must be a positive number of breaths per minute, got {max_step_bpm!r}")
        self.max_step_bpm = step
        self.start_s = start
        self._target = pattern
        self._patterns: list[BreathPattern] = [pattern]
        self._onsets: list[float] = [start]
        # per breath begun: onset, inhale, hold_in, exhale, period (s), grown by doubling so that a
        # new breath costs the same however long the session has run
        self._cols = np.empty((5, 64), dtype=np.float64)
        self._n = 0
        self._add_row(start, pattern)
        self._ahead_cache: tuple[tuple[int, BreathPattern], Pacer] | None = None  # see _ahead

    @property
    def pattern(self) -> BreathPattern:
        """The pattern of the latest breath begun."""
        return self._patterns[-1]

    @property
    def target(self) -> BreathPattern:
        """The pattern last requested (reached step by step)."""
        return self._target

    def request(self, pace_bpm: float) -> None:
        """Ask for a new pace, breaths/min: from the next breath onset, at most ``max_step_bpm``
        per breath; the other parts of the pattern stay."""
        check_positive(pace_bpm, "pace_bpm", "breaths per minute")
        self.request_pattern(self._target.at_pace(float(pace_bpm)))

    def request_pattern(self, pattern: BreathPattern) -> None:
        """Ask for a whole new pattern: from the next breath onset; its pace is reached at most
        ``max_step_bpm`` per breath, the breaths on the way being ``pattern`` stretched in time
        (:meth:`BreathPattern.at_pace`)."""
        if not isinstance(pattern, BreathPattern):
            raise InvalidInputError(f"pattern must be a BreathPattern, got {pattern!r}")
        self._target = pattern

    def _next_pattern(self) -> BreathPattern:
        last = self._patterns[-1].pace_bpm
        goal = self._target.pace_bpm
        pace = min(max(goal, last - self.max_step_bpm), last + self.max_step_bpm)
        return self._target.at_pace(pace)

    def _extend_to(self, t_s: float) -> None:
        """Fix the breaths up to the one in progress at ``t_s``."""
        end = self._onsets[-1] + self._patterns[-1].period_s
        if t_s < end:
            return
        while t_s >= end:
            p = self._next_pattern()
            self._onsets.append(end)
            self._patterns.append(p)
            self._add_row(end, p)
            end += p.period_s

    def _add_row(self, onset_s: float, p: BreathPattern) -> None:
        if self._n == self._cols.shape[1]:
            grown = np.empty((5, 2 * self._n), dtype=np.float64)
            grown[:, :self._n] = self._cols
            self._cols = grown
        self._cols[:, self._n] = (onset_s, p.inhale_s, p.hold_in_s, p.exhale_s, p.period_s)
        self._n += 1

    def _table(self) -> tuple[npt.NDArray[np.float64], ...]:
        """Onsets, inhale, hold_in, exhale and period of the breaths begun, s (views)."""
        return tuple(self._cols[:, :self._n])

    def at(self, t_s: float) -> BreathState:
        """The breath shown at ``t_s`` (beat clock, s); times before ``start_s`` give the first breath's start."""
        t = float(t_s)
        if not math.isfinite(t):
            raise InvalidInputError(f"t_s must be a finite time in seconds, got {t_s!r}")
        u = max(t, self.start_s)
        self._extend_to(u)
        k = int(np.searchsorted(self._table()[0], u, side="right")) - 1
        onset, p = self._onsets[k], self._patterns[k]
        dt = u - onset
        # the part's ends, as np.cumsum adds them (one after the other); plain floats: this runs every beat
        b_in = p.inhale_s
        b_hold = b_in + p.hold_in_s
        b_out = b_hold + p.exhale_s
        bounds = (b_in, b_hold, b_out, b_out + p.hold_out_s)
        i = min(sum(1 for b in bounds if b <= dt), 3)  # searchsorted(side="right"); empty holds are skipped
        if i == 3 and p.hold_out_s == 0.0:  # rounding at the very end of a breath with no hold
            i = 2
        # fullness_at's value for this one time, computing only the branch it selects (the same
        # operations on the same numbers, the cosine on a one-element array as there)
        if dt < b_in:
            fullness = _rise_one(dt / b_in)
        elif dt < b_hold:
            fullness = 1.0
        else:
            fullness = 1.0 - _rise_one((dt - b_hold) / p.exhale_s)
        return BreathState(t_s=t, pace_bpm=p.pace_bpm, phase=min(dt / p.period_s, 1.0), part=PARTS[i],
                           part_left_s=max(bounds[i] - dt, 0.0), fullness=fullness,
                           breath_index=k, onset_s=onset)

    def fullness_at(self, t_s: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """Fullness (0 empty .. 1 full) at each of ``t_s`` (beat clock, s), vectorised; the same
        values as ``at(t).fullness``."""
        t = np.maximum(np.asarray(t_s, dtype=np.float64), self.start_s)
        if t.size == 0:
            return np.zeros(t.shape)
        top = float(np.max(t))
        if not math.isfinite(top):
            raise InvalidInputError("t_s must be finite times in seconds")
        self._extend_to(top)
        onsets, inhale, hold_in, exhale, _ = self._table()
        k = np.clip(np.searchsorted(onsets, t, side="right") - 1, 0, onsets.size - 1)
        dt = t - onsets[k]
        a, b = inhale[k], inhale[k] + hold_in[k]
        rising = _rise(dt / a)
        falling = 1.0 - _rise((dt - b) / exhale[k])
        out: npt.NDArray[np.float64] = np.where(dt < a, rising, np.where(dt < b, 1.0, falling))
        return out

    def _ahead(self) -> Pacer:
        """A pacer that goes on from the latest breath fixed, with the pattern requested so far.

        Asking it fixes nothing here; it is kept until a breath is fixed here or another
        pattern is requested (it gives the same answers until then).
        """
        key = (self._n, self._target)
        cached = self._ahead_cache
        if cached is not None and cached[0] == key:
            return cached[1]
        ahead = Pacer(self._patterns[-1], start_s=self._onsets[-1], max_step_bpm=self.max_step_bpm)
        ahead._target = self._target
        self._ahead_cache = (key, ahead)
        return ahead

    def peek(self, t_s: float) -> BreathState:
        """``at(t_s)`` without fixing any breath: what a display shows "now", ahead of the beats.

        A time within the breaths fixed so far is answered from them; a later one from the
        breaths that would follow with the pattern requested so far. The breath a later
        :meth:`at` fixes may differ (a request may come in between): only ``at`` decides,
        so that the breaths depend on the times the beat stream asks about and on nothing
        else (a replay then shows the same breaths as its session).

        Examples
        --------
        >>> pacer = Pacer(BreathPattern(6.0))
        >>> pacer.request(4.0)
        >>> pacer.peek(25.0).pace_bpm, pacer.peek(25.0).breath_index, pacer.paces_bpm.tolist()
        (5.0, 2, [6.0])
        """
        t = float(t_s)
        if not math.isfinite(t):
            raise InvalidInputError(f"t_s must be a finite time in seconds, got {t_s!r}")
        if max(t, self.start_s) < self._onsets[-1] + self._patterns[-1].period_s:
            return self.at(t)  # nothing to fix
        state = self._ahead().at(t)
        return replace(state, breath_index=state.breath_index + self._n - 1)

    def peek_fullness(self, t_s: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """``fullness_at(t_s)`` without fixing any breath (for the sound, which runs ahead), as :meth:`peek`."""
        t = np.asarray(t_s, dtype=np.float64)
        if t.size == 0 or float(np.max(t)) < self._onsets[-1] + self._patterns[-1].period_s:
            return self.fullness_at(t)  # nothing to fix (a NaN goes on to be refused)
        late = t >= self._onsets[-1]
        out = np.empty(t.shape, dtype=np.float64)
        out[late] = self._ahead().fullness_at(t[late])
        out[~late] = self.fullness_at(t[~late])
        return out

    @property
    def onsets_s(self) -> npt.NDArray[np.float64]:
        """Inhale onsets of the breaths begun so far (up to the latest time asked about), s."""
        return self._table()[0].copy()

    @property
    def paces_bpm(self) -> npt.NDArray[np.float64]:
        """The pace of each of those breaths, breaths/min."""
        return np.array([p.pace_bpm for p in self._patterns])


@dataclass(frozen=True, slots=True)
class Preset:
    """A breathing pattern a user can name.

    Attributes
    ----------
    name : str
        The canonical text (``"fixed:5.5"``, ``"calm"``, ...).
    adaptive : bool
        The coach sets the pace (True), or the pattern holds (False).
    pattern : BreathPattern
        The first breath's pattern (for an adaptive preset, the coach moves its pace).
    coach_options : dict
        Keyword options for ``Coach(...)`` (empty for the defaults). ``calm`` gives
        ``start_from_own_rate=True`` (begin at the person's own breathing rate measured while
        settling), ``max_step_bpm`` (breaths/min, the largest change per breath: a gentler
        descent than the pacer's 0.5) and ``min_pace_bpm`` (breaths/min, a floor high enough
        that no breath is one to strain for).
    description : str
        One line for a help text.
    """

    name: str
    adaptive: bool
    pattern: BreathPattern
    coach_options: dict[str, Any] = field(default_factory=dict)
    description: str = ""


FIXED_PACE_RANGE_BPM: Final[tuple[float, float]] = (1.0, 60.0)
"""The paces a person can be asked to breathe at, breaths/min: from one breath a minute (slower
than any protocol; the 4-7-8 breath is 3.2 a minute) to one a second."""


def fixed_pace_bpm(text: str) -> float | None:
    """``text`` as a pace within :data:`FIXED_PACE_RANGE_BPM`, breaths/min; None when it is not one
    (not a number, or out of range). The check of ``fixed:X`` and of any pace a user gives.

    Examples
    --------
    >>> fixed_pace_bpm("5.5"), fixed_pace_bpm("0.0001"), fixed_pace_bpm("nan"), fixed_pace_bpm("six")
    (5.5, None, None, None)
    """
    try:
        pace = float(text)
    except ValueError:
        return None
    low, high = FIXED_PACE_RANGE_BPM
    return pace if math.isfinite(pace) and low <= pace <= high else None


CALM_START_PACE_BPM: Final[float] = 10.0  # shown until the coach has measured the person's own rate
CALM_INHALE_SHARE: Final[float] = 1.0 / 3.0  # exhale twice as long as the inhale
CALM_MAX_STEP_BPM: Final[float] = 0.25
CALM_MIN_PACE_BPM: Final[float] = 5.5


def _presets() -> dict[str, Preset]:
    return {
        "resonance": Preset("resonance", True, BreathPattern(6.0), {},
                            "adaptive: the coach finds the pace where your heart rate swings most (default)"),
        "4-7-8": Preset("4-7-8", False, BreathPattern(60.0 / 19.0, inhale_share=4.0 / 12.0, hold_in_s=7.0),
                        {}, "4 s in, hold 7 s, 8 s out"),
        "box": Preset("box", False, BreathPattern(60.0 / 16.0, inhale_share=0.5, hold_in_s=4.0, hold_out_s=4.0),
                      {}, "4 s in, hold 4 s, 4 s out, hold 4 s"),
        "calm": Preset("calm", True, BreathPattern(CALM_START_PACE_BPM, inhale_share=CALM_INHALE_SHARE),
                       {"start_from_own_rate": True, "max_step_bpm": CALM_MAX_STEP_BPM,
                        "min_pace_bpm": CALM_MIN_PACE_BPM},
                       "adaptive and gentle, for pain: starts at your own rate, long exhale, slow descent"),
    }


PRESETS: Final[tuple[str, ...]] = ("resonance", "fixed:X", "4-7-8", "box", "calm")


def parse_preset(text: str) -> Preset:
    """The preset named by ``text``: ``resonance``, ``fixed:X`` (X breaths/min), ``4-7-8``, ``box``, ``calm``.

    Raises
    ------
    InvalidInputError
        An unknown name or a bad pace, in one line naming the text and the choices.

    Examples
    --------
    >>> parse_preset("fixed:5.5").pattern.pace_bpm
    5.5
    >>> parse_preset("4-7-8").pattern.period_s
    19.0
    """
    choices = ", ".join(PRESETS)
    name = str(text).strip().lower()
    known = _presets()
    if name in known:
        return known[name]
    if name.startswith("fixed:"):
        pace = fixed_pace_bpm(name.removeprefix("fixed:"))
        if pace is None:
            low, high = FIXED_PACE_RANGE_BPM
            raise InvalidInputError(f"preset {text!r}: the pace after 'fixed:' must be a number of breaths/min "
                                    f"from {low:g} to {high:g}, e.g. fixed:6 (choices: {choices})")
        return Preset(f"fixed:{pace:g}", False, BreathPattern(pace), {}, f"a fixed {pace:g} breaths/min")
    raise InvalidInputError(f"unknown breathing preset {text!r}; choose one of: {choices}")
