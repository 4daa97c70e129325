"""Counting the SQL statements a piece of work sends, for tests that a page's (or a batch's)
query count does not grow with its rows, and for bench/pages.py, which prints them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask
from sqlalchemy import event

from webapp.extensions import db

# SQLite's BEGIN goes through the cursor (webapp/database.py issues it), psycopg's does not:
# leaving transaction control out makes the counts the same on both.
TRANSACTION_CONTROL = frozenset({"BEGIN", "BEGIN IMMEDIATE", "COMMIT", "ROLLBACK"})


@contextmanager
def counting_queries(app: Flask) -> Iterator[list[str]]:
    """Every statement but transaction control that the app's engine executes inside the
    block, in order (any thread)."""
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany) -> None:
        if statement.strip().upper() not in TRANSACTION_CONTROL:
            statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def queries_of_get(client, path: str, **kwargs) -> list[str]:
    """The statements of one GET through a test client; the answer must be 200, since the
    count of a redirect to /login says nothing about the page."""
    with counting_queries(client.application) as statements:
        response = client.get(path, **kwargs)
    assert response.status_code == 200, f"GET {path} answered {response.status_code}"
    return statements
