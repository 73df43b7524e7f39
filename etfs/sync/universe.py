"""The securities a job works on: a universe, declared by the job (and by what its list
source lists), so that the services ask for "the securities of this job" instead of writing
``is_etf=True`` in each layer.

``is_etf`` stays the seed's marker (indexed with the exchange), set from what the list
source lists. An ETF job never touches a stock row, nor the reverse.
"""

from __future__ import annotations

from dataclasses import dataclass

from etfs.models import StockInfo


@dataclass(frozen=True, slots=True)
class Universe:
    name: str  # "ETFs", in a sentence
    noun: str  # "ETF", one of them
    is_etf: bool

    def securities(self, exchange: str | None = None, *, include_delisted: bool = False):
        """Listed ones unless asked otherwise, optionally of one exchange."""
        return StockInfo.objects.in_universe(
            self.is_etf, exchange, include_delisted=include_delisted
        )

    def every(self):
        """Listed and delisted (their history keeps its bars and events)."""
        return self.securities(include_delisted=True)

    def codes_among(self, codes) -> set[str]:
        """Which of ``codes`` are securities of this universe (delisted ones included)."""
        return set(self.every().filter(code__in=codes).values_list("code", flat=True))

    def others(self, exchange: str):
        """The rows of ``exchange`` that a list of this universe never writes, even when it
        names their code (a source's stray row): the other universe's, so that a stock never
        becomes an ETF by a list sync, nor the reverse. A row stored as no ETF and of no board
        (an old seed's) is no stock of the four boards: the fund list that names it makes it
        an ETF, as ``is_etf`` is set from what the list source lists."""
        other = StockInfo.objects.in_universe(not self.is_etf, exchange, include_delisted=True)
        return other.exclude(board="") if self.is_etf else other

    def writable(self, exchange: str, codes):
        """The stored rows of ``codes`` on ``exchange`` that a list of this universe may write."""
        stored = StockInfo.objects.filter(exchange=exchange, code__in=codes)
        return stored.exclude(pk__in=self.others(exchange).values("pk"))

    def taken(self, exchange: str, codes) -> set[str]:
        """Which of ``codes`` on ``exchange`` are the other universe's (see ``others``)."""
        return set(self.others(exchange).filter(code__in=codes).values_list("code", flat=True))

    def ids_by_code(self) -> dict[str, list[int]]:
        """Code -> security ids (delisted ones too; a code may be on both exchanges)."""
        ids: dict[str, list[int]] = {}
        for pk, code in self.every().values_list("pk", "code"):
            ids.setdefault(code, []).append(pk)
        return ids


ETFS = Universe("ETFs", "ETF", is_etf=True)
STOCKS = Universe("stocks", "stock", is_etf=False)
