"""SQLite behaviour: foreign keys, WAL, busy timeout, and write transactions that lock up front.

A deferred SQLite transaction that reads and later writes fails at once with "database is
locked" when another writer got there first, whatever the busy timeout. So a transaction that
will write starts with `BEGIN IMMEDIATE` and waits its turn instead; reads stay plain `BEGIN`
and never block. Requests with unsafe methods, and code inside `writing()`, write.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

#: Whether transactions begun now will write (on SQLite: BEGIN IMMEDIATE).
_writing: ContextVar[bool] = ContextVar("transactions_write", default=False)

BUSY_TIMEOUT_MS = 15_000


@contextmanager
def writing() -> Iterator[None]:
    """Transactions begun inside this block write: on SQLite they take the write lock when they
    begin (BEGIN IMMEDIATE); other databases need nothing."""
    token = _writing.set(True)
    try:
        yield
    finally:
        _writing.reset(token)


def begin_writing() -> object:
    """For a request that will write; returns the token `end_writing` takes back."""
    return _writing.set(True)


def end_writing(token: object) -> None:
    _writing.reset(token)  # type: ignore[arg-type]


@event.listens_for(Engine, "connect")
def _sqlite_on_connect(dbapi_connection: Any, connection_record: Any) -> None:
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    # Hand transaction control to SQLAlchemy's "begin" event below.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.close()


@event.listens_for(Engine, "begin")
def _sqlite_on_begin(connection: Any) -> None:
    if connection.dialect.name != "sqlite":
        return
    connection.exec_driver_sql("BEGIN IMMEDIATE" if _writing.get() else "BEGIN")
