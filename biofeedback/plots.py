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

import datetime as dt
import itertools
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import numpy.typing as npt
from matplotlib.figure import Figure

from biofeedback import __version__, hrv
from biofeedback._words import plural
from biofeedback.analysis import Corrected, SessionSummary
from biofeedback.errors import DisplayUnavailableError, FileFormatError, InvalidInputError
from biofeedback.formats import open_private
from biofeedback.hrv.frequency import HF_HZ, LF_HZ, VLF_HZ

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from biofeedback.history import PaceChange, SessionFigures, Trends

__all__ = ["check_window", "save_figure", "session_figure", "show_figure", "trend_figure"]

FloatArray = npt.NDArray[np.float64]

_BANDS = (("VLF", *VLF_HZ, "#dddddd"), ("LF", *LF_HZ, "#c6dbef"), ("HF", *HF_HZ, "#fdd0a2"))


_HR_COLOUR = "#c0392b"
_PACE_COLOUR = "#2e86c1"
_SWING_COLOUR = "#2e7d32"
_BREATH_SHADE = "#d6e9f5"
_GAP_SHADE = "#bbbbbb"


def _with_breaks(t_s: FloatArray, y: FloatArray, stretches: Sequence[slice]) -> tuple[FloatArray, FloatArray]:
    """One line of all stretches, a NaN between two (the line is not drawn across a gap)."""
    xs: list[FloatArray] = []
    ys: list[FloatArray] = []
    for k, s in enumerate(stretches):
        if k:
            xs.append(np.array([np.nan]))
            ys.append(np.array([np.nan]))
        xs.append(t_s[s])
        ys.append(y[s])
    if not xs:
        return np.zeros(0), np.zeros(0)
    return np.concatenate(xs), np.concatenate(ys)


def session_figure(
    s: SessionSummary,
    title: str = "",
    *,
    figures: SessionFigures | None = None,
    pace_bpm: npt.ArrayLike | None = None,
    phase: npt.ArrayLike | None = None,
    changes: Sequence[PaceChange] = (),
) -> Figure:
    """One session as a person reads it: plain words on top, then panels sharing the time axis.

    Parameters
    ----------
    s : SessionSummary
        :func:`biofeedback.analysis.summarise` of the recording.
    title : str
        The figure's title (default: the session's date and source).
    figures : SessionFigures, optional
        :func:`biofeedback.history.session_figures` of the session (a stored one knows its
        baseline, final heart rate and resonance pace); by default made from the recording.
    pace_bpm, phase : array_like, optional
        The pace (breaths/min) and breath phase (0..1) stored with each beat; a session
        without them (a file, an import, ``record``) still plots, with no pace or breaths.
    changes : sequence of PaceChange
        The coach's decisions (:func:`biofeedback.history.pace_changes`), marked on the pace.

    Returns
    -------
    Figure
        Panels, top to bottom: the words (:func:`biofeedback.display.history.session_lines`);
        heart rate (line gid ``hr``, beats/min against minutes) with the pace shown (``pace``,
        on a second axis) and each breath shaded (patches gid ``breath``); the tachogram
        (recorded RR ``rr``, corrected ``nn``, corrected artefacts ``artefacts``, gaps shaded
        ``gap``); the swing per breath (``swing``) and coherence (``coherence``, second axis);
        the spectrum of the analysed stretch (``psd``) with the breathing (``breathing``) and
        resonance (``resonance``) frequencies marked. Times are minutes on the beat clock.
    """
    from biofeedback.display.history import session_lines
    from biofeedback.history import breath_onsets_s, coherence_series, session_figures
    from biofeedback.outcome import paced_breaths

    rec = s.recording
    n = rec.n_beats
    pace = np.full(n, np.nan) if pace_bpm is None else np.asarray(pace_bpm, dtype=np.float64)
    ph = np.full(n, np.nan) if phase is None else np.asarray(phase, dtype=np.float64)
    c = Corrected(s.nn_ms, s.t_s, s.stretches,
                  s.is_artifact if s.is_artifact is not None else np.zeros(n, dtype=np.bool_))
    f = figures if figures is not None else session_figures(None, rec, pace, ph, corrected=c)

    fig = Figure(figsize=(10, 13), layout="constrained")
    gs = fig.add_gridspec(5, 1, height_ratios=[0.55, 1.0, 1.0, 0.9, 0.9])
    ax_txt = fig.add_subplot(gs[0])
    ax_hr = fig.add_subplot(gs[1])
    ax_rr = fig.add_subplot(gs[2], sharex=ax_hr)
    ax_sw = fig.add_subplot(gs[3], sharex=ax_hr)
    ax_psd = fig.add_subplot(gs[4])

    ax_txt.axis("off")
    ax_txt.set_title(title or f"Session of {rec.meta.start_local:%A %d %B %Y, %H:%M} ({rec.meta.source})",
                     loc="left", fontsize=11)
    ax_txt.text(0.0, 0.9, "\n".join(session_lines(f)), va="top", ha="left", fontsize=13, wrap=True,
                transform=ax_txt.transAxes, gid="words")

    # heart rate, the pace and the breaths
    x_hr, y_hr = _with_breaks(s.t_s, 60000.0 / s.nn_ms, s.stretches)
    ax_hr.plot(x_hr / 60.0, y_hr, color=_HR_COLOUR, lw=1.0, gid="hr", label="heart rate")
    onsets = breath_onsets_s(rec.t_s, pace, ph)
    for k, (a, b) in enumerate(itertools.pairwise(onsets.tolist())):
        if k % 2 == 0:
            ax_hr.axvspan(a / 60.0, b / 60.0, color=_BREATH_SHADE, lw=0, alpha=0.8, gid="breath")
    ax_hr.set(ylabel="heart rate (beats/min)")
    ax_hr.grid(alpha=0.3)
    paced = np.isfinite(pace)
    if np.any(paced):
        ax_pace = ax_hr.twinx()
        ax_pace.plot(rec.t_s[paced] / 60.0, pace[paced], color=_PACE_COLOUR, lw=1.5, drawstyle="steps-post",
                     gid="pace", label="pace shown")
        for ch in changes:
            ax_pace.plot([ch.t_s / 60.0], [ch.pace_bpm], "v", color=_PACE_COLOUR, ms=5, gid="decision")
        ax_pace.set_ylabel("pace (breaths/min)", color=_PACE_COLOUR)
        lo, hi = float(np.min(pace[paced])), float(np.max(pace[paced]))
        ax_pace.set_ylim(lo - 1.0, hi + 1.0)
        coach = ", ▼ where the coach changed it" if changes else ""
        ax_hr.set_title(f"Heart rate, with the pace you were shown (blue{coach}) and your breaths shaded", loc="left")
    else:
        ax_hr.set_title("Heart rate (no pace was shown in this session)", loc="left")

    # the tachogram
    ax_rr.plot(rec.t_s / 60.0, rec.rr_ms, ".", color="#888888", ms=2.5, gid="rr", label="recorded")
    x_nn, y_nn = _with_breaks(s.t_s, s.nn_ms, s.stretches)
    ax_rr.plot(x_nn / 60.0, y_nn, color="black", lw=0.8, gid="nn", label="after artefact correction")
    bad = c.is_artifact
    ax_rr.plot(rec.t_s[bad] / 60.0, rec.rr_ms[bad], "x", color="#d35400", ms=6, gid="artefacts",
               label=f"corrected artefacts ({int(bad.sum())})")
    for k, g in enumerate(rec.gaps):
        ax_rr.axvspan(g.start_s / 60.0, g.end_s / 60.0, color=_GAP_SHADE, alpha=0.6, lw=0, gid="gap",
                      label=f"gaps ({len(rec.gaps)})" if k == 0 else None)
    ax_rr.set(ylabel="RR interval (ms)")
    ax_rr.set_title("Time between beats (the tachogram)", loc="left")
    ax_rr.legend(loc="upper right", fontsize=8)
    ax_rr.grid(alpha=0.3)

    # swing per breath and coherence
    breaths = None
    if onsets.size >= 2 and s.nn_ms.size >= 2:
        breaths = paced_breaths(s.t_s, s.nn_ms, onsets, rec.gaps)  # a breath over a gap: NaN, not drawn
    elif s.rsa is not None:
        breaths = s.rsa
    if breaths is not None and breaths.amplitude_bpm.size:
        mid = (breaths.start_s + breaths.end_s) / 2.0
        ax_sw.plot(mid / 60.0, breaths.amplitude_bpm, "o-", color=_SWING_COLOUR, ms=3, lw=0.8, gid="swing")
        ax_coh = ax_sw.twinx()
        coh = coherence_series(c, breaths.end_s)
        ax_coh.plot(breaths.end_s / 60.0, coh, color="#7d3c98", lw=1.0, gid="coherence")
        ax_coh.set_ylabel("coherence", color="#7d3c98")
        ax_sw.set_title("Heart-rate swing per breath (green) and steadiness of the rhythm (coherence, purple)",
                        loc="left")
    else:
        ax_sw.text(0.5, 0.5, "too short for the swing per breath", ha="center", va="center",
                   transform=ax_sw.transAxes)
    ax_sw.set(xlabel="time (min)", ylabel="swing (beats/min)")
    ax_sw.grid(alpha=0.3)

    # the spectrum
    try:
        f_hz, psd = hrv.power_spectrum(s.nn_ms[s.analysed], max_hz=0.5)
    except InvalidInputError:  # too short for a spectrum
        f_hz, psd = np.zeros(0), np.zeros(0)
    for name, lo_hz, hi_hz, color in _BANDS:
        ax_psd.axvspan(lo_hz, hi_hz, color=color, alpha=0.6, lw=0, label=name)
    ax_psd.plot(f_hz, psd, color="black", lw=1.0, gid="psd")
    if f.breathing_bpm is not None:
        ax_psd.axvline(f.breathing_bpm / 60.0, color=_PACE_COLOUR, ls="--", gid="breathing",
                       label=f"your breathing, {f.breathing_bpm:.1f}/min")
    if f.resonance_bpm is not None:
        ax_psd.axvline(f.resonance_bpm / 60.0, color=_SWING_COLOUR, ls=":", lw=2, gid="resonance",
                       label=f"resonance pace, {f.resonance_bpm:.1f}/min")
    ax_psd.set(xlabel="frequency (Hz)", ylabel="power (ms²/Hz)", xlim=(0, 0.5))
    ax_psd.set_title("The rhythms in your heart rate (spectrum)", loc="left")
    ax_psd.legend(loc="upper right", fontsize=8)
    ax_psd.grid(alpha=0.3)
    return fig


def trend_figure(t: Trends, title: str = "") -> Figure:
    """The sessions over days and weeks, with a plain-words headline on top.

    Panels sharing the day axis: resting (baseline) heart rate, the drop in heart rate
    during the session with the pain and tension ratings beside it, resting lnRMSSD, the
    swing per breath at resonance, the resonance pace with its stability (the rolling
    spread, shaded), and minutes practised. Each figure is a line of points (gid: the
    :data:`biofeedback.history.TREND_FIELDS` name) and its rolling mean (gid ``NAME-rolling``,
    NaN where there are too few sessions); the ratings are drawn by
    :func:`biofeedback.display.rating.draw_ratings`.
    """
    from biofeedback.display.history import headline_lines
    from biofeedback.display.rating import draw_ratings
    from biofeedback.history import headlines

    # a fixed layout: constrained layout measures every artist, which costs more than the drawing
    fig = Figure(figsize=(10, 16))
    gs = fig.add_gridspec(8, 1, height_ratios=[0.45, 1, 1, 0.9, 1, 1, 1, 0.7], left=0.12, right=0.97, top=0.97,
                          bottom=0.04, hspace=0.3)
    ax_txt = fig.add_subplot(gs[0])
    axes = [fig.add_subplot(gs[1])]
    axes += [fig.add_subplot(gs[i], sharex=axes[0]) for i in range(2, 8)]
    ax_base, ax_drop, ax_rate, ax_ln, ax_swing, ax_res, ax_min = axes
    words = headline_lines(headlines(t)) or ([f"{plural(len(t), 'session')} so far: the trends need a few more."]
                                             if len(t) else ["No sessions yet."])
    ax_txt.axis("off")
    ax_txt.set_title(title or (f"Your practice since {t.origin:%d %B %Y} ({len(t)} sessions)" if t.origin
                               else "Your practice"), loc="left", fontsize=11)
    ax_txt.text(0.0, 0.85, "\n".join(words), va="top", ha="left", fontsize=12, wrap=True, transform=ax_txt.transAxes,
                gid="headline")

    def points(ax: Axes, name: str, label: str, colour: str, *, hollow: npt.NDArray[np.bool_] | None = None) -> None:
        y = getattr(t, name)
        if hollow is None:
            ax.plot(t.day, y, "o", color=colour, ms=3.5, gid=name, label=_shown("each session", y))
        else:
            solid, other = np.where(hollow, np.nan, y), np.where(hollow, y, np.nan)
            ax.plot(t.day, solid, "o", color=colour, ms=3.5, gid=name, label=_shown("at the resonance pace", solid))
            ax.plot(t.day, other, "o", mfc="none", mec=colour, ms=3.5, gid=f"{name}-other",
                    label=_shown("your own breathing", other))
        ax.plot(t.day, t.rolling[name], "-", color=colour, lw=2, alpha=0.7, gid=f"{name}-rolling",
                label=_shown("7-day mean", t.rolling[name]))
        ax.set_ylabel(label)
        ax.margins(y=0.12)
        ax.grid(alpha=0.3)

    points(ax_base, "baseline_hr_bpm", "resting heart rate\n(beats/min)", _HR_COLOUR)
    points(ax_drop, "hr_drop_bpm", "drop in heart rate\nduring a session\n(beats/min)", "#e67e22")
    ax_drop.axhline(0.0, color="#888888", lw=0.8)
    draw_ratings(ax_rate, t.day, t.ratings, **_rating_offset(t.day))
    points(ax_ln, "ln_rmssd", "resting lnRMSSD\n(ln ms)", "#34495e")
    points(ax_swing, "swing_bpm", "swing per breath\n(beats/min)", _SWING_COLOUR, hollow=~t.swing_at_resonance)
    points(ax_res, "resonance_bpm", "resonance pace\n(breaths/min)", _PACE_COLOUR)
    mean, spread = t.rolling["resonance_bpm"], t.resonance_spread_bpm
    ax_res.fill_between(t.day, mean - spread, mean + spread, color=_PACE_COLOUR, alpha=0.15, lw=0,
                        gid="resonance-spread", label=_shown("its spread (stability)", spread))
    # one stroke per session, drawn as one collection (a bar each would be an artist each)
    ax_min.vlines(t.day, 0.0, t.minutes, color="#7f8c8d", lw=3, gid="minutes")
    ax_min.set_ylim(bottom=0.0)
    ax_min.set_ylabel("minutes\npractised")
    ax_min.grid(alpha=0.3)
    for ax in (ax_base, ax_swing, ax_res):
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8, ncol=3)
    for ax in axes:
        legend = ax.get_legend()
        if legend is not None:  # above the panel, where it hides no session
            legend.set_loc("lower right")
            legend.set_bbox_to_anchor((1.0, 1.0), transform=ax.transAxes)
            legend.set_frame_on(False)
        if ax is not ax_min:  # the day axis is shared: its labels once, at the bottom
            ax.tick_params(labelbottom=False)
    if t.origin is not None:
        _day_axis(ax_min, t.origin, t.day)
    else:
        ax_min.set_xlabel("day")
    return fig


def _shown(label: str, y: FloatArray) -> str | None:
    """``label`` for the legend when there is something of it to see (a rolling mean of too few
    sessions is all NaN, and no legend should name it)."""
    return label if bool(np.any(np.isfinite(y))) else None


_SHORT_DAYS: Final[float] = 3.0  # a trend shorter than this is drawn on an axis of hours
_MIN_WIDTH_DAYS: Final[float] = 2.0 / 24.0  # ... at least two hours wide
_RATING_OFFSET_SHARE: Final[float] = 0.012  # there, pain and tension this share of the axis beside the session


def _day_span(day: FloatArray) -> tuple[float, float]:
    return (float(np.min(day)), float(np.max(day))) if day.size else (0.0, 1.0)


def _rating_offset(day: FloatArray) -> dict[str, float]:
    """``draw_ratings``' offset for a trend of hours (the default, a few hours, is for weeks)."""
    lo, hi = _day_span(day)
    if hi - lo >= _SHORT_DAYS:
        return {}
    width = max(hi - lo, _MIN_WIDTH_DAYS)
    return {"offset_days": _RATING_OFFSET_SHARE * width}


_TICK_HOURS: Final[tuple[float, ...]] = (0.25, 0.5, 1.0, 2.0, 3.0, 6.0, 12.0)  # steps of a day axis under 3 days
_MAX_TICKS: Final[int] = 8


def _day_axis(ax: Axes, origin: dt.date, day: FloatArray) -> None:
    """Ticks and labels of a trend's day axis (days since ``origin``'s midnight) that a person reads.

    Over 3 days or more: whole days ("05 Dec"). Less: clock times at a whole number of hours
    (or quarter hours), the axis at least two hours wide, the day in the axis label when all
    fall on one day; never two ticks with the same label.
    """
    from matplotlib.ticker import FuncFormatter, MaxNLocator, MultipleLocator

    midnight = dt.datetime.combine(origin, dt.time())

    def when(d: float) -> dt.datetime:
        return midnight + dt.timedelta(days=float(d))

    lo, hi = _day_span(day)
    if hi - lo >= _SHORT_DAYS:
        ax.xaxis.set_major_locator(MaxNLocator(nbins=_MAX_TICKS, integer=True))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda d, _pos: when(d).strftime("%d %b")))
        ax.set_xlabel("day")
        return
    if hi - lo < _MIN_WIDTH_DAYS:
        mid = (lo + hi) / 2.0
        ax.set_xlim(mid - _MIN_WIDTH_DAYS / 2.0, mid + _MIN_WIDTH_DAYS / 2.0)
    x0, x1 = ax.get_xlim()
    hours = (x1 - x0) * 24.0
    step_h = next((h for h in _TICK_HOURS if hours / h <= _MAX_TICKS), _TICK_HOURS[-1])
    ax.xaxis.set_major_locator(MultipleLocator(step_h / 24.0))
    one_day = when(x0).date() == when(x1).date()
    fmt = "%H:%M" if one_day else "%d %b %H:%M"
    ax.xaxis.set_major_formatter(FuncFormatter(lambda d, _pos: when(d).strftime(fmt)))
    ax.set_xlabel(f"time of day, {when(x0):%d %B %Y}" if one_day else "day and time")


def check_window() -> None:
    """Raise unless there is a display to show a figure on (:func:`show_figure`'s first check),
    so that a command can say so before it does the work of drawing.

    Raises
    ------
    DisplayUnavailableError
        No display to open a window on.
    """
    from biofeedback.display.window import display_available

    if not display_available():
        raise DisplayUnavailableError(_NO_WINDOW)


def show_figure(fig: Figure, title: str = "biofeedback") -> None:
    """Show ``fig`` in a window of its own (Tk) until the person closes it.

    No pyplot and no backend switch: a Tk window holding a matplotlib canvas and toolbar.

    Raises
    ------
    DisplayUnavailableError
        No display to open a window on, or no Tk in this Python.
    """
    check_window()
    try:
        import tkinter
    except ImportError:
        raise DisplayUnavailableError(_NO_WINDOW) from None
    from matplotlib.backends import backend_tkagg

    try:
        root = tkinter.Tk(className="biofeedback")
    except tkinter.TclError:
        raise DisplayUnavailableError(_NO_WINDOW) from None
    root.title(title)
    tkagg: Any = backend_tkagg  # untyped
    canvas = tkagg.FigureCanvasTkAgg(fig, master=root)
    tkagg.NavigationToolbar2Tk(canvas, root)
    canvas.get_tk_widget().pack(fill="both", expand=True)
    canvas.draw()
    root.mainloop()


_NO_WINDOW = "no display to open a window on; give -o FILE.png (or .pdf, .svg) to write the figure to a file"


def _metadata(fmt: str) -> dict[str, str] | None:
    """Our name in the file, so that a later run knows it may replace it (see formats.written_by_biofeedback)."""
    key = {"png": "Software", "pdf": "Creator", "svg": "Creator", "eps": "Creator", "ps": "Creator"}.get(fmt)
    return {key: f"biofeedback {__version__}"} if key else None


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
            fig.savefig(f, format=fmt, dpi=110, metadata=_metadata(fmt))
    finally:
        if fig.canvas.manager is not None:  # a pyplot figure: release its window
            import matplotlib.pyplot as plt

            plt.close(fig)
    return p
