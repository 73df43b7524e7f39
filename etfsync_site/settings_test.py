"""Settings for the test suite: PostgreSQL (what users deploy), fast retries, no rate limit."""

from .settings import *  # noqa: F403
from .settings import env

DATABASES = {
    "default": env.db("TEST_DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/etfsync"),
}
DATABASES["default"]["TEST"] = {"NAME": env.str("TEST_DATABASE_NAME", default="test_etfsync")}

# Tests talk to a local server: in-process tests set the endpoint roots themselves; a qcluster
# started by a test gets them through these variables. Port 9 (discard) refuses connections,
# so a test that forgets to start a server fails fast instead of reaching the internet.
ETFSYNC_EASTMONEY_PUSH2_URL = env.str("ETFSYNC_TEST_PUSH2_URL", default="http://127.0.0.1:9")
ETFSYNC_EASTMONEY_PUSH2HIS_URL = env.str("ETFSYNC_TEST_PUSH2HIS_URL", default="http://127.0.0.1:9")
ETFSYNC_SSE_QUERY_URL = env.str("ETFSYNC_TEST_SSE_URL", default="http://127.0.0.1:9")
ETFSYNC_SZSE_URL = env.str("ETFSYNC_TEST_SZSE_URL", default="http://127.0.0.1:9")
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
