"""A not-a-knot cubic spline extended one knot at a time, sampled on a fixed grid (for SlidingHRV).

:class:`IncrementalSpline` holds one cubic spline through knots ``(x_i, v_i)`` (beat time, s;
RR interval, ms) added one by one, with the not-a-knot end condition (de Boor 1978) at the
first knot and at the newest, and samples it at ``x_0 + m / fs_hz`` (``x_0`` the first knot,
``m = 0, 1, ...``): the tachogram resampling of the batch method, kept up to date per beat.

Method
------
With ``h_i = x_{i+1} - x_i`` and ``d_i = (v_{i+1} - v_i) / h_i``, the second derivatives
``M_i`` (ms/s²) at the knots solve the tridiagonal rows ::

    h_{r-1} M_{r-1} + 2 (h_{r-1} + h_r) M_r + h_r M_{r+1} = 6 (d_r - d_{r-1}),   r = 1 .. n-1

with the left not-a-knot condition (``M_0`` eliminated) folded into row 1 and the right one
(``M_n`` eliminated) into row ``n-1``. A new knot ``n`` completes the standard row ``n-1``,
which is eliminated forward at once (Thomas algorithm: each row's pivot β, right-hand side ρ
and super-diagonal c are kept). The back substitution then runs :data:`SPLINE_DEPTH` rows
down from the not-a-knot end at knot ``n``. The spline's sensitivity to later knots decays
by about 2 − √3 ≈ 0.27 per knot, so the segment that deep is final (to ~0.27³ ≈ 2% of an
end perturbation): its grid samples are computed once and kept. The newest
``SPLINE_DEPTH + 1`` segments still move with every knot; their samples (the *tail*) are
computed lazily, when :meth:`IncrementalSpline.samples` is called.

Memory
------
Knots and elimination rows that no back substitution reaches any more are trimmed now and
then (at most 64 + :data:`SPLINE_DEPTH` + 2 knots are held). Samples are kept only from a
start time the caller moves forward (the window's first beat), in one buffer of
``2 · (floor(window_s · fs_hz) + 2) + 64`` values, compacted in place when full.

References
----------
de Boor, C. (1978). A Practical Guide to Splines. Springer (not-a-knot end condition).
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np

from biofeedback.hrv._spectral import FloatArray

__all__ = ["SPLINE_DEPTH", "IncrementalSpline", "tail_samples"]

SPLINE_DEPTH: Final[int] = 3  # knots of back substitution before a spline segment is final
_TRIM_AFTER: Final[int] = 64  # unused knots held before the lists are trimmed
_GRID_EPS: Final[float] = 1e-9  # a knot within this many samples of a grid point is on it


def tail_samples(
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
    cubic in ``u = t - xs[j]`` once and evaluated by Horner's rule. Returns the values, ms.
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


class IncrementalSpline:
    """The not-a-knot cubic spline through a stream of knots, sampled at ``fs_hz``.

    Parameters
    ----------
    fs_hz : float
        Grid rate, Hz (> 0).
    window_s : float
        Longest span, s, between the start passed to :meth:`push` and the newest knot
        (sizes the sample buffer).

    Notes
    -----
    Grid indices ``m`` count samples from the first knot since the last :meth:`reset`
    (``x_0 + m / fs_hz``). After each :meth:`push`, :meth:`samples` covers ``m_a .. m_b``:
    from the first grid point at or after the start to the last at or before the newest
    knot.
    """

    __slots__ = (
        "_base",
        "_buf",
        "_fs",
        "_k0",
        "_kbeta",
        "_kc",
        "_kd",
        "_kh",
        "_krho",
        "_kv",
        "_kx",
        "_m_a",
        "_m_b",
        "_m_final",
        "_nk",
        "_tail_done",
        "_tail_j0",
        "_tail_m",
        "_x0",
    )

    def __init__(self, fs_hz: float, window_s: float) -> None:
        self._fs = fs_hz
        n_max = math.floor(window_s * fs_hz) + 2  # most grid samples in a window
        self._buf: FloatArray = np.zeros(2 * n_max + 64, dtype=np.float64)
        self.reset()

    def reset(self) -> None:
        """Forget every knot: the next one starts a new spline and a new grid (buffer reused)."""
        self._kx: list[float] = []  # knot times, s
        self._kv: list[float] = []  # knot values, ms
        self._kh: list[float] = []  # knot spacings h, s
        self._kd: list[float] = []  # slopes d, ms/s
        self._kbeta: list[float] = []  # eliminated rows: pivots
        self._krho: list[float] = []  # right-hand sides
        self._kc: list[float] = []  # super-diagonals
        self._k0 = 0  # global index of the knot at list position 0
        self._nk = 0  # knots since reset
        self._tail_m: list[float] = []  # second derivatives of knots tail_j0 .. newest
        self._tail_j0 = 0
        self._x0 = 0.0  # grid origin: the first knot's time, s
        self._m_final = 0  # grid samples below this index are final
        self._m_a = 0  # first sample kept (at or after the start)
        self._m_b = -1  # last sample (at or before the newest knot)
        self._base = 0  # grid index of _buf[0]
        self._tail_done = True

    @property
    def n_samples(self) -> int:
        """Number of grid samples from the start to the newest knot (0 before 3 knots)."""
        return max(self._m_b - self._m_a + 1, 0) if self._nk >= 3 else 0

    def push(self, x_s: float, v_ms: float, start_s: float) -> None:
        """Add knot ``(x_s, v_ms)``: one forward elimination step, finalise one segment.

        Parameters
        ----------
        x_s : float
            Knot time, s, later than the previous knot's.
        v_ms : float
            Value at the knot (the RR interval), ms.
        start_s : float
            Start of the kept samples, s (the window's first beat): never decreasing, at
            most ``x_s``, and within ``window_s`` of it.
        """
        n = self._nk
        self._nk = n + 1
        kx, kv, kh, kd = self._kx, self._kv, self._kh, self._kd
        kbeta, krho, kc = self._kbeta, self._krho, self._kc
        if n == 0:
            self._x0 = x_s
        kx.append(x_s)
        kv.append(v_ms)
        i = n - self._k0  # list position of knot n
        if n >= 1:
            hh = x_s - kx[i - 1]
            kh.append(hh)
            kd.append((v_ms - kv[i - 1]) / hh)
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
        # the kept sample range on the grid x0 + m / fs
        fs = self._fs
        self._m_a = max(math.ceil((start_s - self._x0) * fs - _GRID_EPS), 0)
        self._m_b = math.floor((x_s - self._x0) * fs + _GRID_EPS)
        self._tail_done = False
        if n < 2:
            self._tail_m = []
            return
        ms = self._solve_tail(n, i)
        self._tail_j0 = max(0, n - 1 - SPLINE_DEPTH)
        self._tail_m = ms
        j_f = n - 1 - SPLINE_DEPTH  # the segment that is now final
        if j_f >= 0:
            p = j_f - self._k0
            x_next = kx[p + 1]
            m_end = math.ceil((x_next - self._x0) * fs - _GRID_EPS)  # first sample of the next segment
            m_lo = max(self._m_final, self._m_a)
            if m_end > m_lo:
                vals = tail_samples(self._x0, fs, m_lo, m_end - 1, kx[p : p + 2], kv[p : p + 2], ms[0:2])
                self._write(m_lo, vals)
            self._m_final = max(self._m_final, m_end)
            # knots below j_f are no longer needed: trim the lists now and then
            if p > _TRIM_AFTER:
                for lst in (kx, kv):
                    del lst[:p]
                for lst in (kh, kd):
                    del lst[:p]
                for lst in (kbeta, krho, kc):
                    del lst[:p]
                self._k0 += p

    def samples(self) -> FloatArray:
        """The grid samples from the start to the newest knot, ms.

        The tail is evaluated on the first call after a :meth:`push`. The result is a view
        of the buffer: valid until the next :meth:`push` or :meth:`reset` (copy it to keep
        it). Empty before the spline has 3 knots.
        """
        if self._nk < 3:
            return np.zeros(0, dtype=np.float64)
        if not self._tail_done:
            m_lo = max(self._m_final, self._m_a)
            p = self._tail_j0 - self._k0
            vals = tail_samples(self._x0, self._fs, m_lo, self._m_b, self._kx[p:], self._kv[p:], self._tail_m)
            if vals:
                self._write(m_lo, vals)
            self._tail_done = True
        return self._buf[self._m_a - self._base : self._m_b + 1 - self._base]

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
        """Store samples ``m_lo, m_lo + 1, ...``, first dropping those before the start if full."""
        pos = m_lo - self._base
        if pos + len(vals) > self._buf.size:
            keep0 = self._m_a
            src = self._buf[keep0 - self._base : self._m_final - self._base].copy()
            self._buf[: src.size] = src
            self._base = keep0
            pos = m_lo - self._base
        self._buf[pos : pos + len(vals)] = vals
