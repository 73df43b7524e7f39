"""The admin, one module per area; importing them registers their pages."""

from . import runs, securities, tokens  # noqa: F401
