"""The provider contract: a source is one module, and no service imports a source module."""

import ast
import datetime as dt
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from etfs.models import DailyBar, StockInfo, SyncStatus
from etfs.providers.base import DailyBarSource, FundListSource, ListPassBarSource
from etfs.sync.lists import sync_etf_lists
from etfs.sync.prices import PriceOptions, sync_etf_prices
from etfs.sync.sources import provider_for, providers_for

ETFS_PACKAGE = Path(__file__).resolve().parents[2] / "etfs"
# The contract and the shared HTTP layer (base re-exports records and bars); every other
# providers module is a source, or part of one.
SHARED_PROVIDER_MODULES = {
    "etfs.providers",
    "etfs.providers.base",
    "etfs.providers.records",
    "etfs.providers.bars",
    "etfs.providers.http",
    "etfs.providers.stocks",  # the stock lists' contract
}

FUNDS = {
    ("588000", "XSHG"): (
        "科创50ETF",
        [
            ("2024-03-01", "1.000", "1.050", "0.990", "1.040", 1000, "1030"),
            ("2024-03-04", "1.040", "1.060", "1.020", "1.050", 2000, "2080"),
        ],
    ),
    ("159915", "XSHE"): (
        "创业板ETF",
        [("2024-03-04", "2.000", "2.100", "1.950", "2.050", 500, "1010")],
    ),
}
NOW = dt.datetime(2024, 3, 5, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def only_the_minimal_source(settings):
    settings.ETFSYNC_PROVIDERS = ["tests.providers.minimal_source.MinimalSource"]
    settings.MINIMAL_SOURCE_FUNDS = FUNDS


def module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path, root: Path = ETFS_PACKAGE) -> set[str]:
    """Every module a file imports, relative imports resolved, ``from a import b`` counted as
    both ``a`` and ``a.b`` (b may be a module)."""
    package = module_name(path, root)
    if path.name != "__init__.py":
        package = package.rpartition(".")[0]
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - node.level + 1]
            module = ".".join(base + ([node.module] if node.module else []))
            if not node.level:
                module = node.module or ""
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def source_imports(root: Path) -> set[str]:
    """The imports of a source module by any module of the package outside etfs/providers."""
    return {
        f"{path.relative_to(root.parent)}: {module}"
        for path in root.rglob("*.py")
        if "providers" not in path.relative_to(root).parts[:1]
        and "migrations" not in path.relative_to(root).parts[:1]
        for module in imported_modules(path, root)
        if module.startswith("etfs.providers.")
        and ".".join(module.split(".")[:3]) not in SHARED_PROVIDER_MODULES
    }


def test_no_service_imports_a_source_module():
    assert source_imports(ETFS_PACKAGE) == set()


@pytest.mark.parametrize(
    "statement",
    [
        "from etfs.providers.eastmoney import EastmoneyClient",
        "from ...providers.eastmoney.client import EastmoneyClient",
        "from ...providers import sse",
        "import etfs.providers.szse",
    ],
)
def test_the_import_rule_reaches_every_subpackage(tmp_path, statement):
    """A forbidden import two levels down (etfs/sync/prices/) is found, however it is spelled."""
    fetching = tmp_path / "etfs" / "sync" / "prices" / "fetching.py"
    fetching.parent.mkdir(parents=True)
    for folder in (fetching.parent, fetching.parent.parent, fetching.parent.parent.parent):
        (folder / "__init__.py").touch()
    fetching.write_text(f"{statement}\n")

    offenders = source_imports(tmp_path / "etfs")
    assert offenders
    assert {offender.partition(":")[0] for offender in offenders} == {
        "etfs/sync/prices/fetching.py"
    }


@pytest.mark.django_db
def test_a_source_in_one_module_serves_the_list_and_the_price_sync(only_the_minimal_source):
    lists = sync_etf_lists()
    prices = sync_etf_prices(PriceOptions(start=dt.date(2024, 1, 1)), now=NOW)

    assert (lists.status, lists.provider) == (SyncStatus.SUCCEEDED, "minimal")
    assert (prices.status, prices.provider) == (SyncStatus.SUCCEEDED, "minimal")
    assert set(StockInfo.objects.etfs().values_list("code", "exchange", "name")) == {
        ("588000", "XSHG", "科创50ETF"),
        ("159915", "XSHE", "创业板ETF"),
    }
    closes = DailyBar.objects.order_by("security__code", "trade_date").values_list(
        "security__code", "trade_date", "close"
    )
    assert [(code, day.isoformat(), str(close)) for code, day, close in closes] == [
        ("159915", "2024-03-04", "2.0500"),
        ("588000", "2024-03-01", "1.0400"),
        ("588000", "2024-03-04", "1.0500"),
    ]
    assert prices.rows_created == 3


@pytest.mark.django_db  # the registry passes over sources in a ban cooldown (database rows)
def test_the_registry_picks_sources_by_capability(only_the_minimal_source, settings):
    settings.ETFSYNC_PROVIDERS = [
        "etfs.providers.eastmoney.EastmoneyClient",
        "tests.providers.minimal_source.MinimalSource",
    ]

    assert [source.name for source in providers_for(FundListSource)] == ["eastmoney", "minimal"]
    assert provider_for(DailyBarSource).name == "eastmoney"
    assert [source.name for source in providers_for(ListPassBarSource)] == ["eastmoney"]


def test_a_missing_capability_or_a_bad_entry_is_a_configuration_error(
    only_the_minimal_source, settings
):
    with pytest.raises(ImproperlyConfigured, match="ListPassBarSource"):
        provider_for(ListPassBarSource)
    settings.ETFSYNC_PROVIDERS = ["etfs.models.StockInfo"]
    with pytest.raises(ImproperlyConfigured, match="not a Provider class"):
        provider_for(DailyBarSource)
    settings.ETFSYNC_PROVIDERS = ["etfs.providers.nowhere.Source"]
    with pytest.raises(ImproperlyConfigured, match="cannot import"):
        provider_for(DailyBarSource)


@pytest.mark.django_db
def test_a_chunk_says_which_source_served_its_parent_too(only_the_minimal_source):
    from tests.factories import make_run

    sync_etf_lists()
    parent = make_run(kind="etf_prices", status="running", scope="etf_prices")
    chunk = make_run(
        kind="etf_prices", status="queued", scope="", parent=parent, parameters={"codes": []}
    )

    sync_etf_prices(PriceOptions(start=dt.date(2024, 1, 1)), run=chunk, now=NOW)

    parent.refresh_from_db()
    assert parent.provider == "minimal"
