"""The status of a running recording in a terminal, in plain words.

On a terminal, one line rewritten in place: elapsed time, heart rate, the beat-to-beat
variation (RMSSD) of the last 60 s, and the beat count, e.g.::

    03:12  heart rate 62 beats/min · beat-to-beat variation (RMSSD) 37 ms · 190 beats

It is redrawn at every beat, and on the session's clock tick when the elapsed time has
moved on. Elsewhere (a pipe, a log file), one line every 30 s of beats. Link events get a
line of their own.

A figure is shown only once its window holds enough data, counted from the latest break
of the beat chain (a gap restarts both):

- heart rate: the mean of the last :data:`HR_BEATS` intervals, from the 5th beat;
- RMSSD: once the beats cover the whole :data:`RMSSD_WINDOW_S` window and it holds at
  least :data:`RMSSD_MIN_BEATS` beats; until then the line says how long is left.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Final, TextIO

from biofeedback._words import plural
from biofeedback.beats import Beat, BeatFlags
from biofeedback.display.summary import mm_ss
from biofeedback.hrv import SlidingHRV
from biofeedback.pieces import Piece, SessionEvent
from biofeedback.recording import LinkEvent, Recording

__all__ = ["HR_BEATS", "RMSSD_MIN_BEATS", "RMSSD_WINDOW_S", "RecordStatus"]

LINE_EVERY_S: Final[float] = 30.0  # off a terminal: one status line per this much beat clock, s
RMSSD_WINDOW_S: Final[float] = 60.0  # the live RMSSD's window, s
RMSSD_MIN_BEATS: Final[int] = 30  # fewest beats in the window before the RMSSD is shown
HR_BEATS: Final[int] = 5  # the heart rate shown is that of the mean of this many last intervals


class RecordStatus(Piece):
    """Shows a recording's progress on ``out``: a display piece of the session loop."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.tty = out.isatty()
        self.beats = 0
        self.live = SlidingHRV(window_s=RMSSD_WINDOW_S)
        self._recent: deque[float] = deque(maxlen=HR_BEATS)
        self._next_line_s = LINE_EVERY_S
        self._shown_elapsed = ""
        self._drawn = False
        self._width = 0  # widest line drawn in place, characters

    def text(self, t_s: float) -> str:
        """The status line at beat-clock time ``t_s``."""
        if len(self._recent) == HR_BEATS:
            heart = f"heart rate {60000.0 / (sum(self._recent) / HR_BEATS):.0f} beats/min"
        else:
            heart = "heart rate …"
        rmssd = self.live.metrics()["rmssd_ms"]
        covered_s = self.live.t_s
        label = "beat-to-beat variation (RMSSD)"
        if rmssd is not None and covered_s >= RMSSD_WINDOW_S and self.live.n_beats >= RMSSD_MIN_BEATS:
            variation = f"{label} {rmssd:.0f} ms"
        elif covered_s < RMSSD_WINDOW_S:
            variation = f"{label} in {math.ceil(RMSSD_WINDOW_S - covered_s)} s"
        else:
            variation = f"{label} after {RMSSD_MIN_BEATS} beats"
        return f"{mm_ss(t_s)}  {heart} · {variation} · {plural(self.beats, 'beat')}"

    def beat(self, beat: Beat) -> None:
        """One more beat."""
        self.beats += 1
        after_gap = bool(beat.flags & BeatFlags.AFTER_GAP)
        if after_gap:
            self._recent.clear()
        self._recent.append(beat.rr_ms)
        self.live.update(beat.rr_ms, after_gap=after_gap)
        text = self.text(beat.t_s)
        if self.tty:
            self._draw(text, beat.t_s)
        elif beat.t_s >= self._next_line_s:
            print(text, file=self.out)
            # the next multiple of LINE_EVERY_S, however many a gap skipped
            self._next_line_s = (beat.t_s // LINE_EVERY_S + 1) * LINE_EVERY_S

    def tick(self, t_s: float) -> None:
        """On a terminal, move the elapsed time on between beats."""
        if self.tty and self._drawn and mm_ss(t_s) != self._shown_elapsed:
            self._draw(self.text(t_s), t_s)

    def event(self, event: SessionEvent) -> None:
        """Link losses and restorations get a line."""
        if isinstance(event, LinkEvent):
            if event.kind == "lost":
                self._line(f"link lost ({event.detail}); reconnecting…")
            else:
                self._line(f"link restored {event.detail}")

    def finish(self, recording: Recording) -> None:
        """End the in-place line."""
        self.done()

    def done(self) -> None:
        """End the in-place line (once)."""
        if self.tty and self._drawn:
            self.out.write("\n")
            self.out.flush()
            self._drawn = False

    def _draw(self, text: str, t_s: float) -> None:
        self._width = max(self._width, len(text))
        self.out.write("\r" + text.ljust(self._width) + " ")
        self.out.flush()
        self._shown_elapsed = mm_ss(t_s)
        self._drawn = True

    def _line(self, text: str) -> None:
        print(("\n" if self.tty and self._drawn else "") + text, file=self.out)
        self._drawn = False
