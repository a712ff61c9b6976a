"""What the breathing prompt shows at one moment, and the plain words for it.

A :class:`PromptFrame` is a plain value: numbers and short strings the session loop gathers
at a clock tick (the pacer's breath state, the latest heart rate, the coach's stage, the
strap's battery …). The displays (:mod:`~biofeedback.display.terminal`,
:mod:`~biofeedback.display.window`) only draw frames; they compute nothing about the
session. The functions below turn a frame's values into the words a person reads, the same
in every display.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Final, Literal, Protocol, get_args

import numpy as np
import numpy.typing as npt

from biofeedback.display.summary import mm_ss
from biofeedback.errors import InvalidInputError

__all__ = [
    "BreathLike",
    "Part",
    "PromptFrame",
    "battery_words",
    "count_words",
    "part_words",
    "progress_words",
    "signal_words",
    "swing_trend_bpm",
    "swing_words",
    "time_words",
    "trend_arrow",
]

Part = Literal["inhale", "hold_in", "exhale", "hold_out"]
PARTS: Final[tuple[str, ...]] = get_args(Part)
FloatArray = npt.NDArray[np.float64]

TREND_STEADY_BPM: Final[float] = 0.5  # a swing trend smaller than this, bpm, reads as steady
SIGNAL_GOOD_SHARE: Final[float] = 0.01  # at most this share of beats corrected: "good"
SIGNAL_FAIR_SHARE: Final[float] = 0.05  # at most this share: "fair" (Kubios' rule of thumb); above: "poor"


class BreathLike(Protocol):
    """What a frame takes from the pacer's breath state (``biofeedback.pacer.BreathState`` has it)."""

    @property
    def t_s(self) -> float: ...
    @property
    def pace_bpm(self) -> float: ...
    @property
    def part(self) -> str: ...
    @property
    def part_left_s(self) -> float: ...
    @property
    def fullness(self) -> float: ...


def _empty() -> FloatArray:
    return np.empty(0, dtype=np.float64)


@dataclass(frozen=True, slots=True, eq=False)
class PromptFrame:
    """Everything a breathing prompt shows at one moment, as plain values.

    Attributes
    ----------
    fullness : float
        0 (empty lungs) .. 1 (full), the pacer's eased breath shape: what the shape's size follows.
    part : {"inhale", "hold_in", "exhale", "hold_out"}
        The part of the breath in progress.
    part_left_s : float
        Time left in this part, s (the count).
    pace_bpm : float
        The pace being shown, breaths per minute.
    heart_rate_bpm : float or None
        The latest heart rate, beats per minute; None before the first beat.
    swing_bpm : float or None
        Heart-rate swing (peak-to-trough) of the last full breath, beats per minute.
    swing_trend_bpm : float or None
        Change of the swing over the last few breaths, beats per minute (see
        :func:`swing_trend_bpm`); positive: growing.
    swing_target_bpm : float or None
        The swing the coach aims for, beats per minute.
    stage, reason : str
        The coach's stage and the reason of its last change, in plain words ("" if none).
    elapsed_s, remaining_s : float
        Session time done and left, s of the beat clock (remaining None: open-ended).
    battery_percent : int or None
        The strap's battery level, %; None where it did not say.
    corrected_share : float or None
        Share (0..1) of recent beats corrected as artefacts: the signal quality.
    reconnecting : bool
        The strap's link is down and being re-established.
    reconnect_text : str
        What to say while reconnecting ("" for the default notice).
    calm_line : str
        The calm line to show ("" for none).
    hr_t_s, hr_bpm : ndarray
        Recent heart-rate trace for the window: beat times (s, beat clock) and heart rate (bpm).
    breath_onsets_s : ndarray
        Onsets of recent breaths, s (beat clock), increasing.
    inhale_ends_s : ndarray
        End of each of those breaths' inhale, s (same length as ``breath_onsets_s``, or empty).
    swings_t_s, swings_bpm : ndarray
        Recent per-breath swings: end time of each breath (s) and its swing (bpm).
    t_s : float
        Beat-clock time of this frame, s (the window's trace ends here; default ``elapsed_s``).
    """

    fullness: float
    part: Part
    part_left_s: float
    pace_bpm: float
    heart_rate_bpm: float | None = None
    swing_bpm: float | None = None
    swing_trend_bpm: float | None = None
    swing_target_bpm: float | None = None
    stage: str = ""
    reason: str = ""
    elapsed_s: float = 0.0
    remaining_s: float | None = None
    battery_percent: int | None = None
    corrected_share: float | None = None
    reconnecting: bool = False
    reconnect_text: str = ""
    calm_line: str = ""
    hr_t_s: FloatArray = field(default_factory=_empty)
    hr_bpm: FloatArray = field(default_factory=_empty)
    breath_onsets_s: FloatArray = field(default_factory=_empty)
    inhale_ends_s: FloatArray = field(default_factory=_empty)
    swings_t_s: FloatArray = field(default_factory=_empty)
    swings_bpm: FloatArray = field(default_factory=_empty)
    t_s: float | None = None

    def __post_init__(self) -> None:
        if not 0.0 <= self.fullness <= 1.0:
            raise InvalidInputError(f"fullness must lie in 0..1, got {self.fullness!r}")
        if self.part not in PARTS:
            raise InvalidInputError(f"part must be one of {', '.join(PARTS)}, got {self.part!r}")
        if not (self.part_left_s >= 0.0 and self.pace_bpm > 0.0):
            raise InvalidInputError(f"part_left_s must be >= 0 and pace_bpm > 0, got {self.part_left_s!r}, "
                                    f"{self.pace_bpm!r}")
        if self.corrected_share is not None and not 0.0 <= self.corrected_share <= 1.0:
            raise InvalidInputError(f"corrected_share must lie in 0..1, got {self.corrected_share!r}")
        for a, b in (("hr_t_s", "hr_bpm"), ("swings_t_s", "swings_bpm")):
            if np.shape(getattr(self, a)) != np.shape(getattr(self, b)):
                raise InvalidInputError(f"{a} and {b} must have the same length")
        if len(self.inhale_ends_s) not in (0, len(self.breath_onsets_s)):
            raise InvalidInputError("inhale_ends_s must be empty or as long as breath_onsets_s")

    @classmethod
    def of_breath(cls, breath: BreathLike, **rest: Any) -> PromptFrame:
        """The frame showing the pacer's breath state ``breath`` (its fullness, part, count, pace and
        time), with everything else from ``rest`` (the other fields, by name)."""
        return cls(fullness=min(1.0, max(0.0, breath.fullness)), part=breath.part,  # type: ignore[arg-type]
                   part_left_s=max(0.0, breath.part_left_s), pace_bpm=breath.pace_bpm, t_s=breath.t_s, **rest)

    @property
    def now_s(self) -> float:
        """Beat-clock time of this frame, s (``t_s``, else ``elapsed_s``)."""
        return self.elapsed_s if self.t_s is None else self.t_s


def part_words(part: str) -> str:
    """What to do now: "breathe in", "hold", "breathe out"."""
    return {"inhale": "breathe in", "exhale": "breathe out"}.get(part, "hold")


def count_words(part_left_s: float) -> str:
    """The count of a part: whole seconds left, rounded up ("3" from 2.1 s; never "0")."""
    return str(max(1, math.ceil(part_left_s - 1e-9)))


def trend_arrow(trend_bpm: float | None, steady_bpm: float = TREND_STEADY_BPM) -> str:
    """An arrow for a trend: "↑" growing, "↓" shrinking, "→" steady (within ``steady_bpm``), "" unknown."""
    if trend_bpm is None or not math.isfinite(trend_bpm):
        return ""
    if trend_bpm > steady_bpm:
        return "↑"
    if trend_bpm < -steady_bpm:
        return "↓"
    return "→"


def swing_trend_bpm(swings_bpm: npt.ArrayLike, breaths: int = 3) -> float | None:
    """Change of the per-breath swing: mean of the last ``breaths`` minus the ``breaths`` before, bpm.

    None while fewer than ``2 * breaths`` swings are known.
    """
    s = np.asarray(swings_bpm, dtype=np.float64)
    if breaths < 1 or s.size < 2 * breaths:
        return None
    return float(s[-breaths:].mean() - s[-2 * breaths:-breaths].mean())


def swing_words(swing_bpm: float | None, trend_bpm: float | None = None,
                target_bpm: float | None = None) -> str:
    """The swing per breath with its trend and target: "12.3 bpm ↑ +1.2, target 15.0"."""
    if swing_bpm is None:
        text = "--"
    else:
        text = f"{swing_bpm:.1f} bpm"
        if trend_bpm is not None:
            text += f" {trend_arrow(trend_bpm)} {trend_bpm:+.1f}"
    if target_bpm is not None:
        text += f", target {target_bpm:.1f}"
    return text


def signal_words(corrected_share: float | None) -> str:
    """Signal quality from the share of beats corrected: "good (0.3% corrected)", "fair …", "poor …"."""
    if corrected_share is None:
        return "--"
    label = ("good" if corrected_share <= SIGNAL_GOOD_SHARE
             else "fair" if corrected_share <= SIGNAL_FAIR_SHARE else "poor")
    return f"{label} ({100 * corrected_share:.1f}% corrected)"


def battery_words(battery_percent: int | None) -> str:
    """The strap's battery: "87%" or "--"."""
    return "--" if battery_percent is None else f"{battery_percent}%"


def time_words(elapsed_s: float, remaining_s: float | None) -> str:
    """Session time: "03:12 done, 06:48 left" (mm:ss), or "03:12 done" when open-ended."""
    text = f"{mm_ss(elapsed_s)} done"
    if remaining_s is not None:
        # count the time left like the breath count: up, so it reaches 00:00 at the end
        text += f", {mm_ss(math.ceil(max(0.0, remaining_s) - 1e-9))} left"
    return text


def progress_words(frame: PromptFrame) -> str:
    """One line of progress, for ``--ui none`` and logs: time, heart rate, pace, swing, coach."""
    hr = "--" if frame.heart_rate_bpm is None else f"{frame.heart_rate_bpm:.0f}"
    text = (f"{time_words(frame.elapsed_s, frame.remaining_s)}  HR {hr} bpm  pace {frame.pace_bpm:.1f}/min  "
            f"swing {swing_words(frame.swing_bpm)}")
    if frame.stage:
        text += f"  {frame.stage}"
    if frame.reconnecting:
        text += f"  {frame.reconnect_text or 'strap reconnecting…'}"
    return text
