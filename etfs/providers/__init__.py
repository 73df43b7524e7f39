"""Clients for the remote market-data APIs: I/O in fetch functions, pure parsing beside them."""
