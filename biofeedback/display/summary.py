"""A recording's summary as text for a terminal: what ``biofeedback show`` and ``demo`` print.

Each figure is named in plain words first and by its technical name second, so that a
person who does not know the jargon can read it.
"""

from __future__ import annotations

from typing import Final

import numpy as np

from biofeedback import hrv
from biofeedback._words import plural
from biofeedback.analysis import MIN_STRETCH_BEATS, SessionSummary
from biofeedback.recording import RecordingMeta

__all__ = ["format_meta", "format_summary", "mm_ss"]

_LABEL: Final[int] = 38  # width of the label column


def mm_ss(t_s: float) -> str:
    """Seconds as ``mm:ss``, whole seconds elapsed (a stopwatch: 59.9 s is ``00:59``)."""
    minutes, seconds = divmod(int(t_s), 60)
    return f"{minutes:02d}:{seconds:02d}"


def _utc_offset(offset_s: int) -> str:
    sign = "+" if offset_s >= 0 else "-"
    hours, minutes = divmod(abs(offset_s) // 60, 60)
    return f"UTC{sign}{hours:02d}:{minutes:02d}"


def format_meta(meta: RecordingMeta) -> str:
    """When and from what a recording was made, as one line."""
    local = meta.start_local
    when = f"{local:%Y-%m-%d %H:%M} ({_utc_offset(meta.utc_offset_s)})"
    if meta.start_estimated:
        when += ", start estimated from the file's time"
    address = f" ({meta.device_address})" if meta.device_address else ""
    device = f", {meta.device_name}{address}" if meta.device_name else ""
    return f"Recorded {when}; source {meta.source}{device}"


def _line(label: str, value: str, detail: str = "") -> str:
    return f"{label:<{_LABEL}}{value}" + (f"   ({detail})" if detail else "")


def format_summary(s: SessionSummary) -> list[str]:
    """The summary as lines of text for a terminal."""
    q = s.quality
    lines = [
        format_meta(s.recording.meta),
        (
            f"Session: {q.n_intervals} beats over {mm_ss(float(s.t_s[-1]))} (mm:ss); "
            f"{plural(q.n_corrected, 'interval')} corrected as artefacts ({100 * q.share_corrected:.1f}%), "
            f"{plural(q.n_gaps, 'gap')} ({q.gap_s:.1f} s)"
        ),
    ]
    if s.analysed_beats < s.nn_ms.size:
        t0 = float(s.t_s[s.analysed.start] - s.nn_ms[s.analysed.start] / 1000.0)
        t1 = float(s.t_s[s.analysed.stop - 1])
        lines.append(f"Figures of the longest unbroken stretch: {mm_ss(t0)} to {mm_ss(t1)} (mm:ss), "
                     f"{s.analysed_beats} beats")
    t = s.time
    if t is None:
        lines.append(f"The figures need an unbroken stretch of at least {MIN_STRETCH_BEATS} beats; the longest "
                     f"here has {s.analysed_beats}: record again with the strap worn snugly.")
        return lines
    lines += [
        _line("Heart rate", f"{t['mean_hr_bpm']:6.1f} beats/min", f"mean RR {t['mean_rr_ms']:.0f} ms"),
        _line("Beat-to-beat variation (RMSSD)", f"{t['rmssd_ms']:6.1f} ms",
              f"ln RMSSD {t['ln_rmssd']:.2f}; SDNN {t['sdnn_ms']:.1f} ms; pNN50 {t['pnn50_pct']:.1f}%"),
    ]
    if s.rsa is not None and np.any(np.isfinite(s.rsa.amplitude_bpm)):
        amp = s.rsa.amplitude_bpm[np.isfinite(s.rsa.amplitude_bpm)]
        lines.append(_line("Heart-rate swing per breath (RSA)", f"{float(np.median(amp)):6.1f} beats/min",
                           f"median peak-to-trough over {amp.size} breaths; last 5: {hrv.rsa_summary_bpm(amp):.1f}"))
    if s.breathing_rate_per_min is not None:
        lines.append(_line("Breathing rate", f"{s.breathing_rate_per_min:6.1f} breaths/min",
                           "from the heart-rate rhythm"))
    if s.coherence is not None:
        lines.append(_line("Steadiness of the rhythm (coherence)", f"{s.coherence:6.2f}",
                           "HeartMath ratio, last 64 s"))
    if s.frequency is not None:
        f = s.frequency
        lines.append(_line("Slow / fast waves (LF / HF power)", f"{f['lf_ms2']:6.0f} / {f['hf_ms2']:.0f} ms²",
                           f"LF/HF {f['lf_hf']:.2f}; LF peak {f['lf_peak_hz']:.3f} Hz"))
    if s.poincare is not None:
        lines.append(_line("Short / long-term spread (Poincaré)",
                           f"  SD1 {s.poincare['sd1_ms']:.1f} ms, SD2 {s.poincare['sd2_ms']:.1f} ms"))
    return lines

