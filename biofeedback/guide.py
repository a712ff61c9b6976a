"""The per-beat step of a guided session: show, let the controller decide, ask the pacer.

One place for what the closed-loop evaluation and the train session piece both do at each
beat: the breath the prompt showed at the beat (``pacer.at(t_s)``) goes to the controller with
the beat, and the pace the controller answers is requested from the pacer (which takes it at
the next breath onset, at most ``max_step_bpm`` per breath). Pure core: no clock, no threads;
the shell holds a lock around calls when the sound thread reads the same pacer.
"""

from __future__ import annotations

from biofeedback.pacer import BreathState, Pacer
from biofeedback.protocols import Controller

__all__ = ["BreathGuide"]


class BreathGuide:
    """A controller steering a pacer, beat by beat.

    Parameters
    ----------
    controller : Controller
        What decides the pace (a Coach, :class:`~biofeedback.protocols.FixedPace`,
        :class:`~biofeedback.protocols.SteppedProtocol`).
    pacer : Pacer
        What the prompt shows.

    Examples
    --------
    >>> from biofeedback.pacer import BreathPattern
    >>> from biofeedback.protocols import FixedPace
    >>> guide = BreathGuide(FixedPace(5.5), Pacer(BreathPattern(6.0)))
    >>> guide.on_beat(1.0, 1000.0).pace_bpm, guide.pacer.at(10.0).pace_bpm
    (6.0, 5.5)
    """

    def __init__(self, controller: Controller, pacer: Pacer) -> None:
        self.controller = controller
        self.pacer = pacer

    def on_beat(self, t_s: float, rr_ms: float) -> BreathState:
        """Take one beat (s on the beat clock, ms); return the breath shown at ``t_s``."""
        shown = self.pacer.at(t_s)
        pace_bpm = self.controller.on_beat(t_s, rr_ms, shown=shown)
        self.pacer.request(pace_bpm)
        return shown

    def on_gap(self, t_s: float) -> None:
        """A gap of the beat chain at ``t_s``: the controller pauses; the prompt breathes on."""
        self.controller.on_gap(t_s)
