"""Pace controllers: the interface the coach shares, and the baselines it is compared with.

A controller takes the beat stream, one beat at a time on the beat clock, and answers the pace
(breaths/min) the prompt should show from then on. It never reads a clock or does I/O, so the
same beats give the same decisions (a replay is exact). :class:`FixedPace` shows one pace;
:class:`SteppedProtocol` is Lehrer's resonance-frequency assessment: 6.5, 6, 5.5, 5 and
4.5 breaths/min for 2 minutes each, then the pace whose per-breath heart-rate swing was
largest. The adaptive :class:`biofeedback.coach.Coach` has the same interface.

References
----------
Lehrer, P. M., Vaschillo, E., & Vaschillo, B. (2000). Resonant frequency biofeedback training
to increase cardiac variability: rationale and manual for training. Appl. Psychophysiol.
Biofeedback 25(3), 177–191.
Lehrer, P. M., & Gevirtz, R. (2014). Heart rate variability biofeedback: how and why does it
work? Frontiers in Psychology 5, 756.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Protocol

import numpy as np

from biofeedback._validate import check_positive
from biofeedback.errors import InvalidInputError
from biofeedback.hrv import rsa_amplitude
from biofeedback.pacer import BreathState

__all__ = ["BASELINE_S", "LEHRER_PACES_BPM", "Controller", "Decision", "FixedPace", "SteppedProtocol"]

LEHRER_PACES_BPM: Final[tuple[float, ...]] = (6.5, 6.0, 5.5, 5.0, 4.5)
BASELINE_S: Final[float] = 60.0  # the first minute of beats gives the baseline heart rate, s


@dataclass(frozen=True)
class Decision:
    """One change of pace, and why.

    Attributes
    ----------
    t_s : float
        Beat-clock time of the beat that made it, s.
    pace_bpm : float
        The pace chosen, breaths/min.
    stage : str
        The controller's stage then (``"fixed"``, ``"search"``, ``"hold"``, ...).
    code : str
        A short machine-readable tag (``"step"``, ``"hold-largest-swing"``, ...).
    reason : str
        Plain words, for the display and the log.
    """

    t_s: float
    pace_bpm: float
    stage: str
    code: str
    reason: str


class Controller(Protocol):
    """What decides the pace: :class:`FixedPace`, :class:`SteppedProtocol`, the Coach."""

    def on_beat(self, t_s: float, rr_ms: float, *, shown: BreathState | None = None) -> float:
        """Take one beat (s on the beat clock, ms); ``shown`` is ``pacer.at(t_s)``, the breath the
        prompt showed then. Return the pace to show from then on, breaths/min."""
        ...

    def on_gap(self, t_s: float) -> None:
        """The beat chain broke at ``t_s``: pause, don't corrupt."""
        ...

    @property
    def stage(self) -> str: ...

    @property
    def reason(self) -> str: ...

    @property
    def decisions(self) -> list[Decision]: ...

    @property
    def resonance_bpm(self) -> float | None: ...

    @property
    def baseline_hr_bpm(self) -> float | None: ...

    @property
    def following(self) -> bool | None: ...


class _Baseline:
    """Mean heart rate of the beats in the first :data:`BASELINE_S` after the first beat, bpm."""

    def __init__(self) -> None:
        self.first_s: float | None = None
        self._hr: list[float] = []
        self.value: float | None = None

    def add(self, t_s: float, rr_ms: float) -> None:
        if self.first_s is None:
            self.first_s = t_s
        if self.value is not None:
            return
        if t_s - self.first_s < BASELINE_S:
            self._hr.append(60000.0 / rr_ms)
        elif self._hr:
            self.value = float(np.mean(self._hr))


def _beat(t_s: float, rr_ms: float) -> tuple[float, float]:
    t = float(t_s)
    if not math.isfinite(t):
        raise InvalidInputError(f"t_s must be a finite time in seconds, got {t_s!r}")
    return t, check_positive(rr_ms, "rr_ms", "milliseconds")


class FixedPace:
    """One pace, all session: the usual 6 breaths/min trainer.

    Parameters
    ----------
    pace_bpm : float
        The pace shown, breaths/min.

    Examples
    --------
    >>> c = FixedPace(6.0)
    >>> c.on_beat(0.9, 900.0), c.stage, c.decisions[0].code
    (6.0, 'fixed', 'fixed')
    """

    def __init__(self, pace_bpm: float = 6.0) -> None:
        self.pace_bpm = check_positive(pace_bpm, "pace_bpm", "breaths per minute")
        self.stage = "fixed"
        self.reason = f"a fixed pace of {self.pace_bpm:g} breaths/min"
        self.decisions: list[Decision] = []
        self.resonance_bpm: float | None = None
        self.following: bool | None = None
        self._baseline = _Baseline()

    @property
    def baseline_hr_bpm(self) -> float | None:
        """Mean heart rate of the first minute of beats, bpm (None before a minute)."""
        return self._baseline.value

    def on_beat(self, t_s: float, rr_ms: float, *, shown: BreathState | None = None) -> float:
        """The fixed pace, breaths/min (one :class:`Decision` at the first beat)."""
        t, rr = _beat(t_s, rr_ms)
        self._baseline.add(t, rr)
        if not self.decisions:
            self.decisions.append(Decision(t, self.pace_bpm, self.stage, "fixed", self.reason))
        return self.pace_bpm

    def on_gap(self, t_s: float) -> None:
        """Nothing to pause: the pace does not depend on the beats."""


class SteppedProtocol:
    """Lehrer's stepped resonance assessment: each pace for ``epoch_s``, then hold the best.

    From the first beat, pace ``paces[i]`` is asked for during ``[t0 + i·epoch_s,
    t0 + (i+1)·epoch_s)``. At the first beat after the last epoch the protocol holds the pace
    whose breaths had the largest mean per-breath RSA amplitude (peak-to-trough heart rate,
    :func:`biofeedback.hrv.rsa_amplitude` over the breaths the prompt showed, from ``shown``;
    the first breath after each change of pace is left out as the change-over). Without ``shown`` the
    breaths are found from the tachogram of the epoch instead. Beats are not joined across a
    gap.

    Parameters
    ----------
    paces : sequence of float
        The paces tried, in order, breaths/min (Lehrer: 6.5, 6, 5.5, 5, 4.5; steps of 0.5).
    epoch_s : float
        Time at each pace, s (Lehrer: 120).

    Examples
    --------
    >>> c = SteppedProtocol()
    >>> c.on_beat(1.0, 1000.0), c.on_beat(121.0, 1000.0), c.stage
    (6.5, 6.0, 'search')
    """

    def __init__(self, paces: Sequence[float] = LEHRER_PACES_BPM, epoch_s: float = 120.0) -> None:
        self.paces = tuple(check_positive(p, "paces", "breaths per minute") for p in paces)
        if not self.paces:
            raise InvalidInputError("paces must hold at least one pace, breaths/min")
        self.epoch_s = check_positive(epoch_s, "epoch_s", "seconds")
        self.stage = "search"
        self.reason = "the stepped protocol has not started: no beat yet"
        self.decisions: list[Decision] = []
        self.resonance_bpm: float | None = None
        self.following: bool | None = None
        self.swing_by_pace_bpm: dict[float, float] = {}  # mean per-breath swing at each pace, bpm (after the search)
        self._baseline = _Baseline()
        self._t0: float | None = None
        self._segments: list[tuple[list[float], list[float]]] = [([], [])]  # beats, split at gaps
        self._breaths: dict[float, float] = {}  # inhale onset shown -> its pace
        self._pace = self.paces[0]

    @property
    def baseline_hr_bpm(self) -> float | None:
        """Mean heart rate of the first minute of beats, bpm (None before a minute)."""
        return self._baseline.value

    def _decide(self, t_s: float, pace: float, code: str, reason: str) -> None:
        self._pace, self.reason = pace, reason
        self.decisions.append(Decision(t_s, pace, self.stage, code, reason))

    def on_beat(self, t_s: float, rr_ms: float, *, shown: BreathState | None = None) -> float:
        """Take one beat; the pace of the current epoch, or the one held after the last."""
        t, rr = _beat(t_s, rr_ms)
        self._baseline.add(t, rr)
        if self._t0 is None:
            self._t0 = t
        if self.stage == "hold":
            return self._pace
        times, rrs = self._segments[-1]
        times.append(t)
        rrs.append(rr)
        if shown is not None:
            self._breaths.setdefault(shown.onset_s, shown.pace_bpm)
        i = int((t - self._t0) // self.epoch_s)
        if i < len(self.paces):
            if not self.decisions or self._pace != self.paces[i]:
                self._decide(t, self.paces[i], "step",
                             f"stepped protocol: pace {i + 1} of {len(self.paces)}, {self.paces[i]:g} breaths/min "
                             f"for {self.epoch_s / 60:g} min, measuring the heart-rate swing")
            return self._pace
        self._hold(t, shown is not None)
        return self._pace

    def on_gap(self, t_s: float) -> None:
        """Start a new run of beats: no breath is measured across the gap (the epochs keep time)."""
        if self._segments[-1][0]:
            self._segments.append(([], []))

    def _swings(self, with_onsets: bool) -> dict[float, list[float]]:
        """Per-breath swings, bpm, by the pace they were breathed at."""
        out: dict[float, list[float]] = {p: [] for p in self.paces}
        if with_onsets:
            starts = sorted(self._breaths)
            onsets = np.array(starts)
            # the first breath of each run at a pace is the change-over from the pace before
            change_over = {b for a, b in itertools.pairwise(starts) if self._breaths[a] != self._breaths[b]}
            kept: dict[float, list[float]] = {p: [] for p in self.paces}
            for times, rrs in self._segments:
                if len(times) < 2 or onsets.size < 2:
                    continue
                b = rsa_amplitude(times, rrs, onsets)
                for start, amp in zip(b.start_s.tolist(), b.amplitude_bpm.tolist(), strict=True):
                    pace = self._breaths[start]
                    if pace in out and math.isfinite(amp):
                        out[pace].append(amp)
                        if start not in change_over:
                            kept[pace].append(amp)
            # left out where at least two other breaths at that pace remain
            return {p: kept[p] if len(kept[p]) >= 2 else a for p, a in out.items()}
        assert self._t0 is not None
        for times, rrs in self._segments:
            t = np.asarray(times)
            r = np.asarray(rrs)
            for i, p in enumerate(self.paces):
                sel = (t >= self._t0 + i * self.epoch_s) & (t < self._t0 + (i + 1) * self.epoch_s)
                if np.sum(r[sel]) / 1000.0 < 60.0:  # rsa_amplitude needs 50 s to find breaths
                    continue
                b = rsa_amplitude(t[sel], r[sel])
                out[p].extend(a for a in b.amplitude_bpm.tolist() if math.isfinite(a))
        return out

    def _hold(self, t_s: float, with_onsets: bool) -> None:
        self.stage = "hold"
        swings = {p: float(np.mean(a)) for p, a in self._swings(with_onsets).items() if a}
        self.swing_by_pace_bpm = swings
        if not swings:
            self.resonance_bpm = None
            self._decide(t_s, self._pace, "hold-no-swing",
                         f"holding {self._pace:g} breaths/min: no heart-rate swing could be measured at any pace")
            return
        best = max(swings, key=lambda p: swings[p])
        self.resonance_bpm = best
        self._decide(t_s, best, "hold-largest-swing",
                     f"holding {best:g} breaths/min: the largest heart-rate swing ({swings[best]:.1f} beats/min "
                     f"per breath) of the {len(self.paces)} paces tried")
