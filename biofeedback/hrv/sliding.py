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
density, trapezoid over the ``[low, high)`` bins of an ``nfft``-point FFT):

1. *Incremental spline.* One not-a-knot cubic spline runs through every beat since the last
   reset. Its tridiagonal system is eliminated forward one row per beat (Thomas algorithm);
   each beat the back substitution runs :data:`SPLINE_DEPTH` knots down from a not-a-knot
   end at the newest beat. The spline's sensitivity to later knots decays by about
   2 − √3 ≈ 0.27 per knot, so segments that deep are final (to ~0.27³ ≈ 2% of an end
   perturbation) and are sampled once onto a fixed grid ``t_0 + k / fs_hz``; the newest
   few segments are resampled lazily, when a band power is read.
2. *Low-rank band projection.* For a window of ``n`` samples, the band power of the batch
   method is a quadratic form ``x^T Q_n x`` in the raw samples (mean removal, Hann window,
   density scaling and the trapezoid weights over the band's FFT bins folded into ``Q_n``).
   ``Q_n`` is positive semi-definite with few significant eigenvalues (about
   2 · n · bandwidth / fs, Slepian's count), so it is factored once per ``n`` as
   ``B_n^T B_n`` (eigenvalues below 1e-12 of the largest dropped) and a band power is
   ``‖B_n x‖²``: one small matrix-vector product per band read (about 50 × 240 for HF)
   instead of a spline solve and an FFT. Windows longer than ``nperseg`` samples use Welch
   segments of ``nperseg`` with 50% overlap, as the batch does. Factors are built for a
   window length once it has been met :data:`_FACTOR_AFTER` times (about 15 ms each, cached
   per process); until then that window's powers come from the FFT itself, exactly as the
   batch computes them on the stream's samples. The two routes agree to ~1e-13.

What differs from the batch: the batch fits a fresh spline to the window alone, with a
not-a-knot end at the window's first beat, and samples from that beat; the stream's spline
runs on through earlier beats and its grid is anchored at the first beat after a reset
(so the window's samples may sit up to ``1 / fs_hz`` later and number one more or fewer).
Both differences sit under the Hann window's tapered edges. One consequence: an interval
many times the usual length just before the window (a pause or a run of missed beats that
was not reported with :meth:`SlidingHRV.gap`) still bends the stream's spline inside the
window's first beats; correct artefacts and report gaps before feeding beats. On the real recordings
(tests/test_hrv_sliding.py) LF and HF agree with :func:`frequency_domain` of the same
windows to a median relative error of about 0.2% (90th percentile under 1%; the contract
is 5% and 15%).

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
it was returned for. Memory is
bounded by the window: the beats of the last ``max(window_s, coherence window)`` seconds,
a few spline rows, and about ``2 · window_s · fs_hz`` samples.

References
----------
Task Force of the ESC and NASPE (1996). Heart rate variability: standards of measurement,
physiological interpretation and clinical use. Circulation 93, 1043–1065.
de Boor, C. (1978). A Practical Guide to Splines. Springer (not-a-knot end condition).
Slepian, D. (1978). Prolate spheroidal wave functions, Fourier analysis, and uncertainty V.
Bell Syst. Tech. J. 57(5), 1371–1430.
"""

from __future__ import annotations

import math
import weakref
from collections import deque
from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import Final

import numpy as np
import numpy.typing as npt

from biofeedback._validate import rr_array
from biofeedback.errors import InvalidInputError
from biofeedback.hrv._spectral import (
    DEFAULT_FS_HZ,
    WELCH_NFFT,
    WELCH_NPERSEG,
    FloatArray,
    check_band,
    check_positive,
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
SPLINE_DEPTH: Final[int] = 3  # knots of back substitution before a spline segment is final
_COH_KEEP: Final[int] = 5  # beats kept before the coherence window (its 4-beat spline margin + 1)
_EIG_RTOL: Final[float] = 1e-12  # eigenvalues of a band's quadratic form kept above this × max

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

_Bands = tuple[tuple[float, float], tuple[float, float], tuple[float, float]]
_SpecParams = tuple[float, int, int, _Bands]  # fs_hz, nperseg, nfft, bands


# --------------------------------------------------------------------------- band factors

_Factor = tuple[FloatArray, FloatArray, FloatArray, FloatArray]  # VLF, LF, HF, junction rows
_N_GROUPS: Final[int] = 4


@lru_cache(maxsize=256)
def _band_factor(n: int, fs_hz: float, nfft: int, bands: _Bands) -> _Factor:
    """Factor the band-power quadratic forms of an ``n``-sample Hann segment.

    Returns four matrices ``B_g`` such that, for a raw segment ``x`` (its mean is removed
    inside ``B_g``), ``‖B_g x‖²`` is the VLF, LF and HF power, and the fourth the
    trapezoid terms that the one-piece total adds across the junctions of adjacent bands.
    """
    k = np.arange(n, dtype=np.float64)
    win = 0.5 - 0.5 * np.cos(2.0 * np.pi * k / n)  # scipy's periodic Hann, as welch uses
    scale = 2.0 / (fs_hz * float(np.sum(win * win)))  # one-sided density; no DC/Nyquist
    df = fs_hz / nfft
    freq = np.arange(nfft // 2 + 1, dtype=np.float64) * df

    def rows(bins: npt.NDArray[np.int64], weights: FloatArray) -> FloatArray:
        phase = 2.0 * np.pi * np.outer(bins, k) / nfft
        g = np.concatenate([np.cos(phase), np.sin(phase)]) * win
        g -= g.mean(axis=1, keepdims=True)  # x - mean(x) folded in
        w = np.sqrt(np.concatenate([weights, weights]) * scale)
        return np.asarray(g * w[:, None], dtype=np.float64)

    def band_rows(low: float, high: float) -> FloatArray:
        bins = np.flatnonzero((freq >= low) & (freq < high)).astype(np.int64)
        if bins.size < 2:
            return np.zeros((0, n), dtype=np.float64)
        w = np.full(bins.size, df)
        w[0] = w[-1] = df / 2.0
        g = rows(bins, w)
        lam, vec = np.linalg.eigh(g.T @ g)
        keep = lam > _EIG_RTOL * max(float(lam[-1]), 0.0)
        return np.ascontiguousarray((vec[:, keep] * np.sqrt(lam[keep])).T)

    (v0, v1), (l0, l1), (h0, h1) = bands
    # the one-piece total over [v0, h1) = the three bands + the half-bin trapezoids
    # across each junction of adjacent (touching) bands
    junction: list[int] = []
    for (a0, a1), (b0, b1) in (((v0, v1), (l0, l1)), ((l0, l1), (h0, h1))):
        ka = np.flatnonzero((freq >= a0) & (freq < a1))
        kb = np.flatnonzero((freq >= b0) & (freq < b1))
        if a1 == b0 and ka.size >= 2 and kb.size >= 2:
            junction += [int(ka[-1]), int(kb[0])]
    extra = rows(np.asarray(junction, dtype=np.int64), np.full(len(junction), df / 2.0))
    return (
        band_rows(v0, v1),
        band_rows(l0, l1),
        band_rows(h0, h1),
        np.ascontiguousarray(extra),
    )


_FACTOR_AFTER: Final[int] = 3  # a window length seen this often gets a factor (else FFT)
_seen_n: dict[tuple[int, float, int, _Bands], int] = {}


def _segment_factor(n: int, fs_hz: float, nfft: int, bands: _Bands) -> _Factor | None:
    """The cached factor for ``n``-sample segments, or None while ``n`` is still rare."""
    key = (n, fs_hz, nfft, bands)
    count = _seen_n.get(key, 0)
    if count < _FACTOR_AFTER:
        if len(_seen_n) > 4096:  # bounded bookkeeping
            _seen_n.clear()
        _seen_n[key] = count + 1
        return None
    return _band_factor(n, fs_hz, nfft, bands)


def _fft_band_powers(x: FloatArray, fs_hz: float, nfft: int, bands: _Bands) -> list[float]:
    """VLF, LF, HF and junction power by the batch computation itself (one Hann segment)."""
    n = x.size
    win = 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(n) / n)
    spec = np.fft.rfft((x - np.mean(x)) * win, nfft)
    psd = (spec.real**2 + spec.imag**2) * (2.0 / (fs_hz * float(np.sum(win * win))))
    freq = np.arange(psd.size, dtype=np.float64) * (fs_hz / nfft)

    def power(low: float, high: float) -> float:
        m = (freq >= low) & (freq < high)
        return float(np.trapezoid(psd[m], freq[m])) if np.count_nonzero(m) >= 2 else 0.0

    (v0, v1), (l0, l1), (h0, h1) = bands
    vlf, lf, hf = power(v0, v1), power(l0, l1), power(h0, h1)
    return [vlf, lf, hf, power(v0, h1) - vlf - lf - hf]


# --------------------------------------------------------------------------- the mapping


def _tail_samples(
    x0_s: float,
    fs_hz: float,
    m_lo: int,
    m_hi: int,
    xs: list[float],
    vs: list[float],
    ms: list[float],
) -> list[float]:
    """Evaluate the spline on grid samples ``m_lo..m_hi`` (inclusive), at ``x0_s + m / fs_hz``.

    ``xs, vs, ms`` are consecutive knots' times (s), values (ms) and second derivatives
    (ms/s²); the samples must lie in ``[xs[0], xs[-1]]``. Each segment is turned into a
    cubic in ``u = t - xs[j]`` once and evaluated by Horner's rule.
    """
    out: list[float] = []
    last = len(xs) - 2
    j = -1
    x_next = xs[0]
    xj = c0 = c1 = c2 = c3 = 0.0
    for m in range(m_lo, m_hi + 1):
        g = x0_s + m / fs_hz
        while g >= x_next and j < last:
            j += 1
            xj = xs[j]
            x_next = xs[j + 1]
            h = x_next - xj
            mj = ms[j]
            mk = ms[j + 1]
            c0 = vs[j]
            c1 = (vs[j + 1] - c0) / h - h * (2.0 * mj + mk) / 6.0
            c2 = 0.5 * mj
            c3 = (mk - mj) / (6.0 * h)
        u = g - xj
        out.append(c0 + u * (c1 + u * (c2 + u * c3)))
    return out


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
        if which == 8:
            return self._power(2)
        if which < 8:
            return self._power(which - 6)
        if which == 9:
            parts = [self._power(g) for g in range(_N_GROUPS)]
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
            x = self._x = eng._window_samples()
        return x

    def _power(self, g: int) -> float | None:
        bp = self._bp
        v = bp[g]
        if v is not None:
            return v
        x = self._samples()
        if x is None:
            return None
        fs, nperseg, nfft, bands = self._params
        n = x.size
        if n <= nperseg:
            eng = self._engine
            fac = None if eng is None else eng._factors.get(n)
            if fac is None:
                fac = _segment_factor(n, fs, max(nfft, n), bands)
                if fac is None:
                    bp[:] = _fft_band_powers(x, fs, max(nfft, n), bands)
                    return bp[g]
                if eng is not None:
                    eng._factors[n] = fac
            z = fac[g] @ x
            v = float(z @ z)
        else:
            step = nperseg - nperseg // 2
            segs = np.lib.stride_tricks.sliding_window_view(x, nperseg)[::step]
            zz = segs @ _band_factor(nperseg, fs, max(nfft, nperseg), bands)[g].T
            v = float(np.vdot(zz, zz)) / segs.shape[0]
        bp[g] = v
        return v

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
        "_bands",
        "_base",
        "_beats",
        "_buf",
        "_coh_units",
        "_factors",
        "_fs",
        "_hist_rr",
        "_hist_t",
        "_k0",
        "_kbeta",
        "_kc",
        "_kd",
        "_kh",
        "_krho",
        "_kv",
        "_kx",
        "_live",
        "_m_a",
        "_m_b",
        "_m_final",
        "_n_gaps",
        "_nfft",
        "_nk",
        "_nmax",
        "_nn50",
        "_nperseg",
        "_s1",
        "_s2",
        "_sd2",
        "_sh",
        "_spec_params",
        "_t",
        "_tail_done",
        "_tail_j0",
        "_tail_m",
        "_version",
        "_w_units",
        "_window_s",
        "_x0",
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
        self._window_s = check_positive(window_s, "window_s")
        self._w_units = _ceil_units(self._window_s)  # window in clock units, rounded up
        self._fs = check_positive(fs_hz, "fs_hz")
        self._nperseg = int(check_positive(nperseg, "nperseg"))
        self._nfft = int(check_positive(nfft, "nfft"))
        self._bands: _Bands = (
            check_band(vlf_hz, "vlf_hz"),
            check_band(lf_hz, "lf_hz"),
            check_band(hf_hz, "hf_hz"),
        )
        self._spec_params: _SpecParams = (
            self._fs,
            self._nperseg,
            self._nfft,
            self._bands,
        )
        self._coh_units = _ceil_units(COHERENCE_WINDOW_S)  # the coherence window, clock units
        self._nmax = math.floor(self._window_s * self._fs) + 2
        self._buf: FloatArray = np.zeros(2 * self._nmax + 64, dtype=np.float64)
        self._version = 0
        self._live: weakref.ref[SlidingMetrics] | None = None
        self._n_gaps = 0
        self._beats: deque[tuple[int, int, int, float]] = deque()
        self._hist_t: deque[int] = deque()  # coherence beats: end times, clock units
        self._hist_rr: deque[float] = deque()  # and intervals, ms
        self._factors: dict[int, _Factor] = {}  # band factors by window length
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
        self._kx: list[float] = []
        self._kv: list[float] = []
        self._kh: list[float] = []
        self._kd: list[float] = []
        self._kbeta: list[float] = []
        self._krho: list[float] = []
        self._kc: list[float] = []
        self._k0 = 0  # global index of the knot at list position 0
        self._nk = 0  # knots since reset
        self._tail_m: list[float] = []
        self._tail_j0 = 0
        self._x0 = 0.0
        self._m_final = 0  # grid samples below this index are final
        self._m_a = 0  # window's first sample
        self._m_b = -1  # window's last sample
        self._base = 0
        self._tail_done = True

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
        self._spline_push(t / _UNITS_PER_S, rr)

    def _spline_push(self, x: float, v: float) -> None:
        """Add knot ``(x, v)``: one forward elimination step, finalise one segment."""
        n = self._nk
        self._nk = n + 1
        kx, kv, kh, kd = self._kx, self._kv, self._kh, self._kd
        kbeta, krho, kc = self._kbeta, self._krho, self._kc
        if n == 0:
            self._x0 = x
        kx.append(x)
        kv.append(v)
        i = n - self._k0  # list position of knot n
        if n >= 1:
            hh = x - kx[i - 1]
            kh.append(hh)
            kd.append((v - kv[i - 1]) / hh)
        if n >= 2:
            # row n-1 (standard interior row; row 1 carries the left not-a-knot condition)
            h0, h1 = kh[i - 2], kh[i - 1]
            rhs = 6.0 * (kd[i - 1] - kd[i - 2])
            if n == 2:
                kbeta.append((h0 + h1) * (h0 + 2.0 * h1) / h1)
                krho.append(rhs)
                kc.append((h1 * h1 - h0 * h0) / h1)
            else:
                f = h0 / kbeta[i - 3]
                kbeta.append(2.0 * (h0 + h1) - f * kc[i - 3])
                krho.append(rhs - f * krho[i - 3])
                kc.append(h1)
        # window's sample range on the grid x0 + m / fs
        fs = self._fs
        xa = self._beats[0][0] / _UNITS_PER_S
        self._m_a = max(math.ceil((xa - self._x0) * fs - 1e-9), 0)
        self._m_b = math.floor((x - self._x0) * fs + 1e-9)
        self._tail_done = False
        if n < 2:
            self._tail_m = []
            return
        ms = self._solve_tail(n, i)
        lo = max(0, n - 1 - SPLINE_DEPTH)
        self._tail_j0 = lo
        self._tail_m = ms
        j_f = n - 1 - SPLINE_DEPTH
        if j_f >= 0:
            p = j_f - self._k0
            x_next = kx[p + 1]
            m_end = math.ceil((x_next - self._x0) * fs - 1e-9)  # first sample of the next segment
            m_lo = max(self._m_final, self._m_a)
            if m_end > m_lo:
                vals = _tail_samples(self._x0, fs, m_lo, m_end - 1, kx[p : p + 2], kv[p : p + 2], ms[0:2])
                self._write(m_lo, vals)
            self._m_final = max(self._m_final, m_end)
            # knots below j_f are no longer needed: trim the lists now and then
            if p > 64:
                for lst in (kx, kv):
                    del lst[:p]
                for lst in (kh, kd):
                    del lst[:p]
                for lst in (kbeta, krho, kc):
                    del lst[:p]
                self._k0 += p

    def _solve_tail(self, n: int, i: int) -> list[float]:
        """Second derivatives of knots ``max(0, n-1-depth) .. n`` under a not-a-knot end at n."""
        kh, kd, kbeta, krho, kc = self._kh, self._kd, self._kbeta, self._krho, self._kc
        h0, h1 = kh[i - 2], kh[i - 1]
        if n == 2:  # three knots: not-a-knot at both ends is the parabola through them
            mm = 2.0 * (kd[i - 1] - kd[i - 2]) / (h0 + h1)
            return [mm, mm, mm]
        # row n-1 with the right not-a-knot condition folded in (M_n eliminated)
        a = h0 - h1 * h1 / h0
        b = 2.0 * (h0 + h1) + h1 * (h0 + h1) / h0
        rhs = 6.0 * (kd[i - 1] - kd[i - 2])
        f = a / kbeta[i - 3]
        m_hi = (rhs - f * krho[i - 3]) / (b - f * kc[i - 3])
        lo = max(0, n - 1 - SPLINE_DEPTH)
        out = [m_hi]
        m_next = m_hi
        # rows are stored from row 1 at list position (1 - 1) relative to knot 0: row r at r - 1 - k0
        for row in range(n - 2, max(lo, 1) - 1, -1):
            q = row - 1 - self._k0
            m_next = (krho[q] - kc[q] * m_next) / kbeta[q]
            out.append(m_next)
        out.reverse()  # M_{max(lo,1)} .. M_{n-1}
        m_n = ((h0 + h1) * out[-1] - h1 * out[-2]) / h0
        out.append(m_n)
        if lo == 0:
            g0, g1 = kh[0 - self._k0], kh[1 - self._k0]
            out.insert(0, ((g0 + g1) * out[0] - g0 * out[1]) / g1)
        return out

    def _write(self, m_lo: int, vals: list[float]) -> None:
        pos = m_lo - self._base
        if pos + len(vals) > self._buf.size:
            keep0 = self._m_a
            src = self._buf[keep0 - self._base : self._m_final - self._base].copy()
            self._buf[: src.size] = src
            self._base = keep0
            pos = m_lo - self._base
        self._buf[pos : pos + len(vals)] = vals

    def _spectral_ready(self) -> bool:
        n = len(self._beats)
        if n < 4 or self._m_b < self._m_a:
            return False
        return (self._t - self._beats[0][0]) >= MIN_DURATION_S * _UNITS_PER_S

    def _tail_values(self) -> tuple[int, list[float]]:
        m_lo = max(self._m_final, self._m_a)
        j0 = self._tail_j0
        p = j0 - self._k0
        xs = self._kx[p:]
        vs = self._kv[p:]
        return m_lo, _tail_samples(self._x0, self._fs, m_lo, self._m_b, xs, vs, self._tail_m)

    def _window_samples(self) -> FloatArray:
        if not self._spectral_ready():
            return np.zeros(0, dtype=np.float64)
        if not self._tail_done:
            m_lo, vals = self._tail_values()
            if vals:
                self._write(m_lo, vals)
            self._tail_done = True
        return self._buf[self._m_a - self._base : self._m_b + 1 - self._base]

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
