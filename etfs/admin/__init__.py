"""The admin, one module per area; importing them registers their pages."""

from . import calendar, corporate_actions, runs, securities, tokens  # noqa: F401
