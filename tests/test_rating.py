"""Ratings: the key of each answer, the questions off a terminal, the value, the words, the
arrays of many sessions and the trend panel's plotted values (stored through the real store)."""

from __future__ import annotations

import datetime as dt
import io
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from _data import ROOT

from biofeedback.beats import Beat
from biofeedback.display.rating import (
    RATING_COLUMNS,
    TEN_KEY,
    Key,
    ask_ratings,
    draw_ratings,
    key_value,
    rating_asker,
    rating_cell,
    rating_cells,
    rating_lines,
    rating_wanted,
)
from biofeedback.errors import InvalidInputError
from biofeedback.ratings import RATING_NAMES, Ratings, rating_series
from biofeedback.recording import RecordingMeta
from biofeedback.store import SessionStore


def test_each_key_and_its_answer() -> None:
    assert [key_value(str(d)) for d in range(10)] == list(range(10))
    assert key_value(TEN_KEY) == 10 and key_value(TEN_KEY.upper()) == 10
    assert key_value("\r") is Key.SKIP and key_value("\n") is Key.SKIP and key_value("s") is Key.SKIP
    assert all(key_value(k) is Key.STOP for k in ("\x03", "\x04", "q", ""))
    assert all(key_value(k) is None for k in ("x", " ", "\x1b", "-", "10", "\ufffd", "½"))


def test_off_a_terminal_nothing_is_asked_unless_forced() -> None:
    out = io.StringIO()
    assert ask_ratings("before", io.StringIO("74"), out) == {}
    assert out.getvalue() == ""  # not a word written
    assert ask_ratings("before", io.StringIO("x74"), out, force=True) == {"pain_before": 7, "tension_before": 4}
    assert "How much pain do you feel? (0 none ... 10 worst) 7\n" in out.getvalue()


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        ("\r" + TEN_KEY, {"tension_after": 10}),
        ("0s", {"pain_after": 0}),
        ("3\x03", {"pain_after": 3}),  # Ctrl-C: the rest skipped
        ("q", {}),
        ("", {}),  # the input ended
        ("\r\r", {}),
    ],
)
def test_skips_and_stops(keys: str, expected: dict[str, int]) -> None:
    assert ask_ratings("after", io.StringIO(keys), io.StringIO(), force=True) == expected


def test_when_is_before_or_after() -> None:
    with pytest.raises(InvalidInputError, match="when must be 'before' or 'after'"):
        ask_ratings("during", io.StringIO("1"), io.StringIO(), force=True)  # type: ignore[arg-type]


def test_train_asks_unless_told_not_to() -> None:
    assert rating_wanted("terminal") and rating_wanted("window") and rating_wanted("sound")
    assert not rating_wanted("terminal", no_rating=True) and not rating_wanted("none", rate=True, no_rating=True)
    assert not rating_wanted("none") and rating_wanted("none", rate=True)
    assert rating_asker("none")("before") == {}  # not even read
    ask = rating_asker("none", rate=True, stream_in=io.StringIO("52"), stream_out=io.StringIO())
    assert ask("before") == {"pain_before": 5, "tension_before": 2}  # --rate: asked off a terminal too


def test_ratings_value() -> None:
    r = Ratings(pain_before=7, tension_before=6).merged(Ratings(pain_after=4, tension_after=6))
    assert r == Ratings(7, 6, 4, 6) and r.pain_change == -3 and r.tension_change == 0
    assert r.given() == {"pain_before": 7, "tension_before": 6, "pain_after": 4, "tension_after": 6}
    assert Ratings().empty and Ratings().given() == {} and Ratings(pain_after=2).pain_change is None
    for bad in (11, -1, 2.5, True, "3"):
        with pytest.raises(InvalidInputError, match="pain_after must be a whole number from 0 to 10"):
            Ratings(pain_after=bad)  # type: ignore[arg-type]


def test_the_words() -> None:
    assert RATING_COLUMNS == ("pain", "tension")
    assert rating_cell(7, 4) == "7 → 4" and rating_cell(None, 4) == "– → 4" and rating_cell(7, None) == "7 → –"
    assert rating_cell(None, None) == "" and rating_cell(0, 10) == "0 → 10"
    assert rating_lines(Ratings(7, 6, 4, 6)) == ["Pain: 7 before, 4 after (3 less).",
                                                 "Tension: 6 before, 6 after (the same)."]
    assert rating_lines(Ratings(tension_before=2, tension_after=5)) == ["Tension: 2 before, 5 after (3 more)."]
    assert rating_lines(Ratings()) == []


def _store_with_ratings(tmp_path: Path) -> tuple[SessionStore, list[int]]:
    store = SessionStore(tmp_path / "sessions.db")
    ids = []
    given: list[dict[str, int]] = [{"pain_before": 7, "tension_before": 8, "pain_after": 4, "tension_after": 3},
                                   {"pain_before": 5}, {}, {"tension_before": 6, "tension_after": 2, "pain_after": 10}]
    for day, ratings in enumerate(given):
        meta = RecordingMeta(start_utc=dt.datetime(2026, 1, 5 + day, 7, 30, tzinfo=dt.UTC), source="sim:1")
        sid = store.start_session(meta)
        store.add_beat(sid, Beat(t_s=1.0, rr_ms=1000.0))
        store.finish_session(sid, {})
        store.set_ratings(sid, **ratings)
        ids.append(sid)
    return store, ids


def test_stored_ratings_as_arrays_and_table_cells(tmp_path: Path) -> None:
    store, ids = _store_with_ratings(tmp_path)
    with store:
        rows = store.sessions()
        by_id = {s.id: s for s in rows}
        assert Ratings.of(by_id[ids[0]]) == Ratings(7, 8, 4, 3)
        assert [rating_cells(by_id[i]) for i in ids] == [("7 → 4", "8 → 3"), ("5 → –", ""), ("", ""),
                                                         ("– → 10", "6 → 2")]
        s = rating_series(rows, order=ids)
    nan = math.nan
    np.testing.assert_array_equal(s.pain_before, [7, 5, nan, nan])
    np.testing.assert_array_equal(s.tension_before, [8, nan, nan, 6])
    np.testing.assert_array_equal(s.pain_after, [4, nan, nan, 10])
    np.testing.assert_array_equal(s.tension_after, [3, nan, nan, 2])
    np.testing.assert_array_equal(s.pain_change, [-3, nan, nan, nan])
    np.testing.assert_array_equal(s.tension_change, [-5, nan, nan, -4])
    assert s.session_id == tuple(ids) and s.any_given
    back = rating_series(rows, order=[ids[3], None, 999, ids[0]])  # a trend's order; unknown ids are NaN
    np.testing.assert_array_equal(back.pain_after, [10, nan, nan, 4])
    assert not rating_series(rows, order=[ids[2]]).any_given


def test_the_trend_panel_draws_the_stored_ratings(tmp_path: Path) -> None:
    from matplotlib.figure import Figure

    store, ids = _store_with_ratings(tmp_path)
    with store:
        s = rating_series(store.sessions(), order=ids)
    day = np.array([0.0, 1.0, 2.0, 3.0])
    ax = Figure().add_subplot()
    draw_ratings(ax, day, s)
    lines = {line.get_gid(): line for line in ax.get_lines()}
    nan = math.nan
    for name, expected in zip(RATING_NAMES, ([7, 5, nan, nan], [8, nan, nan, 6], [4, nan, nan, 10], [3, nan, nan, 2]),
                              strict=True):
        np.testing.assert_array_equal(lines[name].get_ydata(), expected)
    np.testing.assert_allclose(lines["pain_before"].get_xdata(), day - 0.12)
    np.testing.assert_allclose(lines["tension_after"].get_xdata(), day + 0.12)
    # one stroke per session rated before and after, from before to after
    np.testing.assert_array_equal(lines["pain-change"].get_ydata(), [7, 4, nan])
    np.testing.assert_array_equal(lines["tension-change"].get_ydata(), [8, 3, nan, 6, 2, nan])
    assert ax.get_ylim() == (-0.5, 10.5) and ax.get_legend() is not None
    with pytest.raises(InvalidInputError, match="3 days for 4 sessions"):
        draw_ratings(Figure().add_subplot(), day[:3], s)


def test_the_rating_words_load_neither_numpy_nor_matplotlib() -> None:
    code = ("import sys, biofeedback.display.rating as r\n"
            "print([m for m in ('numpy', 'matplotlib', 'rich') if m in sys.modules])\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT,
                         env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert out.stdout.strip() == "[]"


def test_the_answers_before_and_after_are_stored_with_the_session(tmp_path: Path) -> None:
    # the wiring train uses: ask before, run, ask after, store both in one call
    ask = rating_asker("terminal", rate=True, stream_in=io.StringIO("8\r" "5" "3"), stream_out=io.StringIO())
    with SessionStore(tmp_path / "sessions.db") as store:
        sid = store.start_session(RecordingMeta(start_utc=dt.datetime(2026, 1, 5, 7, 30, tzinfo=dt.UTC), source="sim"))
        before = ask("before")
        store.add_beat(sid, Beat(t_s=1.0, rr_ms=1000.0))
        store.finish_session(sid, {})
        store.set_ratings(sid, **before, **ask("after"))
        stored = Ratings.of(store.session(sid))
    assert stored == Ratings(pain_before=8, tension_before=None, pain_after=5, tension_after=3)
    assert rating_lines(stored) == ["Pain: 8 before, 5 after (3 less).", "Tension: not rated before, 3 after."]
