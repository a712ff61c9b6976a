"""The breathing prompt in a terminal, drawn with ``rich``.

:class:`TerminalPrompt` fills an 80×24 terminal (the alternate screen, so the person's
scrollback is left as it was): a disc of block characters that grows while you breathe in
and shrinks while you breathe out, "breathe in" / "breathe out" with a count, and beside it
the pace, heart rate, swing per breath with its trend, the coach's stage and reason, the
session time, the strap's battery and signal quality, a reconnecting notice and the calm
line. ``mode="minimal"`` is one dim line instead, for eyes-closed practice where the sound
leads. (The ``--ui none`` line, with no prompt, is :mod:`biofeedback.display.progress`.)

``rich`` (rather than escape codes of our own) finds the terminal's size and colour
support, hides the cursor and gives it back, and enters and leaves the alternate screen.
Every display here is a context manager: leaving it by any path (normal end, an exception,
Ctrl-C, SIGTERM while it is open) restores the terminal.

The caller calls ``show(frame)`` from its clock tick (20 frames a second or more); a frame
whose visible content equals the last one's is not redrawn, and drawing one costs well under
a millisecond (``benchmarks/prompt_frames.py``).
"""

from __future__ import annotations

import functools
import logging
import signal
import textwrap
import threading
from dataclasses import dataclass
from types import FrameType, TracebackType
from typing import Any, Final, Literal, Self

from rich.cells import cell_len
from rich.console import Console
from rich.live import Live
from rich.text import Text

from biofeedback.display.prompt import (
    PromptFrame,
    battery_words,
    count_words,
    part_words,
    signal_words,
    swing_words,
    time_words,
)

__all__ = ["TerminalPrompt", "disc_lines"]

log = logging.getLogger(__name__)

SHAPE_COLS: Final[int] = 31  # width of the breathing shape, terminal columns
SHAPE_ROWS: Final[int] = 15  # its height, terminal rows (two "pixels" a row, from half blocks)
MIN_RADIUS_PX: Final[float] = 2.5  # the disc's radius at empty lungs, half-row pixels (in 15 rows)
MAX_RADIUS_PX: Final[float] = 14.5  # at full lungs
OTHER_ROWS: Final[int] = 7  # rows of the full prompt besides the shape (title, words, calm line, hint, blanks)
RADIUS_STEP_PX: Final[float] = 0.25  # radii are drawn in steps of this (48 sizes from empty to full)
PROMPT_COLS: Final[int] = 80  # the prompt's width, columns (it fits an 80×24 terminal)
LABEL_COLS: Final[int] = 10  # width of the labels beside the shape, columns
INFO_COLS: Final[int] = PROMPT_COLS - SHAPE_COLS - 3 - LABEL_COLS - 1  # width of the values beside it
REASON_ROWS: Final[int] = 2  # the coach's reason wraps onto at most this many rows
HINT: Final[str] = "Ctrl-C ends the session"

_STYLE_SHAPE: Final[str] = "cyan"
_STYLE_LABEL: Final[str] = "dim"
_BLOCKS: Final[tuple[str, str, str, str]] = (" ", "▄", "▀", "█")  # (top, bottom) pixels: 00, 01, 10, 11


@functools.lru_cache(maxsize=128)
def disc_lines(radius_px: float, cols: int = SHAPE_COLS, rows: int = SHAPE_ROWS) -> tuple[str, ...]:
    """A filled disc of ``radius_px`` drawn with half blocks, centred in ``cols`` × ``rows`` cells.

    Each cell holds two square-ish pixels (a terminal cell is about twice as tall as it is
    wide), upper and lower; "█" is both, "▀" the upper, "▄" the lower.
    """
    lines = []
    r2 = radius_px * radius_px
    for row in range(rows):
        chars = []
        for col in range(cols):
            x = col + 0.5 - cols / 2
            top = (2 * row + 0.5 - rows) ** 2 + x * x <= r2
            bottom = (2 * row + 1.5 - rows) ** 2 + x * x <= r2
            chars.append(_BLOCKS[2 * top + bottom])
        lines.append("".join(chars))
    return tuple(lines)


def _centred(text: str, cols: int) -> str:
    """``text`` with the spaces before it that centre it in ``cols`` columns."""
    return " " * max(0, (cols - cell_len(text)) // 2) + text


def _wrapped(text: str, cols: int, rows: int) -> list[str]:
    """``text`` wrapped to ``cols`` columns on at most ``rows`` lines, "…" ending a cut."""
    lines = textwrap.wrap(text, cols)
    if len(lines) > rows:
        lines = lines[:rows]
        lines[-1] = lines[-1][:cols - 1] + "…"
    return lines


def _shape_rows(terminal_rows: int) -> int:
    """Rows for the shape: 15 in a terminal of 22 rows or more, fewer in a smaller one (at least 3)."""
    return max(3, min(SHAPE_ROWS, terminal_rows - OTHER_ROWS))


def _radius_px(fullness: float, rows: int = SHAPE_ROWS) -> float:
    """The disc's radius for ``fullness`` in a shape of ``rows`` rows, in steps of RADIUS_STEP_PX."""
    scale = rows / SHAPE_ROWS
    r = scale * (MIN_RADIUS_PX + (MAX_RADIUS_PX - MIN_RADIUS_PX) * fullness)
    return round(r / RADIUS_STEP_PX) * RADIUS_STEP_PX


class _RestoresOnSigterm:
    """While open, SIGTERM (default action: die at once) raises SystemExit so ``with`` blocks unwind."""

    _previous: Any = None

    def _hook_sigterm(self) -> None:
        self._previous = None
        if threading.current_thread() is threading.main_thread() and \
                signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
            self._previous = signal.signal(signal.SIGTERM, _sigterm)

    def _unhook_sigterm(self) -> None:
        if self._previous is not None:
            if signal.getsignal(signal.SIGTERM) is _sigterm:  # unless someone (an event loop) took it since
                signal.signal(signal.SIGTERM, self._previous)
            self._previous = None


def _sigterm(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


class TerminalPrompt(_RestoresOnSigterm):
    """The breathing prompt on a terminal.

    Parameters
    ----------
    console : rich.console.Console, optional
        Where to draw (default: a console on standard output).
    mode : {"full", "minimal"}
        ``"full"``: the whole prompt on the alternate screen. ``"minimal"``: one dim line,
        rewritten in place and erased at the end (eyes-closed practice, ``--ui sound``).
    hint : str
        The dim line that says how to end the session.

    Use as a context manager; call :meth:`show` with each frame.
    """

    def __init__(self, console: Console | None = None, *, mode: Literal["full", "minimal"] = "full",
                 hint: str = HINT) -> None:
        if mode not in ("full", "minimal"):
            raise ValueError(f"mode must be 'full' or 'minimal', got {mode!r}")
        self.console = console if console is not None else Console()
        self.mode = mode
        self.hint = hint
        self.frames_drawn = 0
        self._key: _View | None = None
        self._live = Live(console=self.console, screen=mode == "full", auto_refresh=False,
                          transient=True, redirect_stdout=True, redirect_stderr=True)
        self._open = False

    def __enter__(self) -> Self:
        self._hook_sigterm()
        try:
            self._live.start()
        except BaseException:
            self._unhook_sigterm()
            raise
        self._open = True
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Leave the terminal as it was: cursor shown, alternate screen left (idempotent)."""
        if self._open:
            self._open = False
            try:
                self._live.stop()
            finally:
                self._unhook_sigterm()

    def show(self, frame: PromptFrame) -> None:
        """Draw ``frame`` (skipped when what it shows equals the last frame drawn)."""
        if not self._open:
            return
        key = self._visible(frame)
        if key == self._key:
            return
        self._key = key
        renderable = self._minimal(key) if self.mode == "minimal" else self._full(key)
        self._live.update(renderable, refresh=True)
        self.frames_drawn += 1

    def _visible(self, f: PromptFrame) -> _View:
        """What a person sees of ``f``: the disc's radius and the strings drawn."""
        return _View(
            rows=(rows := _shape_rows(self.console.size.height)),
            radius_px=_radius_px(f.fullness, rows), words=part_words(f.part), count=count_words(f.part_left_s),
            pace=f"{f.pace_bpm:.1f} breaths/min",
            heart_rate="--" if f.heart_rate_bpm is None else f"{f.heart_rate_bpm:.0f} bpm",
            swing=swing_words(f.swing_bpm, f.swing_trend_bpm),
            target="" if f.swing_target_bpm is None else f"target {f.swing_target_bpm:.1f} bpm",
            stage=f.stage or "--", reason=f.reason, time=time_words(f.elapsed_s, f.remaining_s),
            battery=battery_words(f.battery_percent), signal=signal_words(f.corrected_share),
            reconnect=(f.reconnect_text or "strap reconnecting…") if f.reconnecting else "",
            calm=f.calm_line)

    def _full(self, v: _View) -> Text:
        """The whole prompt as one block of text lines (a single Text renders far faster than tables)."""
        info: list[tuple[str, str, str]] = [("pace", v.pace, ""), ("heart rate", v.heart_rate, ""),
                                            ("swing", f"{v.swing} per breath", "")]
        if v.target:
            info.append(("", v.target, ""))
        info.append(("coach", v.stage, ""))
        info += [("", line, "italic") for line in _wrapped(v.reason, INFO_COLS, REASON_ROWS)]
        done, _, left = v.time.partition(", ")
        info.append(("time", done, ""))
        if left:
            info.append(("", left, ""))
        info += [("battery", v.battery, ""), ("signal", v.signal, "")]
        out = Text(no_wrap=True, overflow="crop")
        out.append("biofeedback · paced breathing\n\n", style=_STYLE_LABEL)
        for row, shape_line in enumerate(disc_lines(v.radius_px, SHAPE_COLS, v.rows)):
            out.append(shape_line, style=_STYLE_SHAPE)
            if row < len(info):
                label, value, style = info[row]
                out.append(f"   {label:<{LABEL_COLS}} ", style=_STYLE_LABEL)
                out.append(value, style=style)
            out.append("\n")
        words = f"{v.words}   {v.count}"
        out.append(_centred(words, SHAPE_COLS), style="bold")
        out.append(" " * (SHAPE_COLS - cell_len(_centred(words, SHAPE_COLS)) + 3))
        out.append(v.reconnect, style="bold yellow")
        out.append("\n\n")
        out.append(_centred(v.calm, PROMPT_COLS), style="italic")
        out.append("\n\n")
        out.append(self.hint, style=_STYLE_LABEL)
        return out

    def _minimal(self, v: _View) -> Text:
        left = v.time.partition(", ")[2] or v.time
        text = f"{v.words} {v.count}  ·  {v.pace}  ·  {left}  ·  {self.hint}"
        if v.reconnect:
            text += f"  ·  {v.reconnect}"
        return Text(text, style="dim", no_wrap=True, overflow="ellipsis")


@dataclass(frozen=True, slots=True)
class _View:
    """The visible content of a frame: two equal views draw the same screen."""

    rows: int
    radius_px: float
    words: str
    count: str
    pace: str
    heart_rate: str
    swing: str
    target: str
    stage: str
    reason: str
    time: str
    battery: str
    signal: str
    reconnect: str
    calm: str
