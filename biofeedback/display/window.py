"""The breathing prompt in a window (matplotlib on Tk).

A circle that expands while you breathe in and contracts while you breathe out, with
"breathe in" / "breathe out" and a count; beside it the recent heart-rate trace with the
inhales shaded, and the heart-rate swing of each breath against the coach's target; above,
the pace, heart rate, coach, time, strap; below, the calm line.

The window is a Tk window of its own holding a matplotlib canvas (``FigureCanvasTkAgg``),
not a pyplot figure: opening it changes no global matplotlib backend, so session plots
drawn off-screen in the same process are unaffected. Tk and matplotlib's Tk canvas are
imported when the window opens, never at import.

Drawing: every part that changes (the circle, the words, the text above, the calm line, the
inside of each plot) is a region of its own, redrawn from a saved background and blitted
only when its content changed: the circle every frame, the plots with each beat. The whole
window is redrawn only when it opens or is resized, or a plot's y-limits must move. Each
:meth:`WindowPrompt.show` ends by pumping Tk's events briefly, so the window stays
responsive; closing it (the window manager's close button, or the window destroyed) sets
:attr:`WindowPrompt.closed` and calls ``on_close``, so the session can end cleanly. Tk must
be driven from the main thread.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Self

import numpy as np

from biofeedback.display.prompt import (
    PromptFrame,
    battery_words,
    count_words,
    part_words,
    signal_words,
    swing_words,
    time_words,
)
from biofeedback.errors import DisplayUnavailableError

if TYPE_CHECKING:
    import tkinter


__all__ = ["WindowPrompt", "display_available"]

log = logging.getLogger(__name__)

MIN_RADIUS: Final[float] = 0.25  # the circle's radius at empty lungs, share of the largest
TRACE_S: Final[float] = 60.0  # the heart-rate and swing plots show the last this many seconds
CIRCLE_COLOUR: Final[str] = "#3d8fc4"
INHALE_SHADE: Final[str] = "#d6e9f5"
HR_COLOUR: Final[str] = "#c0392b"
SWING_COLOUR: Final[str] = "#2e7d32"


def display_available() -> bool:
    """Whether a window can open here: macOS and Windows always; elsewhere an X display (``DISPLAY``)."""
    return sys.platform in ("darwin", "win32") or bool(os.environ.get("DISPLAY"))


class WindowPrompt:
    """The breathing prompt in a window.

    Parameters
    ----------
    title : str
        The window's title.
    screen : str, optional
        The X display to open on (e.g. ``":1"``); default ``DISPLAY``.
    on_close : callable, optional
        Called once when the person closes the window.
    trace_s : float
        Seconds of heart rate and swings shown.

    Use as a context manager (or :meth:`open` and :meth:`close`); call :meth:`show` with each frame.
    """

    def __init__(self, *, title: str = "biofeedback: breathe with the circle", screen: str | None = None,
                 on_close: Callable[[], None] | None = None, trace_s: float = TRACE_S) -> None:
        self.title = title
        self.screen = screen
        self.on_close = on_close
        self.trace_s = trace_s
        self.frames_shown = 0
        self.full_redraws = 0
        self._closed = False
        self._root: tkinter.Tk | None = None
        self._canvas: Any = None  # FigureCanvasTkAgg (matplotlib's Tk backend is untyped)
        self._needs_full_draw = False
        self._blitted_radius = 1.0

    # -- lifetime -----------------------------------------------------------------------------
    @property
    def closed(self) -> bool:
        """True once the person closed the window (or :meth:`close` was called)."""
        return self._closed

    @property
    def window_id(self) -> int | None:
        """The window system's id of the window (on X11, the id of its top-level window), while open."""
        if self._root is None:
            return None
        return int(self._root.wm_frame(), 16)

    def __enter__(self) -> Self:
        self.open()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def open(self) -> None:
        """Open the window (Tk and matplotlib's Tk canvas are loaded here).

        Raises
        ------
        DisplayUnavailableError
            No display to open a window on, or no Tk in this Python.
        """
        try:
            import tkinter
        except ImportError as exc:
            raise DisplayUnavailableError(f"this Python has no Tk ({exc}); use --ui terminal") from None
        from matplotlib.backends import backend_tkagg
        from matplotlib.figure import Figure

        try:
            root = tkinter.Tk(screenName=self.screen, className="biofeedback")
        except tkinter.TclError as exc:
            raise DisplayUnavailableError(f"no display for the window prompt ({exc}); use --ui terminal") from None
        self._root = root
        root.title(self.title)
        root.protocol("WM_DELETE_WINDOW", self._closed_by_person)
        root.bind("<Destroy>", self._destroyed, add="+")
        fig = Figure(figsize=(10.0, 6.0), dpi=100)
        self._fig = fig
        self._build(fig)
        tkagg: Any = backend_tkagg  # untyped
        canvas = tkagg.FigureCanvasTkAgg(fig, master=root)
        self._canvas = canvas
        canvas.get_tk_widget().pack(fill="both", expand=True)
        canvas.mpl_connect("draw_event", self._after_full_draw)
        canvas.draw()
        root.update()

    def close(self) -> None:
        """Close the window (idempotent)."""
        self._closed = True
        root, self._root = self._root, None
        if root is not None:
            try:
                root.destroy()
            except Exception:
                log.debug("the window was already destroyed", exc_info=True)

    def _closed_by_person(self) -> None:
        self._mark_closed()
        self.close()

    def _destroyed(self, event: Any) -> None:
        if self._root is not None and event.widget is self._root:
            self._mark_closed()
            self._root = None

    def _mark_closed(self) -> None:
        if not self._closed:
            self._closed = True
            if self.on_close is not None:
                self.on_close()

    # -- the figure -----------------------------------------------------------------------------
    def _build(self, fig: Any) -> None:
        from matplotlib.collections import PolyCollection
        from matplotlib.lines import Line2D
        from matplotlib.patches import Circle

        fig.patch.set_facecolor("white")
        ax = fig.add_axes((0.02, 0.1, 0.4, 0.78))
        ax.set_xlim(-1.05, 1.05)
        ax.set_ylim(-1.35, 1.05)
        ax.set_aspect("equal", adjustable="box")
        ax.set_axis_off()
        self._ax_circle = ax
        self._circle = Circle((0.0, 0.0), MIN_RADIUS, facecolor=CIRCLE_COLOUR, edgecolor="none", animated=True)
        ax.add_patch(self._circle)
        self._words = ax.text(0.0, -1.22, "", ha="center", va="center", fontsize=22, color="#1b3a4b",
                              animated=True)

        self._ax_hr = fig.add_axes((0.5, 0.5, 0.47, 0.33))
        self._shade = PolyCollection([], facecolors=INHALE_SHADE, edgecolors="none", animated=True,
                                     transform=self._ax_hr.get_xaxis_transform())
        self._ax_hr.add_collection(self._shade)
        (self._hr_line,) = self._ax_hr.plot([], [], color=HR_COLOUR, lw=1.5, animated=True)
        self._ax_hr.set_ylabel("heart rate (bpm)")
        self._ax_hr.set_xlim(-self.trace_s, 0.0)
        self._ax_hr.set_ylim(50.0, 80.0)
        self._ax_hr.tick_params(labelbottom=False)

        self._ax_swing = fig.add_axes((0.5, 0.1, 0.47, 0.33), sharex=self._ax_hr)
        (self._swing_line,) = self._ax_swing.plot([], [], color=SWING_COLOUR, marker="o", ms=4, lw=1.2,
                                                  animated=True)
        (self._target_line,) = self._ax_swing.plot([-self.trace_s, 0.0], [np.nan, np.nan], color="#555555",
                                                   ls="--", lw=1.0, animated=True)
        self._ax_swing.set_ylim(0.0, 20.0)
        self._ax_swing.set_ylabel("swing per breath (bpm)")
        self._ax_swing.set_xlabel("seconds ago")
        self._ax_swing.legend(handles=[Line2D([], [], color=SWING_COLOUR, marker="o", ms=4, label="swing per breath"),
                                       Line2D([], [], color="#555555", ls="--", label="target"),
                                       Line2D([], [], color=INHALE_SHADE, lw=6, label="breathing in (above)")],
                              loc="upper left", fontsize=8, frameon=False, ncols=3)

        from matplotlib.transforms import Bbox, TransformedBbox

        # the lines of text, each in a band of the figure of its own (figure units), clipped to it
        self._texts = {}
        for name, (x0, y0, x1, y1, x, ha, style) in _TEXT_BANDS.items():
            box = TransformedBbox(Bbox([[x0, y0], [x1, y1]]), fig.transFigure)
            self._texts[name] = fig.text(x, (y0 + y1) / 2, "", ha=ha, va="center", animated=True, clip_box=box,
                                         clip_on=True, **style)
        self._regions = {
            "circle": _Region([self._circle], lambda: _data_box(self._ax_circle, -1.02, -1.02, 1.02, 1.02)),
            "words": _Region([self._words], lambda: _data_box(self._ax_circle, -1.05, -1.35, 1.05, -1.08)),
            **{name: _Region([text], text.get_clip_box) for name, text in self._texts.items()},
            "hr_plot": _Region([self._shade, self._hr_line], lambda: self._ax_hr.bbox),
            "swing_plot": _Region([self._swing_line, self._target_line], lambda: self._ax_swing.bbox),
        }

    # -- drawing --------------------------------------------------------------------------------
    def show(self, frame: PromptFrame) -> None:
        """Show ``frame``: redraw the parts of the window whose content changed, then pump Tk."""
        if self._closed or self._canvas is None:
            return
        import tkinter

        try:
            self._update(frame)
            if self._needs_full_draw:
                self._needs_full_draw = False
                self._canvas.draw()  # draw_event puts every region back on the new background
                self.full_redraws += 1
            else:
                for region in self._regions.values():
                    if region.dirty:
                        self._blit(region)
            self._canvas.flush_events()
            self.frames_shown += 1
        except tkinter.TclError:
            if not self._closed:  # the window went away in the middle of a frame
                self._mark_closed()
                self.close()

    def _update(self, f: PromptFrame) -> None:
        """Give the artists ``f``'s content; mark the regions whose content changed."""
        r = self._regions
        radius = MIN_RADIUS + (1.0 - MIN_RADIUS) * f.fullness
        if r["circle"].changed(radius):
            self._circle.set_radius(radius)
        words = f"{part_words(f.part)}   {count_words(f.part_left_s)}"
        if r["words"].changed(words):
            self._words.set_text(words)
        for name, text in self._text_lines(f).items():
            if r[name].changed(text):
                self._texts[name].set_text(text)
        last = (f.hr_t_s.size and float(f.hr_t_s[-1]), f.breath_onsets_s.size and float(f.breath_onsets_s[-1]),
                f.swings_t_s.size and float(f.swings_t_s[-1]), f.swing_target_bpm)
        if r["hr_plot"].changed(last):
            r["swing_plot"].dirty = True
            self._set_traces(f)

    def _blit(self, region: _Region) -> None:
        canvas = self._canvas
        assert canvas is not None
        region.dirty = False
        if region.background is None:
            return
        canvas.restore_region(region.background)
        for artist in region.artists:
            artist.axes.draw_artist(artist) if artist.axes is not None else self._fig.draw_artist(artist)
        box = region.bbox
        if region is self._regions["circle"]:
            box = self._circle_box(box)
        canvas.blit(box)

    def _circle_box(self, area: Any) -> Any:
        """The part of the circle's area to blit: the bounding box of the larger of the old and new circles."""
        from matplotlib.transforms import Bbox

        r = max(self._circle.get_radius(), self._blitted_radius)
        self._blitted_radius = self._circle.get_radius()
        box = _data_box(self._ax_circle, -r - 0.02, -r - 0.02, r + 0.02, r + 0.02)
        return Bbox.intersection(box, area) or area

    def _after_full_draw(self, event: Any) -> None:
        """After every full draw (ours, or a resize): keep each region's background, draw its artists on it."""
        assert self._canvas is not None
        for region in self._regions.values():
            region.bbox = region.where()
            region.background = self._canvas.copy_from_bbox(region.bbox)
            region.dirty = False
            for artist in region.artists:
                artist.axes.draw_artist(artist) if artist.axes is not None else self._fig.draw_artist(artist)
        self._blitted_radius = 1.0

    @staticmethod
    def _text_lines(f: PromptFrame) -> dict[str, str]:
        """The words above and below the plots, by band (see ``_TEXT_BANDS``)."""
        hr = "--" if f.heart_rate_bpm is None else f"{f.heart_rate_bpm:.0f} bpm"
        return {
            "pace": f"pace {f.pace_bpm:.1f} breaths/min    heart rate {hr}",
            "swing": f"swing per breath {swing_words(f.swing_bpm, f.swing_trend_bpm, f.swing_target_bpm)}",
            "time": f"{time_words(f.elapsed_s, f.remaining_s)}    battery {battery_words(f.battery_percent)}    "
                    f"signal {signal_words(f.corrected_share)}",
            "coach": f"coach: {f.stage}" if f.stage else "",
            "reason": f.reason,
            "notice": (f.reconnect_text or "strap reconnecting…") if f.reconnecting else "",
            "calm": f.calm_line,
        }

    def _set_traces(self, f: PromptFrame) -> None:
        """The heart-rate trace, inhale shading and swings, in seconds before the frame's time.

        The y-limits change only when the data leave them or fill less than half of them (a
        full redraw, for the ticks); otherwise only the two plots' insides are redrawn.
        """
        now_s = f.now_s
        self._hr_line.set_data(f.hr_t_s - now_s, f.hr_bpm)
        self._shade.set_verts(self._inhale_boxes(f, now_s))
        shown = f.hr_bpm[f.hr_t_s >= now_s - self.trace_s]
        if shown.size:
            lo, hi = float(shown.min()), float(shown.max())
            c_lo, c_hi = self._ax_hr.get_ylim()
            if lo < c_lo or hi > c_hi or hi - lo < 0.4 * (c_hi - c_lo):
                pad = max(3.0, 0.25 * (hi - lo))
                self._ax_hr.set_ylim(np.floor(lo - pad), np.ceil(hi + pad))
                self._needs_full_draw = True

        self._swing_line.set_data(f.swings_t_s - now_s, f.swings_bpm)
        target = np.nan if f.swing_target_bpm is None else f.swing_target_bpm
        self._target_line.set_ydata([target, target])
        top = max(float(f.swings_bpm.max()) if f.swings_bpm.size else 0.0, np.nan_to_num(target))
        c_top = self._ax_swing.get_ylim()[1]
        if top > 0.0 and (top > c_top or top < 0.4 * c_top):
            self._ax_swing.set_ylim(0.0, float(np.ceil(1.3 * top)))
            self._needs_full_draw = True

    def _inhale_boxes(self, f: PromptFrame, now_s: float) -> list[list[tuple[float, float]]]:
        """Rectangles (x in s from now, y in axes units) over each breath's inhale.

        Without inhale ends, every other breath is shaded instead.
        """
        onsets = f.breath_onsets_s - now_s
        if not onsets.size:
            return []
        if f.inhale_ends_s.size:
            spans = zip(onsets, f.inhale_ends_s - now_s, strict=True)
        else:
            ends = np.append(onsets[1:], 0.0)
            spans = zip(onsets[::2], ends[::2], strict=True)
        return [[(a, 0.0), (a, 1.0), (b, 1.0), (b, 0.0)] for a, b in spans if b >= -self.trace_s]


# name: (x0, y0, x1, y1) of the band in figure units, x of the text, its alignment, its style
_TEXT_BANDS: Final[dict[str, tuple[float, float, float, float, float, str, dict[str, Any]]]] = {
    "pace": (0.49, 0.94, 1.0, 0.975, 0.5, "left", {"fontsize": 10, "color": "#222222"}),
    "swing": (0.49, 0.905, 1.0, 0.94, 0.5, "left", {"fontsize": 10, "color": "#222222"}),
    "time": (0.49, 0.87, 1.0, 0.905, 0.5, "left", {"fontsize": 10, "color": "#222222"}),
    "coach": (0.0, 0.94, 0.49, 0.975, 0.02, "left", {"fontsize": 10, "color": "#444444"}),
    "reason": (0.0, 0.905, 0.49, 0.94, 0.02, "left", {"fontsize": 10, "color": "#444444", "style": "italic"}),
    "notice": (0.0, 0.87, 0.49, 0.905, 0.02, "left", {"fontsize": 11, "color": "#b9770e", "weight": "bold"}),
    "calm": (0.0, 0.0, 0.45, 0.065, 0.22, "center", {"fontsize": 14, "color": "#1b3a4b", "style": "italic"}),
}


class _Region:
    """A part of the window redrawn on its own: its artists, where it is, its background, its content."""

    def __init__(self, artists: list[Any], where: Callable[[], Any]) -> None:
        self.artists = artists
        self.where = where
        self.bbox: Any = None
        self.background: Any = None
        self.key: object = object()
        self.dirty = False

    def changed(self, key: object) -> bool:
        """Record the content ``key``; True (and dirty) when it differs from the last."""
        if key == self.key:
            return False
        self.key = key
        self.dirty = True
        return True


def _data_box(ax: Any, x0: float, y0: float, x1: float, y1: float) -> Any:
    from matplotlib.transforms import Bbox

    return Bbox(ax.transData.transform([(x0, y0), (x1, y1)]))
