"""The session store: every session, beat by beat, in one SQLite file that only its owner reads.

What it holds (the schema is in :mod:`biofeedback.store.schema`): sessions (start, end,
source, strap, settings, summary, status, ratings), their beats (beat time, RR exactly as
received, reported heart rate, flags, the pace and breath phase shown), events (coach
decisions, gaps with their reasons, link losses and restorations, battery, notes) and the
raw strap notifications with their arrival times, so a session can be decoded again.

Commit policy: every ``add_*`` call is its own transaction, committed before it returns
(SQLite in WAL mode, ``synchronous=NORMAL``). A process killed at any moment, even with
SIGKILL, loses nothing it was told to store: at most the beat being written. (A power cut
may lose the transactions since the last WAL checkpoint; the file stays consistent.) One
committed row costs about 18 µs on an idle core here (``benchmarks/store.py``; 60-80 µs
while the machine is loaded), so an hour of beats, frames and events (about 7,700 rows) is
written in 0.14-0.6 s. A source faster than real time may group its writes with
:meth:`SessionStore.batch`, committed at most a second apart: the hour then takes a third
of the time (0.17 s against 0.48 s, measured side by side on the loaded machine), and a
SIGKILL loses what was written since the batch's last commit: at most the last second of a
steady stream of writes. A batch commits only when it is written to (or ends), so rows
written before a pause inside it wait, uncommitted, for the next write: no batch around
anything that waits (a live strap, a person).

A session whose writer died is kept as it is, with status ``recording``; the next program
that opens the store while no one writes to it marks it ``interrupted`` and fills in its
length, and it reads back like any other (:meth:`SessionStore.recording`).

Examples
--------
>>> import datetime as dt, tempfile, pathlib
>>> from biofeedback.beats import Beat
>>> from biofeedback.recording import RecordingMeta
>>> path = pathlib.Path(tempfile.mkdtemp()) / "store" / "sessions.db"
>>> meta = RecordingMeta(start_utc=dt.datetime(2026, 1, 5, 7, 30, tzinfo=dt.timezone.utc), source="sim:1")
>>> with SessionStore(path) as store:
...     sid = store.start_session(meta, {"minutes": 10})
...     for t_s in (1.0, 2.0, 3.0):
...         store.add_beat(sid, Beat(t_s=t_s, rr_ms=1000.0), hr_bpm=60, pace_bpm=6.0, phase=t_s / 10)
...     done = store.finish_session(sid, {"resonance_bpm": 5.5})
...     done.status, store.recording(sid).n_beats, store.recent_resonance_bpm()
('complete', 3, 5.5)
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import math
import os
import sqlite3
import statistics
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Self

import numpy as np
import numpy.typing as npt

from biofeedback._validate import check_positive
from biofeedback.beats import Beat, BeatFlags, Gap
from biofeedback.errors import InvalidInputError, SessionNotFoundError, StoreError
from biofeedback.recording import LinkEvent, Recording, RecordingMeta
from biofeedback.store._files import WriterLock, prepare_files, translated
from biofeedback.store.records import BeatTable, Event, Frame, StoredSession
from biofeedback.store.schema import APPLICATION_ID, SCHEMA_VERSION, migrate

__all__ = [
    "DEFAULT_BUSY_TIMEOUT_S",
    "SUMMARY_COLUMNS",
    "BeatTable",
    "Event",
    "Frame",
    "SessionStore",
    "StoredSession",
]

log = logging.getLogger(__name__)

DEFAULT_BUSY_TIMEOUT_S: Final[float] = 2.0  # wait this long for another writer's transaction, s
SUMMARY_COLUMNS: Final[tuple[str, ...]] = ("baseline_hr_bpm", "final_hr_bpm", "resonance_bpm", "quality")
"""Summary keys copied into columns of ``sessions`` (numbers or None) for listing and trends."""
RATINGS: Final[tuple[str, ...]] = ("pain_before", "tension_before", "pain_after", "tension_after")
GAP: Final[str] = "gap"
LINK_KINDS: Final[dict[str, str]] = {"lost": "link_lost", "restored": "link_restored"}
_TIME_FORMAT: Final[str] = "%Y-%m-%dT%H:%M:%S.%fZ"  # fixed width: sorts as text, exact to the µs
_META_HAS_ESTIMATE: Final[bool] = "start_estimated" in {f.name for f in dataclasses.fields(RecordingMeta)}
_WAL_RETRY_S: Final[float] = 0.02  # between tries of the switch to WAL, s
_GAP_MATCH_S: Final[float] = 1e-6  # a stored gap closes the after-gap beat starting within this, s
_SESSION_COLUMNS: Final[str] = (
    "id, start_utc, utc_offset_s, start_estimated, end_utc, source, device_name, device_address, software_version, "
    "settings_json, summary_json, status, n_beats, duration_s, n_gaps, gap_total_s, "
    + ", ".join(SUMMARY_COLUMNS + RATINGS)
    + ", note"
)


def _utc_text(t: dt.datetime) -> str:
    if t.tzinfo is None:
        raise InvalidInputError(f"a time for the session store must be timezone-aware, got {t!r}")
    return t.astimezone(dt.UTC).strftime(_TIME_FORMAT)


def _utc_time(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, _TIME_FORMAT).replace(tzinfo=dt.UTC)


def _json_default(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")


def _to_json(what: str, value: Mapping[str, Any] | None) -> str | None:
    if value is None:
        return None
    try:
        return json.dumps(dict(value), default=_json_default, sort_keys=True)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"the session's {what} cannot be stored as JSON: {exc}") from None


def _number(what: str, value: object) -> float | None:
    """A float for a REAL column, or None; refuses what is not a number."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise InvalidInputError(f"{what} must be a number or None, got {value!r}")
    x = float(value)
    return x if math.isfinite(x) else None


_INSERT_SESSION: Final[str] = (
    "INSERT INTO sessions (start_utc, utc_offset_s, start_estimated, source, device_name, "
    "device_address, software_version, settings_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
_SET_SUMMARY: Final[str] = (
    f"UPDATE sessions SET summary_json = ?, {', '.join(f'{c} = ?' for c in SUMMARY_COLUMNS)} WHERE id = ?"
)


def _session_row(meta: RecordingMeta, settings: Mapping[str, Any] | None) -> tuple[object, ...]:
    """The values of a new session's row, checked before anything is written."""
    return (
        _utc_text(meta.start_utc),
        meta.utc_offset_s,
        int(bool(getattr(meta, "start_estimated", False))),
        meta.source,
        meta.device_name,
        meta.device_address,
        meta.software_version,
        _to_json("settings", settings or {}),
    )


def _insert_session(conn: sqlite3.Connection, row: tuple[object, ...]) -> int:
    """Insert a session's row (from :func:`_session_row`); its id."""
    return int(conn.execute(_INSERT_SESSION, row).lastrowid or 0)


def _summary_values(summary: Mapping[str, Any] | None) -> tuple[object, ...]:
    """The summary as JSON and its :data:`SUMMARY_COLUMNS`, for :data:`_SET_SUMMARY`."""
    values = dict(summary or {})
    columns = [_number(f"summary[{key!r}]", values.get(key)) for key in SUMMARY_COLUMNS]
    return (_to_json("summary", values), *columns)


def _column(rows: list[tuple[Any, ...]], i: int, dtype: type) -> npt.NDArray[Any]:
    if dtype is np.int64:
        return np.array([r[i] for r in rows], dtype=np.int64)
    return np.array([np.nan if r[i] is None else r[i] for r in rows], dtype=np.float64)


@dataclass
class _Cursor:
    """Where the next rows of one session go (kept in memory while writing)."""

    beat: int
    event: int
    frame: int
    last_t_s: float | None


class SessionStore:
    """The session store in the SQLite file ``path`` (created, with its folder, if missing).

    Parameters
    ----------
    path : str or path-like
        The database file. The CLI resolves it from ``--data-dir`` / ``BIOFEEDBACK_HOME``.
    busy_timeout_s : float
        How long a write waits for another writer (its SQLite transaction, or the writer
        lock) before giving up with :class:`StoreError`, s.

    Raises
    ------
    StoreError
        The file is not a database, is damaged, belongs to another program, was written by
        a newer biofeedback, or cannot be created; a write finds another process writing
        to the store. Each message is one line naming the file and what to do.

    Notes
    -----
    Any number of processes may read the store at once; one writes. The writer lock is
    taken at the first write (``start_session``, ``add_*``, ``finish_session``,
    ``set_ratings``, ...) and held until :meth:`close`. A store object belongs to the
    thread that made it (as its SQLite connection does): the asyncio loop's, in a session.
    """

    def __init__(self, path: str | os.PathLike[str], *, busy_timeout_s: float = DEFAULT_BUSY_TIMEOUT_S) -> None:
        self.path = Path(path)
        self._lock = WriterLock(self.path)
        self._busy_timeout_s = check_positive(busy_timeout_s, "busy_timeout_s", "seconds", or_zero=True)
        self._batch_max_s: float | None = None  # inside batch(): commit once a transaction is this old, s
        self._batch_began = 0.0
        self._cursors: dict[int, _Cursor] = {}
        self._mine: set[int] = set()  # sessions this store started and has not finished
        self._closed = False
        prepare_files(self.path)
        self._conn = sqlite3.connect(self.path, timeout=busy_timeout_s, isolation_level=None)
        try:
            with translated(self.path):
                self._open()
        except BaseException:
            self._conn.close()
            raise

    def _open(self) -> None:
        conn = self._conn
        # one statement, so one snapshot: another program creating the store at this moment
        # cannot make a new, empty file look like a database with tables but no version
        app_id, version, n_tables = conn.execute(
            "SELECT a.application_id, v.user_version, (SELECT count(*) FROM sqlite_master) "
            "FROM pragma_application_id AS a, pragma_user_version AS v"
        ).fetchone()
        if version == 0:
            if n_tables:
                raise StoreError(
                    f"{self.path} is an SQLite database of another program, not a biofeedback session store; "
                    "use --data-dir to choose another folder"
                )
        elif app_id != APPLICATION_ID:
            raise StoreError(
                f"{self.path} is not a biofeedback session store (application id {app_id:#x}); "
                "use --data-dir to choose another folder"
            )
        elif version > SCHEMA_VERSION:
            raise StoreError(
                f"the session store {self.path} was written by a newer biofeedback (schema version {version}; "
                f"this one reads up to {SCHEMA_VERSION}); upgrade biofeedback or use --data-dir"
            )
        mode = self._wal_mode()
        if mode != "wal":  # pragma: no cover - a file system without shared memory (network drive)
            log.warning("the session store %s runs in %s mode, not WAL: readers wait for the writer", self.path, mode)
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        if version < SCHEMA_VERSION:
            log.info("session store %s: schema version %d -> %d", self.path, version, SCHEMA_VERSION)
            migrate(conn)
        if self._stale_ids() and self._lock.try_acquire():
            try:
                self._mark_interrupted()
            finally:
                self._lock.release()

    def _wal_mode(self) -> str:
        """Switch the file to WAL (once, when it is new) and return its journal mode.

        The switch needs the file to itself, and SQLite does not wait for that (it answers
        "busy" at once, to avoid a deadlock), so it is tried again for up to the busy timeout.
        """
        deadline = time.monotonic() + self._busy_timeout_s
        while True:
            try:
                mode = str(self._conn.execute("PRAGMA journal_mode").fetchone()[0])
                if mode != "wal":
                    mode = str(self._conn.execute("PRAGMA journal_mode = WAL").fetchone()[0])
                return mode
            except sqlite3.OperationalError as exc:
                busy = (getattr(exc, "sqlite_errorcode", -1) & 0xFF) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
                if not busy or time.monotonic() >= deadline:
                    raise
                time.sleep(_WAL_RETRY_S)

    # --- lifetime -----------------------------------------------------------------------

    def close(self) -> None:
        """Close the database and let go of the writer lock. Idempotent.

        Called inside a :meth:`batch` (a ``finally`` that closes the store), it first
        commits what the batch holds: closing never drops rows it was given.
        """
        if self._closed:
            return
        self._closed = True
        try:
            if self._conn.in_transaction:
                with translated(self.path):
                    self._conn.execute("COMMIT")
        finally:
            self._conn.close()
            self._lock.release()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        """The connection, once this store holds the writer lock; SQLite errors as StoreError.

        Outside :meth:`batch` each statement commits by itself; inside, statements join the
        batch's open transaction, committed once it is ``max_delay_s`` old.
        """
        if not self._lock.held:
            self._lock.acquire(self._busy_timeout_s)
            with translated(self.path):
                self._mark_interrupted()
        with translated(self.path):
            if self._batch_max_s is not None and not self._conn.in_transaction:
                self._conn.execute("BEGIN IMMEDIATE")
                self._batch_began = time.monotonic()
            yield self._conn
            if self._batch_max_s is not None and time.monotonic() - self._batch_began >= self._batch_max_s:
                self._conn.execute("COMMIT")

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """All or nothing: its own transaction, or a savepoint inside a batch's."""
        with self._writing() as conn:
            nested = conn.in_transaction
            conn.execute("SAVEPOINT whole" if nested else "BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK TO whole" if nested else "ROLLBACK")
                if nested:
                    conn.execute("RELEASE whole")
                raise
            conn.execute("RELEASE whole" if nested else "COMMIT")

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """Reads inside see one state of the file, even while another program writes to it
        (a read transaction; inside this store's own open transaction, that one's state).

        For reading several parts of a session that a live session may be adding to
        (its frames, events and beats) as one moment. Write nothing inside.
        """
        if self._conn.in_transaction:
            yield
            return
        with translated(self.path):
            self._conn.execute("BEGIN DEFERRED")
        try:
            yield
        finally:
            if self._conn.in_transaction:
                with translated(self.path):
                    self._conn.execute("COMMIT")

    @contextmanager
    def batch(self, max_delay_s: float = 1.0) -> Iterator[None]:
        """Group the writes made inside into transactions committed at most ``max_delay_s``
        apart (at the first write after that), and at the end, however it ends.

        For a source faster than real time (``--speed max``, an import), where a commit per
        row would cost more than the rest of the session: a SIGKILL then loses the writes
        since the last commit, at most the last ``max_delay_s`` s of them while they come
        steadily. The commit is checked only at a write, so rows written before a pause
        stay uncommitted through it: a live session, which waits for its strap, must not
        use a batch. Nested batches join the outer one.
        """
        if self._batch_max_s is not None:
            yield
            return
        check_positive(max_delay_s, "max_delay_s", "seconds", or_zero=True)
        with self._writing():  # the writer lock, before the first row
            pass
        self._batch_max_s = max_delay_s
        try:
            yield
        finally:
            self._batch_max_s = None
            if not self._closed and self._conn.in_transaction:
                with translated(self.path):
                    self._conn.execute("COMMIT")

    # --- writing ------------------------------------------------------------------------

    def start_session(self, meta: RecordingMeta, settings: Mapping[str, Any] | None = None) -> int:
        """Open a new session (status ``recording``) and return its id.

        Parameters
        ----------
        meta : RecordingMeta
            Wall-clock start of the beat clock's zero (UTC) and local offset, source, strap,
            software version.
        settings : mapping, optional
            What the session was asked to do (minutes, preset, target drop, ...), as JSON.
        """
        row = _session_row(meta, settings)
        with self._writing() as conn:
            session_id = _insert_session(conn, row)
        self._cursors[session_id] = _Cursor(0, 0, 0, None)
        self._mine.add(session_id)
        return session_id

    def add_beat(
        self,
        session_id: int,
        beat: Beat,
        *,
        hr_bpm: float | None = None,
        pace_bpm: float | None = None,
        phase: float | None = None,
    ) -> None:
        """Store one beat, committed before this returns.

        Parameters
        ----------
        beat : Beat
            Beat time (s, beat clock, later than the session's previous beat), RR interval
            (ms, finite, positive: stored exactly) and flags.
        hr_bpm : float, optional
            The strap's own heart-rate figure, beats/min.
        pace_bpm, phase : float, optional
            The pace (breaths/min) and breath phase (0..1) the prompt showed at this beat.

        Raises
        ------
        InvalidInputError
            A time or interval that is not finite, an interval not positive, a beat not
            later than the previous one.
        """
        cursor = self._cursor(session_id)
        rr_ms = check_positive(beat.rr_ms, "a beat's rr_ms", "ms")
        t_s = float(beat.t_s)
        if not math.isfinite(t_s):
            raise InvalidInputError(f"a beat needs a finite beat time, got {beat!r}")
        if cursor.last_t_s is not None and t_s <= cursor.last_t_s:
            raise InvalidInputError(
                f"beat at {t_s!r} s is not later than session {session_id}'s previous beat at {cursor.last_t_s!r} s"
            )
        row = (
            session_id,
            cursor.beat,
            t_s,
            rr_ms,
            _number("hr_bpm", hr_bpm),
            int(beat.flags),
            _number("pace_bpm", pace_bpm),
            _number("phase", phase),
        )
        with self._writing() as conn:
            conn.execute("INSERT INTO beats VALUES (?, ?, ?, ?, ?, ?, ?, ?)", row)
        cursor.beat += 1
        cursor.last_t_s = t_s

    def add_frame(self, session_id: int, t_arrival_s: float, payload: bytes | bytearray | memoryview) -> None:
        """Store one raw strap notification: arrival time (s, source clock) and its bytes."""
        cursor = self._cursor(session_id)
        with self._writing() as conn:
            conn.execute(
                "INSERT INTO frames VALUES (?, ?, ?, ?)", (session_id, cursor.frame, float(t_arrival_s), bytes(payload))
            )
        cursor.frame += 1

    def add_event(
        self,
        session_id: int,
        t_s: float,
        kind: str,
        detail: str = "",
        *,
        stage: str | None = None,
        data: Mapping[str, Any] | None = None,
    ) -> None:
        """Store one event at beat-clock time ``t_s`` (s): a coach decision, battery level, note ...

        Link events are kinds ``link_lost`` and ``link_restored`` (or use
        :meth:`add_link_event`); gaps go through :meth:`add_gap`.
        """
        if kind == GAP:
            raise InvalidInputError("store a gap with add_gap(session_id, gap), which keeps its end")
        self._add_event(session_id, t_s, kind, detail, stage, data)

    def add_gap(self, session_id: int, gap: Gap) -> None:
        """Store a break of the beat chain, with its reason (an event of kind ``gap``)."""
        self._add_event(session_id, gap.start_s, GAP, gap.reason, None, {"end_s": float(gap.end_s)})

    def add_link_event(self, session_id: int, event: LinkEvent, *, data: Mapping[str, Any] | None = None) -> None:
        """Store a link loss or restoration (events ``link_lost`` / ``link_restored``).

        ``data`` goes with it as JSON (the live sink gives ``frames_before``: how many of the
        session's frames were stored before it, so that a replay puts it back among them).
        """
        self._add_event(session_id, event.t_s, LINK_KINDS[event.kind], event.detail, None, data)

    def _add_event(
        self, session_id: int, t_s: float, kind: str, detail: str, stage: str | None, data: Mapping[str, Any] | None
    ) -> None:
        cursor = self._cursor(session_id)
        if not math.isfinite(t_s):
            raise InvalidInputError(f"an event needs a finite beat-clock time, got {t_s!r}")
        row = (session_id, cursor.event, float(t_s), kind, stage, detail, _to_json("event data", data))
        with self._writing() as conn:
            conn.execute("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?)", row)
        cursor.event += 1

    def finish_session(
        self,
        session_id: int,
        summary: Mapping[str, Any] | None = None,
        *,
        complete: bool = True,
        end_utc: dt.datetime | None = None,
    ) -> StoredSession:
        """Close a session: store its summary and figures, and mark it complete or incomplete.

        Parameters
        ----------
        summary : mapping, optional
            The end-of-session summary, as JSON. Its keys :data:`SUMMARY_COLUMNS`
            (``baseline_hr_bpm``, ``final_hr_bpm``, ``resonance_bpm``, ``quality``) are
            also copied into columns for listing and trends.
        complete : bool
            True when the session ran its planned course; False when it was ended early.
        end_utc : datetime, optional
            When it ended; by default the start plus the last beat's beat-clock time
            (the same at any replay speed).
        """
        summary_values = _summary_values(summary)
        self.session(session_id)  # it exists
        with self._transaction() as conn:
            self._close_session(session_id, "complete" if complete else "incomplete", end_utc)
            conn.execute(_SET_SUMMARY, (*summary_values, session_id))
        self._mine.discard(session_id)
        return self.session(session_id)

    def set_ratings(
        self,
        session_id: int,
        *,
        pain_before: int | None = None,
        tension_before: int | None = None,
        pain_after: int | None = None,
        tension_after: int | None = None,
    ) -> None:
        """Store the ratings (0..10) given; a rating left as None keeps what is stored."""
        given = {
            name: value
            for name, value in zip(RATINGS, (pain_before, tension_before, pain_after, tension_after), strict=True)
            if value is not None
        }
        for name, value in given.items():
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or not 0 <= value <= 10:
                raise InvalidInputError(f"{name} must be a whole number from 0 to 10, got {value!r}")
        self.session(session_id)  # it exists
        if given:
            with self._writing() as conn:
                conn.execute(
                    f"UPDATE sessions SET {', '.join(f'{n} = ?' for n in given)} WHERE id = ?",
                    (*(int(v) for v in given.values()), session_id),
                )

    def set_note(self, session_id: int, note: str | None) -> None:
        """Store (or with None, clear) the session's note."""
        self.session(session_id)
        with self._writing() as conn:
            conn.execute("UPDATE sessions SET note = ? WHERE id = ?", (note, session_id))

    def add_recording(
        self,
        recording: Recording,
        *,
        settings: Mapping[str, Any] | None = None,
        summary: Mapping[str, Any] | None = None,
        complete: bool = True,
        hr_bpm: npt.ArrayLike | None = None,
        pace_bpm: npt.ArrayLike | None = None,
        phase: npt.ArrayLike | None = None,
        events: Iterable[Event] = (),
        status: str | None = None,
        end_utc: dt.datetime | None = None,
        ratings: Mapping[str, int | None] | None = None,
        note: str | None = None,
    ) -> int:
        """Store a whole recording (an import) as a new, finished session, all or nothing.

        ``hr_bpm``, ``pace_bpm`` and ``phase`` give one value per beat (NaN: none).
        ``status`` (``complete``, ``incomplete`` or ``interrupted``; default from
        ``complete``), ``end_utc`` (default: the start plus the last beat's time), the
        ``ratings`` (keys ``pain_before``, ``tension_before``, ``pain_after``,
        ``tension_after``: 0..10 or None) and the ``note`` restore a session exported
        from a store. Returns the new session's id. If anything fails, nothing of it is stored.
        """
        status = status if status is not None else ("complete" if complete else "incomplete")
        if status not in ("complete", "incomplete", "interrupted"):
            raise InvalidInputError(f"an imported session's status must be complete, incomplete or interrupted, "
                                    f"got {status!r}")
        given = dict(ratings or {})
        if set(given) - set(RATINGS):
            raise InvalidInputError(f"unknown rating(s) {sorted(set(given) - set(RATINGS))}; expected {RATINGS}")
        for name, value in given.items():
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int | np.integer) or not 0 <= value <= 10
            ):
                raise InvalidInputError(f"{name} must be a whole number from 0 to 10, got {value!r}")
        if end_utc is not None:
            _utc_text(end_utc)  # aware, before anything is written
        n = recording.n_beats
        extra = []
        for what, values in (("hr_bpm", hr_bpm), ("pace_bpm", pace_bpm), ("phase", phase)):
            arr = np.full(n, np.nan) if values is None else np.asarray(values, dtype=np.float64).ravel()
            if arr.shape != (n,):
                raise InvalidInputError(f"{what} needs one value per beat ({n}), got {arr.size}")
            extra.append([None if not math.isfinite(x) else x for x in arr.tolist()])
        events = list(events)
        if any(e.kind == GAP for e in events):
            raise InvalidInputError("a recording's gaps go in recording.gaps, which keeps their ends, not in events")
        summary_values = _summary_values(summary)
        session_row = _session_row(recording.meta, settings)
        event_rows: list[tuple[float, str, str | None, str, str | None]] = [
            (g.start_s, GAP, None, g.reason, _to_json("gap", {"end_s": float(g.end_s)})) for g in recording.gaps
        ]
        event_rows += [(e.t_s, LINK_KINDS[e.kind], None, e.detail, None) for e in recording.link_events]
        event_rows += [(e.t_s, e.kind, e.stage, e.detail, _to_json("event data", e.data)) for e in events]
        event_rows.sort(key=lambda r: r[0])
        with self._transaction() as conn:
            sid = _insert_session(conn, session_row)
            conn.executemany(
                "INSERT INTO beats VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                zip(
                    [sid] * n,
                    range(n),
                    recording.t_s.tolist(),
                    recording.rr_ms.tolist(),
                    extra[0],
                    recording.flags.tolist(),
                    extra[1],
                    extra[2],
                    strict=True,
                ),
            )
            conn.executemany(
                "INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(sid, i, *row) for i, row in enumerate(event_rows)],
            )
            self._close_session(sid, status, end_utc)
            conn.execute(_SET_SUMMARY, (*summary_values, sid))
            if given or note is not None:
                conn.execute(
                    f"UPDATE sessions SET {', '.join(f'{k} = ?' for k in (*given, 'note'))} WHERE id = ?",
                    (*(None if v is None else int(v) for v in given.values()), note, sid),
                )
        return sid

    def mark_interrupted_sessions(self) -> list[int]:
        """Close every session whose writer died (status ``recording``, no writer alive) as
        ``interrupted``, with its length filled in; returns their ids.

        Opening the store does this by itself when no one is writing; this takes the writer
        lock first.
        """
        with self._writing():
            return self._mark_interrupted()

    def _stale_ids(self) -> list[int]:
        rows = self._conn.execute("SELECT id FROM sessions WHERE status = 'recording' ORDER BY id").fetchall()
        return [int(r[0]) for r in rows if int(r[0]) not in self._mine]

    def _mark_interrupted(self) -> list[int]:
        ids = self._stale_ids()
        for sid in ids:
            self._close_session(sid, "interrupted", None)
            log.warning("session %d in %s was never finished; kept, marked interrupted", sid, self.path)
        return ids

    def _close_session(self, session_id: int, status: str, end_utc: dt.datetime | None) -> None:
        rec = self.recording(session_id)
        end = end_utc if end_utc is not None else rec.meta.start_utc + dt.timedelta(seconds=rec.duration_s)
        self._conn.execute(
            "UPDATE sessions SET status = ?, end_utc = ?, n_beats = ?, duration_s = ?, n_gaps = ?, gap_total_s = ? "
            "WHERE id = ?",
            (status, _utc_text(end), rec.n_beats, rec.duration_s, len(rec.gaps), rec.gap_total_s, session_id),
        )

    def _cursor(self, session_id: int) -> _Cursor:
        cursor = self._cursors.get(session_id)
        if cursor is None:  # a session this store did not start: continue after its rows
            self.session(session_id)
            with translated(self.path):
                nxt = [
                    self._conn.execute(
                        f"SELECT coalesce(max(seq) + 1, 0) FROM {t} WHERE session_id = ?", (session_id,)
                    ).fetchone()[0]
                    for t in ("beats", "events", "frames")
                ]
                last = self._conn.execute(
                    "SELECT t_s FROM beats WHERE session_id = ? ORDER BY seq DESC LIMIT 1", (session_id,)
                ).fetchone()
            cursor = _Cursor(nxt[0], nxt[1], nxt[2], None if last is None else float(last[0]))
            self._cursors[session_id] = cursor
        return cursor

    # --- reading ------------------------------------------------------------------------

    def sessions(self, since: dt.datetime | dt.date | None = None) -> list[StoredSession]:
        """Every session, newest first.

        Parameters
        ----------
        since : datetime or date, optional
            Only sessions that started at or after this instant (an aware datetime), or on
            or after this day in the local time where each was recorded (a date).
        """
        sql = f"SELECT {_SESSION_COLUMNS} FROM sessions"
        args: tuple[str, ...] = ()
        if isinstance(since, dt.datetime):
            sql += " WHERE start_utc >= ?"
            args = (_utc_text(since),)
        with translated(self.path):
            rows = self._conn.execute(sql + " ORDER BY start_utc DESC, id DESC", args).fetchall()
            out = [self._session_from_row(r) for r in rows]
        if isinstance(since, dt.date) and not isinstance(since, dt.datetime):
            out = [s for s in out if s.meta.start_local.date() >= since]
        return out

    def session(self, session_id: int) -> StoredSession:
        """One session's row.

        Raises
        ------
        SessionNotFoundError
            No session ``session_id`` in the store.
        """
        with translated(self.path):
            row = self._conn.execute(f"SELECT {_SESSION_COLUMNS} FROM sessions WHERE id = ?", (session_id,)).fetchone()
            if row is None:
                raise SessionNotFoundError(
                    f"no session {session_id} in {self.path}; `biofeedback sessions` lists the stored ones"
                )
            return self._session_from_row(row)

    def _session_from_row(self, row: tuple[Any, ...]) -> StoredSession:
        (
            sid,
            start,
            offset,
            estimated,
            end,
            source,
            name,
            address,
            version,
            settings,
            summary,
            status,
            n_beats,
            duration_s,
            n_gaps,
            gap_total_s,
            *rest,
        ) = row
        meta = RecordingMeta(
            start_utc=_utc_time(start),
            utc_offset_s=int(offset),
            source=source,
            device_name=name,
            device_address=address,
            software_version=version,
            **({"start_estimated": bool(estimated)} if _META_HAS_ESTIMATE else {}),
        )
        if n_beats is None:  # still being recorded (or its writer died): count what is there
            n_beats, duration_s = self._conn.execute(
                "SELECT count(*), coalesce(max(t_s), 0.0) FROM beats WHERE session_id = ?", (sid,)
            ).fetchone()
            gaps = [
                float(json.loads(d)["end_s"]) - t
                for t, d in self._conn.execute(
                    "SELECT t_s, data_json FROM events WHERE session_id = ? AND kind = ?", (sid, GAP)
                )
            ]
            n_gaps, gap_total_s = len(gaps), math.fsum(gaps)
        k = len(SUMMARY_COLUMNS)
        return StoredSession(
            id=int(sid),
            meta=meta,
            end_utc=None if end is None else _utc_time(end),
            status=status,
            settings=json.loads(settings),
            summary=None if summary is None else json.loads(summary),
            n_beats=int(n_beats),
            duration_s=float(duration_s),
            n_gaps=int(n_gaps),
            gap_total_s=float(gap_total_s),
            **dict(zip(SUMMARY_COLUMNS, rest[:k], strict=True)),
            **dict(zip(RATINGS, rest[k : k + len(RATINGS)], strict=True)),
            note=rest[-1],
        )

    def beat_table(self, session_id: int) -> BeatTable:
        """Every column of the session's beats, as arrays (NaN where a value was not stored)."""
        self.session(session_id)
        with translated(self.path):
            rows = self._conn.execute(
                "SELECT t_s, rr_ms, hr_bpm, flags, pace_bpm, phase FROM beats WHERE session_id = ? ORDER BY seq",
                (session_id,),
            ).fetchall()
        return BeatTable(
            t_s=_column(rows, 0, np.float64),
            rr_ms=_column(rows, 1, np.float64),
            hr_bpm=_column(rows, 2, np.float64),
            flags=_column(rows, 3, np.int64),
            pace_bpm=_column(rows, 4, np.float64),
            phase=_column(rows, 5, np.float64),
        )

    def events(self, session_id: int, kind: str | None = None) -> list[Event]:
        """The session's events in the order they were stored (all, or of one kind)."""
        self.session(session_id)
        sql = "SELECT t_s, kind, detail, stage, data_json FROM events WHERE session_id = ?"
        args: tuple[object, ...] = (session_id,)
        if kind is not None:
            sql += " AND kind = ?"
            args += (kind,)
        with translated(self.path):
            rows = self._conn.execute(sql + " ORDER BY seq", args).fetchall()
        return [
            Event(t_s=t, kind=k, detail=d, stage=s, data={} if j is None else json.loads(j)) for t, k, d, s, j in rows
        ]

    def frames(self, session_id: int) -> list[Frame]:
        """The session's raw strap notifications, in arrival order."""
        self.session(session_id)
        with translated(self.path):
            rows = self._conn.execute(
                "SELECT t_arrival_s, payload FROM frames WHERE session_id = ? ORDER BY seq", (session_id,)
            ).fetchall()
        return [Frame(float(t), bytes(p)) for t, p in rows]

    def recording(self, session_id: int) -> Recording:
        """The session as a :class:`~biofeedback.recording.Recording`: meta, beats, gaps, link events.

        A session cut off between a gap and the beat that closes it still reads: a stored
        gap with no beat after it is left out (it stays in :meth:`events`), and a beat
        flagged after a gap whose gap was not stored gets one spanning exactly the time
        between the beats, with reason ``"not stored"``.
        """
        return self.recording_and_beats(session_id)[0]

    def recording_and_beats(self, session_id: int) -> tuple[Recording, BeatTable]:
        """:meth:`recording` and :meth:`beat_table` of one moment, the beats read once
        (the plots and trends need both: the pace and phase are in the table only)."""
        with self.snapshot():  # beats and events of one moment, while a live session adds to them
            meta = self.session(session_id).meta
            beats = self.beat_table(session_id)
            events = self.events(session_id)
        stored = sorted(
            (Gap(start_s=e.t_s, end_s=float(e.data["end_s"]), reason=e.detail) for e in events if e.kind == GAP),
            key=lambda g: g.start_s,
        )
        gaps = _match_gaps(beats, stored, session_id)
        links = tuple(
            LinkEvent(t_s=e.t_s, kind="lost" if e.kind == LINK_KINDS["lost"] else "restored", detail=e.detail)
            for e in events
            if e.kind in LINK_KINDS.values()
        )
        rec = Recording(meta=meta, t_s=beats.t_s, rr_ms=beats.rr_ms, flags=beats.flags, gaps=gaps, link_events=links)
        return rec, beats

    def recent_resonance_paces_bpm(self, n: int = 5) -> list[float]:
        """The resonance paces of the last ``n`` complete sessions that found one, newest
        first, breaths/min (fewer when there are fewer such sessions)."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise InvalidInputError(f"recent_resonance_paces_bpm needs n >= 1, got {n!r}")
        with translated(self.path):
            rows = self._conn.execute(
                "SELECT resonance_bpm FROM sessions WHERE status = 'complete' AND resonance_bpm IS NOT NULL "
                "ORDER BY start_utc DESC, id DESC LIMIT ?",
                (n,),
            ).fetchall()
        return [float(r[0]) for r in rows]

    def recent_resonance_bpm(self, n: int = 5) -> float | None:
        """The median of :meth:`recent_resonance_paces_bpm`, breaths/min; None when there are none."""
        paces = self.recent_resonance_paces_bpm(n)
        return float(statistics.median(paces)) if paces else None


def _match_gaps(beats: BeatTable, stored: list[Gap], session_id: int) -> tuple[Gap, ...]:
    """One gap per beat flagged after a gap: the stored one that ends where that beat's interval starts."""
    after = np.flatnonzero(beats.flags & int(BeatFlags.AFTER_GAP))
    out: list[Gap] = []
    for i in after.tolist():
        start_of_interval = float(beats.t_s[i]) - float(beats.rr_ms[i]) / 1000.0
        match = next((g for g in stored if abs(g.end_s - start_of_interval) <= _GAP_MATCH_S), None)
        if match is None:
            previous = float(beats.t_s[i - 1]) if i > 0 else 0.0
            match = Gap(start_s=previous, end_s=max(start_of_interval, previous), reason="not stored")
            log.warning("session %d: the gap before beat %d was not stored; rebuilt from the beats", session_id, i)
        else:
            stored.remove(match)
        out.append(match)
    for g in stored:
        log.warning("session %d: gap at %.3f s has no beat after it; left out of the recording", session_id, g.start_s)
    return tuple(out)
