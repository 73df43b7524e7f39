"""Settings for the test suite: PostgreSQL (what users deploy), fast retries, no rate limit.

The suite reads only its own variables (``TEST_*``, ``ETFSYNC_TEST_*``, ``PGPORT``, ``CI``):
the user's shell (``REDIS_URL`` exported for their server, as the docs say) and the checkout's
``.env`` configure their etfsync, not its tests. So the first process of a test session
removes every variable ``settings.py`` reads from its environment and marks the environment
as the suite's (``ETFSYNC_TEST_ENVIRONMENT``); settings.py then reads no ``.env`` either. The
processes a test starts (qclusters, commands) inherit the clean environment and read exactly
the variables that test gives them.
"""

import os
import re
from pathlib import Path

SUITE_ENVIRONMENT = "ETFSYNC_TEST_ENVIRONMENT"
# How settings.py reads a variable: env("NAME"), env.int("NAME", ...), env.db("NAME") ...
_SETTING_READ = re.compile(r"""env(?:\.\w+)?\(\s*["']([A-Z][A-Z0-9_]*)["']""")


def deployment_variables() -> set[str]:
    """The names of the environment variables settings.py reads."""
    return set(_SETTING_READ.findall((Path(__file__).parent / "settings.py").read_text()))


if SUITE_ENVIRONMENT not in os.environ:
    for _name in deployment_variables():
        os.environ.pop(_name, None)
    os.environ[SUITE_ENVIRONMENT] = "1"

from .settings import *  # noqa: E402, F403
from .settings import Q_CLUSTER as _Q_CLUSTER  # noqa: E402
from .settings import env  # noqa: E402

# The server to test on. TEST_DATABASE_URL names one, which must answer; without it the suite
# uses a PostgreSQL that answers at 127.0.0.1:$PGPORT (5432), else starts an embedded one for
# the session (tests/conftest.py). The qcluster subprocesses of the tests get the URL chosen.
TEST_DATABASE_URL = env.str("TEST_DATABASE_URL", default="")
DATABASES = {
    "default": env.db_url_config(
        TEST_DATABASE_URL or f"postgres://postgres@127.0.0.1:{env.int('PGPORT', 5432)}/etfsync"
    ),
}
DATABASES["default"]["TEST"] = {"NAME": env.str("TEST_DATABASE_NAME", default="test_etfsync")}

# Tests talk to a local server: in-process tests set the endpoint roots themselves; a qcluster
# started by a test gets them through these variables. Port 9 (discard) refuses connections,
# so a test that forgets to start a server fails fast instead of reaching the internet.
ETFSYNC_EASTMONEY_PUSH2_URL = env.str("ETFSYNC_TEST_PUSH2_URL", default="http://127.0.0.1:9")
ETFSYNC_EASTMONEY_PUSH2HIS_URL = env.str("ETFSYNC_TEST_PUSH2HIS_URL", default="http://127.0.0.1:9")
# Eastmoney (and its fund data host, for corporate actions) unless a test asks for the
# exchanges' lists too (tests/sync/test_list_sources.py starts their fake and sets
# ETFSYNC_PROVIDERS itself).
ETFSYNC_PROVIDERS = env.list(
    "ETFSYNC_TEST_PROVIDERS",
    default=[
        "etfs.providers.eastmoney.EastmoneyClient",
        "etfs.providers.eastmoney.EastmoneyFundsClient",
        "etfs.providers.eastmoney.EastmoneyDatacenter",
        "etfs.providers.eastmoney.EastmoneyStockList",
    ],
)
ETFSYNC_SSE_QUERY_URL = env.str("ETFSYNC_TEST_SSE_URL", default="http://127.0.0.1:9")
ETFSYNC_SZSE_URL = env.str("ETFSYNC_TEST_SZSE_URL", default="http://127.0.0.1:9")
ETFSYNC_EASTMONEY_FUND_URL = env.str("ETFSYNC_TEST_FUND_URL", default="http://127.0.0.1:9")
ETFSYNC_EASTMONEY_DATACENTER_URL = env.str(
    "ETFSYNC_TEST_DATACENTER_URL", default="http://127.0.0.1:9"
)
ETFSYNC_RATE_LIMIT = 0
ETFSYNC_HTTP_RETRIES = 2
ETFSYNC_HTTP_BACKOFF = 0.01
ETFSYNC_CONNECT_TIMEOUT = 1.0
ETFSYNC_READ_TIMEOUT = 1.0
ETFSYNC_CONCURRENCY = 4
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# SQLite, the embedded default, for the tests of what must work there too: only tests that
# ask for it (``django_db(databases=["default", "sqlite"])``) create it, in memory.
DATABASES["sqlite"] = {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}

# Tests that queue through Redis use this server and database, under a queue name of their own
# (passed to their subprocesses in ETFSYNC_TEST_QUEUE_NAME), and delete only their own keys.
ETFSYNC_TEST_REDIS_URL = env.str("TEST_REDIS_URL", default="redis://127.0.0.1:6379/15")
Q_CLUSTER = {**_Q_CLUSTER, "name": env.str("ETFSYNC_TEST_QUEUE_NAME", default=_Q_CLUSTER["name"])}
# In CI (CI=true) a test that cannot run here fails instead of skipping (browser tests).
ETFSYNC_TEST_IN_CI = env.bool("CI", default=False)
# A key of the length etfs requires with DEBUG off; for tests only, never for a server.
SECRET_KEY = "tests-only-" + "k" * 20 + "-etfsync-settings-test-0123456789"
