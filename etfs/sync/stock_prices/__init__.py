"""The stock price job: the price sync (etfs/sync/prices) on the stocks' universe.

The same k-line endpoint, upsert, revisions, freshness, gaps and fan-out as the ETFs'; the
after-close pass reads the four A-share boards, and a delisted stock's history ends at its
delisting date.
"""
