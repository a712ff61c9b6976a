"""The store's files: a private folder and database, one writer at a time, SQLite errors in words.

Health data is private: the folder is created mode 0700 and the database 0600 before
SQLite opens it. SQLite gives its ``-wal`` and ``-shm`` files the database's own mode, so
they are owner-only too. An existing database with a looser mode is tightened.

One process writes to a store at a time: it holds an exclusive ``flock`` on a lock file
beside the database (``NAME-lock``) from its first write until it closes. Readers need no
lock (WAL: they never block the writer nor wait for it). Holding the lock is also what lets
a writer tell a session whose writer died (SIGKILL, power cut) from one being recorded now.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Final

from biofeedback.errors import StoreError

try:
    import fcntl
except ImportError:  # pragma: no cover - not on POSIX: no writer lock
    fcntl = None  # type: ignore[assignment]

__all__ = ["WriterLock", "busy_message", "prepare_files", "translated"]

log = logging.getLogger(__name__)

FOLDER_MODE: Final[int] = 0o700
FILE_MODE: Final[int] = 0o600
_RETRY_S: Final[float] = 0.05  # between tries of a held writer lock, s
_SIDE_FILES: Final[tuple[str, ...]] = ("-wal", "-shm", "-journal", "-lock")


def busy_message(path: Path) -> str:
    """The one line for a store another process is writing to."""
    return f"another biofeedback is writing to {path}; close it or use --data-dir"


def prepare_files(path: Path) -> None:
    """Create the folder (0700) and an empty database file (0600) if missing; tighten modes.

    Raises
    ------
    StoreError
        The folder or file cannot be created or is not a regular file.
    """
    folder = path.parent
    try:
        try:
            folder.mkdir(mode=FOLDER_MODE, parents=True)
        except FileExistsError:  # there already (or another program made it just now): the user's
            pass
        else:
            os.chmod(folder, FOLDER_MODE)  # mkdir's mode is filtered by the umask; this is exact
        if path.exists() and not path.is_file():
            raise StoreError(f"the session store {path} is not a file; use --data-dir to choose another folder")
        fd = os.open(path, os.O_RDWR | os.O_CREAT, FILE_MODE)
        try:
            os.fchmod(fd, FILE_MODE)
        finally:
            os.close(fd)
        for suffix in _SIDE_FILES:
            side = path.with_name(path.name + suffix)
            if side.exists():
                os.chmod(side, FILE_MODE)
    except OSError as exc:
        if isinstance(exc, StoreError):
            raise
        raise StoreError(f"cannot open the session store {path}: {exc.strerror}; check it or use --data-dir") from None


@contextlib.contextmanager
def translated(path: Path) -> Iterator[None]:
    """Turn SQLite's errors into one-line :class:`StoreError` messages naming ``path``."""
    try:
        yield
    except sqlite3.DatabaseError as exc:  # OperationalError, IntegrityError ... derive from it
        raise StoreError(_message(path, exc)) from exc


def _message(path: Path, exc: sqlite3.DatabaseError) -> str:
    code = getattr(exc, "sqlite_errorcode", -1) & 0xFF
    if code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        return busy_message(path)
    if code == sqlite3.SQLITE_NOTADB:
        return f"{path} is not a biofeedback session store (file is not a database); move it aside or use --data-dir"
    if code == sqlite3.SQLITE_CORRUPT:
        return (
            f"the session store {path} is damaged ({exc}); nothing was changed: keep a copy, "
            "then try `sqlite3 FILE .recover`, or use --data-dir"
        )
    if code == sqlite3.SQLITE_FULL:
        return f"cannot write the session store {path}: the disk is full; free some space"
    if code in (sqlite3.SQLITE_READONLY, sqlite3.SQLITE_PERM, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_AUTH):
        return f"cannot write the session store {path} ({exc}); check its permissions or use --data-dir"
    return f"the session store {path} failed ({exc}); check the file or use --data-dir"


class WriterLock:
    """An exclusive, non-blocking ``flock`` on ``NAME-lock`` beside the database."""

    def __init__(self, db_path: Path) -> None:
        self.path = db_path.with_name(db_path.name + "-lock")
        self._db_path = db_path
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        """Whether this object holds the lock."""
        return self._fd is not None

    def try_acquire(self) -> bool:
        """Take the lock if no other writer has it; True when held (already or now)."""
        if self._fd is not None:
            return True
        if fcntl is None:  # pragma: no cover - no flock: trust SQLite's own locking alone
            self._fd = -1
            return True
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, FILE_MODE)
        except OSError as exc:
            raise StoreError(
                f"cannot open the session store's lock file {self.path}: {exc.strerror}; check it or use --data-dir"
            ) from None
        try:
            os.fchmod(fd, FILE_MODE)
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def acquire(self, timeout_s: float = 0.0) -> None:
        """Take the lock, trying again every 50 ms for up to ``timeout_s`` (a reader may hold
        it for a moment while it closes an interrupted session).

        Raises
        ------
        StoreError
            Another process (or another store object) is writing to the database.
        """
        deadline = time.monotonic() + timeout_s
        while not self.try_acquire():
            if time.monotonic() >= deadline:
                raise StoreError(busy_message(self._db_path))
            time.sleep(_RETRY_S)

    def release(self) -> None:
        """Let go of the lock (closing the file releases the flock)."""
        fd, self._fd = self._fd, None
        if fd is not None and fd >= 0:
            os.close(fd)
