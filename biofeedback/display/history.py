"""The history in words: the ``sessions`` table, a session's top lines, the trend headline.

Numbers come from :mod:`biofeedback.history`; this module only words and lays them out.
The table is plain aligned text that fits an 80-column terminal: the date is short, and the
source has all the room the other columns leave (a simulated person's ``sim:SEED`` whole, so
that the same session can be run again; only a long file name is cut).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Final, TextIO

from biofeedback.display.rating import rating_cells

if TYPE_CHECKING:
    from biofeedback.history import Headline, SessionFigures, SessionRow

__all__ = ["TABLE_COLUMNS", "headline_lines", "session_lines", "sessions_table", "table_cells"]

TABLE_COLUMNS: Final[tuple[str, ...]] = (
    "id", "date", "min", "source", "heart rate", "drop", "pace", "quality", "pain", "tension",
)
_DASH: Final[str] = "–"
_MIN_SOURCE_WIDTH: Final[int] = 8  # however wide the other columns


def _num(x: float | None, fmt: str) -> str:
    return _DASH if x is None else format(x, "z" + fmt)  # z: a drop of -0.04 reads 0.0, not -0.0


def table_cells(row: SessionRow) -> tuple[str, ...]:
    """The cells of one session in the order of :data:`TABLE_COLUMNS`, the source whole
    (``*`` after it: not complete); :func:`sessions_table` fits it to the width.

    Examples
    --------
    >>> import datetime as dt
    >>> from biofeedback.history import SessionRow
    >>> from biofeedback.ratings import Ratings
    >>> t = dt.datetime(2026, 12, 1, 7, 5, tzinfo=dt.timezone.utc)
    >>> r = SessionRow(3, t, 20.5, "sim:1", "complete", 72.0, 66.4, 5.6, 5.5, 0.98, Ratings(7, 6, 4, 3))
    >>> table_cells(r)
    ('3', '12-01 07:05', '20.5', 'sim:1', '72 → 66', '5.6', '5.5', '98%', '7 → 4', '6 → 3')
    """
    hr = _DASH if row.baseline_hr_bpm is None and row.final_hr_bpm is None else (
        f"{_num(row.baseline_hr_bpm, '.0f')} → {_num(row.final_hr_bpm, '.0f')}")
    source = row.source if row.status == "complete" else row.source + "*"
    pain, tension = rating_cells(row.ratings)
    return (
        str(row.session_id),
        f"{row.start_local:%m-%d %H:%M}",
        f"{row.minutes:.1f}",
        source,
        hr,
        _num(row.hr_drop_bpm, ".1f"),
        _num(row.resonance_bpm, ".1f"),
        _DASH if row.quality is None else f"{100 * row.quality:.0f}%",
        pain or _DASH,
        tension or _DASH,
    )


def _cut(source: str, width: int) -> str:
    """``source`` in ``width`` characters, its end replaced by "…" if it is longer (the ``*`` kept)."""
    if len(source) <= width:
        return source
    mark = "*" if source.endswith("*") else ""
    return source[: width - 1 - len(mark)] + "…" + mark


_RIGHT: Final[frozenset[str]] = frozenset({"id", "min", "drop", "pace", "quality"})


def sessions_table(rows: Sequence[SessionRow], out: TextIO, *, width: int = 80) -> None:
    """Print the ``sessions`` table (newest first, as given) to ``out``, at most ``width`` columns.

    Plain aligned text, each column as wide as its widest cell: a year of sessions prints
    in a few milliseconds (``rich``'s table took 0.9 s for 365 rows), and the output is
    the same in a terminal, a pipe or a file.
    """
    import textwrap

    years = sorted({r.start_local.year for r in rows})
    table = []
    for r in rows:
        cells = table_cells(r)
        if len(years) > 1:  # the year matters once there is more than one
            cells = (cells[0], f"{r.start_local:%Y-%m-%d}", *cells[2:])
        table.append(cells)
    widths = [max(len(name), *(len(c[i]) for c in table)) for i, name in enumerate(TABLE_COLUMNS)]
    at = TABLE_COLUMNS.index("source")
    room = width - (sum(widths) - widths[at]) - (len(widths) - 1)  # what the other columns and spaces leave
    if widths[at] > room:
        widths[at] = max(room, _MIN_SOURCE_WIDTH, len("source"))
        table = [(*c[:at], _cut(c[at], widths[at]), *c[at + 1:]) for c in table]

    def line(cells: Sequence[str]) -> str:
        return " ".join(c.rjust(w) if name in _RIGHT else c.ljust(w)
                        for c, w, name in zip(cells, widths, TABLE_COLUMNS, strict=True)).rstrip()

    caption = ("heart rate: at the start → at the end, beats/min; drop: beats/min; pace: resonance pace found, "
               "breaths/min; pain, tension: before → after (0-10); * not complete"
               + (f"; dates in {years[0]}" if len(years) == 1 else ""))
    text = [line(TABLE_COLUMNS), *(line(c) for c in table), *textwrap.wrap(caption, width)]
    out.write("\n".join(text) + "\n")


def _trend_words(change: float, up: str, down: str, unit: str, digits: int) -> str:
    amount = round(abs(change), digits)
    if amount == 0:
        return "stayed about the same"
    text = f"{amount:.{digits}f}".rstrip("0").rstrip(".") if digits else f"{amount:.0f}"
    return f"{up if change > 0 else down} by {text} {unit}"


def _span_words(days: float) -> str:
    if days >= 13.5:
        weeks = round(days / 7.0)
        return f"over the last {weeks} weeks"
    whole = max(1, round(days))
    return "over the last day" if whole == 1 else f"over the last {whole} days"


_WORDS: Final[dict[str, tuple[str, str, str, str, int]]] = {
    # figure: (what, rose, fell, unit, decimals)
    "baseline_hr_bpm": ("your resting heart rate", "rose", "fell", "beats/min", 0),
    "swing_bpm": ("the swing of your heart rate with each breath", "grew", "shrank", "beats/min", 1),
    "ln_rmssd": ("your resting beat-to-beat variation (lnRMSSD)", "rose", "fell", "", 2),
    "hr_drop_bpm": ("the fall of your heart rate during a session", "grew", "shrank", "beats/min", 1),
}


def headline_lines(heads: Sequence[Headline]) -> list[str]:
    """The headline in plain words, one sentence a line; the first is the main one.

    Examples
    --------
    >>> from biofeedback.history import Headline
    >>> headline_lines([Headline("baseline_hr_bpm", 28.0, 24, 71.2, 68.1), Headline("pain_change", 28.0, 9, -2.4, -2.4)])
    ['Over the last 4 weeks your resting heart rate fell by 3 beats/min (24 sessions).', \
'After a session your pain was 2.4 points lower than before, on average (9 sessions rated).']
    """
    lines = []
    for h in heads:
        if h.figure in _WORDS:
            what, up, down, unit, digits = _WORDS[h.figure]
            words = _trend_words(h.change, up, down, unit, digits).rstrip()
            lines.append(f"{_span_words(h.days).capitalize()} {what} {words} ({h.n_sessions} sessions).")
        elif h.figure in ("pain_change", "tension_change"):
            topic = "pain" if h.figure == "pain_change" else "tension"
            amount = round(abs(h.end), 1)
            how = "the same as" if amount == 0 else f"{amount:g} points {'lower' if h.end < 0 else 'higher'} than"
            lines.append(f"After a session your {topic} was {how} before, on average ({h.n_sessions} sessions rated).")
    return lines


def session_lines(f: SessionFigures, resonance_found: bool | None = None) -> list[str]:
    """A session's top lines, readable without any knowledge of HRV.

    Examples
    --------
    >>> import datetime as dt
    >>> from biofeedback.history import SessionFigures
    >>> t = dt.datetime(2026, 12, 1, 7, 5, tzinfo=dt.timezone.utc)
    >>> f = SessionFigures(3, t, 20.0, 72.2, 65.9, 6.3, 3.4, 14.1, True, 5.5, True, 6.0, 5.5, 5.6)
    >>> session_lines(f)
    ['Your heart rate went from 72 to 66 beats/min.', 'You breathed at 6 breaths/min at first and 5.5 at the end.', \
'Your resonance pace (where your heart rate swung most, 14.1 beats/min per breath): 5.5 breaths/min.']
    """
    lines = []
    if f.baseline_hr_bpm is not None and f.final_hr_bpm is not None:
        lines.append(f"Your heart rate went from {f.baseline_hr_bpm:.0f} to {f.final_hr_bpm:.0f} beats/min.")
    if f.paced and f.pace_first_bpm is not None and f.pace_last_bpm is not None:
        a, b = f"{f.pace_first_bpm:.1f}".removesuffix(".0"), f"{f.pace_last_bpm:.1f}".removesuffix(".0")
        lines.append(f"You breathed at {a} breaths/min throughout." if a == b else
                     f"You breathed at {a} breaths/min at first and {b} at the end.")
    elif f.breathing_bpm is not None:
        lines.append(f"You breathed at your own pace, about {f.breathing_bpm:.1f} breaths/min "
                     "(read from your heart rhythm).")
    if f.resonance_bpm is not None:
        swing = (f" (where your heart rate swung most, {f.swing_bpm:.1f} beats/min per breath)"
                 if f.swing_bpm is not None and f.swing_at_resonance else "")
        lines.append(f"Your resonance pace{swing}: {f.resonance_bpm:.1f} breaths/min.")
    else:
        lines.append("No resonance pace was looked for in this session.")
    return lines
