"""Session figures (matplotlib), drawn off-screen when saved.

Plotting lives here, apart from the metrics: the figure functions take a finished
:class:`~biofeedback.analysis.SessionSummary` and draw it; they compute nothing new
except the spectrum they show.

Importing this module leaves matplotlib's backend alone (no ``matplotlib.use``, no
pyplot): the figures are plain :class:`matplotlib.figure.Figure` objects, and
:func:`save_figure` draws them with the renderer of the file type (Agg for PNG), so that a
window elsewhere in the same process can still open with an interactive backend.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from biofeedback import hrv
from biofeedback.analysis import SessionSummary
from biofeedback.errors import FileFormatError, InvalidInputError
from biofeedback.formats import open_private
from biofeedback.hrv.frequency import HF_HZ, LF_HZ, VLF_HZ

__all__ = ["save_figure", "session_figure"]

_BANDS = (("VLF", *VLF_HZ, "#dddddd"), ("LF", *LF_HZ, "#c6dbef"), ("HF", *HF_HZ, "#fdd0a2"))


def session_figure(s: SessionSummary, title: str = "") -> Figure:
    """Heart rate over the session, per-breath RSA amplitude, and the HRV spectrum."""
    fig = Figure(figsize=(10, 9), layout="constrained")
    ax_hr, ax_rsa, ax_psd = fig.subplots(3, 1)
    # a beat whose interval started after the previous beat (a gap) starts a new line
    starts = np.flatnonzero(np.diff(s.t_s) > s.nn_ms[1:] / 1000.0 + 1e-6) + 1
    for t_s, nn_ms in zip(np.split(s.t_s, starts), np.split(s.nn_ms, starts), strict=True):
        ax_hr.plot(t_s / 60.0, 60000.0 / nn_ms, lw=0.9, color="#c0392b")
    if s.analysed.stop - s.analysed.start < s.nn_ms.size:
        t0 = s.t_s[s.analysed.start] - s.nn_ms[s.analysed.start] / 1000.0
        ax_hr.axvspan(t0 / 60.0, s.t_s[s.analysed.stop - 1] / 60.0, color="#f5b7b1", alpha=0.25, lw=0,
                      label="longest unbroken stretch (metrics)")
        ax_hr.legend(loc="upper right")
    ax_hr.set(xlabel="time (min)", ylabel="heart rate (beats/min)",
              title=title or f"{s.quality.n_intervals} beats, mean HR {s.time['mean_hr_bpm']:.1f} beats/min, "
              f"RMSSD {s.time['rmssd_ms']:.1f} ms")
    ax_hr.grid(alpha=0.3)

    if s.rsa is not None and s.rsa.amplitude_bpm.size:
        mid_min = (s.rsa.start_s + s.rsa.end_s) / 120.0
        width_min = (s.rsa.end_s - s.rsa.start_s) / 60.0 * 0.85
        ax_rsa.bar(mid_min, s.rsa.amplitude_bpm, width=width_min, color="#2e86c1")
        ax_rsa.set_title(f"RSA amplitude per breath (median {np.nanmedian(s.rsa.amplitude_bpm):.1f} beats/min)")
    else:
        ax_rsa.text(0.5, 0.5, "too short for per-breath RSA", ha="center", va="center", transform=ax_rsa.transAxes)
    ax_rsa.set(xlabel="time (min)", ylabel="peak-to-trough HR (beats/min)")
    ax_rsa.set_xlim(ax_hr.get_xlim())
    ax_rsa.grid(alpha=0.3)

    try:
        f_hz, psd = hrv.power_spectrum(s.nn_ms[s.analysed], max_hz=0.5)
    except InvalidInputError:
        f_hz, psd = np.zeros(0), np.zeros(0)
    for name, lo, hi, color in _BANDS:
        ax_psd.axvspan(lo, hi, color=color, alpha=0.6, lw=0, label=name)
    ax_psd.plot(f_hz, psd, color="black", lw=1.0)
    if s.breathing_rate_per_min is not None:
        ax_psd.axvline(s.breathing_rate_per_min / 60.0, color="#2e86c1", ls="--",
                       label=f"breathing {s.breathing_rate_per_min:.1f}/min")
    ax_psd.set(xlabel="frequency (Hz)", ylabel="PSD (ms²/Hz)", xlim=(0, 0.5), title="HRV spectrum (Welch)")
    ax_psd.legend(loc="upper right")
    ax_psd.grid(alpha=0.3)
    return fig


def save_figure(fig: Figure, path: str | os.PathLike[str]) -> Path:
    """Save ``fig`` (PNG, PDF, SVG ... by the suffix; PNG without one), readable by its owner only.

    Drawn off-screen by the renderer of the file type, whatever backend the process uses;
    a figure made through pyplot is closed afterwards.

    Raises
    ------
    FileFormatError
        matplotlib cannot draw that kind of file, or the file cannot be written.
    """
    p = Path(path)
    fmt = p.suffix.lstrip(".").lower() or "png"
    try:
        supported = fig.canvas.get_supported_filetypes()
        if fmt not in supported:
            names = ", ".join(f".{name}" for name in sorted(supported))
            raise FileFormatError(f"{p}: cannot draw a .{fmt} image; give a file name ending in one of {names}")
        with open_private(p, "wb") as f:
            fig.savefig(f, format=fmt, dpi=110)
    finally:
        if fig.canvas.manager is not None:  # a pyplot figure: release its window
            import matplotlib.pyplot as plt

            plt.close(fig)
    return p
