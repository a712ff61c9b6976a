"""The two questions before and after a session, one key per answer; and the ratings in words.

"How much pain do you feel?" and "How tense do you feel?", each answered with one key from
0 (none) to 10 (the worst): keys ``0``-``9``, and :data:`TEN_KEY` for 10. Enter (or ``s``)
skips a question; Ctrl-C (or Ctrl-D, or ``q``) skips the rest. Nothing has to be read or
confirmed: a person lying down with a back spasm presses two keys.

On a terminal the keys are read one at a time in cbreak mode with the signal keys off, so
Ctrl-C arrives as a key rather than as SIGINT (whatever handler an event loop installed);
the terminal's mode is given back on every way out (an answer, an error, SIGTERM). Off a
terminal (input and output) nothing is asked, unless the caller forces it (``--rate``): then
the keys are read from the stream as it is, one character each.

Also here: the words for stored ratings (:func:`rating_cells` for the ``sessions`` table,
:func:`rating_lines` for the end of a session) and :func:`draw_ratings`, the trend panel.
This module imports neither numpy nor matplotlib at import time.
"""

from __future__ import annotations

import contextlib
import enum
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Final, Literal, TextIO

from biofeedback.errors import InvalidInputError
from biofeedback.ratings import RATING_MAX, RATING_MIN, Ratings

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from biofeedback.ratings import RatingSeries

__all__ = [
    "QUESTIONS",
    "RATING_COLUMNS",
    "TEN_KEY",
    "Key",
    "ask_ratings",
    "draw_ratings",
    "key_value",
    "rating_asker",
    "rating_cell",
    "rating_cells",
    "rating_lines",
    "rating_wanted",
]

When = Literal["before", "after"]

TEN_KEY: Final[str] = "t"  # the key for 10 ("t" for ten); the digits give 0 to 9
SKIP_KEYS: Final[frozenset[str]] = frozenset({"\r", "\n", "s", "S"})  # Enter or s: skip this question
STOP_KEYS: Final[frozenset[str]] = frozenset({"\x03", "\x04", "q", "Q", ""})  # Ctrl-C, Ctrl-D, q, end of input
QUESTIONS: Final[tuple[tuple[str, str], ...]] = (
    ("pain", "How much pain do you feel?"),
    ("tension", "How tense do you feel?"),
)
SCALE: Final[str] = f"({RATING_MIN} none ... {RATING_MAX} worst)"
KEYS_HINT: Final[str] = f"one key each: 0-9, {TEN_KEY} = 10; Enter skips one, Ctrl-C skips both"
RATING_COLUMNS: Final[tuple[str, str]] = ("pain", "tension")  # the sessions table's columns, in rating_cells' order
_NOT_GIVEN: Final[str] = "–"  # a rating not given, in the sessions table


class Key(enum.Enum):
    """What a key does besides giving a rating."""

    SKIP = "skip"  # this question unanswered
    STOP = "stop"  # this one and the rest unanswered


def key_value(key: str) -> int | Key | None:
    """The answer a key gives: a rating 0..10, :attr:`Key.SKIP`, :attr:`Key.STOP`, or None (not an answer).

    ``"0"``-``"9"`` give 0 to 9, :data:`TEN_KEY` (either case) gives 10; Enter or ``s``
    skip; Ctrl-C, Ctrl-D, ``q`` or the end of the input (``""``) stop. Any other key is
    not an answer, and the question waits for one.

    Examples
    --------
    >>> key_value("7"), key_value("t"), key_value("\\r"), key_value("\\x03"), key_value("x")
    (7, 10, <Key.SKIP: 'skip'>, <Key.STOP: 'stop'>, None)
    """
    if len(key) == 1 and "0" <= key <= "9":
        return int(key)
    if key.lower() == TEN_KEY:
        return 10
    if key in SKIP_KEYS:
        return Key.SKIP
    if key in STOP_KEYS:
        return Key.STOP
    return None


def rating_wanted(ui: str, *, no_rating: bool = False, rate: bool = False) -> bool:
    """Whether ``train`` asks the questions: not with ``--no-rating``; with ``--ui none`` only with ``--rate``."""
    if no_rating:
        return False
    return rate or ui != "none"


def _terminal_fd(stream: TextIO) -> int | None:
    """The stream's file descriptor when it is a terminal, else None."""
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):  # io.StringIO and the like have none
        return None
    return fd if os.isatty(fd) else None


@contextlib.contextmanager
def key_mode(fd: int) -> Iterator[None]:
    """The terminal on ``fd`` reads one key at a time, unechoed, with Ctrl-C as a key; restored after.

    cbreak mode (``tty.setcbreak``: no line editing, no echo) with the signal keys off (no
    ``ISIG``). Keys typed before it (during the session) are dropped, so they answer nothing.
    The saved mode is put back however the block is left; SIGTERM while it is open unwinds
    it too (as in the terminal prompt).
    """
    import termios
    import tty

    from biofeedback.display.terminal import _RestoresOnSigterm

    saved = termios.tcgetattr(fd)
    guard = _RestoresOnSigterm()
    guard._hook_sigterm()
    try:
        tty.setcbreak(fd, termios.TCSAFLUSH)
        mode = termios.tcgetattr(fd)
        mode[3] &= ~termios.ISIG
        termios.tcsetattr(fd, termios.TCSANOW, mode)
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)
        guard._unhook_sigterm()


def _reader(stream: TextIO, fd: int | None) -> Callable[[], str]:
    """One key at a time: a byte from the terminal, or a character from the stream ("" at its end)."""
    if fd is None:
        return lambda: stream.read(1)

    def read() -> str:
        data = os.read(fd, 1)
        return data.decode("ascii", errors="replace")  # a byte of a non-ASCII key is no answer

    return read


def ask_ratings(when: When, stream_in: TextIO | None = None, stream_out: TextIO | None = None, *,
                force: bool = False) -> dict[str, int]:
    """Ask the two questions and return the answers given: ``{"pain_before": 7, "tension_before": 4}``.

    Parameters
    ----------
    when : {"before", "after"}
        Which ratings these are (the keys of the result end in ``_before`` or ``_after``).
    stream_in, stream_out : text streams, optional
        Where the keys come from and the questions go (default standard input and output).
    force : bool
        Ask even when ``stream_in`` or ``stream_out`` is not a terminal (``train --rate``),
        reading the characters of ``stream_in`` as keys. Without it, unless both are
        terminals nothing is asked and ``{}`` returned at once.

    Returns
    -------
    dict of str to int
        The ratings answered, 0..10, by name (:data:`biofeedback.ratings.RATING_NAMES`): the
        keywords of ``SessionStore.set_ratings``. Skipped questions are left out.
    """
    if when not in ("before", "after"):
        raise InvalidInputError(f"when must be 'before' or 'after', got {when!r}")
    stream_in = sys.stdin if stream_in is None else stream_in
    out = sys.stdout if stream_out is None else stream_out
    fd = _terminal_fd(stream_in)
    if not force and (fd is None or _terminal_fd(out) is None):  # no one to see the questions or press the keys
        return {}
    read = _reader(stream_in, fd)
    answers: dict[str, int] = {}
    with key_mode(fd) if fd is not None else contextlib.nullcontext():
        print(f"{when.capitalize()} the session: {KEYS_HINT}.", file=out)
        try:
            for topic, question in QUESTIONS:
                out.write(f"  {question} {SCALE} ")
                out.flush()
                value = None
                while value is None:
                    value = key_value(read())
                if isinstance(value, int):
                    print(value, file=out)
                    answers[f"{topic}_{when}"] = value
                elif value is Key.SKIP:
                    print("skipped", file=out)
                else:
                    print("skipped, and the rest", file=out)
                    break
        except KeyboardInterrupt:  # off a terminal (forced), Ctrl-C is a signal
            print("skipped, and the rest", file=out)
        out.flush()
    return answers


def rating_asker(ui: str, *, no_rating: bool = False, rate: bool = False,
                 stream_in: TextIO | None = None, stream_out: TextIO | None = None) -> Callable[[When], dict[str, int]]:
    """``train``'s questions as one call per moment: ``ask("before")``, then ``ask("after")``.

    Follows :func:`rating_wanted` (``--no-rating``, ``--ui none`` without ``--rate``: the
    call returns ``{}`` at once); ``--rate`` also asks off a terminal.
    """
    wanted = rating_wanted(ui, no_rating=no_rating, rate=rate)

    def ask(when: When) -> dict[str, int]:
        return ask_ratings(when, stream_in, stream_out, force=rate) if wanted else {}

    return ask


# ------------------------------------------------------------------------------ words


def rating_cell(before: int | None, after: int | None) -> str:
    """One rating before and after as a table cell: ``"7 → 4"``, ``"7 → –"``, ``""`` when neither."""
    if before is None and after is None:
        return ""
    return f"{_NOT_GIVEN if before is None else before} → {_NOT_GIVEN if after is None else after}"


def rating_cells(session: Any) -> tuple[str, str]:
    """The pain and tension cells (:data:`RATING_COLUMNS`) of a :class:`biofeedback.store.StoredSession`."""
    return (rating_cell(session.pain_before, session.pain_after),
            rating_cell(session.tension_before, session.tension_after))


def _change_words(change: int, less: str, more: str) -> str:
    if change == 0:
        return "the same"
    return f"{abs(change)} {less if change < 0 else more}"


def rating_lines(r: Ratings) -> list[str]:
    """The ratings in plain words for the end of a session; none when none was given.

    Examples
    --------
    >>> rating_lines(Ratings(pain_before=7, pain_after=4, tension_before=6))
    ['Pain: 7 before, 4 after (3 less).', 'Tension: 6 before, not rated after.']
    """
    lines = []
    for topic, before, after, change in (("Pain", r.pain_before, r.pain_after, r.pain_change),
                                         ("Tension", r.tension_before, r.tension_after, r.tension_change)):
        if before is None and after is None:
            continue
        b = "not rated before" if before is None else f"{before} before"
        a = "not rated after" if after is None else f"{after} after"
        tail = "" if change is None else f" ({_change_words(change, 'less', 'more')})"
        lines.append(f"{topic}: {b}, {a}{tail}.")
    return lines


# ------------------------------------------------------------------------------ the trend panel

_PAIN_COLOUR: Final[str] = "#8e44ad"
_TENSION_COLOUR: Final[str] = "#16a085"
_OFFSET_DAYS: Final[float] = 0.12  # pain a little left of the session's day, tension a little right


def draw_ratings(ax: Axes, day: Sequence[float] | Any, series: RatingSeries, *,
                 offset_days: float = _OFFSET_DAYS) -> None:
    """Draw the ratings of a trend's sessions on ``ax``: before (open) and after (filled), joined.

    Parameters
    ----------
    ax : matplotlib Axes
        The panel, sharing its x axis (days) with the trend's other panels.
    day : sequence of float
        Each session's day (``Trends.day``), in the order of ``series``.
    series : RatingSeries
        :func:`biofeedback.ratings.rating_series` in the same order
        (``order=[p.session_id for p in t.points]``).
    offset_days : float
        Pain is drawn this far left of the session's day, tension this far right, days
        (a trend of hours wants less than the default of weeks).

    Each of the four ratings is one line of markers with the gid of its name
    (``pain_before`` ...; NaN where not given), and each session rated both before and after
    has a line from one to the other (gids ``pain-change``, ``tension-change``).
    """
    import numpy as np

    x = np.asarray(day, dtype=np.float64)
    if x.shape != (len(series),):
        raise InvalidInputError(f"draw_ratings: {x.size} days for {len(series)} sessions")
    for topic, colour, dx in (("pain", _PAIN_COLOUR, -offset_days), ("tension", _TENSION_COLOUR, offset_days)):
        before = getattr(series, f"{topic}_before")
        after = getattr(series, f"{topic}_after")
        both = np.isfinite(before) & np.isfinite(after)
        if np.any(both):
            xs = np.repeat(x[both] + dx, 3)
            ys = np.column_stack([before[both], after[both], np.full(int(both.sum()), np.nan)]).ravel()
            ax.plot(xs, ys, "-", color=colour, lw=1, alpha=0.6, gid=f"{topic}-change")
        ax.plot(x + dx, before, "o", mfc="none", mec=colour, ms=5, ls="none", gid=f"{topic}_before",
                label=f"{topic} before")
        ax.plot(x + dx, after, "o", color=colour, ms=5, ls="none", gid=f"{topic}_after", label=f"{topic} after")
    ax.set_ylim(RATING_MIN - 0.5, RATING_MAX + 0.5)
    ax.set_yticks([0, 5, 10])
    ax.set_ylabel("pain, tension\n(your rating, 0-10)")
    ax.grid(alpha=0.3)
    if series.any_given:
        ax.legend(loc="upper right", fontsize=8, ncol=2)
    else:
        ax.text(0.5, 0.5, "no ratings given yet", ha="center", va="center", transform=ax.transAxes)
