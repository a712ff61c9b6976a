"""A simulated person as a heart-rate source: their beats sent the way a strap sends them.

The person (:class:`biofeedback.physiology.Person`) is simulated lazily, one beat when the
next notification needs it, so a coach that reacts to the beats it has received changes
what the person sees (``sees``, the pacer's ``peek``) before the next beats are made. The
beats are grouped into notifications as :func:`~biofeedback.notifications.group_into_notifications`
groups them (one every ``period_s`` on the beat clock, with the beats that ended since the
previous one) and encoded as a strap's 0x2A37 payload (:class:`~biofeedback.hrm.HeartRateMeasurement`),
whose decoding gives the RR intervals carried (to 1/1024 s, as on the wire).

Everything depends only on the seed and on what the person sees, never on the wall clock:
the same seed and the same coach give the same beats at any speed.
"""

from __future__ import annotations

from array import array
from collections.abc import AsyncGenerator, Iterator, Sequence
from typing import Final, overload

from biofeedback._validate import check_positive
from biofeedback.errors import InvalidInputError
from biofeedback.hrm import HeartRateMeasurement, SensorContact
from biofeedback.notifications import BOUNDARY_TOLERANCE_S
from biofeedback.physiology import ARTEFACT_KINDS, VARIANTS, Person, PersonParams, Sees, SimBeat, sample_people
from biofeedback.sources.base import Measurement, PacedSource, SourceEvent, SourceInfo

__all__ = ["DEVICE_NAME", "PERIOD_RANGE_S", "SimulatedSource"]

DEVICE_NAME: Final[str] = "simulated person"
# A strap notifies about once a second (Polar H10: 1 Hz), and one notification carries at
# most 9 RR intervals (20 bytes: flags, a uint8 heart rate, 9 x uint16). Up to 2 s apart,
# every beat of a heart up to 270 beats/min (9 x 60/270 = 2 s) fits the notification after
# it, at the model's fastest heart (150 beats/min) even with a fifth of its beats split by
# extra-beat artefacts; longer periods would make frames no strap sends.
PERIOD_RANGE_S: Final[tuple[float, float]] = (0.5, 2.0)


class SimulatedSource(PacedSource):
    """A heart-rate source playing a simulated person.

    Parameters
    ----------
    seed : int
        Seeds the person (and, without ``params``, the draw of their parameters).
    sees : callable or None
        ``sees(t_s)`` -> what the prompt shows at ``t_s`` on the beat clock (``pace_bpm``,
        ``phase``), e.g. ``pacer.peek`` (not ``pacer.at``: the person looks up to a notification
        ahead of the coach, and what it asks must fix no breath); None: the person breathes on their own. It can be
        set later (attribute ``sees``), before or during the iteration.
    speed : float, "max" or None
        Times faster than real time; None or ``"max"``: as fast as the consumer reads.
    minutes : float or None
        Length of the session on the beat clock, min; None: until the consumer stops.
    variant : str
        The population the person is drawn from (a key of
        :data:`biofeedback.physiology.VARIANTS`), when ``params`` is None.
    params : PersonParams or None
        The person's parameters, instead of a draw.
    period_s : float
        Time between notifications, s: within :data:`PERIOD_RANGE_S` (0.5-2 s), as a strap.

    Attributes
    ----------
    seed : int
    variant : str
    custom : bool
        Whether the person was made from given ``params`` rather than drawn.
    person : Person
        The simulated person (its ``swing_bpm`` and ``resonance_bpm`` are the truth).
    beats : list of SimBeat
        Every beat sent so far, with its ground truth.

    Raises
    ------
    InvalidInputError
        A bad seed, speed, minutes, period or variant.
    """

    def __init__(self, seed: int = 0, sees: Sees | None = None, speed: float | str | None = None,
                 minutes: float | None = None, variant: str = "default", params: PersonParams | None = None,
                 *, period_s: float = 1.0) -> None:
        if speed == "max":
            speed = None
        if isinstance(speed, str):
            raise InvalidInputError(f"speed must be a positive number of times real time or 'max', got {speed!r}")
        self.speed = None if speed is None else check_positive(speed, "speed", "times real time")
        self.minutes = None if minutes is None else check_positive(minutes, "minutes", "minutes")
        self.period_s = check_positive(period_s, "period_s", "seconds")
        low_s, high_s = PERIOD_RANGE_S
        if not low_s <= self.period_s <= high_s:
            raise InvalidInputError(f"period_s must be {low_s:g}-{high_s:g} s (a strap notifies about once a second), "
                                    f"got {period_s!r}")
        if params is None and variant not in VARIANTS:
            raise InvalidInputError(f"unknown variant {variant!r}; choose one of {', '.join(VARIANTS)}")
        self.seed = seed
        self.variant = variant
        self.custom = params is not None
        self.person = sample_people(1, seed, variant)[0] if params is None else Person(params, seed)
        self.sees = sees
        self.beats = SimBeatLog()  # every beat sent, with its truth

    def info(self) -> SourceInfo:
        """The kind, the speed (1 when it plays as fast as it is read), the simulated person.

        The kind says how to make the same person again: ``"sim:SEED"`` for a person drawn
        from the default population, ``"sim:SEED:VARIANT"`` from another one, and
        ``"sim:SEED:custom"`` for one made from given ``params`` (which the kind does not hold).
        """
        which = ":custom" if self.custom else "" if self.variant == "default" else f":{self.variant}"
        return SourceInfo(kind=f"sim:{self.seed}{which}", speed=self.speed or 1.0, device_name=DEVICE_NAME)

    def _frames(self) -> Iterator[Measurement]:
        """The notifications, each made when the one before has been taken (lazily)."""
        end_s = None if self.minutes is None else self.minutes * 60.0
        peek: SimBeat | None = None
        sum_ms = 0.0  # running sum of the intervals sent, ms (the beat clock, as the grouping has it)
        hr_bpm = round(self.person.params.baseline_hr_bpm)
        n = 1
        done = False
        while not done:
            t_s = n * self.period_s
            rr: list[float] = []
            while True:
                if peek is None:
                    peek = self.person.next_beat(self.sees)
                ends_s = (sum_ms + peek.rr_ms) / 1000.0
                if end_s is not None and ends_s > end_s:
                    done = True
                    break
                if ends_s > t_s + BOUNDARY_TOLERANCE_S:
                    break
                rr.append(peek.rr_ms)
                self.beats.append(peek)
                sum_ms += peek.rr_ms
                peek = None
            if done and not rr:
                return
            if rr:
                hr_bpm = min(255, round(60000.0 * len(rr) / sum(rr)))
            raw = bytes(HeartRateMeasurement(heart_rate_bpm=hr_bpm, contact=SensorContact.DETECTED, rr_ms=tuple(rr)))
            got = HeartRateMeasurement.from_bytes(raw)  # as a strap's frame is decoded
            yield Measurement(t_arrival_s=t_s, heart_rate_bpm=got.heart_rate_bpm, rr_ms=got.rr_ms,
                              contact=got.contact, raw=raw)
            n += 1

    def _events(self) -> AsyncGenerator[SourceEvent, None]:
        return self._paced(self._frames(), origin_s=0.0)


_KINDS: Final[tuple[str | None, ...]] = (None, *ARTEFACT_KINDS)


class SimBeatLog(Sequence[SimBeat]):
    """The beats a simulated strap sent, kept compactly: a sequence of
    :class:`~biofeedback.physiology.SimBeat` stored as typed arrays (25 bytes a beat rather
    than a Python object of about 130), so a 24-hour session does not grow by a Python
    object a beat. Indexing and iterating give values equal to those appended.
    """

    __slots__ = ("_kind", "_rr_ms", "_t_s", "_true_rr_ms")

    def __init__(self) -> None:
        self._t_s = array("d")
        self._rr_ms = array("d")
        self._true_rr_ms = array("d")
        self._kind = array("b")

    def append(self, beat: SimBeat) -> None:
        """Keep one more beat (the latest)."""
        self._t_s.append(beat.t_s)
        self._rr_ms.append(beat.rr_ms)
        self._true_rr_ms.append(beat.true_rr_ms)
        self._kind.append(_KINDS.index(beat.artefact))

    def __len__(self) -> int:
        return len(self._t_s)

    @overload
    def __getitem__(self, index: int) -> SimBeat: ...

    @overload
    def __getitem__(self, index: slice) -> list[SimBeat]: ...

    def __getitem__(self, index: int | slice) -> SimBeat | list[SimBeat]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        return SimBeat(self._t_s[index], self._rr_ms[index], self._true_rr_ms[index], _KINDS[self._kind[index]])

    def __iter__(self) -> Iterator[SimBeat]:
        for t, rr, true_rr, kind in zip(self._t_s, self._rr_ms, self._true_rr_ms, self._kind, strict=True):
            yield SimBeat(t, rr, true_rr, _KINDS[kind])
