"""Eastmoney: the primary fund list, daily k-lines, the trading days and the fund events.

- ``wire``: what every push2/push2his answer shares (market ids, the envelope, number cells);
- ``klines``: the one k-line request builder (bars, the calendar index, the adjusted-close
  cross-check) and the parsers of its answers;
- ``clist``: the ETF boards' list with the day's quote, its parser and its paging;
- ``client``: ``EastmoneyClient``, the source of lists, bars, day bars and trading days;
- ``stocks``: the A-share boards and the risk-warning board through the same list request,
  and ``EastmoneyStockList``, the source of the stock list and the stocks' list pass;
- ``fund_actions`` / ``fund_data``: the fund data host's dividend and split lists, parsed, and
  ``EastmoneyFundsClient``, the source of corporate actions.
- ``datacenter`` / ``stock_events``: the datacenter's stock dividend, rights-issue and
  suspension reports, parsed, and ``EastmoneyDatacenter``, the source of the stocks'
  corporate actions and of every security's suspensions.

The sources are importable from here (``etfs.providers.eastmoney.EastmoneyClient``).
"""

from .client import EastmoneyClient
from .fund_data import EastmoneyFundsClient
from .stock_events import EastmoneyDatacenter
from .stocks import EastmoneyStockList

__all__ = ["EastmoneyClient", "EastmoneyDatacenter", "EastmoneyFundsClient", "EastmoneyStockList"]
