"""Streaming HRV: metrics of a sliding window of beats, updated one beat at a time.

:class:`SlidingHRV` takes RR intervals one by one and returns the current window's metrics
under the key names of the batch functions (:func:`~biofeedback.hrv.time_domain.time_domain`,
:func:`~biofeedback.hrv.frequency.frequency_domain`, and ``coherence``). The window holds the
beats whose *end* time lies in the last ``window_s`` seconds of the beat clock: with beat
times ``t_i = cumsum(rr_ms)[i] / 1000`` and ``T`` the latest, beat ``i`` is in the window iff
``T - window_s < t_i <= T``. :meth:`SlidingHRV.window_rr_ms` returns those intervals, so the
batch twin of any value is ``batch(sliding.window_rr_ms())``.

How each family is computed
---------------------------
Time domain (``mean_rr_ms``, ``mean_hr_bpm``, ``sdnn_ms``, ``rmssd_ms``, ``pnn50_pct``,
``ln_rmssd``): running sums kept in *exact* integer arithmetic. Each interval is held as an
integer number of 2⁻⁶⁴ ms (``math.ldexp(rr_ms, 64)``, exact for every float ≥ 2⁻¹¹ ms) and
each instantaneous rate ``60000 / rr_ms`` likewise, so the sums of intervals, of squares, of
rates and of squared successive differences never drift, however long the stream. Each
metric is then one correctly rounded division and a square root, so it agrees with
:func:`time_domain` of the same window to about 1e-15 relative at every beat (NN50 uses the
same float comparison ``abs(diff) > 50`` as the batch). O(1) amortised per beat.

Band powers (``vlf_ms2``, ``lf_ms2``, ``hf_ms2``, ``total_ms2``, ``lf_hf``): a streaming
version of the batch method (cubic spline at ``fs_hz``, mean removed, Hann window, one-sided
density, trapezoid over the ``[low, high)`` bins of an ``nfft``-point FFT), in two parts:

1. *Incremental spline* (:mod:`biofeedback.hrv._incremental_spline`). One not-a-knot cubic
   spline runs through every beat since the last reset, extended one beat at a time: one
   forward elimination step and a back substitution :data:`SPLINE_DEPTH` knots deep. The
   segment that deep is final and is sampled once onto a fixed grid ``t_0 + k / fs_hz``;
   the newest few segments are resampled lazily, when a band power is read.
2. *Low-rank band projection* (:mod:`biofeedback.hrv._band_factors`). A band power of a
   window of ``n`` samples is a quadratic form in them, factored once per ``n`` as
   ``B_n^T B_n`` with few rows, so a band read is ``‖B_n x‖²``: one small matrix-vector
   product (about 50 × 240 for HF) instead of a spline solve and an FFT. Windows longer
   than ``nperseg`` samples use Welch segments, as the batch does; a window length not yet
   met often enough for a factor is computed by the FFT itself. The two routes agree to
   ~1e-13.

What differs from the batch: the batch fits a fresh spline to the window alone, with a
not-a-knot end at the window's first beat, and samples from that beat; the stream's spline
runs on through earlier beats and its grid is anchored at the first beat after a reset
(so the window's samples may sit up to ``1 / fs_hz`` later and number one more or fewer).
Both differences sit under the Hann window's tapered edges. One consequence: an interval
many times the usual length just before the window (a pause or a run of missed beats that
was not reported with :meth:`SlidingHRV.gap`) still bends the stream's spline inside the
window's first beats; correct artefacts and report gaps before feeding beats. On the real
recordings (tests/test_hrv_sliding.py) LF and HF agree with :func:`frequency_domain` of the
same windows to a median relative error of about 0.2% (90th percentile under 1%; the
contract is 5% and 15%).

Coherence (``coherence``): :func:`~biofeedback.hrv.coherence.coherence` of the beats in the
last :data:`~biofeedback.hrv.coherence.COHERENCE_WINDOW_S` seconds (its own fixed window,
independent of ``window_s``), computed when the key is read.

Laziness and state
------------------
:meth:`SlidingHRV.update` updates all state eagerly in O(1) amortised time (plus
:data:`SPLINE_DEPTH` steps of the spline) and returns a :class:`SlidingMetrics` mapping whose
values are computed when first read (each band on its own first read). A mapping that is
still referenced when the next beat arrives first takes a snapshot of what it still needs
(a copy of the window's samples, the coherence beats), so it always describes the window
it was returned for. Memory is bounded by the window: the beats of the last
``max(window_s, coherence window)`` seconds, a few spline rows, and about
``2 · window_s · fs_hz`` samples.

References
----------
Task Force of the ESC and NASPE (1996). Heart rate variability: standards of measurement,
physiological interpretation and clinical use. Circulation 93, 1043–1065.
de Boor, C. (1978). A Practical Guide to Splines. Springer (not-a-knot end condition).
"""

from __future__ import annotations

import math
import weakref
from collections import deque
from collections.abc import Iterator, Mapping
from typing import Final

import numpy as np
import numpy.typing as npt

from biofeedback._validate import check_positive, rr_array
from biofeedback.errors import InvalidInputError
from biofeedback.hrv._band_factors import N_GROUPS, Bands, Factor, SpecParams, window_band_power
from biofeedback.hrv._incremental_spline import SPLINE_DEPTH, IncrementalSpline
from biofeedback.hrv._spectral import (
    DEFAULT_FS_HZ,
    WELCH_NFFT,
    WELCH_NPERSEG,
    FloatArray,
    check_band,
)
from biofeedback.hrv.coherence import COHERENCE_WINDOW_S, coherence
from biofeedback.hrv.frequency import HF_HZ, LF_HZ, MIN_DURATION_S, VLF_HZ

__all__ = [
    "MAX_RR_MS",
    "MIN_RR_MS",
    "SPECTRAL_KEYS",
    "SPLINE_DEPTH",
    "TIME_KEYS",
    "SlidingHRV",
    "SlidingMetrics",
]

SCALE_BITS: Final[int] = 64  # intervals are held as integers of 2**-64 ms
MIN_RR_MS: Final[float] = 1e-3  # shortest interval accepted (exact as 2**-64 ms units), ms
MAX_RR_MS: Final[float] = 1e8  # longest (its rate 60000 / rr stays exact too), ms
_UNITS_PER_S: Final[int] = 1000 << SCALE_BITS  # integer clock units per second
_NN50_MS: Final[float] = 50.0  # NN50 threshold, ms
_COH_KEEP: Final[int] = 5  # beats kept before the coherence window (its 4-beat spline margin + 1)

TIME_KEYS: Final[tuple[str, ...]] = (
    "mean_rr_ms",
    "mean_hr_bpm",
    "sdnn_ms",
    "rmssd_ms",
    "pnn50_pct",
    "ln_rmssd",
)
SPECTRAL_KEYS: Final[tuple[str, ...]] = (
    "vlf_ms2",
    "lf_ms2",
    "hf_ms2",
    "total_ms2",
    "lf_hf",
)


# --------------------------------------------------------------------------- the mapping

_TdState = tuple[int, int, int, int, int, int]  # n, Σrr, Σrr², Σhr, Σ(Δrr)², NN50 (integers)


class SlidingMetrics(Mapping[str, float | None]):
    """The metrics of one window, computed when first read (a read-only mapping).

    Keys: :data:`TIME_KEYS`, :data:`SPECTRAL_KEYS` and ``"coherence"``; a value is None when
    the window has too little data for it (see :class:`SlidingHRV`). Each band power is
    computed on its first read (``total_ms2`` needs all three bands).
    """

    __slots__ = (
        "__weakref__",
        "_bp",
        "_coh",
        "_coh_rr",
        "_engine",
        "_params",
        "_td",
        "_version",
        "_x",
    )

    _KEYS: Final[tuple[str, ...]] = (*TIME_KEYS, *SPECTRAL_KEYS, "coherence")

    def __init__(self, engine: SlidingHRV, version: int, td: _TdState) -> None:
        self._engine: SlidingHRV | None = engine
        self._version = version
        self._td = td
        self._params = engine._spec_params
        self._x: FloatArray | None = None  # the window's samples, once needed
        self._bp: list[float | None] = [None, None, None, None]  # VLF, LF, HF, junction
        self._coh: float | None = None
        self._coh_rr: tuple[float, ...] | None = None

    def __len__(self) -> int:
        return len(self._KEYS)

    def __iter__(self) -> Iterator[str]:
        return iter(self._KEYS)

    def __repr__(self) -> str:
        return "SlidingMetrics({" + ", ".join(f"{k!r}: {self[k]!r}" for k in self._KEYS) + "})"

    def __getitem__(self, key: str) -> float | None:
        which = _KEY_INDEX[key]  # KeyError for unknown keys, as a mapping should
        if which < 6:
            return self._time_domain(which)
        if which < 9:  # vlf, lf, hf: groups 0, 1, 2
            return self._power(which - 6)
        if which == 9:
            parts = [self._power(g) for g in range(N_GROUPS)]
            return None if parts[0] is None else math.fsum(p for p in parts if p is not None)
        if which == 10:
            lf, hf = self._power(1), self._power(2)
            if lf is None or hf is None:
                return None
            return lf / hf if hf > 0.0 else math.nan
        return self._coherence()

    def _time_domain(self, which: int) -> float | None:
        n, s1, s2, sh, sd2, nn50 = self._td
        if n < 2:
            return None
        if which == 0:
            return s1 / (n << SCALE_BITS)
        if which == 1:
            return sh / (n << SCALE_BITS)
        if which == 2:
            return math.sqrt((n * s2 - s1 * s1) / ((n * (n - 1)) << (2 * SCALE_BITS)))
        if which == 4:
            return 100.0 * nn50 / (n - 1)
        rmssd = math.sqrt(sd2 / ((n - 1) << (2 * SCALE_BITS)))
        if which == 3:
            return rmssd
        return math.log(rmssd) if rmssd > 0.0 else -math.inf

    def _samples(self) -> FloatArray | None:
        x = self._x
        if x is None:
            eng = self._engine
            if eng is None or eng._version != self._version or not eng._spectral_ready():
                return None
            x = self._x = eng._spline.samples()
        return x

    def _power(self, g: int) -> float | None:
        v = self._bp[g]
        if v is not None:
            return v
        x = self._samples()
        if x is None:
            return None
        eng = self._engine
        return window_band_power(x, g, self._params, self._bp, None if eng is None else eng._factors)

    def _coherence(self) -> float | None:
        if self._coh_rr is None:
            eng = self._engine
            if eng is None or eng._version != self._version:
                return None
            self._coh_rr = eng._coherence_rr()
        if self._coh is None and self._coh_rr:
            self._coh = _coherence_value(self._coh_rr)
        return self._coh

    def _detach(self) -> None:
        """Snapshot what the lazy values need before the engine moves on."""
        eng = self._engine
        if eng is None:
            return
        if None in self._bp:
            x = self._samples()
            if x is not None:
                self._x = x.copy()
        if self._coh_rr is None:
            self._coh_rr = eng._coherence_rr()
        self._engine = None


_KEY_INDEX: Final[dict[str, int]] = {k: i for i, k in enumerate((*TIME_KEYS, *SPECTRAL_KEYS, "coherence"))}


def _coherence_value(rr: tuple[float, ...]) -> float | None:
    try:
        return coherence(np.asarray(rr, dtype=np.float64))
    except InvalidInputError:
        return None


# --------------------------------------------------------------------------- the engine


class SlidingHRV:
    """HRV metrics of a sliding window of beats, updated one RR interval at a time.

    Parameters
    ----------
    window_s : float
        Window length, s on the beat clock: beat ``i`` (ending at ``t_i``) is in the window
        iff ``T - window_s < t_i <= T``, ``T`` the latest beat time.
    fs_hz, nperseg, nfft, vlf_hz, lf_hz, hf_hz
        The spectral method's parameters, as in
        :func:`~biofeedback.hrv.frequency.frequency_domain` (defaults 4 Hz, 256, 4096 and
        the Task Force bands).

    Notes
    -----
    :meth:`update` returns a :class:`SlidingMetrics` (see the module docstring for how each
    value is computed). A value is None when the window has too little data:

    - time domain: fewer than 2 beats in the window (as :func:`time_domain` raises);
    - band powers: fewer than 4 beats, or the window's beats span (first to last beat
      time) under 4 s — the batch needs 3 beats and 4 s;
    - coherence: until the beats since the last reset span the coherence window.

    After a break in the RR chain (lost link, lost contact) call :meth:`gap` (or
    :meth:`reset`): the window, the beat clock and the spline start again from the next beat.

    Examples
    --------
    >>> s = SlidingHRV(window_s=60.0)
    >>> for rr in [800.0, 850.0, 790.0, 900.0]:
    ...     m = s.update(rr)
    >>> round(m["rmssd_ms"], 3), m["hf_ms2"] is None
    (77.889, True)
    >>> s.window_rr_ms().tolist()
    [800.0, 850.0, 790.0, 900.0]
    """

    __slots__ = (
        "_beats",
        "_coh_units",
        "_factors",
        "_hist_rr",
        "_hist_t",
        "_live",
        "_n_gaps",
        "_nn50",
        "_s1",
        "_s2",
        "_sd2",
        "_sh",
        "_spec_params",
        "_spline",
        "_t",
        "_version",
        "_w_units",
        "_window_s",
    )

    def __init__(
        self,
        window_s: float = 60.0,
        *,
        fs_hz: float = DEFAULT_FS_HZ,
        nperseg: int = WELCH_NPERSEG,
        nfft: int = WELCH_NFFT,
        vlf_hz: tuple[float, float] = VLF_HZ,
        lf_hz: tuple[float, float] = LF_HZ,
        hf_hz: tuple[float, float] = HF_HZ,
    ) -> None:
        self._window_s = check_positive(window_s, "window_s", "seconds")
        self._w_units = _ceil_units(self._window_s)  # window in clock units, rounded up
        fs = check_positive(fs_hz, "fs_hz", "Hz")
        bands: Bands = (
            check_band(vlf_hz, "vlf_hz"),
            check_band(lf_hz, "lf_hz"),
            check_band(hf_hz, "hf_hz"),
        )
        self._spec_params: SpecParams = (
            fs,
            int(check_positive(nperseg, "nperseg", "samples")),
            int(check_positive(nfft, "nfft", "samples")),
            bands,
        )
        self._coh_units = _ceil_units(COHERENCE_WINDOW_S)  # the coherence window, clock units
        self._spline = IncrementalSpline(fs, self._window_s)  # the tachogram and its samples
        self._version = 0
        self._live: weakref.ref[SlidingMetrics] | None = None
        self._n_gaps = 0
        self._beats: deque[tuple[int, int, int, float]] = deque()
        self._hist_t: deque[int] = deque()  # coherence beats: end times, clock units
        self._hist_rr: deque[float] = deque()  # and intervals, ms
        self._factors: dict[int, Factor] = {}  # band factors by window length
        self.reset()
        self._n_gaps = 0

    # ----------------------------------------------------------------- public API

    @property
    def window_s(self) -> float:
        """Window length, s."""
        return self._window_s

    @property
    def n_beats(self) -> int:
        """Number of beats in the window."""
        return len(self._beats)

    @property
    def t_s(self) -> float:
        """Time of the latest beat since the last reset, s on the beat clock (0 before any)."""
        return self._t / _UNITS_PER_S

    @property
    def n_gaps(self) -> int:
        """How many times :meth:`gap` was called."""
        return self._n_gaps

    def window_rr_ms(self) -> FloatArray:
        """The window's RR intervals, ms, oldest first (for the batch twin)."""
        return np.fromiter((b[3] for b in self._beats), dtype=np.float64, count=len(self._beats))

    def reset(self) -> None:
        """Forget every beat: the window, the beat clock and the spline start again."""
        self._bump()
        self._beats.clear()
        self._hist_t.clear()
        self._hist_rr.clear()
        self._t = 0
        self._s1 = self._s2 = self._sh = self._sd2 = 0
        self._nn50 = 0
        self._spline.reset()

    def gap(self) -> None:
        """The RR chain broke (link or contact lost): restart the window from the next beat."""
        self.reset()
        self._n_gaps += 1

    def metrics(self) -> SlidingMetrics:
        """The current window's metrics (what the last :meth:`update` returned)."""
        live = self._live() if self._live is not None else None
        if live is not None and live._engine is self and live._version == self._version:
            return live
        m = SlidingMetrics(
            self,
            self._version,
            (len(self._beats), self._s1, self._s2, self._sh, self._sd2, self._nn50),
        )
        self._live = weakref.ref(m)
        return m

    def extend(self, rr_ms: npt.ArrayLike) -> SlidingMetrics:
        """Feed several intervals in order; same state as calling :meth:`update` on each.

        Raises
        ------
        InvalidInputError
            If any interval is NaN, infinite, zero or negative, or outside
            [:data:`MIN_RR_MS`, :data:`MAX_RR_MS`] (nothing is fed then).
        """
        rr = rr_array(rr_ms, name="rr_ms", what="SlidingHRV.extend")
        lo, hi = float(np.min(rr)), float(np.max(rr))
        if lo < MIN_RR_MS or hi > MAX_RR_MS:
            raise _out_of_range(lo if lo < MIN_RR_MS else hi)
        for v in rr.tolist():
            self._push(v)
        return self.metrics()

    def update(self, rr_ms: float, *, after_gap: bool = False) -> SlidingMetrics:
        """Add one RR interval (ms) and return the window's metrics.

        ``after_gap=True`` (a beat flagged ``BeatFlags.AFTER_GAP``) calls :meth:`gap`
        first, so the window restarts with this beat.

        Raises
        ------
        InvalidInputError
            If ``rr_ms`` is not a finite positive number, or is outside
            [:data:`MIN_RR_MS`, :data:`MAX_RR_MS`].
        """
        try:
            rr = float(rr_ms)
        except (TypeError, ValueError):
            raise InvalidInputError(f"rr_ms must be a number (an RR interval in ms), got {rr_ms!r}") from None
        if not 0.0 < rr < math.inf:
            raise InvalidInputError(
                f"rr_ms must be a finite positive RR interval in ms, got {rr_ms!r}: drop or correct the beat"
            )
        if not MIN_RR_MS <= rr <= MAX_RR_MS:
            raise _out_of_range(rr)
        if after_gap:
            self.gap()
        self._push(rr)
        return self.metrics()

    # ----------------------------------------------------------------- internals

    def _bump(self) -> None:
        live = self._live() if self._live is not None else None
        if live is not None and live._engine is self and live._version == self._version:
            live._detach()
        self._live = None
        self._version += 1

    def _push(self, rr: float) -> None:
        self._bump()
        r = int(math.ldexp(rr, SCALE_BITS))
        h = int(math.ldexp(60000.0 / rr, SCALE_BITS))
        t = self._t + r
        self._t = t
        beats = self._beats
        if beats:
            last = beats[-1]
            d = r - last[1]
            self._sd2 += d * d
            if abs(rr - last[3]) > _NN50_MS:
                self._nn50 += 1
        beats.append((t, r, h, rr))
        self._s1 += r
        self._s2 += r * r
        self._sh += h
        lim = t - self._w_units
        while beats[0][0] <= lim:
            _, r0, h0, rr0 = beats.popleft()
            self._s1 -= r0
            self._s2 -= r0 * r0
            self._sh -= h0
            nxt = beats[0]
            d = nxt[1] - r0
            self._sd2 -= d * d
            if abs(nxt[3] - rr0) > _NN50_MS:
                self._nn50 -= 1
        if self._coh_units:
            # the coherence window's beats and the few before it that its spline uses
            hist_t, hist_rr = self._hist_t, self._hist_rr
            hist_t.append(t)
            hist_rr.append(rr)
            lim = t - self._coh_units
            while len(hist_t) > _COH_KEEP and hist_t[_COH_KEEP] < lim:
                hist_t.popleft()
                hist_rr.popleft()
        self._spline.push(t / _UNITS_PER_S, rr, beats[0][0] / _UNITS_PER_S)

    def _spectral_ready(self) -> bool:
        n = len(self._beats)
        if n < 4 or not self._spline.n_samples:
            return False
        return (self._t - self._beats[0][0]) >= MIN_DURATION_S * _UNITS_PER_S

    def _coherence_rr(self) -> tuple[float, ...]:
        hist_t = self._hist_t
        if not hist_t or self._t - hist_t[0] < self._coh_units:
            return ()  # the beats do not span the coherence window yet
        return tuple(self._hist_rr)


def _ceil_units(seconds: float) -> int:
    """``ceil(seconds)`` in integer clock units (2⁻⁶⁴ ms), exactly."""
    p, q = seconds.as_integer_ratio()
    return -((-p * _UNITS_PER_S) // q)


def _out_of_range(rr: float) -> InvalidInputError:
    return InvalidInputError(
        f"rr_ms={rr!r} is outside the {MIN_RR_MS:g}–{MAX_RR_MS:g} ms that SlidingHRV accepts: "
        "it is not an RR interval in ms (check the unit), drop or correct it"
    )
