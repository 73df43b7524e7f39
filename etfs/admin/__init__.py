"""The admin, one module per area; importing them registers their pages."""

from . import bars, calendar, corporate_actions, revisions, runs, securities, tokens  # noqa: F401
