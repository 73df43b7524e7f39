"""Settings for the TimescaleDB test lane (tests/timescale): a PGlite TimescaleDB server.

    (cd tests/timescale && npm ci)
    .venv/bin/python -m pytest --ds etfsync_site.settings_timescale -m timescaledb tests/timescale

The lane's conftest starts the server (tests/timescale/server.mjs) on a free port and sets
this connection's port to it. The server serves one database whatever name is asked for, and
one connection at a time, so the lane migrates that database in place instead of creating a
test database, and nothing in the lane opens a second connection.
"""

from .settings_test import *  # noqa: F403
from .settings_test import env

DATABASES = {
    "default": env.db(
        "ETFSYNC_TIMESCALE_TEST_URL",
        default="postgres://postgres:postgres@127.0.0.1:54329/postgres?sslmode=disable",
    ),
}
