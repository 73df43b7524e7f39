"""Which PostgreSQL server a test session uses: the configured one, one running here, or its own.

A configured server (TEST_DATABASE_URL) is used as it is, and must answer. Without one, a
server that answers at the default address (127.0.0.1:$PGPORT, as CI's) is preferred; only
when none does is an embedded PostgreSQL started for the session (tests/conftest.py).
"""

from __future__ import annotations

import psycopg


def embedded_postgres_reason(configured_url: str, database: dict) -> str | None:
    """Why the session needs its own embedded server; None when ``database`` will do."""
    if configured_url:
        return None
    try:
        psycopg.connect(
            host=database["HOST"],
            port=database["PORT"],
            user=database["USER"],
            password=database["PASSWORD"],
            dbname="postgres",
            connect_timeout=3,
        ).close()
    except psycopg.OperationalError as exc:
        return f"no TEST_DATABASE_URL; {address(database)}: {first_line(exc)}"
    return None


def describe(configured_url: str, database: dict, embedded_reason: str | None) -> list[str]:
    """The run header's lines about the server."""
    if configured_url:
        return [f"database: PostgreSQL at {address(database)} (TEST_DATABASE_URL)"]
    if embedded_reason is None:
        return [f"database: PostgreSQL at {address(database)} (running on this machine)"]
    from tests.embedded_postgres_server import EmbeddedPostgres

    return [
        f"database: embedded {EmbeddedPostgres().version} on a free port of 127.0.0.1, in a"
        " temporary folder",
        f"  removed at the end of the run ({embedded_reason})",
    ]


def address(database: dict) -> str:
    return f"{database['HOST']}:{database['PORT']}"


def first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0].strip()
