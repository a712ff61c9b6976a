"""The not-a-knot cubic spline through a whole series, in numpy alone (the batch resampling).

:func:`not_a_knot_spline` samples the interpolating cubic spline through knots
``(x_i, v_i)`` with the not-a-knot end condition (de Boor 1978), the spline
:class:`scipy.interpolate.CubicSpline` builds by default. It is written here, not imported,
because importing :mod:`scipy.interpolate` costs ~0.4 s of CPU: more than a replay of an hour
spends on everything else that needs it (the coach's one baseline estimate).

Method
------
With ``h_i = x_{i+1} - x_i`` and ``d_i = (v_{i+1} - v_i) / h_i``, the second derivatives
``M_i`` at the knots solve, for ``r = 1 .. n-2`` (``n`` knots) ::

    h_{r-1} M_{r-1} + 2 (h_{r-1} + h_r) M_r + h_r M_{r+1} = 6 (d_r - d_{r-1})

The not-a-knot condition (the third derivative continuous at ``x_1`` and at ``x_{n-2}``)
gives ``M_0 = ((h_0 + h_1) M_1 - h_0 M_2) / h_1`` and its mirror for ``M_{n-1}``; folded into
rows 1 and ``n-2`` they leave a strictly diagonally dominant tridiagonal system in
``M_1 .. M_{n-2}``, solved without pivoting by cyclic reduction (Hockney 1965): each level
eliminates the odd rows with numpy slices, so the solve is ``log2 n`` array steps, not a
Python loop over knots. Three knots give the parabola through them, two the straight line
(as scipy). :mod:`biofeedback.hrv._incremental_spline` keeps the same rows up to date one knot
at a time for the streaming metrics.

References
----------
de Boor, C. (1978). A Practical Guide to Splines. Springer (not-a-knot end condition).
Hockney, R. W. (1965). A fast direct solution of Poisson's equation using Fourier analysis.
J. ACM 12(1), 95-113 (cyclic reduction).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["not_a_knot_spline", "solve_tridiagonal"]

FloatArray = npt.NDArray[np.float64]


def solve_tridiagonal(sub: FloatArray, diag: FloatArray, sup: FloatArray, rhs: FloatArray) -> FloatArray:
    """Solve ``sub[i] x[i-1] + diag[i] x[i] + sup[i] x[i+1] = rhs[i]`` by cyclic reduction.

    ``sub[0]`` and ``sup[-1]`` are ignored. The matrix must be strictly diagonally dominant
    (no pivoting is done; the reduced systems then stay dominant and the solve is stable).
    Returns ``x``.
    """
    n = len(diag)
    a = np.zeros(n + 2)
    b = np.ones(n + 2)
    c = np.zeros(n + 2)
    d = np.zeros(n + 2)
    a[2 : n + 1] = sub[1:]  # one padding row each side (identity, zero right-hand side)
    b[1 : n + 1] = diag
    c[1:n] = sup[:-1]
    d[1 : n + 1] = rhs
    if n == 1:
        return d[1:2] / b[1:2]
    keep = slice(1, n + 1, 2)  # rows 0, 2, 4, ... of the system
    lo = slice(0, n, 2)
    hi = slice(2, n + 2, 2)
    alpha = -a[keep] / b[lo]
    gamma = -c[keep] / b[hi]
    x = np.zeros(n + 2)
    x[keep] = solve_tridiagonal(
        alpha * a[lo],
        b[keep] + alpha * c[lo] + gamma * a[hi],
        gamma * c[hi],
        d[keep] + alpha * d[lo] + gamma * d[hi],
    )
    odd = slice(2, n + 1, 2)  # rows 1, 3, 5, ...: from their even neighbours
    x[odd] = (d[odd] - a[odd] * x[1:n:2] - c[odd] * x[3 : n + 2 : 2]) / b[odd]
    return x[1 : n + 1]


def _second_derivatives(x: FloatArray, v: FloatArray) -> FloatArray:
    """``M_i`` (value unit per x unit²) of the not-a-knot spline at every knot."""
    n = len(x)
    h = np.diff(x)
    slope = np.diff(v) / h
    if n == 2:
        return np.zeros(2)
    if n == 3:  # not-a-knot at the only interior knot: the parabola through the three points
        return np.full(3, 2.0 * (slope[1] - slope[0]) / (h[0] + h[1]))
    sub = h[:-1].copy()
    diag = 2.0 * (h[:-1] + h[1:])
    sup = h[1:].copy()
    rhs = 6.0 * np.diff(slope)
    h0, h1, hl, hm = h[0], h[1], h[-1], h[-2]  # hl = h_{n-2}, hm = h_{n-3}
    diag[0] += h0 * (h0 + h1) / h1
    sup[0] -= h0 * h0 / h1
    diag[-1] += hl * (hm + hl) / hm
    sub[-1] -= hl * hl / hm
    m = np.empty(n)
    m[1:-1] = solve_tridiagonal(sub, diag, sup, rhs)
    m[0] = ((h0 + h1) * m[1] - h0 * m[2]) / h1
    m[-1] = ((hm + hl) * m[-2] - hl * m[-3]) / hm
    return m


def not_a_knot_spline(x: FloatArray, v: FloatArray, at: FloatArray) -> FloatArray:
    """Values at ``at`` of the not-a-knot cubic spline through ``(x, v)``.

    Parameters
    ----------
    x : ndarray
        Knot positions, strictly increasing, at least 2.
    v : ndarray
        Values at the knots.
    at : ndarray
        Where to evaluate; outside ``[x[0], x[-1]]`` the end pieces are extended.

    Returns
    -------
    ndarray
        The spline's values, agreeing with ``scipy.interpolate.CubicSpline(x, v)(at)`` to
        rounding.

    Examples
    --------
    >>> import numpy as np
    >>> not_a_knot_spline(np.array([0.0, 1.0, 2.0, 3.0]), np.array([0.0, 1.0, 8.0, 27.0]),
    ...                   np.array([0.5, 2.5])).round(12).tolist()
    [0.125, 15.625]
    """
    x = np.asarray(x, dtype=np.float64)
    v = np.asarray(v, dtype=np.float64)
    at = np.asarray(at, dtype=np.float64)
    m = _second_derivatives(x, v)
    h = np.diff(x)  # each piece as a cubic in u = t - x_j, by Horner's rule
    c1 = np.diff(v) / h - h * (2.0 * m[:-1] + m[1:]) / 6.0
    c2 = 0.5 * m[:-1]
    c3 = np.diff(m) / (6.0 * h)
    if at.size > 1 and bool(np.all(at[1:] >= at[:-1])):
        # sorted (a resampling grid): place the knots among the points, not the points among
        # the knots (fewer searches: a grid has more points than knots)
        first = np.searchsorted(at, x[1:-1], side="left")  # points before each inner knot
        j = np.cumsum(np.bincount(first, minlength=at.size + 1)[: at.size])
    else:
        j = np.clip(np.searchsorted(x, at, side="right") - 1, 0, len(x) - 2)
    u = at - x[j]
    return np.asarray(v[j] + u * (c1[j] + u * (c2[j] + u * c3[j])), dtype=np.float64)
