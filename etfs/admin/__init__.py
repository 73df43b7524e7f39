"""The admin, one module per area; importing them registers their pages."""

from . import (  # noqa: F401
    bars,
    calendar,
    corporate_actions,
    revisions,
    runs,
    schedules,
    securities,
    tokens,
)
