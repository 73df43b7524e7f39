"""Settings for etfsync.

Every setting that differs between machines comes from an environment variable, read once
here through django-environ. Nothing else in the project reads ``os.environ``.
"""

import importlib.util
import os
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent
# django-ninja's templates and static files (the API docs page's scripts and styles), found
# without importing it: as an installed app it imported pydantic into every command's start-up.
NINJA_DIR = Path(importlib.util.find_spec("ninja").origin).parent

env = environ.Env()
# A local .env file is optional; real deployments set the variables themselves. The test suite
# reads none: its environment is its own (settings_test.py).
if "ETFSYNC_TEST_ENVIRONMENT" not in os.environ:
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# The public default works with DEBUG on only: with DEBUG off etfs refuses to start on it or on
# any key Django's deploy check calls weak (see etfs/apps.py). ./quickstart.sh writes a random
# key into .env once.
DEVELOPMENT_SECRET_KEY = "insecure-dev-key-change-me-in-production"
SECRET_KEY = env.str("SECRET_KEY", default=DEVELOPMENT_SECRET_KEY)
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
# Behind a reverse proxy that terminates TLS (docs/operations.md: Production).
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
if env.bool("BEHIND_TLS_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Served over HTTPS: one switch for secure cookies, HSTS and the redirect from http://.
ETFSYNC_HTTPS = env.bool("ETFSYNC_HTTPS", default=False)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = ETFSYNC_HTTPS
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=ETFSYNC_HTTPS)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000 if ETFSYNC_HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=ETFSYNC_HTTPS)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=ETFSYNC_HTTPS)
# Messages stay on the server (in the session): a new API token's secret is shown once in a
# message, and a cookie is signed, not encrypted.
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

INSTALLED_APPS = [
    # The admin, its pages registered by the URL configuration and the system check, not at
    # every command's start-up (etfsync_site/admin_app.py).
    "etfsync_site.admin_app.AdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    # Before staticfiles: runserver leaves static files to WhiteNoise, as production does.
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_q",
    "etfs",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Serves /static/ from the Django process itself, with or without DEBUG, so the admin is
    # styled under `runserver` and gunicorn alike without a separate file server.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "etfsync_site.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates", NINJA_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "etfsync_site.wsgi.application"

# The embedded default is a SQLite file beside the code; a postgres:// URL works the same way.
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'etfsync.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web process read while a qcluster worker writes; IMMEDIATE transactions and
    # a busy timeout make concurrent writers wait for each other instead of failing with
    # "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": env.int("SQLITE_BUSY_TIMEOUT", default=30),
            "transaction_mode": "IMMEDIATE",
            # A page cache that holds the bar indexes' hot pages: with SQLite's 2 MiB default,
            # inserting 290,000 bars took 7.1 s, with 64 MiB 5.9 s (3.5 s once DailyBar lost
            # its redundant security index); bench/sync.py compares SQLite with PostgreSQL.
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
            f"PRAGMA cache_size=-{env.int('SQLITE_CACHE_MB', default=64) * 1024};",
        }
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
# Market times (the 15:00 close, the morning schedule) are Asia/Shanghai; so is the admin.
TIME_ZONE = env.str("TIME_ZONE", default="Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
# Vendored browser libraries (the price chart), served like the admin's own files.
STATICFILES_DIRS = [BASE_DIR / "static", NINJA_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Compressed copies (gzip, brotli when installed) at collectstatic; no manifest, so a
    # checkout that never ran collectstatic still renders every page.
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Until collectstatic has filled STATIC_ROOT (a checkout that skipped the quick start), serve the
# apps' static folders directly; after it, STATIC_ROOT with its compressed copies (gzip).
WHITENOISE_USE_FINDERS = env.bool(
    "WHITENOISE_USE_FINDERS", default=DEBUG or not (STATIC_ROOT / "admin").is_dir()
)

REDIS_URL = env.str("REDIS_URL", default="")

# django-q2. A price sync of all ETFs can run for a long time, so the task timeout is generous,
# retry must exceed it (django-q2 refuses otherwise), and a failed task is retried only a few
# times: the services themselves are re-run safe and record their own failures.
Q_CLUSTER = {
    "name": "etfsync",
    "workers": env.int("Q_WORKERS", default=2),
    "timeout": env.int("Q_TIMEOUT", default=3 * 3600),
    "retry": env.int("Q_RETRY", default=3 * 3600 + 600),
    "max_attempts": env.int("Q_MAX_ATTEMPTS", default=2),
    "save_limit": env.int("Q_SAVE_LIMIT", default=1000),
    "ack_failures": True,
    "catch_up": False,
    "queue_limit": 50,
    "label": "Task queue",
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"
    Q_CLUSTER["poll"] = env.float("Q_POLL", default=0.5)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "loggers": {
        "etfs": {"handlers": ["console"], "level": env.str("ETFSYNC_LOG_LEVEL", default="WARNING")},
        # One quiet line from the TimescaleDB migration step about what it did.
        "etfs.migrations": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}

# Mail: ADMINS (comma-separated addresses) receive notices of failed scheduled and API runs,
# through the server EMAIL_URL names (e.g. smtp+tls://user:password@smtp.example.com:587).
ADMINS = [(address, address) for address in env.list("ADMINS", default=[])]
SERVER_EMAIL = env.str("SERVER_EMAIL", default="etfsync@localhost")
if env.str("EMAIL_URL", default=""):
    vars().update(env.email_url("EMAIL_URL"))

# --- etfsync -------------------------------------------------------------------------------
# The data sources (etfs/sync/sources.py). The long form, in the style of DATABASES: one entry
# per source, keyed by the name runs and ban cooldowns know it by, e.g.
#   {"eastmoney": {"BACKEND": "etfs.providers.eastmoney.EastmoneyClient",
#                  "OPTIONS": {"PUSH2_URL": "...", "PUSH2HIS_URL": "..."}}}
# (JSON in the environment). Empty: the short form below (ETFSYNC_PROVIDERS and the URLs).
ETFSYNC_SOURCES = env.json("ETFSYNC_SOURCES", default={})
# For each capability (fund_list, daily_bars, day_bars, trading_days, fund_profiles,
# corporate_actions, stock_list, exchange_stock_lists) the names of the sources that serve it,
# in order: a source in a ban cooldown is passed over and the next one serves. A capability
# not named here is served in the order of the configuration. JSON in the environment, e.g.
# {"daily_bars": ["b", "a"]}.
ETFSYNC_SOURCE_ORDER = env.json("ETFSYNC_SOURCE_ORDER", default={})
# The short form: the sources by dotted path, in order of preference, each named by its class.
# Eastmoney gives the live fund and stock lists and the bars; the exchanges' own lists give
# each fund's profile and each stock's listing and delisting dates, and check Eastmoney's
# lists. A comma-separated list in the environment replaces the default.
ETFSYNC_PROVIDERS = env.list(
    "ETFSYNC_PROVIDERS",
    default=[
        "etfs.providers.eastmoney.EastmoneyClient",
        "etfs.providers.sse.SseFundList",
        "etfs.providers.szse.SzseFundList",
        "etfs.providers.eastmoney.EastmoneyFundsClient",
        "etfs.providers.eastmoney.EastmoneyDatacenter",
        "etfs.providers.eastmoney.EastmoneyStockList",
        "etfs.providers.exchange_stocks.SseStockList",
        "etfs.providers.exchange_stocks.SzseStockList",
    ],
)
ETFSYNC_EASTMONEY_PUSH2_URL = env.str(
    "ETFSYNC_EASTMONEY_PUSH2_URL", default="https://push2.eastmoney.com"
)
ETFSYNC_EASTMONEY_PUSH2HIS_URL = env.str(
    "ETFSYNC_EASTMONEY_PUSH2HIS_URL", default="https://push2his.eastmoney.com"
)
# The exchanges' own fund lists (shared/providers.md section 7).
ETFSYNC_SSE_QUERY_URL = env.str("ETFSYNC_SSE_QUERY_URL", default="https://query.sse.com.cn")
ETFSYNC_SZSE_URL = env.str("ETFSYNC_SZSE_URL", default="https://www.szse.cn")
# The fund data host: the market's fund dividend and split lists (corporate actions).
ETFSYNC_EASTMONEY_FUND_URL = env.str(
    "ETFSYNC_EASTMONEY_FUND_URL", default="https://fund.eastmoney.com"
)
# The datacenter: stock dividends, bonus and rights shares, and the daily suspension snapshot.
ETFSYNC_EASTMONEY_DATACENTER_URL = env.str(
    "ETFSYNC_EASTMONEY_DATACENTER_URL", default="https://datacenter-web.eastmoney.com"
)
# (connect, read) timeouts in seconds.
ETFSYNC_CONNECT_TIMEOUT = env.float("ETFSYNC_CONNECT_TIMEOUT", default=5.0)
ETFSYNC_READ_TIMEOUT = env.float("ETFSYNC_READ_TIMEOUT", default=20.0)
# The longest one request may take, its answer included: the read timeout above bounds each
# wait for the next piece only, and a source that trickles its body would never hit it.
ETFSYNC_REQUEST_DEADLINE = env.float("ETFSYNC_REQUEST_DEADLINE", default=60.0)
# Retries on connection errors, 5xx and 429, with exponential backoff and jitter.
ETFSYNC_HTTP_RETRIES = env.int("ETFSYNC_HTTP_RETRIES", default=4)
ETFSYNC_HTTP_BACKOFF = env.float("ETFSYNC_HTTP_BACKOFF", default=1.0)
# Requests per second per source host. The real hosts ban IPs that ask faster than a few per
# second (shared/providers.md section 3); about one per second is what well-kept clients use.
ETFSYNC_RATE_LIMIT = env.float("ETFSYNC_RATE_LIMIT", default=1.0)
# The budget is shared by every process on the machine through small lock files kept here.
ETFSYNC_RATE_LIMIT_DIR = env.str("ETFSYNC_RATE_LIMIT_DIR", default="") or None
# How many funds' k-lines are fetched at the same time (within the rate limit).
ETFSYNC_CONCURRENCY = env.int("ETFSYNC_CONCURRENCY", default=2)
ETFSYNC_USER_AGENT = env.str(
    "ETFSYNC_USER_AGENT",
    default=(
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Chrome/124.0 Safari/537.36"
    ),
)
# Refuse to mark funds delisted when a new list has fewer than this share of the listed funds.
ETFSYNC_LIST_SHRINK_GUARD = env.float("ETFSYNC_LIST_SHRINK_GUARD", default=0.9)
# Price sync: first year of history for funds without bars, look-back for corrections.
ETFSYNC_START_YEAR = env.int("ETFSYNC_START_YEAR", default=2020)
ETFSYNC_LOOKBACK_DAYS = env.int("ETFSYNC_LOOKBACK_DAYS", default=10)
# Every calendar run re-checks the index over this many days before today (or before the newest
# known trading day, if older), even when the table knows them (etfs/sync/calendar_sync.py).
ETFSYNC_CALENDAR_LOOKBACK_DAYS = env.int("ETFSYNC_CALENDAR_LOOKBACK_DAYS", default=30)
# The after-close run stops, instead of sending a k-line request per fund, when more than this
# share of the funds with bars would miss the list's bar (a source late publishing the day, or a
# list pass gone wrong). A few funds (suspensions) may always fall back.
ETFSYNC_LIST_FALLBACK_MAX_SHARE = env.float("ETFSYNC_LIST_FALLBACK_MAX_SHARE", default=0.10)
# A price run after which every security is still behind the last final day by more than this
# many trading days ends with a warning naming the source's newest day, and is announced: the
# source stopped publishing, or the calendar is ahead of it.
ETFSYNC_STALE_SOURCE_TRADING_DAYS = env.int("ETFSYNC_STALE_SOURCE_TRADING_DAYS", default=1)
# Cron (Asia/Shanghai) of the daily update after the close (the calendar, then the day's bars
# of both universes from their lists). The list's Shanghai rows settle at about 16:11
# (shared/providers.md section 5); rows updated before the close are never taken.
ETFSYNC_AFTER_CLOSE_CRON = env.str("ETFSYNC_AFTER_CLOSE_CRON", default="15 16 * * 1-5")
ETFSYNC_PRICE_BATCH_ETFS = env.int("ETFSYNC_PRICE_BATCH_ETFS", default=20)
ETFSYNC_PRICE_CHUNK_ETFS = env.int("ETFSYNC_PRICE_CHUNK_ETFS", default=50)
# TimescaleDB only: the migration's compression policy compresses bar chunks older than this
# (read when the migration runs; compressed chunks still take updates).
ETFSYNC_COMPRESS_AFTER_DAYS = env.int("ETFSYNC_COMPRESS_AFTER_DAYS", default=90)
# A run whose heartbeat is older than this is considered dead.
ETFSYNC_STALE_RUN_SECONDS = env.int("ETFSYNC_STALE_RUN_SECONDS", default=600)
# A queued run no worker picks up within this long, while no worker makes any progress (a
# stopped or wedged cluster), is failed by `manage.py check_workers` (etfs/sync/liveness.py).
ETFSYNC_QUEUED_RUN_PICKUP_SECONDS = env.int("ETFSYNC_QUEUED_RUN_PICKUP_SECONDS", default=300)
# A running run's heartbeat is sent this often by a thread of its own (at most a fifth of the
# stale limit), whatever its work is doing.
ETFSYNC_HEARTBEAT_SECONDS = env.float("ETFSYNC_HEARTBEAT_SECONDS", default=10.0)
# The password ensure_admin gives the first admin user (a random one, printed once, if empty).
ETFSYNC_ADMIN_PASSWORD = env.str("ETFSYNC_ADMIN_PASSWORD", default="")
# After a ban signal (403, 429 after retries, captcha page, empty answers) every worker of every
# process stops asking the source for this long.
ETFSYNC_BAN_COOLDOWN_SECONDS = env.int("ETFSYNC_BAN_COOLDOWN_SECONDS", default=900)
# Where a failed or partial scheduled/API run is announced as JSON (empty: nowhere), and the
# address of this site, for the links in notifications.
ETFSYNC_NOTIFY_WEBHOOK_URL = env.str("ETFSYNC_NOTIFY_WEBHOOK_URL", default="")
ETFSYNC_BASE_URL = env.str("ETFSYNC_BASE_URL", default="http://127.0.0.1:8000")
# The API's interactive docs at /api/docs (staff login required); false turns the page off.
ETFSYNC_API_DOCS = env.bool("ETFSYNC_API_DOCS", default=True)
# A close-to-open or close-to-close move beyond this share, with no corporate action that day,
# is recorded as a warning on the price run (most ETFs are limited to 10 % a day).
ETFSYNC_JUMP_THRESHOLD = env.float("ETFSYNC_JUMP_THRESHOLD", default=0.20)
# The weekly cross-check against the source's own backward-adjusted k-lines warns where the
# day's adjustment step differs by more than this (beyond the rounding of its three decimals).
ETFSYNC_CROSSCHECK_TOLERANCE = env.float("ETFSYNC_CROSSCHECK_TOLERANCE", default=0.005)
