"""Fixtures shared by the event tests: the fake fund data host and a price run against it."""

from tests.sync.test_corporate_actions import fake, synced_prices  # noqa: F401
