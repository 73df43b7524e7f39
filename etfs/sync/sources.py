"""Build provider clients from settings (the only place that knows both)."""

from django.conf import settings

from etfs.providers.eastmoney import EastmoneyClient
from etfs.providers.http import HttpClient, HttpConfig

# The name runs and cooldowns know the source by.
EASTMONEY = "eastmoney"


def eastmoney_client() -> EastmoneyClient:
    http = HttpClient(
        HttpConfig(
            connect_timeout=settings.ETFSYNC_CONNECT_TIMEOUT,
            read_timeout=settings.ETFSYNC_READ_TIMEOUT,
            retries=settings.ETFSYNC_HTTP_RETRIES,
            backoff=settings.ETFSYNC_HTTP_BACKOFF,
            rate_limit=settings.ETFSYNC_RATE_LIMIT,
            rate_limit_dir=settings.ETFSYNC_RATE_LIMIT_DIR,
            user_agent=settings.ETFSYNC_USER_AGENT,
            referer="https://quote.eastmoney.com/",
        )
    )
    return EastmoneyClient(
        http,
        push2_url=settings.ETFSYNC_EASTMONEY_PUSH2_URL,
        push2his_url=settings.ETFSYNC_EASTMONEY_PUSH2HIS_URL,
    )
