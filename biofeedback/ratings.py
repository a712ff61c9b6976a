"""What a session did for the person: their ratings of pain and tension before and after it.

Each rating is a whole number from :data:`RATING_MIN` (none) to :data:`RATING_MAX` (the
worst they can imagine), and each is optional: a person may answer one question and skip
another. :class:`Ratings` is one session's four; :func:`rating_series` lines many sessions'
ratings up as arrays (NaN where a rating was not given), in the order of a trend's points.

Plain numbers only: the questions and the words a person reads are in
:mod:`biofeedback.display.rating`. numpy is imported where the arrays are made, so that the
``sessions`` table, which needs only :class:`Ratings`, starts without it.

References
----------
Hawker, G. A., Mian, S., Kendzerska, T., & French, M. (2011). Measures of adult pain: Visual
Analog Scale (VAS), Numeric Rating Scale (NRS), ... Arthritis Care Res. 63(S11), S240–S252
(the 0–10 numeric rating scale).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Protocol

from biofeedback.errors import InvalidInputError

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

__all__ = ["RATING_MAX", "RATING_MIN", "RATING_NAMES", "RatedLike", "RatingSeries", "Ratings", "check_rating", "rating_series"]

RATING_MIN: Final[int] = 0  # no pain / not tense at all
RATING_MAX: Final[int] = 10  # the worst pain / tension the person can imagine
RATING_NAMES: Final[tuple[str, str, str, str]] = ("pain_before", "tension_before", "pain_after", "tension_after")
"""The four ratings, as :class:`Ratings` fields, store columns and ``set_ratings`` keywords."""


def check_rating(name: str, value: object) -> int | None:
    """``value`` as a rating (an int 0..10) or None.

    Raises
    ------
    InvalidInputError
        ``value`` is not None and not a whole number from 0 to 10 (a bool is refused).
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not RATING_MIN <= value <= RATING_MAX:
        raise InvalidInputError(f"{name} must be a whole number from {RATING_MIN} to {RATING_MAX}, got {value!r}")
    return int(value)


class RatedLike(Protocol):
    """What :func:`rating_series` reads of a stored session (:class:`biofeedback.store.StoredSession`)."""

    @property
    def id(self) -> int: ...

    @property
    def pain_before(self) -> int | None: ...

    @property
    def tension_before(self) -> int | None: ...

    @property
    def pain_after(self) -> int | None: ...

    @property
    def tension_after(self) -> int | None: ...


@dataclass(frozen=True, slots=True)
class Ratings:
    """One session's ratings, 0..10 each (0 = none, 10 = the worst), None where not given.

    Attributes
    ----------
    pain_before, tension_before : int or None
        "How much pain do you feel?" and "How tense do you feel?", asked before the session.
    pain_after, tension_after : int or None
        The same, asked after it.

    Examples
    --------
    >>> r = Ratings(pain_before=7, tension_before=6, pain_after=4)
    >>> r.pain_change, r.tension_change, r.given()
    (-3, None, {'pain_before': 7, 'tension_before': 6, 'pain_after': 4})
    """

    pain_before: int | None = None
    tension_before: int | None = None
    pain_after: int | None = None
    tension_after: int | None = None

    def __post_init__(self) -> None:
        for name in RATING_NAMES:
            check_rating(name, getattr(self, name))

    @classmethod
    def of(cls, session: RatedLike) -> Ratings:
        """The ratings stored with a session (a :class:`biofeedback.store.StoredSession`)."""
        return cls(session.pain_before, session.tension_before, session.pain_after, session.tension_after)

    def given(self) -> dict[str, int]:
        """The ratings that were given, by name: the keywords of ``SessionStore.set_ratings``."""
        return {name: v for name in RATING_NAMES if (v := getattr(self, name)) is not None}

    def merged(self, other: Ratings) -> Ratings:
        """These ratings with the ones ``other`` gives in place of theirs (``before`` + ``after``)."""
        return Ratings(**{**self.given(), **other.given()})

    @property
    def pain_change(self) -> int | None:
        """After minus before (negative: less pain after), or None unless both were given."""
        return _change(self.pain_before, self.pain_after)

    @property
    def tension_change(self) -> int | None:
        """After minus before (negative: less tense after), or None unless both were given."""
        return _change(self.tension_before, self.tension_after)

    @property
    def empty(self) -> bool:
        """Whether no rating was given."""
        return not self.given()


def _change(before: int | None, after: int | None) -> int | None:
    return None if before is None or after is None else after - before


@dataclass(frozen=True, eq=False)
class RatingSeries:
    """The ratings of many sessions, one array each, in the order they were asked for.

    Attributes
    ----------
    session_id : tuple of (int or None)
        The session of each position.
    pain_before, tension_before, pain_after, tension_after : ndarray of float64
        The ratings, 0..10; NaN where none was given (or the session is unknown).
    """

    session_id: tuple[int | None, ...]
    pain_before: npt.NDArray[np.float64]
    tension_before: npt.NDArray[np.float64]
    pain_after: npt.NDArray[np.float64]
    tension_after: npt.NDArray[np.float64]

    def __len__(self) -> int:
        return len(self.session_id)

    @property
    def pain_change(self) -> npt.NDArray[np.float64]:
        """After minus before per session; NaN unless both were given."""
        return self.pain_after - self.pain_before

    @property
    def tension_change(self) -> npt.NDArray[np.float64]:
        """After minus before per session; NaN unless both were given."""
        return self.tension_after - self.tension_before

    @property
    def any_given(self) -> bool:
        """Whether any session has any rating."""
        import numpy as np

        return bool(any(np.isfinite(getattr(self, name)).any() for name in RATING_NAMES))


def rating_series(sessions: Sequence[RatedLike], order: Sequence[int | None] | None = None) -> RatingSeries:
    """The ratings of stored sessions as arrays.

    Parameters
    ----------
    sessions : sequence of StoredSession
        The sessions (:meth:`biofeedback.store.SessionStore.sessions`), any order.
    order : sequence of (int or None), optional
        Session ids in the order wanted: a trend's ``[p.session_id for p in t.points]``, so
        that position *i* of every array belongs to point *i*. An id not among ``sessions``
        (or None) gives NaN there. Default: the order of ``sessions``.

    Examples
    --------
    >>> from types import SimpleNamespace as S
    >>> rows = [S(id=1, pain_before=7, tension_before=None, pain_after=4, tension_after=None),
    ...         S(id=2, pain_before=5, tension_before=6, pain_after=5, tension_after=3)]
    >>> s = rating_series(rows, order=[2, 1, 9])
    >>> s.pain_before.tolist(), s.tension_change.tolist()[0]
    ([5.0, 7.0, nan], -3.0)
    """
    import numpy as np

    by_id = {s.id: s for s in sessions}
    ids: tuple[int | None, ...] = tuple(s.id for s in sessions) if order is None else tuple(order)
    columns: dict[str, npt.NDArray[np.float64]] = {}
    for name in RATING_NAMES:
        values = []
        for sid in ids:
            row = by_id.get(sid) if sid is not None else None
            value = check_rating(name, getattr(row, name)) if row is not None else None
            values.append(math.nan if value is None else float(value))
        columns[name] = np.array(values, dtype=np.float64)
    return RatingSeries(session_id=ids, **columns)
