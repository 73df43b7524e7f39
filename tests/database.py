"""Another session on the test database: to end a connection, or to hold a transaction open."""

from __future__ import annotations

import psycopg
from django.db import connection


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
