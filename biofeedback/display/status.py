"""The status of a running recording in a terminal.

On a terminal, one line rewritten in place at every beat: elapsed beat-clock time, heart
rate, RMSSD of the last 60 s (from :class:`~biofeedback.hrv.SlidingHRV`) and the beat
count. Elsewhere (a pipe, a log file), one line every 30 s of beats. Link events get a line
of their own.
"""

from __future__ import annotations

from typing import Final, TextIO

from biofeedback.analysis import mm_ss
from biofeedback.beats import Beat, BeatFlags
from biofeedback.hrv import SlidingHRV
from biofeedback.sources.base import LinkLost, LinkRestored, SourceEvent

__all__ = ["RecordStatus"]

LINE_EVERY_S: Final[float] = 30.0  # off a terminal: one status line per this much beat clock, s
RMSSD_WINDOW_S: Final[float] = 60.0  # the live RMSSD's window, s


class RecordStatus:
    """Shows a recording's progress on ``out``; feed it every beat and every source event."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.tty = out.isatty()
        self.beats = 0
        self.live = SlidingHRV(window_s=RMSSD_WINDOW_S)
        self._next_line_s = LINE_EVERY_S

    def beat(self, beat: Beat) -> None:
        """One more beat."""
        self.beats += 1
        rmssd = self.live.update(beat.rr_ms, after_gap=bool(beat.flags & BeatFlags.AFTER_GAP))["rmssd_ms"]
        rmssd_text = f"{rmssd:5.1f} ms" if rmssd is not None else "   -- ms"
        text = (f"{mm_ss(beat.t_s)}  HR {60000 / beat.rr_ms:5.1f} bpm  RMSSD(60 s) {rmssd_text}  "
                f"beats {self.beats:5d}")
        if self.tty:
            self.out.write("\r" + text + " ")
            self.out.flush()
        elif beat.t_s >= self._next_line_s:
            print(text, file=self.out)
            # the next multiple of LINE_EVERY_S, however many a gap skipped
            self._next_line_s = (beat.t_s // LINE_EVERY_S + 1) * LINE_EVERY_S

    def event(self, event: SourceEvent) -> None:
        """A source event: link losses and restorations get a line."""
        if isinstance(event, LinkLost):
            self._line(f"link lost ({event.reason}); reconnecting…")
        elif isinstance(event, LinkRestored):
            self._line(f"link restored after {event.attempts} attempt(s)")

    def _line(self, text: str) -> None:
        print(("\n" if self.tty else "") + text, file=self.out)

    def done(self) -> None:
        """End the in-place line."""
        if self.tty:
            self.out.write("\n")
            self.out.flush()
