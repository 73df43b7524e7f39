"""The stock list job: A shares of the four boards, checked against the exchanges' lists.

``service`` reads the lists and decides; ``rows`` writes the stock rows and their names.
"""

from .service import StockListSources, sync_stock_lists

__all__ = ["StockListSources", "sync_stock_lists"]
