"""The adaptive breathing coach: from the beat stream alone, the pace the prompt shows.

The coach takes one beat at a time (:meth:`Coach.on_beat`) and returns the pace, in
breaths/min, that the prompt should show from then on. It has no clock and does no I/O:
the same beats give the same decisions, so a replay is exact. It decides once per breath
of the prompt (the pacer changes pace only at an inhale onset anyway), in stages:

1. **settle** (about 75 s): a baseline of heart rate, and the person's own breathing rate
   read from the heart-rate rhythm (:func:`biofeedback.hrv.breathing_rate`). The first
   minute is not trusted for anything else: heart rate is still settling.
2. **descend**: breath by breath from a comfortable pace (at most ``top_pace_bpm``, never
   faster than the person's own rate) toward slower ones, at most ``max_step_bpm`` per breath.
3. **search**: on down in small steps while every breath's swing (the heart-rate
   oscillation locked to the prompt, :mod:`biofeedback.coach_evidence`) goes into one
   weighted fit of swing against pace over *all* breaths so far. The search stops when the
   fit has a clear peak well above the current pace, or at the slowest pace allowed.
4. **fine-tune**: back to the fitted peak, alternating a little above and below it so that
   the fit keeps seeing both sides; the alternation shrinks as the peak's standard error does.
5. **hold**: once heart rate is ``target_drop_pct`` below the baseline and the swing has
   levelled off. If heart rate climbs back or the swing collapses, it searches again around
   the estimate.

With ``start_pace_bpm`` (a resonance pace known from earlier sessions) the search is
replaced by **confirm**: fine-tuning around that pace, and a search only if the breaths
say the peak lies elsewhere.

Whether the person follows the prompt is read from the heart: when the prompt's rhythm
explains little of the heart rate's variance (:func:`~biofeedback.coach_evidence.lock_share`)
the person breathes on their own, the coach says so (stage **wait**) and keeps the pace
instead of chasing noise; those breaths do not enter the fit. A gap of the beat chain
pauses decisions until a whole clean breath has been seen again.

Beats may be raw or already corrected: the coach corrects the artefacts of each stretch it
reads itself (:func:`biofeedback.artifacts.correct_artifacts_with_report`, on the beats of
the last half minute or so, once per breath), and gives no weight to a breath with more
than :data:`MAX_CORRECTED_SHARE` of its beats corrected.

Every change of pace or stage is a :class:`~biofeedback.protocols.Decision` in
:attr:`Coach.decisions`, with its stage, a code and the reason in plain words.

Examples
--------
>>> import math
>>> from biofeedback import Coach
>>> coach = Coach()
>>> t = 0.0
>>> for _ in range(120):  # two minutes of a steady heart at 60 /min
...     t += 1.0
...     pace = coach.on_beat(t_s=t, rr_ms=1000.0)
>>> coach.stage, coach.baseline_hr_bpm
('search', 60.0)
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import Any, Final, Protocol

import numpy as np

from biofeedback.coach_evidence import (
    BreathEvidence,
    PeakFit,
    breath_evidence,
    corrected_beats,
    fit_peak,
    lock_share,
    smooth_swing,
)
from biofeedback.errors import InvalidInputError
from biofeedback.protocols import Decision

__all__ = ["Coach", "CoachOptions"]

MAX_CORRECTED_SHARE: Final[float] = 0.2  # a breath with more of its beats corrected is not weighed
# where the person's own breathing is sought in the heart rate, Hz (7.8-30 /min): spontaneous breathing
# at rest runs at 12-20 /min (Tobin et al. 1988), and below this band the Mayer waves (~0.1 Hz) and 1/f
# fluctuation of heart rate would pass for a slow breath (Cohen & Taylor 2002)
OWN_RATE_HZ: Final[tuple[float, float]] = (0.13, 0.5)
# Paces are kept to 0.001/min (the rounding in Coach._set), and a target may carry more digits (a
# known pace, a median of them, a fitted peak): two paces closer than this are the same pace.
_EPS: Final[float] = 6e-4


class _Shown(Protocol):
    """What the coach reads of the prompt's state (``biofeedback.pacer.BreathState``)."""

    @property
    def pace_bpm(self) -> float: ...

    @property
    def breath_index(self) -> int: ...

    @property
    def onset_s(self) -> float: ...


@dataclass(frozen=True, slots=True)
class CoachOptions:
    """The coach's settings; every one is a keyword of :class:`Coach`.

    Attributes
    ----------
    start_pace_bpm : float or None
        A resonance pace known from earlier sessions, breaths/min: confirmed instead of
        searched for.
    target_drop_pct : float
        Heart-rate drop below the baseline before the coach holds, % (5).
    min_pace_bpm : float
        Slowest pace ever shown, breaths/min (4).
    max_step_bpm : float
        Largest change from one breath to the next, breaths/min (0.5).
    top_pace_bpm : float
        Pace the descent starts from at most, breaths/min (7.5).
    settle_pace_bpm : float or None
        Pace shown while the baseline is measured, breaths/min; None keeps what the prompt
        shows (7.5; ``start_pace_bpm`` when that is given, None with ``start_from_own_rate``).
    start_from_own_rate : bool
        Start the descent at the person's own breathing rate, not at ``top_pace_bpm``
        (the ``calm`` preset).
    settle_s : float
        Length of the baseline, s of the beat clock (75).
    trust_after_s : float
        Breaths before this (s from the first beat) do not enter the fit (60).
    search_step_bpm : float
        Step of the search between blocks of breaths, breaths/min (0.5).
    block_breaths : int
        Breaths at each pace of the search and of the fine-tuning (3): the first one is
        the person settling into the pace and weighs half.
    bandwidth_bpm : float
        Width of the kernel smoothing swing over pace, breaths/min (0.6).
    """

    start_pace_bpm: float | None = None
    target_drop_pct: float = 5.0
    min_pace_bpm: float = 4.0
    max_step_bpm: float = 0.5
    top_pace_bpm: float = 7.5
    settle_pace_bpm: float | None = 7.5
    start_from_own_rate: bool = False
    settle_s: float = 75.0
    trust_after_s: float = 60.0
    search_step_bpm: float = 0.5
    block_breaths: int = 3
    bandwidth_bpm: float = 0.75


def _positive(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
        raise InvalidInputError(f"Coach option {name} must be a positive number, got {value!r}")
    return float(value)


def _options(kwargs: dict[str, Any]) -> CoachOptions:
    known = set(CoachOptions.__dataclass_fields__)
    unknown = sorted(set(kwargs) - known)
    if unknown:
        raise InvalidInputError(f"Coach has no option {unknown[0]!r}; options: {', '.join(sorted(known))}")
    if "settle_pace_bpm" not in kwargs and (kwargs.get("start_from_own_rate") or kwargs.get("start_pace_bpm")):
        kwargs = {**kwargs, "settle_pace_bpm": kwargs.get("start_pace_bpm")}  # keep the prompt's pace
    opts = CoachOptions(**kwargs)
    for name in ("target_drop_pct", "min_pace_bpm", "max_step_bpm", "top_pace_bpm", "settle_s",
                 "search_step_bpm", "bandwidth_bpm"):
        _positive(name, getattr(opts, name))
    if isinstance(opts.block_breaths, bool) or not isinstance(opts.block_breaths, int) or opts.block_breaths < 1:
        raise InvalidInputError(f"Coach option block_breaths must be a whole number of breaths >= 1, got {opts.block_breaths!r}")
    if not isinstance(opts.trust_after_s, int | float) or not 0 <= opts.trust_after_s < math.inf:
        raise InvalidInputError(f"Coach option trust_after_s must be 0 or more seconds, got {opts.trust_after_s!r}")
    for name in ("start_pace_bpm", "settle_pace_bpm"):
        if getattr(opts, name) is not None:
            _positive(name, getattr(opts, name))
    if opts.top_pace_bpm < opts.min_pace_bpm:
        raise InvalidInputError(
            f"Coach option top_pace_bpm ({opts.top_pace_bpm:g}) is below min_pace_bpm ({opts.min_pace_bpm:g})"
        )
    return opts


class Coach:
    """The adaptive coach: beats in, the pace to show out (see the module docstring).

    Parameters
    ----------
    start_pace_bpm : float, optional
        A known resonance pace (breaths/min) to confirm instead of searching.
    target_drop_pct : float
        Heart-rate drop below the baseline before holding, % (default 5).
    min_pace_bpm : float
        Never slower than this, breaths/min (default 4).
    **options
        The other fields of :class:`CoachOptions`, by keyword (e.g. the ``calm`` preset's
        ``start_from_own_rate=True, max_step_bpm=0.25``).

    Attributes
    ----------
    stage : str
        ``"settle"``, ``"descend"``, ``"search"``, ``"confirm"``, ``"fine-tune"``, ``"hold"``
        or ``"wait"`` (the person does not follow the prompt).
    reason : str
        Why the current pace, in plain words.
    decisions : list of Decision
        Every change of pace or stage, in order.
    resonance_bpm : float or None
        Best estimate so far of the pace of the largest swing, breaths/min.
    baseline_hr_bpm : float or None
        Heart rate of the baseline, beats/min.
    own_rate_bpm : float or None
        The person's own breathing rate read from the baseline's heart-rate rhythm,
        breaths/min (None when it was locked to the prompt or unreadable).
    following : bool or None
        Whether the heart's rhythm locks to the prompt (None until a minute of breaths).
    breaths : list of BreathEvidence
        Every breath read so far.

    Raises
    ------
    InvalidInputError
        An unknown option or an option out of range.
    """

    def __init__(self, *, start_pace_bpm: float | None = None, target_drop_pct: float = 5.0,
                 min_pace_bpm: float = 4.0, **options: Any) -> None:
        self.options = _options({"start_pace_bpm": start_pace_bpm, "target_drop_pct": target_drop_pct,
                                 "min_pace_bpm": min_pace_bpm, **options})
        o = self.options
        self.stage: str = "settle"
        self.reason: str = f"Settling in: measuring your resting heart rate and breathing for {o.settle_s:.0f} s."
        self.decisions: list[Decision] = []
        self.resonance_bpm: float | None = None
        self.baseline_hr_bpm: float | None = None
        self.own_rate_bpm: float | None = None
        self.following: bool | None = None
        self.breaths: list[BreathEvidence] = []
        self.fit: PeakFit | None = None
        self._pace: float | None = o.settle_pace_bpm
        self._ceiling: float = math.inf  # the person's own rate, once known
        self._floor: float = 0.0  # just above a pace the person could not follow
        self._followed_at: deque[tuple[float, float]] = deque(maxlen=32)  # (end, pace) of breaths followed
        # beats of the unbroken stretch since the last gap (raw), bounded
        self._t: deque[float] = deque(maxlen=400)
        self._rr: deque[float] = deque(maxlen=400)
        self._first_t: float | None = None
        self._stretch_start: float | None = None  # first beat after the last gap
        self._gap_s: float = -math.inf  # time of the last gap
        self._breath: tuple[int, float, float] | None = None  # index, onset, pace of the breath in progress
        self._own_onset: float | None = None  # breath clock kept when no prompt state is given
        self._own_index = 0
        self._own_pace = 0.0
        self._paused_breaths = 0
        self._settle_hr: list[float] = []
        self._settle_t: list[float] = []
        self._settle_rr: list[float] = []
        self._settle_paces: list[float] = []
        self._stage_breaths = 0
        self._dither = 0
        self._confirm_i = 0  # the confirm scan's block in progress
        self._sweep_lo = o.min_pace_bpm
        self._climb_to: float | None = None  # a re-search first climbs to this pace
        self._sweep_up = False  # the search is on its way back up
        self._up_to = o.top_pace_bpm  # ... to this pace
        self._low_drop = 0
        self._lock: deque[float] = deque(maxlen=2)
        self._followed: list[float] = []  # per breath: 1 if the person followed then, else 0
        self._resume_stage = "search"
        self._descend_to = o.top_pace_bpm
        self._after_descend = "search"

    # ------------------------------------------------------------------ the per-beat step

    def on_beat(self, t_s: float, rr_ms: float, *, shown: _Shown | None = None) -> float:
        """Take one beat; return the pace the prompt should show from now on, breaths/min.

        Parameters
        ----------
        t_s : float
            Time of the beat, s on the beat clock.
        rr_ms : float
            The RR interval ending at this beat, ms (raw or artefact-corrected).
        shown : BreathState, optional
            What the prompt showed at this beat (``pacer.at(t_s)``). Without it the coach
            assumes the prompt shows exactly the paces it returns, each for a whole breath.

        Returns
        -------
        float
            The pace, breaths/min.

        Raises
        ------
        InvalidInputError
            ``t_s`` not finite, or ``rr_ms`` not a positive finite number.
        """
        if not (isinstance(t_s, int | float) and math.isfinite(t_s)):
            raise InvalidInputError(f"t_s must be a finite time in s, got {t_s!r}")
        if not (isinstance(rr_ms, int | float) and math.isfinite(rr_ms) and rr_ms > 0):
            raise InvalidInputError(f"rr_ms must be a positive interval in ms, got {rr_ms!r}")
        if self._first_t is None:
            self._first_t = float(t_s)
            if self._pace is None:
                self._pace = float(shown.pace_bpm) if shown is not None else self.options.top_pace_bpm
        if self._stretch_start is None:
            self._stretch_start = float(t_s)
        index, onset, pace = self._prompt(float(t_s), shown)
        if self._breath is None:
            self._breath = (index, onset, pace)
        elif index != self._breath[0]:
            _, prev_onset, prev_pace = self._breath
            self._breath = (index, onset, pace)
            self._t.append(float(t_s))
            self._rr.append(float(rr_ms))
            self._end_of_breath(prev_onset, onset, prev_pace)
            return self.pace_bpm
        self._t.append(float(t_s))
        self._rr.append(float(rr_ms))
        return self.pace_bpm

    def on_gap(self, t_s: float) -> None:
        """A gap of the beat chain at ``t_s`` (s): the breath in progress is dropped and
        decisions pause until a whole breath has been seen after it."""
        self._gap_s = float(t_s)
        self._t.clear()
        self._rr.clear()
        self._stretch_start = None
        self._paused_breaths = 1
        self._say(float(t_s), self.stage, "gap", "The heart-rate signal dropped out: decisions paused until it is back.")

    @property
    def pace_bpm(self) -> float:
        """The pace the coach asks for now, breaths/min."""
        return self.options.top_pace_bpm if self._pace is None else self._pace

    @property
    def hr_drop_pct(self) -> float | None:
        """Heart rate of the last minute's breaths below the baseline, % (None before both exist)."""
        if self.baseline_hr_bpm is None:
            return None
        recent = self._recent_hr()
        return None if recent is None else 100.0 * (self.baseline_hr_bpm - recent) / self.baseline_hr_bpm

    # ------------------------------------------------------------------ internals

    def _prompt(self, t_s: float, shown: _Shown | None) -> tuple[int, float, float]:
        """(breath index, inhale onset, pace) of the prompt's breath in progress."""
        if shown is not None:
            return int(shown.breath_index), float(shown.onset_s), float(shown.pace_bpm)
        if self._own_onset is None:
            self._own_onset = t_s
            self._own_pace = self.pace_bpm
        while t_s >= self._own_onset + 60.0 / self._own_pace:
            self._own_onset += 60.0 / self._own_pace
            self._own_index += 1
            step = self.options.max_step_bpm
            self._own_pace += max(-step, min(step, self.pace_bpm - self._own_pace))
        return self._own_index, self._own_onset, self._own_pace

    def _say(self, t_s: float, stage: str, code: str, reason: str) -> None:
        self.stage = stage
        self.reason = reason
        self.decisions.append(Decision(t_s=t_s, pace_bpm=round(self.pace_bpm, 3), stage=stage, code=code, reason=reason))

    def _set(self, t_s: float, pace: float, stage: str, code: str, reason: str) -> None:
        """Move toward ``pace`` by at most one step, within the bounds, and record why."""
        o = self.options
        now = self.pace_bpm
        target = min(max(pace, o.min_pace_bpm, self._floor), max(self._ceiling, self._floor))
        new = now + max(-o.max_step_bpm, min(o.max_step_bpm, target - now))
        new = round(new, 3)  # the target is within the bounds: a pace outside them moves back a step a breath
        changed = abs(new - now) > _EPS
        if changed or stage != self.stage or code != (self.decisions[-1].code if self.decisions else ""):
            self._pace = new
            self._say(t_s, stage, code, reason.format(pace=new))

    def _recent_hr(self, span_s: float = 60.0) -> float | None:
        if not self.breaths:
            return None
        end = self.breaths[-1].end_s
        hr = [b.mean_hr_bpm for b in self.breaths if b.end_s > end - span_s]
        return float(np.mean(hr))

    def _end_of_breath(self, onset_s: float, end_s: float, pace_bpm: float) -> None:
        """A breath of the prompt ended: read it, then decide."""
        evidence = None
        if onset_s > self._gap_s and self._stretch_start is not None and onset_s >= self._stretch_start:
            t = np.fromiter(self._t, dtype=np.float64)
            rr = np.fromiter(self._rr, dtype=np.float64)
            run_from = onset_s  # a run of whole breaths at this pace, up to RUN_BREATHS long
            for b in reversed(self.breaths[-(self.RUN_BREATHS - 1):] if self.RUN_BREATHS > 1 else []):
                if abs(b.pace_bpm - pace_bpm) > _EPS or abs(b.end_s - run_from) > 1e-6 or b.onset_s <= self._gap_s:
                    break
                run_from = b.onset_s
            window = t >= min(run_from, onset_s - 40.0)
            t_nn, nn, changed = corrected_beats(t[window], rr[window])
            evidence = breath_evidence(t_nn, 60000.0 / nn, changed, onset_s, end_s, pace_bpm, from_s=run_from)
            if self.stage == "settle":
                inside = (t_nn >= onset_s) & (t_nn < end_s) & ~changed
                self._settle_t += t_nn[inside].tolist()
                self._settle_rr += nn[inside].tolist()
                self._settle_paces.append(pace_bpm)
        if evidence is None or evidence.corrected_share > MAX_CORRECTED_SHARE:
            return  # not evidence: too few beats, or too many of them corrected
        self.breaths.append(evidence)
        self._update_following()
        self._followed.append(0.0 if self.following is False else 1.0)
        if self._paused_breaths:
            self._paused_breaths -= 1
            if self.stage != "settle":
                self._say(end_s, self.stage, "resume", "The signal is back: deciding again.")
            return
        self._decide(end_s)

    def _update_following(self) -> None:
        """Does the heart's rhythm lock to the prompt? Read over the last minute of breaths."""
        last = [b for b in self.breaths if b.end_s > self.breaths[-1].end_s - 60.0]
        if self._first_t is None or self.breaths[-1].end_s - self._first_t < 60.0 or len(last) < 3:
            return
        t = np.fromiter(self._t, dtype=np.float64)
        rr = np.fromiter(self._rr, dtype=np.float64)
        start, end = last[0].onset_s, last[-1].end_s
        keep = (t >= start) & (t < end)
        if np.count_nonzero(keep) < 20:
            return
        t_nn, nn, _ = corrected_beats(t[keep], rr[keep])
        cycles = np.zeros(t_nn.size)
        for k, b in enumerate(last):
            inside = (t_nn >= b.onset_s) & (t_nn < b.end_s)
            cycles[inside] = k + (t_nn[inside] - b.onset_s) / (b.end_s - b.onset_s)
        share = lock_share(t_nn, 60000.0 / nn, cycles)
        if math.isnan(share):
            return
        self._lock.append(share)
        level = float(np.mean(self._lock))
        if self.following is None:
            self.following = level >= 0.25
        elif self.following and level < 0.15:
            self.following = False
        elif not self.following and level >= 0.3:
            self.following = True

    def _weights(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Pace, swing and weight of every breath so far. A weight is 1 for a breath that is
        fully trusted: past the first minute, at a pace held for a breath already, no beat
        corrected, followed, and all of its heart-rate variance locked to the prompt; each
        shortfall multiplies it down (a followed breath weighs about 0.8, a lapse 0.4)."""
        o = self.options
        first = self._first_t if self._first_t is not None else 0.0
        pace = np.array([b.pace_bpm for b in self.breaths])
        swing = np.array([b.swing_bpm for b in self.breaths])
        w = np.array([0.0 if b.onset_s - first < o.trust_after_s else 1.0 for b in self.breaths])
        w[1:] *= np.where(np.abs(np.diff(pace)) > 0.3, 0.5, 1.0)  # a new pace takes a breath to settle into
        w *= np.array([1.0 - b.corrected_share for b in self.breaths])
        w *= np.array(self._followed)
        w *= np.nan_to_num(np.array([b.locked_share for b in self.breaths])) ** 2  # a lapse tells little
        return pace, swing, w

    def _refit(self) -> PeakFit | None:
        pace, swing, w = self._weights()
        fit = fit_peak(pace, swing, w, bandwidth_bpm=self.options.bandwidth_bpm)
        self.fit = fit
        if fit is not None:
            self.resonance_bpm = round(fit.peak_bpm, 3)
        return fit

    def _decide(self, t_s: float) -> None:
        o = self.options
        follows = self.following is not False
        self._stage_breaths += 1
        if self.stage == "settle":
            self._end_settle(t_s)
            return
        if not follows:
            if self.stage != "wait":
                self._resume_stage = self.stage
            last_ok = max((p for e, p in self._followed_at if e > t_s - 120.0), default=None)
            if last_ok is not None and self.pace_bpm < last_ok - _EPS:
                # it was followed at a faster pace: this one may be too slow to breathe with
                failed = self.pace_bpm
                self._floor = max(self._floor, min(failed + o.search_step_bpm / 2.0, last_ok))
                self._set(t_s, last_ok, "wait", "too-slow",
                          f"Your heart rhythm stopped following at {failed:.2f}/min, perhaps too slow to breathe "
                          "with comfortably: back to {pace:.2f}/min.")
                return
            if last_ok is None and self.pace_bpm > self.WAIT_PACE_BPM + _EPS and self.stage != "settle":
                # never seen following: at a fast pace the swing may just be too small to see
                self._set(t_s, self.WAIT_PACE_BPM, "wait", "not-following",
                          "Your heart rhythm is not following the prompt yet: slowing to {pace:.2f}/min, "
                          "where it shows more clearly. Breathe in as the prompt rises and out as it falls.")
                return
            self._set(t_s, self.pace_bpm, "wait", "not-following",
                      "Your heart rhythm is not following the prompt: keeping {pace:.2f}/min. "
                      "Breathe in as the prompt rises and out as it falls.")
            return
        if self.following is True:
            self._followed_at.append((t_s, self.breaths[-1].pace_bpm))
        if self.stage == "wait":
            self._say(t_s, self._resume_stage, "following", "Your heart rhythm follows the prompt again.")
        fit = self._refit()
        if self.stage == "descend":
            self._descend(t_s)
        elif self.stage == "search":
            self._search(t_s, fit)
        elif self.stage in ("fine-tune", "confirm"):
            self._fine_tune(t_s, fit)
        elif self.stage == "hold":
            self._hold(t_s, fit)

    def _end_settle(self, t_s: float) -> None:
        o = self.options
        assert self._first_t is not None
        if t_s - self._first_t < o.settle_s or len(self._settle_rr) < 30:
            self._set(t_s, self.pace_bpm, "settle", "settle", self.reason)
            return
        from biofeedback.hrv import breathing_rate  # scipy: loaded once the baseline is due

        rr = np.array(self._settle_rr)
        t = np.array(self._settle_t)
        self.baseline_hr_bpm = round(float(np.mean(60000.0 / rr)), 2)
        own = math.nan
        if t[-1] - t[0] >= 50.0:
            own = breathing_rate(rr, t_s=t, band_hz=OWN_RATE_HZ)
        prompt = float(np.mean(self._settle_paces)) if self._settle_paces else math.nan
        if math.isfinite(own) and abs(own - prompt) > 0.75:
            self.own_rate_bpm = round(own, 2)
            self._ceiling = max(own, o.min_pace_bpm)
        start = o.top_pace_bpm
        if o.start_from_own_rate and self.own_rate_bpm is not None:
            start = self.own_rate_bpm
        start = min(start, self._ceiling)
        self._stage_breaths = 0
        if o.start_pace_bpm is not None:
            self._descend_to = min(max(o.start_pace_bpm, o.min_pace_bpm), self._ceiling)
            self._after_descend = "confirm"
        else:
            self._descend_to = start
            self._after_descend = "search"
        own_text = (f"you breathe about {self.own_rate_bpm:.1f} times a minute on your own"
                    if self.own_rate_bpm is not None else "your breathing followed the prompt")
        self._say(t_s, "descend", "baseline",
                  f"Baseline: heart rate {self.baseline_hr_bpm:.0f}/min, {own_text}.")
        self._descend(t_s)

    def _descend(self, t_s: float) -> None:
        target = self._descend_to
        if abs(self.pace_bpm - target) > _EPS:
            self._set(t_s, target, "descend", "descend", "Slowing down breath by breath: now {pace:.2f}/min.")
            return
        self._stage_breaths = 0
        if self._after_descend == "confirm":
            self.resonance_bpm = target
            self._say(t_s, "confirm", "confirm",
                      f"Checking your known pace of {target:.2f}/min a little above and below it.")
            return
        self._say(t_s, "search", "search", "Searching for the pace where your heart rate swings most.")

    def _search(self, t_s: float, fit: PeakFit | None) -> None:
        """Down in small steps until the swing has clearly fallen off (or the floor), then
        back up past the peak, so that both sides are seen twice and a lag in taking up a
        new pace biases neither way."""
        o = self.options
        pace = self.pace_bpm
        if self._climb_to is not None:  # a new search starts above the estimate
            if pace < self._climb_to - _EPS:
                self._set(t_s, self._climb_to, "search", "re-search", "Searching again, from {pace:.2f}/min down.")
                return
            self._climb_to = None
            self._sweep_up = False
        est = fit.peak_bpm if fit is not None else pace
        if self._sweep_up:
            if pace >= self._up_to - _EPS:
                self._stage_breaths = 0
                self._dither = 0
                self._say(t_s, "fine-tune", "peak", f"Largest swing near {est:.2f}/min: fine-tuning around it.")
                self._fine_tune(t_s, fit)
                return
            if self._at_pace() < o.block_breaths:
                return
            self._set(t_s, pace + o.search_step_bpm, "search", "step-up",
                      f"Swing {self.breaths[-1].swing_bpm:.1f} beats/min at {pace:.2f}/min; back up to {{pace:.2f}}/min.")
            return
        at_floor = pace <= max(self._sweep_lo, o.min_pace_bpm, self._floor) + _EPS
        found = False
        if fit is not None and fit.curved and fit.peak_bpm - pace >= self.TURN_BELOW_BPM and fit.se_bpm <= 0.3:
            pace_arr, swing_arr, w = self._weights()
            here, evidence = smooth_swing(pace_arr, swing_arr, w, np.array([pace]), o.bandwidth_bpm)
            found = bool(evidence[0] >= 3.0 and here[0] <= self.TURN_SHARE * fit.peak_swing_bpm)
        if at_floor or found:
            self._sweep_up = True
            self._up_to = min(est + self.UP_PAST_BPM, self._ceiling, o.top_pace_bpm)
            why = "reached the slowest pace searched" if at_floor and not found else "the swing fell off below it"
            self._say(t_s, "search", "turn", f"Largest swing so far near {est:.2f}/min ({why}): back up past it.")
            self._search(t_s, fit)
            return
        if self._at_pace() < o.block_breaths:
            return
        self._set(t_s, pace - o.search_step_bpm, "search", "step",
                  f"Swing {self.breaths[-1].swing_bpm:.1f} beats/min at {pace:.2f}/min; trying {{pace:.2f}}/min.")

    def _at_pace(self) -> int:
        """Whole breaths read so far at the pace asked for now."""
        k = 0
        for b in reversed(self.breaths):
            if abs(b.pace_bpm - self.pace_bpm) > _EPS:
                break
            k += 1
        return k

    def _fine_tune(self, t_s: float, fit: PeakFit | None) -> None:
        o = self.options
        stage = self.stage
        est = self.resonance_bpm if self.resonance_bpm is not None else self.pace_bpm
        if stage == "confirm":
            known = self._descend_to
            while self._confirm_i < len(self.CONFIRM_OFFSETS_BPM):
                want = known + self.CONFIRM_OFFSETS_BPM[self._confirm_i]
                want = round(min(max(want, o.min_pace_bpm, self._floor), max(self._ceiling, self._floor)), 3)
                if abs(self.pace_bpm - want) > _EPS:
                    self._set(t_s, want, "confirm", "tune",
                              f"Checking your known pace of {known:.2f}/min a little above and below it: "
                              "now {pace:.2f}/min.")
                    return
                if self._at_pace() < o.block_breaths:
                    return
                self._confirm_i += 1
            if fit is None or not fit.curved or abs(fit.peak_bpm - known) > self.CONFIRM_WITHIN_BPM:
                est = fit.peak_bpm if fit is not None else known
                self.resonance_bpm = round(est, 3)
                self._climb_to = min(est + 0.75, self._ceiling, o.top_pace_bpm)
                self._sweep_lo = max(est - 1.0, o.min_pace_bpm)
                self._stage_breaths = 0
                self._say(t_s, "search", "not-confirmed",
                          f"Your swing is not largest at the known pace: searching around {est:.2f}/min.")
                self._search(t_s, fit)
                return
            est = fit.peak_bpm
            self._stage_breaths = 0
            self._dither = 0
            self._say(t_s, "fine-tune", "confirmed", f"Your known pace is confirmed near {est:.2f}/min.")
            stage = "fine-tune"
        drop = self.hr_drop_pct
        settled = fit is not None and fit.curved and fit.se_bpm <= 0.25
        if (self._stage_breaths >= 6 and settled and drop is not None and drop >= o.target_drop_pct
                and self._plateau()):
            self._stage_breaths = 0
            self._low_drop = 0
            self._set(t_s, est, "hold", "hold",
                      f"Holding {{pace:.2f}}/min: heart rate {drop:.1f}% below your start, and the swing has levelled off.")
            return
        d = self.DITHER_BPM
        if self._stage_breaths > self.DITHER_BREATHS:
            d = 0.0
        if d > 0.0:
            side = 1.0 if (self._dither // o.block_breaths) % 2 == 0 else -1.0
            self._dither += 1
            self._set(t_s, est + side * d, stage, "tune",
                      f"Fine-tuning around {est:.2f}/min, your best pace so far: now {{pace:.2f}}/min.")
            return
        if abs(est - self.pace_bpm) > self.STEADY_BPM or self.decisions[-1].code not in ("steady", "tune"):
            drop_text = "" if drop is None else f" Heart rate is {drop:.1f}% below your start."
            self._set(t_s, est, stage, "steady", f"Staying near your best pace, {{pace:.2f}}/min.{drop_text}")

    WAIT_PACE_BPM: Final[float] = 6.0  # a person never seen following waits at this pace, breaths/min
    RUN_BREATHS: Final[int] = 3  # a breath's swing is read over up to this many breaths at its pace
    TURN_BELOW_BPM: Final[float] = 1.25  # the search turns this far below a clear peak, breaths/min
    TURN_SHARE: Final[float] = 0.75  # ... where the swing is down to this share of the peak's
    UP_PAST_BPM: Final[float] = 0.0  # and goes back up this far past the peak, breaths/min
    DITHER_BPM: Final[float] = 0.2  # fine-tuning looks this far either side of the estimate, breaths/min
    # confirming a known pace: blocks at these offsets from it, breaths/min, then the fit decides
    CONFIRM_OFFSETS_BPM: Final[tuple[float, ...]] = (0.0, 0.5, 1.0, 0.5, 0.0, -0.5, -1.0, -0.5)
    CONFIRM_WITHIN_BPM: Final[float] = 0.6  # the fit's peak this close to the known pace confirms it
    DITHER_BREATHS: Final[int] = 12  # fine-tuning breaths after which the estimate is used as it is
    STEADY_BPM: Final[float] = 0.3  # then the pace follows the estimate only when it moved this far, breaths/min

    def _plateau(self) -> bool:
        """The swing of the last 6 breaths is no longer growing."""
        s = np.array([b.swing_bpm for b in self.breaths[-6:]])
        if s.size < 6:
            return False
        slope = float(np.polyfit(np.arange(s.size, dtype=np.float64), s, 1)[0])
        return slope * s.size < 0.15 * float(np.median(s))

    def _hold(self, t_s: float, fit: PeakFit | None) -> None:
        o = self.options
        drop = self.hr_drop_pct
        self._low_drop = self._low_drop + 1 if drop is not None and drop < o.target_drop_pct / 2.0 else 0
        recent = float(np.median([b.swing_bpm for b in self.breaths[-4:]]))
        collapsed = fit is not None and len(self.breaths) >= 4 and recent < 0.5 * fit.peak_swing_bpm
        est = self.resonance_bpm if self.resonance_bpm is not None else self.pace_bpm
        if self._low_drop >= 4 or collapsed:
            self._climb_to = min(est + 0.75, self._ceiling, o.top_pace_bpm)
            self._sweep_lo = max(est - 1.0, o.min_pace_bpm)
            self._stage_breaths = 0
            why = "your heart rate climbed back" if self._low_drop >= 4 else "the swing collapsed"
            self._low_drop = 0
            self._say(t_s, "search", "re-search", f"Searching again around {est:.2f}/min: {why}.")
            self._search(t_s, fit)
            return
        if abs(est - self.pace_bpm) > 0.15:
            self._set(t_s, est, "hold", "nudge", "Holding near your best pace, moved to {pace:.2f}/min.")
