"""The session store's schema, as a list of migrations, and the code that applies them.

The schema version is SQLite's ``PRAGMA user_version``; ``PRAGMA application_id`` marks the
file as ours. A new database runs every migration from the first, so the list is the one
description of the schema. A migration never rewrites or drops what earlier versions
stored: it adds tables, columns and indexes, so a newer program reads every older store.

Version 1
    ``sessions`` (one row per session: wall-clock start and local offset, end, source,
    strap, software version, settings and summary as JSON, status, and the figures
    ``biofeedback sessions`` lists, copied out of the summary so that listing a year of
    sessions needs no JSON), ``beats`` (one row per beat: beat time, RR interval exactly as
    received, reported heart rate, :class:`~biofeedback.beats.BeatFlags`, the pace and
    breath phase shown), ``events`` (coach decisions, gaps, link losses, battery, notes:
    beat time, kind, stage, detail, JSON data) and ``frames`` (every raw strap notification
    with its arrival time, so a session can be decoded again).
Version 2
    The ratings before and after a session (pain and tension, 0 to 10, each optional) and
    a free-text note.
"""

from __future__ import annotations

import sqlite3
from typing import Final

__all__ = ["APPLICATION_ID", "MIGRATIONS", "SCHEMA_VERSION", "STATUSES", "migrate"]

APPLICATION_ID: Final[int] = 0x42664264  # "BfBd" in the file header: a biofeedback store
STATUSES: Final[tuple[str, ...]] = ("recording", "complete", "incomplete", "interrupted")

_V1: Final[tuple[str, ...]] = (
    f"PRAGMA application_id = {APPLICATION_ID}",
    f"""CREATE TABLE sessions (
        id INTEGER PRIMARY KEY,
        start_utc TEXT NOT NULL,          -- YYYY-MM-DDTHH:MM:SS.ffffffZ, the beat clock's zero
        utc_offset_s INTEGER NOT NULL,    -- local time minus UTC at the start, s
        start_estimated INTEGER NOT NULL DEFAULT 0,  -- 1: the source held no start; it was estimated
        end_utc TEXT,                     -- same format; NULL until finished or found interrupted
        source TEXT NOT NULL,
        device_name TEXT,
        device_address TEXT,
        software_version TEXT NOT NULL,
        settings_json TEXT NOT NULL,
        summary_json TEXT,
        status TEXT NOT NULL DEFAULT 'recording'
            CHECK (status IN ({", ".join(f"'{s}'" for s in STATUSES)})),
        n_beats INTEGER,                  -- the figures below: set when the session ends
        duration_s REAL,                  -- beat-clock time of the last beat, s
        n_gaps INTEGER,
        gap_total_s REAL,
        baseline_hr_bpm REAL,             -- from the summary
        final_hr_bpm REAL,
        resonance_bpm REAL,
        quality REAL                      -- 0..1, the summary's share of usable beats
    )""",
    "CREATE INDEX sessions_by_start ON sessions (start_utc)",
    """CREATE TABLE beats (
        session_id INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,             -- 0, 1, 2 ... within the session
        t_s REAL NOT NULL,                -- beat time on the beat clock, s
        rr_ms REAL NOT NULL,              -- exactly as received (IEEE double)
        hr_bpm REAL,                      -- the strap's own heart-rate figure
        flags INTEGER NOT NULL,           -- BeatFlags
        pace_bpm REAL,                    -- pace shown at this beat, breaths/min
        phase REAL,                       -- breath phase shown at this beat, 0..1
        PRIMARY KEY (session_id, seq)
    ) WITHOUT ROWID""",
    """CREATE TABLE events (
        session_id INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        t_s REAL NOT NULL,                -- beat-clock time, s
        kind TEXT NOT NULL,               -- coach, gap, link_lost, link_restored, battery, note, ...
        stage TEXT,
        detail TEXT NOT NULL,
        data_json TEXT,
        PRIMARY KEY (session_id, seq)
    ) WITHOUT ROWID""",
    """CREATE TABLE frames (
        session_id INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        t_arrival_s REAL NOT NULL,        -- on the source's clock, s
        payload BLOB NOT NULL,            -- the notification's bytes
        PRIMARY KEY (session_id, seq)
    ) WITHOUT ROWID""",
)

_V2: Final[tuple[str, ...]] = (
    *(
        f"ALTER TABLE sessions ADD COLUMN {name} INTEGER CHECK ({name} BETWEEN 0 AND 10)"
        for name in ("pain_before", "tension_before", "pain_after", "tension_after")
    ),
    "ALTER TABLE sessions ADD COLUMN note TEXT",
)

MIGRATIONS: Final[tuple[tuple[str, ...], ...]] = (_V1, _V2)  # MIGRATIONS[k] takes version k to k + 1
SCHEMA_VERSION: Final[int] = len(MIGRATIONS)


def migrate(conn: sqlite3.Connection) -> None:
    """Bring a store to :data:`SCHEMA_VERSION`, one version per transaction.

    ``conn`` must be in autocommit mode (``isolation_level=None``). Each step reads the
    version inside its own write transaction, so two programs opening an old (or new,
    empty) store at once migrate it once; and each step's statements are committed together
    with its new ``user_version``, so an interrupted migration leaves the store at the last
    version it completed.
    """
    while True:
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            if version >= SCHEMA_VERSION:
                conn.execute("COMMIT")
                return
            for statement in MIGRATIONS[version]:
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {version + 1}")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
