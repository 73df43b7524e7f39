"""Another session on the test database: to end a connection, or to hold a transaction open;
the statements of every session a test opens."""

from __future__ import annotations

from contextlib import contextmanager

import psycopg
from django.db import connection
from django.db.backends.signals import connection_created


def other_session(**options) -> psycopg.Connection:
    """A psycopg connection of its own to the database the test uses."""
    settings = connection.settings_dict
    return psycopg.connect(
        host=settings["HOST"] or "127.0.0.1",
        port=settings["PORT"] or 5432,
        user=settings["USER"],
        password=settings["PASSWORD"] or None,
        dbname=settings["NAME"],
        **options,
    )


def terminate_backend(pid: int) -> None:
    """End the session ``pid`` as a database restart or a failover would."""
    with other_session(autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])


@contextmanager
def queries_on_every_connection():
    """The SQL run meanwhile on the test's connection and on every connection opened meanwhile
    (the price sync's batch writers have their own): a list of statements."""
    seen: list[str] = []

    def record(execute, sql, params, many, context):
        seen.append(sql)
        return execute(sql, params, many, context)

    def opened(sender, connection, **kwargs):
        connection.execute_wrappers.append(record)

    connection_created.connect(opened)
    try:
        with connection.execute_wrapper(record):
            yield seen
    finally:
        connection_created.disconnect(opened)
