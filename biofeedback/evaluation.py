"""The closed loop without asyncio: a simulated person, a controller and the pacer, judged
against the person's truth.

One session (:func:`run_session`) is the live path with the radio taken out: the person
breathes with what the pacer shows (``Person.next_beat(sees=pacer.at)``), each beat the
strap would report goes through the live artefact check the training session uses
(:class:`~biofeedback.live_artifacts.LiveArtefactFilter`: a rejected beat never reaches
the controller), and the plausible ones go through
:class:`~biofeedback.guide.BreathGuide` (controller, then pacer). The simulated person
knows their own swing curve (``swing_bpm(pace)``) and resonance, so each session ends in
figures no real session can give: how much of the best possible swing the final pace
gives, how far it is from the resonance, and how long the pace took to stay near it.

:func:`summarise` turns a list of sessions into the figures of the coach's targets
(:data:`TARGETS`), and :func:`target_rows` judges them. :func:`paired_drop` compares two
controllers' heart-rate drops person by person, on the same people.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final, Protocol

import numpy as np

from biofeedback.errors import InvalidInputError
from biofeedback.guide import BreathGuide
from biofeedback.live_artifacts import LiveArtefactFilter
from biofeedback.pacer import BreathPattern, BreathState, Pacer
from biofeedback.protocols import Controller

__all__ = [
    "NEAR_BPM",
    "PairedDrop",
    "PersonResult",
    "SimPerson",
    "Summary",
    "paired_drop",
    "run_session",
    "summarise",
    "target_rows",
]

NEAR_BPM: Final[float] = 0.5  # "within 0.5 breaths/min of the resonance"
GOOD_SHARE: Final[float] = 0.95  # "at least 95% of the best possible swing"
BASELINE_S: Final[float] = 60.0  # heart rate of the first minute is the start, s
END_S: Final[float] = 180.0  # heart rate of the last 3 minutes is the end, s
_GRID_BPM: Final = np.round(np.arange(4.0, 9.0 + 1e-9, 0.01), 2)  # paces the best swing is sought over


class _Beat(Protocol):
    @property
    def t_s(self) -> float: ...

    @property
    def rr_ms(self) -> float: ...

    @property
    def true_rr_ms(self) -> float: ...


class SimPerson(Protocol):
    """What the evaluation needs of a simulated person (:class:`biofeedback.physiology.Person`)."""

    @property
    def resonance_bpm(self) -> float: ...

    def swing_bpm(self, pace_bpm: float) -> float: ...

    def next_beat(self, sees: Callable[[float], BreathState]) -> _Beat: ...


@dataclass(frozen=True, slots=True)
class PersonResult:
    """One closed-loop session judged against the person's truth.

    Attributes
    ----------
    resonance_bpm : float
        The person's resonance pace (the model's truth), breaths/min.
    final_pace_bpm : float
        The pace shown at the end, breaths/min.
    error_bpm : float
        ``final_pace_bpm − resonance_bpm``, breaths/min.
    swing_share : float
        The person's expected swing at the final pace over their best one (paces 4–9 /min), 0–1.
    time_near_s : float
        Time from which the pace shown stays within :data:`NEAR_BPM` of the resonance to the
        end, s from the first beat (``inf`` when it is not within at the end).
    hr_drop_pct : float
        True mean heart rate of the first minute minus that of the last 3 minutes, % of the first.
    min_pace_bpm, max_step_bpm : float
        Slowest pace of any breath, and the largest change between consecutive breaths, breaths/min.
    estimate_bpm : float or None
        The controller's own estimate of the resonance at the end.
    following : bool or None
        Whether the controller judged the person to follow the prompt.
    rejected_share : float
        Share of beats the live artefact check kept from the controller.
    """

    resonance_bpm: float
    final_pace_bpm: float
    error_bpm: float
    swing_share: float
    time_near_s: float
    hr_drop_pct: float
    min_pace_bpm: float
    max_step_bpm: float
    estimate_bpm: float | None
    following: bool | None
    rejected_share: float


def run_session(person: SimPerson, controller: Controller, *, minutes: float = 15.0,
                first_pace_bpm: float = 6.0) -> PersonResult:
    """One closed-loop session of ``minutes`` on the beat clock.

    Parameters
    ----------
    person : SimPerson
        A fresh simulated person (it is consumed: its beats move on).
    controller : Controller
        A fresh Coach, FixedPace or SteppedProtocol.
    minutes : float
        Length of the session, minutes of the beat clock.
    first_pace_bpm : float
        The pace the prompt shows before the controller's first answer, breaths/min (the
        ``resonance`` preset's 6).

    Returns
    -------
    PersonResult
    """
    pacer = Pacer(BreathPattern(first_pace_bpm))
    guide = BreathGuide(controller, pacer)
    check = LiveArtefactFilter()
    end_s = 60.0 * minutes
    t: list[float] = []
    shown_pace: list[float] = []
    true_hr: list[float] = []
    while True:
        beat = person.next_beat(pacer.at)
        if beat.t_s > end_s:
            break
        if check.accept(beat.rr_ms):
            state = guide.on_beat(beat.t_s, beat.rr_ms)
        else:
            state = pacer.at(beat.t_s)
        t.append(beat.t_s)
        shown_pace.append(state.pace_bpm)
        true_hr.append(60000.0 / beat.true_rr_ms)
    t_arr, pace_arr, hr_arr = np.array(t), np.array(shown_pace), np.array(true_hr)
    res = float(person.resonance_bpm)
    final = float(pacer.at(end_s).pace_bpm)
    best = max(person.swing_bpm(float(p)) for p in _GRID_BPM)
    off = np.flatnonzero(np.abs(pace_arr - res) > NEAR_BPM + 1e-9)
    if abs(final - res) > NEAR_BPM + 1e-9:
        near_s = math.inf
    elif off.size == 0:
        near_s = 0.0
    else:
        near_s = float(t_arr[off[-1] + 1] - t_arr[0]) if off[-1] + 1 < t_arr.size else math.inf
    base = float(np.mean(hr_arr[t_arr <= t_arr[0] + BASELINE_S]))
    last = float(np.mean(hr_arr[t_arr >= end_s - END_S]))
    paces = pacer.paces_bpm
    steps = np.abs(np.diff(paces))
    return PersonResult(
        resonance_bpm=res,
        final_pace_bpm=final,
        error_bpm=final - res,
        swing_share=person.swing_bpm(final) / best,
        time_near_s=near_s,
        hr_drop_pct=100.0 * (base - last) / base,
        min_pace_bpm=float(np.min(paces)),
        max_step_bpm=float(np.max(steps)) if steps.size else 0.0,
        estimate_bpm=controller.resonance_bpm,
        following=controller.following,
        rejected_share=check.n_rejected / max(check.n_seen, 1),
    )


@dataclass(frozen=True, slots=True)
class Summary:
    """The figures of the coach's targets over a group of sessions.

    Attributes
    ----------
    n : int
        Sessions.
    good_swing_share : float
        Share of people ending at a pace that gives them ≥ 95% of their best swing, 0–1.
    median_hr_drop_pct : float
        Median heart-rate drop over the session, %.
    median_abs_error_bpm : float
        Median ``|final pace − resonance|``, breaths/min.
    near_share : float
        Share of people within 0.5 breaths/min of their resonance at the end, 0–1.
    median_time_near_min : float
        Median time until the pace stays within 0.5 of the resonance, minutes (``inf`` when
        more than half never settle there).
    min_pace_bpm, max_step_bpm : float
        Slowest pace shown to anyone, largest single change, breaths/min.
    """

    n: int
    good_swing_share: float
    median_hr_drop_pct: float
    median_abs_error_bpm: float
    near_share: float
    median_time_near_min: float
    min_pace_bpm: float
    max_step_bpm: float


def summarise(results: Sequence[PersonResult]) -> Summary:
    """The target figures of ``results`` (at least one session)."""
    err = np.abs([r.error_bpm for r in results])
    return Summary(
        n=len(results),
        good_swing_share=float(np.mean([r.swing_share >= GOOD_SHARE for r in results])),
        median_hr_drop_pct=float(np.median([r.hr_drop_pct for r in results])),
        median_abs_error_bpm=float(np.median(err)),
        near_share=float(np.mean(err <= NEAR_BPM + 1e-9)),
        median_time_near_min=float(np.median([r.time_near_s for r in results])) / 60.0,
        min_pace_bpm=min(r.min_pace_bpm for r in results),
        max_step_bpm=max(r.max_step_bpm for r in results),
    )


@dataclass(frozen=True, slots=True)
class PairedDrop:
    """Two controllers' heart-rate drops on the same people, person by person.

    Attributes
    ----------
    n : int
        People.
    median_diff_pct : float
        Median over the people of (drop with the first − drop with the second), % points.
    ci90_pct : tuple of float
        A distribution-free 90% confidence interval of that median: the order statistics
        of the differences that a sign test gives (Conover 1999, §3.2), % points. With
        fewer than 5 people no pair of order statistics reaches 90%, and it is the whole
        range, which covers ``1 − 2^(1−n)``.
    share_at_least : float
        Share of people whose drop with the first is at least that with the second, 0–1.

    References
    ----------
    Conover, W. J. (1999). Practical Nonparametric Statistics, 3rd ed. Wiley.
    """

    n: int
    median_diff_pct: float
    ci90_pct: tuple[float, float]
    share_at_least: float


def paired_drop(first: Sequence[PersonResult], second: Sequence[PersonResult]) -> PairedDrop:
    """The heart-rate drops of two controllers compared person by person.

    Parameters
    ----------
    first, second : sequence of PersonResult
        The sessions of two controllers with the same people in the same order (at least 2).
        Only their resonances are compared to check that: the people of one seed have the
        same resonances in every variant, so mixing variants is the caller's to avoid.

    Returns
    -------
    PairedDrop

    Raises
    ------
    InvalidInputError
        Fewer than 2 sessions, or not the same people (their resonances differ).

    Examples
    --------
    With 8 people, the 90% interval runs from the 2nd smallest difference to the 2nd largest:

    >>> def session(drop):
    ...     return PersonResult(5.0, 5.0, 0.0, 1.0, 0.0, drop, 5.0, 0.0, None, None, 0.0)
    >>> p = paired_drop([session(d) for d in range(8)], [session(0.0)] * 8)
    >>> p.median_diff_pct, p.ci90_pct, p.share_at_least
    (3.5, (1.0, 6.0), 1.0)
    """
    if len(first) != len(second) or len(first) < 2 or any(
            a.resonance_bpm != b.resonance_bpm for a, b in zip(first, second, strict=True)):
        raise InvalidInputError("paired_drop needs the sessions of the same people (2 or more), in the same order")
    d = np.sort([a.hr_drop_pct - b.hr_drop_pct for a, b in zip(first, second, strict=True)])
    n = d.size
    # the largest k with P(Binomial(n, 1/2) <= k - 1) <= 0.05: [d_(k), d_(n+1-k)] covers the median
    # with >= 90%; with too few people for that, the whole range
    k, below = 0, 0.0
    while k < n // 2 and below + math.comb(n, k) / (1 << n) <= 0.05:
        below += math.comb(n, k) / (1 << n)
        k += 1
    k = max(k, 1)
    return PairedDrop(n=n, median_diff_pct=float(np.median(d)), ci90_pct=(float(d[k - 1]), float(d[n - k])),
                      share_at_least=float(np.mean(d >= 0.0)))


def target_rows(coach: Summary, stepped: Summary, *, min_pace_bpm: float = 4.0,
                max_step_bpm: float = 0.5) -> list[tuple[str, str, str, bool]]:
    """The issue's targets for the coach, judged: ``(target, wanted, measured, met)`` rows.

    Parameters
    ----------
    coach, stepped : Summary
        The coach's figures and the stepped protocol's on the same people (the heart-rate
        drop is judged against the stepped protocol's).
    min_pace_bpm, max_step_bpm : float
        The bounds no pace may cross, breaths/min.
    """
    return [
        ("people at >= 95% of their best swing", ">= 90%", f"{100 * coach.good_swing_share:.0f}%",
         coach.good_swing_share >= 0.9),
        ("median heart-rate drop", f">= stepped ({stepped.median_hr_drop_pct:.2f}%)",
         f"{coach.median_hr_drop_pct:.2f}%", coach.median_hr_drop_pct >= stepped.median_hr_drop_pct),
        ("median abs(final - resonance)", "<= 0.30 /min", f"{coach.median_abs_error_bpm:.2f} /min",
         coach.median_abs_error_bpm <= 0.3),
        ("people within 0.5 /min at the end", ">= 85%", f"{100 * coach.near_share:.0f}%", coach.near_share >= 0.85),
        ("median time until the pace stays within 0.5", "< 6 min", f"{coach.median_time_near_min:.1f} min",
         coach.median_time_near_min < 6.0),
        ("slowest pace / largest step", f">= {min_pace_bpm:g} / <= {max_step_bpm:g} /min",
         f"{coach.min_pace_bpm:.2f} / {coach.max_step_bpm:.2f} /min",
         coach.min_pace_bpm >= min_pace_bpm - 1e-9 and coach.max_step_bpm <= max_step_bpm + 1e-9),
    ]
