"""Settings for the qcluster subprocesses the reliability tests start.

settings_test pins ETFSYNC_CONCURRENCY for in-process tests; a crash test needs a slow, one
fund at a time cluster, so here the environment decides (the other ETFSYNC_* values that
matter, batch and chunk sizes, stale and cooldown seconds, already come from it).
"""

from etfsync_site.settings import env
from etfsync_site.settings_test import *  # noqa: F403
from etfsync_site.settings_test import ETFSYNC_CONCURRENCY as _TEST_CONCURRENCY

ETFSYNC_CONCURRENCY = env.int("ETFSYNC_CONCURRENCY", default=_TEST_CONCURRENCY)
