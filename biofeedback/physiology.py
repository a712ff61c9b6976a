"""A simulated person: breathing that follows a prompt, and a heart that answers it.

The model is simulated on a fixed grid of :data:`DT_S` seconds and turned into beats by
an integral pulse frequency model (a beat whenever the integral of heart rate reaches one
beat). It is lazy: :meth:`Person.next_beat` simulates only up to the next beat, asking
``sees(t_s)`` what the prompt shows on the way, so a coach that reacts to earlier beats
changes what the person sees next. Everything is seeded; the same seed and the same
prompt give the same beats to the bit.

Breathing
    The breath is a phase ``psi`` (cycles). A person following the prompt locks to the
    prompt's phase :attr:`PersonParams.follow_lag_s` behind, with a phase-locked loop of
    time constant ``lock_tau_s``, an internal pace that adapts to a new prompt pace over
    ``adapt_tau_s`` (people take a while to settle into a new pace), phase drift (a
    random walk), a depth that varies breath to breath, and lapses: now and then a few
    breaths at their own rate. Below the comfort floor (``comfort_floor_bpm``) they cannot
    follow and breathe at the floor, faster than shown. A non-follower breathes at their
    own spontaneous rate, rate CV about 21 % and depth CV about 33 % (Tobin et al. 1988).
    Slow breaths are deeper: mean depth ``(6 / pace) ** depth_exponent``.

Heart
    Heart rate is ``baseline * (1 - drop) + rsa + mayer + pink``:

    - ``rsa``: the breath (``-depth * cos(2 pi psi)``) drives a vagal low-pass with its
      corner at ``vagal_corner_bpm`` (Hirsch & Bishop 1981: corner 7.2 +/- 1.5 /min,
      about 20 dB/decade above), inside a negative baroreflex loop: blood pressure answers
      heart rate through a vascular low-pass (``vascular_tau_s``) after a delay
      ``loop_delay_s`` of about 5 s, and pulls it back with gain ``loop_gain``
      (DeBoer, Karemaker & Strackee 1987; Vaschillo et al. 2002). The delayed loop
      resonates: the swing peaks at the person's resonance pace, 4.5-7 /min (Vaschillo
      2002: 3.3-6.6 /min; Shaffer & Meehan 2020: adults mostly 4.5-6.5 /min). The delay
      is solved per person so that the peak of :meth:`Person.swing_bpm` falls exactly on
      ``resonance_bpm``. With the defaults the swing at resonance is about 4-8 times that
      at 12-15 /min (Lehrer, Vaschillo & Vaschillo 2000: 4-10x) and broad near its peak.
    - ``mayer``: a narrow-band rhythm near 0.1 Hz (Mayer waves; Cohen & Taylor 2002) that
      can mimic or mask slow breathing.
    - ``pink``: 1/f fluctuation (Kobayashi & Musha 1982), a sum of Ornstein-Uhlenbeck
      processes with time constants 2-300 s and equal variance (a 1/f spectrum between).
    - ``drop``: the mean heart rate settles over minutes (``settle_tau_s``) toward
      ``max_drop_pct`` times ``closeness ** 4``, ``closeness`` the swing at the pace
      actually breathed over the swing at resonance: the drop depends on how close to
      resonance and for how long. It is small by default (1-6 %): the acute drop of mean
      heart rate from slow breathing is small, pooled SMD -0.10 (Laborde et al. 2022).

Beats
    Beat times get a jitter of ``jitter_ms`` (the R-peak detection), then, at
    ``artefact_rate`` per beat, a strap artefact (missed, extra or ectopic beat, as
    consumer straps mis-detect 0.5-2 % of beats in motion; Lipponen & Tarvainen 2019),
    with the truth kept in :class:`SimBeat`.

References
----------
DeBoer, R. W., Karemaker, J. M., & Strackee, J. (1987). Hemodynamic fluctuations and
baroreflex sensitivity in humans: a beat-to-beat model. Am J Physiol 253, H680-H689.
Vaschillo, E., Lehrer, P., Rishe, N., & Konstantinov, M. (2002). Heart rate variability
biofeedback as a method for assessing baroreflex function. Appl Psychophysiol Biofeedback
27(1), 1-27.
Vaschillo, E., Vaschillo, B., & Lehrer, P. (2006). Characteristics of resonance in heart
rate variability stimulated by biofeedback. Appl Psychophysiol Biofeedback 31, 129-142.
Lehrer, P., Vaschillo, E., & Vaschillo, B. (2000). Resonant frequency biofeedback training
to increase cardiac variability. Appl Psychophysiol Biofeedback 25(3), 177-191.
Song, H.-S., & Lehrer, P. (2003). The effects of specific respiratory rates on heart rate
and heart rate variability. Appl Psychophysiol Biofeedback 28(1), 13-23.
Hirsch, J. A., & Bishop, B. (1981). Respiratory sinus arrhythmia in humans: how breathing
pattern modulates heart rate. Am J Physiol 241, H620-H629.
Shaffer, F., & Meehan, Z. M. (2020). A practical guide to resonance frequency assessment
for heart rate variability biofeedback. Front Neurosci 14, 570400.
Cohen, M. A., & Taylor, J. A. (2002). Short-term cardiovascular oscillations in man. J
Physiol 542(3), 669-683.
Kobayashi, M., & Musha, T. (1982). 1/f fluctuation of heartbeat period. IEEE Trans
Biomed Eng 29(6), 456-457.
Tobin, M. J., Mador, M. J., Guenther, S. M., Lodato, R. F., & Sackner, M. A. (1988).
Variability of resting respiratory drive and timing in healthy subjects. J Appl Physiol
65(1), 309-317.
Laborde, S., et al. (2022). Effects of voluntary slow breathing on heart rate and heart
rate variability: a systematic review and meta-analysis. Neurosci Biobehav Rev 138, 104711.
Lipponen, J. A., & Tarvainen, M. P. (2019). A robust algorithm for heart rate variability
time series artefact correction using novel beat classification. J Med Eng Technol 43(3),
173-181.

Examples
--------
>>> person = Person(PersonParams(resonance_bpm=5.5), seed=1)
>>> round(person.swing_bpm(5.5) / person.swing_bpm(13.5), 1) > 3
True
>>> beat = person.next_beat(None)
>>> beat.artefact is None and 500 < beat.rr_ms < 1500
True
"""

from __future__ import annotations

import dataclasses
import math
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Final, Protocol

import numpy as np
import numpy.typing as npt

from biofeedback.errors import InvalidInputError

__all__ = [
    "DT_S",
    "VARIANTS",
    "BreathLike",
    "Person",
    "PersonParams",
    "Sees",
    "SimBeat",
    "Variant",
    "sample_people",
    "swing_shape",
]

FloatArray = npt.NDArray[np.float64]

DT_S: Final[float] = 0.25  # simulation grid step, s
WARMUP_S: Final[float] = 60.0  # simulated before the first beat so that every rhythm is under way, s
PINK_TAUS_S: Final[tuple[float, ...]] = (2.0, 8.0, 30.0, 100.0, 300.0)  # OU time constants of the 1/f noise, s
ARTEFACT_KINDS: Final[tuple[str, ...]] = ("missed", "extra", "ectopic")
_CURVE_BPM: Final[FloatArray] = np.arange(2.0, 20.0001, 0.01)  # paces where the peak is sought, /min
_NOISE_BLOCK: Final[int] = 4096  # normal deviates drawn at a time


class BreathLike(Protocol):
    """What the person sees of the prompt: the pacer's :class:`~biofeedback.pacer.BreathState`."""

    @property
    def pace_bpm(self) -> float: ...

    @property
    def phase(self) -> float: ...


Sees = Callable[[float], BreathLike]


@dataclass(frozen=True, slots=True)
class SimBeat:
    """One beat as the strap reports it, with the truth behind it.

    Attributes
    ----------
    t_s : float
        Time of the beat, s on the beat clock (0 = the beat that starts the first
        interval; the running sum of ``rr_ms``).
    rr_ms : float
        The interval the strap reports, ms.
    true_rr_ms : float
        The heart's own (sinus) interval ending at or around this beat, ms: for a missed
        beat the second of the two merged intervals, for an extra beat the interval it
        splits, for an ectopic pair the sinus interval each one displaces.
    artefact : str or None
        ``"missed"``, ``"extra"``, ``"ectopic"``, or None for a clean beat.
    """

    t_s: float
    rr_ms: float
    true_rr_ms: float
    artefact: str | None = None


@dataclass(frozen=True, slots=True)
class PersonParams:
    """One simulated person. Defaults: a typical adult (see the module for the sources).

    Attributes
    ----------
    resonance_bpm : float
        Pace of the largest heart-rate swing, breaths/min (4.5-7).
    baseline_hr_bpm : float
        Mean heart rate at rest, breathing on their own, beats/min.
    peak_swing_bpm : float
        Peak-to-trough heart-rate swing when breathing at resonance, beats/min.
    loop_gain : float
        Baroreflex loop gain, 0..1: higher makes the resonance peak narrower.
    vascular_tau_s : float
        Time constant of the pressure side of the loop, s.
    vagal_corner_bpm : float
        Corner of the vagal low-pass, breaths/min (Hirsch & Bishop: 7.2 +/- 1.5).
    depth_exponent : float
        Mean breath depth is ``(6 / pace_bpm) ** depth_exponent`` (slow breaths are deeper).
    max_drop_pct : float
        Drop of mean heart rate after long breathing at resonance, % of baseline.
    settle_tau_s : float
        Time constant of that drop, s.
    spontaneous_bpm, spontaneous_cv, spontaneous_depth_cv : float
        Own breathing: rate, breaths/min; breath-to-breath CV of rate and of depth.
    follows : bool
        Whether the person follows the prompt at all.
    follow_lag_s : float
        How far behind the prompt's phase a following person breathes, s.
    lock_tau_s : float
        Time constant of the phase lock, s.
    adapt_tau_s : float
        Time to take up a new prompt pace, s.
    phase_drift : float
        Phase random walk while following, cycles per sqrt(s).
    follow_depth_cv : float
        Breath-to-breath CV of depth while following.
    lapse_per_min : float
        Lapses per minute of following.
    lapse_breaths : float
        Mean number of own breaths in a lapse.
    comfort_floor_bpm : float
        Slowest pace the person can follow, breaths/min; slower prompts are breathed at it.
    mayer_hz, mayer_bpm : float
        Mayer-wave frequency, Hz, and its standard deviation, beats/min.
    pink_bpm : float
        Standard deviation of the 1/f heart-rate fluctuation, beats/min.
    jitter_ms : float
        Standard deviation of the beat-time jitter, ms.
    artefact_rate : float
        Strap artefacts per beat (0..0.2).
    """

    resonance_bpm: float = 5.5
    baseline_hr_bpm: float = 68.0
    peak_swing_bpm: float = 14.0
    loop_gain: float = 0.5
    vascular_tau_s: float = 2.5
    vagal_corner_bpm: float = 7.2
    depth_exponent: float = 0.4
    max_drop_pct: float = 3.0
    settle_tau_s: float = 180.0
    spontaneous_bpm: float = 13.0
    spontaneous_cv: float = 0.21
    spontaneous_depth_cv: float = 0.33
    follows: bool = True
    follow_lag_s: float = 0.4
    lock_tau_s: float = 2.0
    adapt_tau_s: float = 6.0
    phase_drift: float = 0.02
    follow_depth_cv: float = 0.15
    lapse_per_min: float = 0.2
    lapse_breaths: float = 3.0
    comfort_floor_bpm: float = 3.5
    mayer_hz: float = 0.1
    mayer_bpm: float = 1.0
    pink_bpm: float = 2.0
    jitter_ms: float = 4.0
    artefact_rate: float = 0.0

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name == "follows":
                if not isinstance(value, bool):
                    raise InvalidInputError(f"follows must be True or False, got {value!r}")
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise InvalidInputError(f"PersonParams.{f.name} must be a finite number, got {value!r}")
        if not 2.0 <= self.resonance_bpm <= 12.0:
            raise InvalidInputError(f"resonance_bpm must be 2-12 breaths/min, got {self.resonance_bpm!r}")
        if not 30.0 <= self.baseline_hr_bpm <= 150.0:
            raise InvalidInputError(f"baseline_hr_bpm must be 30-150 beats/min, got {self.baseline_hr_bpm!r}")
        if not 0.0 <= self.loop_gain < 1.0:
            raise InvalidInputError(f"loop_gain must be in [0, 1), got {self.loop_gain!r}")
        if not 0.0 <= self.artefact_rate <= 0.2:
            raise InvalidInputError(f"artefact_rate must be 0-0.2 per beat, got {self.artefact_rate!r}")
        positive = ("peak_swing_bpm", "vascular_tau_s", "vagal_corner_bpm", "settle_tau_s", "spontaneous_bpm",
                    "lock_tau_s", "adapt_tau_s", "lapse_breaths", "comfort_floor_bpm", "mayer_hz")
        for name in positive:
            if not getattr(self, name) > 0:
                raise InvalidInputError(f"PersonParams.{name} must be positive, got {getattr(self, name)!r}")
        for name in ("depth_exponent", "max_drop_pct", "spontaneous_cv", "spontaneous_depth_cv", "follow_lag_s",
                     "phase_drift", "follow_depth_cv", "lapse_per_min", "mayer_bpm", "pink_bpm", "jitter_ms"):
            if getattr(self, name) < 0:
                raise InvalidInputError(f"PersonParams.{name} must not be negative, got {getattr(self, name)!r}")


def _transfer(pace_bpm: FloatArray, p: PersonParams, delay_s: float) -> FloatArray:
    """|H|: heart-rate answer to a unit breath at each pace, of the grid-discretised loop."""
    z = np.exp(-2j * np.pi * (pace_bpm / 60.0) * DT_S)  # z^-1 on the unit circle
    a_c = 1.0 - math.exp(-DT_S * 2.0 * math.pi * p.vagal_corner_bpm / 60.0)
    a_p = 1.0 - math.exp(-DT_S / p.vascular_tau_s)
    m = int(delay_s / DT_S)
    fr = delay_s / DT_S - m
    vagal = a_c / (1.0 - (1.0 - a_c) * z)
    pressure = a_p / (1.0 - (1.0 - a_p) * z) * ((1.0 - fr) * z**m + fr * z ** (m + 1))
    return np.asarray(np.abs(vagal / (1.0 + _raw_gain(p) * pressure)), dtype=np.float64)


def _raw_gain(p: PersonParams) -> float:
    """The loop's gain before the vascular low-pass: ``loop_gain`` is the gain at resonance."""
    return p.loop_gain * math.hypot(1.0, 2.0 * math.pi * p.resonance_bpm / 60.0 * p.vascular_tau_s)


def _depth(pace_bpm: FloatArray | float, p: PersonParams) -> FloatArray:
    return np.asarray((6.0 / np.asarray(pace_bpm, dtype=np.float64)) ** p.depth_exponent, dtype=np.float64)


def swing_shape(pace_bpm: FloatArray, p: PersonParams, delay_s: float) -> FloatArray:
    """The shape of the model's swing curve: mean breath depth times the loop's gain, per pace.

    The person's expected swing (:meth:`Person.swing_bpm`) is this times a constant. Only
    ``loop_gain``, ``vascular_tau_s``, ``vagal_corner_bpm``, ``depth_exponent`` and
    ``resonance_bpm`` (which scales the raw loop gain) of ``p`` enter, and the loop delay
    ``delay_s`` (s) is given: for a person it is :attr:`Person.loop_delay_s`, the one that puts
    the peak on their resonance.

    Parameters
    ----------
    pace_bpm : ndarray
        Breathing paces, breaths/min (> 0).
    p : PersonParams
        The curve's parameters.
    delay_s : float
        Pure delay of the baroreflex loop, s.

    Returns
    -------
    ndarray
        The unscaled swing at each pace.
    """
    return _depth(pace_bpm, p) * _transfer(pace_bpm, p, delay_s)


def _peak_bpm(p: PersonParams, delay_s: float, grid: FloatArray = _CURVE_BPM) -> float:
    curve = swing_shape(grid, p, delay_s)
    return float(grid[int(np.argmax(curve))])


def _solve_delay_s(p: PersonParams) -> float:
    """The shortest loop delay that puts the swing's peak on ``resonance_bpm``, s.

    A longer delay puts the loop's first resonance at a slower pace. The delays are
    scanned for the first one whose peak is an interior one at or below the resonance,
    then bisected on the fine grid.
    """
    coarse = _CURVE_BPM[::5]
    w = 2.0 * math.pi * p.resonance_bpm / 60.0
    phase_180_s = (math.pi - math.atan(w * p.vascular_tau_s)) / w  # the loop alone would peak here
    taus = np.arange(0.5, 1.3 * phase_180_s, 0.1)
    before = None
    for tau in taus:
        peak = _peak_bpm(p, float(tau), coarse)
        interior = coarse[0] < peak < coarse[-1]
        if interior and peak <= p.resonance_bpm and before is not None:
            lo, hi = before, float(tau)
            near = _CURVE_BPM[np.abs(_CURVE_BPM - p.resonance_bpm) < 1.0]  # the peak is near by now
            for _ in range(30):
                mid = 0.5 * (lo + hi)
                if _peak_bpm(p, mid, near) > p.resonance_bpm:
                    lo = mid
                else:
                    hi = mid
            return 0.5 * (lo + hi)
        before = float(tau) if interior and peak > p.resonance_bpm else None
    raise InvalidInputError(
        f"no loop delay puts the resonance at {p.resonance_bpm} /min with these parameters"
        f" (loop_gain {p.loop_gain}, vascular_tau_s {p.vascular_tau_s}, depth_exponent {p.depth_exponent})")


class _Draws:
    """Deviates from one generator, drawn in blocks of :data:`_NOISE_BLOCK` (fast one by one)."""

    def __init__(self, draw: Callable[[int], FloatArray]) -> None:
        self.draw = draw
        self.block: list[float] = []
        self.i = 0

    def __call__(self) -> float:
        if self.i >= len(self.block):
            self.block = self.draw(_NOISE_BLOCK).tolist()
            self.i = 0
        x = self.block[self.i]
        self.i += 1
        return x


def _normals(rng: np.random.Generator) -> _Draws:
    """Standard normal deviates."""
    return _Draws(rng.standard_normal)


def _uniforms(rng: np.random.Generator) -> _Draws:
    """Uniform deviates in [0, 1)."""
    return _Draws(rng.random)


class Person:
    """A simulated person breathing (with a prompt or on their own) and their heart beating.

    Parameters
    ----------
    params : PersonParams
    seed : int
        Seeds every random stream: the same seed and prompt give the same beats.

    Attributes
    ----------
    params : PersonParams
    seed : int
    resonance_bpm : float
        The pace of the largest swing, breaths/min (the peak of :meth:`swing_bpm`).
    loop_delay_s : float
        The baroreflex delay that puts the resonance there, s.
    t_s : float
        Time of the last beat, s on the beat clock.
    breathing_bpm : float
        The pace the person actually breathes at, smoothed over about 15 s, breaths/min.
    mode : str
        What the person does now: ``"follow"``, ``"lapse"``, ``"floor"`` or ``"own"``.
    hr_drop_pct : float
        Current settling of mean heart rate below baseline, %.
    phase : float
        Where the person is in their own breath, 0..1 (0 = inhale onset).

    Raises
    ------
    InvalidInputError
        A seed that is not a non-negative integer, or parameters that put no resonance at
        ``resonance_bpm``.
    """

    def __init__(self, params: PersonParams, seed: int) -> None:
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise InvalidInputError(f"seed must be a non-negative integer, got {seed!r}")
        self.params = p = params
        self.seed = seed
        self.resonance_bpm = p.resonance_bpm
        self.loop_delay_s = _solve_delay_s(p)
        self._swing_cache: dict[int, float] = {}
        self._gain_bpm = p.peak_swing_bpm / (2.0 * self._unit_swing(p.resonance_bpm))
        self._peak_unit = self._unit_swing(p.resonance_bpm)
        breath, heart, jitter, artefact = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(4))
        self._breath_n, self._breath_u = _normals(breath), _uniforms(np.random.default_rng(breath.integers(2**63)))
        self._heart_n = _normals(heart)
        self._jitter_n = _normals(jitter)
        self._art_u = _uniforms(artefact)

        # loop state
        self._raw_gain = _raw_gain(p)
        self._a_c = 1.0 - math.exp(-DT_S * 2.0 * math.pi * p.vagal_corner_bpm / 60.0)
        self._a_p = 1.0 - math.exp(-DT_S / p.vascular_tau_s)
        self._m = int(self.loop_delay_s / DT_S)
        self._fr = self.loop_delay_s / DT_S - self._m
        self._y_hist: deque[float] = deque([0.0] * (self._m + 2), maxlen=self._m + 2)
        self._vagal = 0.0
        self._pressure = 0.0
        # noise state
        r = math.exp(-math.pi * 0.02 * DT_S / 0.5)  # Mayer band about 0.02 Hz wide
        w = 2.0 * math.pi * p.mayer_hz * DT_S
        self._ar1, self._ar2 = 2.0 * r * math.cos(w), -r * r
        var_unit = (1 + r * r) / ((1 - r * r) * ((1 + r * r) ** 2 - (2 * r * math.cos(w)) ** 2))
        self._mayer_sigma = p.mayer_bpm / math.sqrt(var_unit)
        self._mayer = [0.0, 0.0]
        self._pink_a = [math.exp(-DT_S / tau) for tau in PINK_TAUS_S]
        each = p.pink_bpm / math.sqrt(len(PINK_TAUS_S))
        self._pink_sigma = [each * math.sqrt(1.0 - a * a) for a in self._pink_a]
        self._pink = [each * self._heart_n() for _ in PINK_TAUS_S]
        # breathing state
        self._psi = self._breath_u()
        self._own_hz = self._draw_own_hz()
        self._depth_now = self._draw_depth(self._own_hz * 60.0, p.spontaneous_depth_cv)
        self._int_hz = self._own_hz
        self._lapse_left = 0
        self.mode = "own"
        self.breathing_bpm = self._own_hz * 60.0
        self.hr_drop_pct = 0.0
        # time and beats
        self._t = 0.0  # internal time, s
        self._beat_phase = self._breath_u()
        self._offset_s = 0.0
        self._last_obs_s = 0.0
        self._pending: deque[SimBeat] = deque()
        self.t_s = 0.0
        # warm up on own breathing, then anchor the beat clock on a beat
        while self._t < WARMUP_S:
            self._step(None)
        beat_t = self._step(None)
        while beat_t is None:
            beat_t = self._step(None)
        self._offset_s = beat_t + self._jitter_n() * p.jitter_ms / 1000.0
        self._last_obs_s = self._offset_s

    @property
    def phase(self) -> float:
        """Where the person is in their own breath now, 0..1 (0 = inhale onset)."""
        return self._psi

    # -- the truth -----------------------------------------------------------------------

    def _unit_swing(self, pace_bpm: float) -> float:
        pace = np.array([pace_bpm], dtype=np.float64)
        return float(swing_shape(pace, self.params, self.loop_delay_s)[0])

    def swing_bpm(self, pace_bpm: float) -> float:
        """The expected peak-to-trough heart-rate swing when breathing at ``pace_bpm``, beats/min.

        The model's truth curve: twice the amplitude of the steady-state heart-rate answer
        to a breath of mean depth at that pace (noise and beat sampling aside). It peaks at
        :attr:`resonance_bpm` with :attr:`PersonParams.peak_swing_bpm`.

        Parameters
        ----------
        pace_bpm : float
            Breathing pace, breaths/min (> 0).
        """
        if not (isinstance(pace_bpm, (int, float)) and pace_bpm > 0 and math.isfinite(pace_bpm)):
            raise InvalidInputError(f"pace_bpm must be a positive number of breaths/min, got {pace_bpm!r}")
        return 2.0 * self._gain_bpm * self._unit_swing(float(pace_bpm))

    # -- simulation ----------------------------------------------------------------------

    def _draw_own_hz(self) -> float:
        p = self.params
        rate = p.spontaneous_bpm * (1.0 + p.spontaneous_cv * self._breath_n())
        return min(max(rate, 0.5 * p.spontaneous_bpm), 2.0 * p.spontaneous_bpm) / 60.0

    def _draw_depth(self, pace_bpm: float, cv: float) -> float:
        mean: float = (6.0 / max(pace_bpm, 1.0)) ** self.params.depth_exponent
        return mean * max(0.2, 1.0 + cv * self._breath_n())

    def _breathe(self, sees: Sees | None) -> float:
        """Advance the breath one step; returns the breathing frequency of the step, Hz."""
        p = self.params
        t_beat = self._t - self._offset_s
        shown = sees(t_beat) if (sees is not None and p.follows) else None
        lapse_draw = self._breath_u()  # drawn every step: the streams stay aligned
        drift = self._breath_n()
        if shown is None:
            self.mode = "own"
        elif self._lapse_left > 0:
            self.mode = "lapse"
        elif shown.pace_bpm < p.comfort_floor_bpm:
            self.mode = "floor"
        else:
            if lapse_draw < p.lapse_per_min / 60.0 * DT_S:
                self.mode = "lapse"
                self._lapse_left = max(1, round(p.lapse_breaths * (0.5 + self._breath_u())))
                self._own_hz = self._draw_own_hz()
            else:
                self.mode = "follow"
        if self.mode == "follow" and shown is not None:
            f_p = shown.pace_bpm / 60.0
            self._int_hz += (f_p - self._int_hz) * DT_S / p.adapt_tau_s
            err = (shown.phase - p.follow_lag_s * f_p - self._psi) % 1.0
            if err >= 0.5:
                err -= 1.0
            hz = max(0.3 * f_p, self._int_hz + err / p.lock_tau_s)
            step = hz * DT_S + p.phase_drift * math.sqrt(DT_S) * drift
        elif self.mode == "floor":
            hz = p.comfort_floor_bpm / 60.0
            self._int_hz = hz
            step = hz * DT_S + p.phase_drift * math.sqrt(DT_S) * drift
        else:
            hz = self._own_hz
            self._int_hz = hz if self.mode == "own" else self._int_hz
            step = hz * DT_S
        step = max(step, 0.0)
        before = self._psi
        self._psi += step
        if math.floor(self._psi) > math.floor(before):  # a new breath begins
            self._psi -= math.floor(self._psi)
            if self.mode in ("own", "lapse"):
                if self.mode == "lapse":
                    self._lapse_left -= 1
                self._own_hz = self._draw_own_hz()
                self._depth_now = self._draw_depth(hz * 60.0, p.spontaneous_depth_cv)
            else:
                self._depth_now = self._draw_depth(hz * 60.0, p.follow_depth_cv)
        return step / DT_S

    def _step(self, sees: Sees | None) -> float | None:
        """One grid step; returns the internal time of a beat within it, if any."""
        p = self.params
        hz = self._breathe(sees)
        self.breathing_bpm += (hz * 60.0 - self.breathing_bpm) * DT_S / 15.0
        # the loop
        u = -self._depth_now * math.cos(2.0 * math.pi * self._psi)
        self._vagal += self._a_c * (u - self._vagal)
        hist = self._y_hist  # hist[-1] = y[k-1], hist[-m] = y[k-m]
        delayed = (1.0 - self._fr) * hist[-self._m] + self._fr * hist[-self._m - 1]
        self._pressure += self._a_p * (delayed - self._pressure)
        y = self._vagal - self._raw_gain * self._pressure
        hist.append(y)
        # the noise (a fixed number of draws per step)
        m1, m2 = self._mayer
        mayer = self._ar1 * m1 + self._ar2 * m2 + self._mayer_sigma * self._heart_n()
        self._mayer = [mayer, m1]
        pink = 0.0
        for i, a in enumerate(self._pink_a):
            self._pink[i] = a * self._pink[i] + self._pink_sigma[i] * self._heart_n()
            pink += self._pink[i]
        # the settling of the mean
        closeness = min(1.0, self._unit_swing_fast(self.breathing_bpm) / self._peak_unit)
        target = p.max_drop_pct * closeness**4
        self.hr_drop_pct += (target - self.hr_drop_pct) * DT_S / p.settle_tau_s
        hr = p.baseline_hr_bpm * (1.0 - self.hr_drop_pct / 100.0) + self._gain_bpm * y + mayer + pink
        hr = min(max(hr, 30.0), 200.0)
        # integral pulse frequency: a beat when the phase passes one
        t0 = self._t
        self._t += DT_S
        rate = hr / 60.0
        beat = None
        if self._beat_phase + rate * DT_S >= 1.0:
            beat = t0 + (1.0 - self._beat_phase) / rate
            self._beat_phase += rate * DT_S - 1.0
        else:
            self._beat_phase += rate * DT_S
        return beat

    def _unit_swing_fast(self, pace_bpm: float) -> float:
        """:meth:`_unit_swing` on a 0.05 /min grid (cached): for the per-step settling."""
        key = round(pace_bpm * 20.0)
        cached = self._swing_cache.get(key)
        if cached is None:
            cached = self._swing_cache[key] = self._unit_swing(max(key, 1) / 20.0)
        return cached

    def _sinus_beat(self, sees: Sees | None) -> tuple[float, float]:
        """The next heartbeat: (observed beat-clock time s, interval ms)."""
        beat = self._step(sees)
        while beat is None:
            beat = self._step(sees)
        obs = beat + self._jitter_n() * self.params.jitter_ms / 1000.0
        rr_ms = (obs - self._last_obs_s) * 1000.0
        self._last_obs_s = obs
        return obs - self._offset_s, rr_ms

    def next_beat(self, sees: Sees | None) -> SimBeat:
        """Simulate up to the next beat the strap reports.

        Parameters
        ----------
        sees : callable or None
            ``sees(t_s)`` -> what the prompt shows at ``t_s`` (s on the beat clock): an
            object with ``pace_bpm`` and ``phase`` (0..1), e.g. ``pacer.at``. It is called
            for times up to this beat, in order. None: the person breathes on their own.

        Returns
        -------
        SimBeat
        """
        if self._pending:
            out = self._pending.popleft()
        else:
            out = self._make_beat(sees)
        self.t_s = out.t_s
        return out

    def _make_beat(self, sees: Sees | None) -> SimBeat:
        p = self.params
        t, rr = self._sinus_beat(sees)
        occurs, which, share = self._art_u(), self._art_u(), self._art_u()
        if occurs >= p.artefact_rate:
            return SimBeat(t, rr, rr)
        kind = ARTEFACT_KINDS[min(2, int(which * 3))]
        if kind == "missed":
            t2, rr2 = self._sinus_beat(sees)
            return SimBeat(t2, rr + rr2, rr2, kind)
        if kind == "extra":
            x = 0.3 + 0.4 * share
            self._pending.append(SimBeat(t, (1.0 - x) * rr, rr, kind))
            return SimBeat(t - (1.0 - x) * rr / 1000.0, x * rr, rr, kind)
        early = 0.25 + 0.15 * share  # ectopic: premature by 25-40 %, then a compensatory pause
        t2, rr2 = self._sinus_beat(sees)
        self._pending.append(SimBeat(t2, rr2 + early * rr, rr2, kind))
        return SimBeat(t - early * rr / 1000.0, (1.0 - early) * rr, rr, kind)


# -- populations ------------------------------------------------------------------------


@dataclass(frozen=True)
class Variant:
    """A set of modelling assumptions: the range each parameter is drawn from.

    Attributes
    ----------
    description : str
        What the variant assumes, in words.
    ranges : mapping of str to (float, float)
        Overrides of :data:`DEFAULT_RANGES`: a parameter drawn uniformly in ``[lo, hi]``.
    non_follower_share : float
        Share of people who breathe on their own whatever the prompt shows.
    """

    description: str
    ranges: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    non_follower_share: float = 0.0


DEFAULT_RANGES: Final[Mapping[str, tuple[float, float]]] = {
    "resonance_bpm": (4.5, 7.0),
    "baseline_hr_bpm": (58.0, 80.0),
    "peak_swing_bpm": (8.0, 20.0),
    "loop_gain": (0.45, 0.6),
    "vascular_tau_s": (2.0, 4.0),
    "vagal_corner_bpm": (5.7, 8.7),
    "depth_exponent": (0.4, 0.6),
    "max_drop_pct": (1.0, 6.0),
    "settle_tau_s": (120.0, 300.0),
    "spontaneous_bpm": (10.0, 16.0),
    "follow_lag_s": (0.2, 0.7),
    "lock_tau_s": (1.5, 3.0),
    "adapt_tau_s": (4.0, 10.0),
    "phase_drift": (0.01, 0.04),
    "follow_depth_cv": (0.1, 0.25),
    "lapse_per_min": (0.1, 0.4),
    "lapse_breaths": (2.0, 4.0),
    "comfort_floor_bpm": (3.0, 4.0),
    "mayer_hz": (0.085, 0.115),
    "mayer_bpm": (0.6, 1.5),
    "pink_bpm": (1.5, 3.0),
    "jitter_ms": (2.0, 6.0),
    "artefact_rate": (0.01, 0.01),
}

VARIANTS: Final[Mapping[str, Variant]] = {
    "default": Variant("typical adults, as cited in the module; 1 % strap artefacts"),
    "clean": Variant("as default, without artefacts", {"artefact_rate": (0.0, 0.0)}),
    "long_delay": Variant("the loop's lag is nearly all pure delay (fast pressure side)",
                          {"vascular_tau_s": (0.8, 1.5)}),
    "short_delay": Variant("much of the loop's lag is a slow pressure side, the delay is short",
                           {"vascular_tau_s": (4.0, 6.0)}),
    "narrow": Variant("a sharp resonance peak (strong baroreflex)", {"loop_gain": (0.65, 0.8)}),
    "broad": Variant("a flat resonance peak (weak baroreflex)", {"loop_gain": (0.35, 0.45), "vascular_tau_s": (1.0, 3.0)}),
    "poor_follower": Variant(
        "follows late and loosely: long lag, slow to lock and to take up a new pace, frequent lapses,"
        " a high comfort floor",
        {"follow_lag_s": (0.8, 1.5), "lock_tau_s": (3.0, 6.0), "adapt_tau_s": (10.0, 20.0),
         "phase_drift": (0.04, 0.08), "follow_depth_cv": (0.25, 0.4), "lapse_per_min": (0.5, 1.2),
         "comfort_floor_bpm": (4.0, 5.0)}),
    "mixed_followers": Variant("as default, and a quarter of people do not follow the prompt at all",
                               non_follower_share=0.25),
    "noisy": Variant("twice the Mayer waves, 1/f noise and jitter", {
        "mayer_bpm": (1.2, 3.0), "pink_bpm": (3.0, 6.0), "jitter_ms": (4.0, 12.0)}),
    "quiet": Variant("half the Mayer waves, 1/f noise and jitter", {
        "mayer_bpm": (0.3, 0.75), "pink_bpm": (0.75, 1.5), "jitter_ms": (1.0, 3.0)}),
    "small_swing": Variant("small swings (older or less fit people)", {"peak_swing_bpm": (3.0, 7.0)}),
    "high_hr": Variant("high resting heart rate", {"baseline_hr_bpm": (82.0, 100.0)}),
    "low_hr": Variant("low resting heart rate (athletes)", {"baseline_hr_bpm": (45.0, 56.0)}),
    "no_drop": Variant("mean heart rate barely drops at resonance", {"max_drop_pct": (0.0, 1.0)}),
    "artefacts": Variant("a strap in motion: 3 % artefacts", {"artefact_rate": (0.03, 0.03)}),
}


def sample_people(n: int, seed: int, variant: str = "default") -> list[Person]:
    """``n`` simulated people drawn under one set of assumptions.

    Resonance paces are spread evenly over the variant's range (stratified: person ``i``
    falls in the ``i``-th of ``n`` equal slices, at a random place in it); every other
    parameter is drawn uniformly in its range.

    Parameters
    ----------
    n : int
        How many people (>= 1).
    seed : int
        Seeds the draws and each person (person ``i`` gets its own seed from it).
    variant : str
        A key of :data:`VARIANTS`.

    Returns
    -------
    list of Person

    Raises
    ------
    InvalidInputError
        ``n`` or ``seed`` not a positive/non-negative integer, or an unknown variant.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise InvalidInputError(f"n must be a positive number of people, got {n!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise InvalidInputError(f"seed must be a non-negative integer, got {seed!r}")
    if variant not in VARIANTS:
        raise InvalidInputError(f"unknown variant {variant!r}; choose one of {', '.join(VARIANTS)}")
    v = VARIANTS[variant]
    ranges = {**DEFAULT_RANGES, **v.ranges}
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x5EED]))
    people = []
    for i in range(n):
        lo, hi = ranges["resonance_bpm"]
        resonance = float(lo + (hi - lo) * (i + rng.random()) / n)
        follows = bool(rng.random() >= v.non_follower_share)
        person_seed = int(rng.integers(2**31))
        for _ in range(200):  # redraw the rest where no loop delay fits this resonance
            draws = {name: float(a + (b - a) * rng.random()) for name, (a, b) in ranges.items()}
            draws["resonance_bpm"] = resonance
            try:
                people.append(Person(PersonParams(**draws, follows=follows), seed=person_seed))
                break
            except InvalidInputError:
                continue
        else:
            raise InvalidInputError(f"variant {variant!r} cannot put a resonance at {resonance:.2f} /min")
    return people
