"""The ``--ui none`` display: no prompt, one plain progress line.

:class:`ProgressLine` shows time, heart rate, pace, swing and the coach's stage
(:func:`~biofeedback.display.prompt.progress_words`). It needs no terminal library, so a
replay at ``--speed max`` does not import ``rich``.
"""

from __future__ import annotations

import math
import os
from types import TracebackType
from typing import Final, Self, TextIO

from biofeedback.display.prompt import PromptFrame, progress_words

__all__ = ["LINE_EVERY_S", "ProgressLine"]

LINE_EVERY_S: Final[float] = 30.0  # off a terminal: one line per this much session time, s


def _columns(out: TextIO) -> int:
    """The width of the terminal ``out`` writes to, columns (80 where it cannot tell)."""
    try:
        return os.get_terminal_size(out.fileno()).columns or 80
    except (AttributeError, OSError, ValueError):
        return 80


class ProgressLine:
    """No prompt, one progress line (``--ui none``): time, heart rate, pace, swing, coach stage.

    On a terminal the line is rewritten in place whenever its text changes; elsewhere (a
    pipe, a log) one line every ``every_s`` of session time, and one when reconnecting
    starts or ends.
    """

    def __init__(self, out: TextIO, every_s: float = LINE_EVERY_S) -> None:
        self.out = out
        self.tty = out.isatty()
        self.every_s = every_s
        self._text = ""
        self._next_s = every_s
        self._reconnecting = False
        self._width = 0

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def show(self, frame: PromptFrame) -> None:
        """Report ``frame``'s progress."""
        text = progress_words(frame)
        if self.tty:
            if text != self._text:
                # a line longer than the terminal wraps, and "\r" would rewrite only its last row
                cols = _columns(self.out) - 1
                self.out.write("\r" + text[:cols].ljust(min(self._width, cols)))
                self.out.flush()
                self._width = max(self._width, len(text))
        elif frame.elapsed_s >= self._next_s or frame.reconnecting != self._reconnecting:
            print(text, file=self.out, flush=True)
            if frame.elapsed_s >= self._next_s:
                self._next_s = (math.floor(frame.elapsed_s / self.every_s) + 1) * self.every_s
        self._text = text
        self._reconnecting = frame.reconnecting

    def close(self) -> None:
        """End the in-place line (on a terminal)."""
        if self.tty and self._text:
            self.out.write("\n")
            self.out.flush()
            self._text = ""
