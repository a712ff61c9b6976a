"""A training session's end summary in plain words (what ``train``, ``replay`` and ``demo`` print)."""

from __future__ import annotations

from biofeedback._words import plural
from biofeedback.display.summary import mm_ss
from biofeedback.outcome import SessionOutcome

__all__ = ["outcome_lines"]


def outcome_lines(o: SessionOutcome) -> list[str]:
    """The summary, one figure a line.

    Examples
    --------
    >>> o = SessionOutcome(duration_s=600.4, n_beats=612, baseline_hr_bpm=68.2, final_hr_bpm=63.1,
    ...                    swing_start_bpm=6.1, swing_end_bpm=11.8, n_breaths=55, resonance_bpm=5.5,
    ...                    n_artefacts=3, artefact_share=0.0049, n_gaps=1, gap_total_s=4.2, quality=0.995,
    ...                    n_decisions=6, ended_early=False)
    >>> print("\\n".join(outcome_lines(o)))
    Session: 10:00 (mm:ss), 612 beats.
    Heart rate: 68 beats/min at the start, 63 at the end: 5.1 lower (7.5%).
    Heart-rate swing per breath: 6.1 beats/min at the start, 11.8 at the end.
    Resonance pace found: 5.5 breaths/min.
    Signal: 3 beats corrected as artefacts (0.5%); 1 gap of 4.2 s in all.
    """
    lines = [f"Session: {mm_ss(o.duration_s)} (mm:ss), {plural(o.n_beats, 'beat')}"
             + (", ended early (it is kept)." if o.ended_early else ".")]
    if o.baseline_hr_bpm is not None and o.final_hr_bpm is not None:
        drop, pct = o.hr_drop_bpm, o.hr_drop_pct
        assert drop is not None and pct is not None
        change = (f"{drop:.1f} lower ({pct:.1f}%)" if drop > 0 else
                  f"{-drop:.1f} higher ({-pct:.1f}%)" if drop < 0 else "the same")
        lines.append(f"Heart rate: {o.baseline_hr_bpm:.0f} beats/min at the start, {o.final_hr_bpm:.0f} at the end: "
                     f"{change}.")
    else:
        lines.append("Heart rate: too few beats to tell.")
    if o.swing_start_bpm is not None and o.swing_end_bpm is not None:
        lines.append(f"Heart-rate swing per breath: {o.swing_start_bpm:.1f} beats/min at the start, "
                     f"{o.swing_end_bpm:.1f} at the end.")
    else:
        lines.append("Heart-rate swing per breath: no whole breath to measure.")
    lines.append(f"Resonance pace found: {o.resonance_bpm:.1f} breaths/min." if o.resonance_bpm is not None
                 else "Resonance pace: not found in this session (too short, or a fixed pace).")
    gaps = ("no gaps" if not o.n_gaps else f"{plural(o.n_gaps, 'gap')} of {o.gap_total_s:.1f} s in all")
    corrected = "an artefact" if o.n_artefacts == 1 else "artefacts"
    lines.append(f"Signal: {plural(o.n_artefacts, 'beat')} corrected as {corrected} ({100 * o.artefact_share:.1f}%); "
                 f"{gaps}.")
    return lines
