"""A problem of a run, as one typed record: what went wrong, how badly, with which security.

Every problem a service records goes through ``RunRecorder.record``, which stores it as a
``SyncRunError`` row and counts it in the same transaction: a run's ``warnings`` is the number
of its warning rows and ``rows_rejected`` the number of its rejected rows, by construction.
"""

from __future__ import annotations

from dataclasses import dataclass

from etfs.models import SyncRunError
from etfs.providers.base import RowProblem

Severity = SyncRunError.Severity

MESSAGE_LIMIT = 2000
DETAIL_LIMIT = 2000

# The counter each severity adds to; an error is counted by the service that knows what it
# cost (``items_failed`` for a fund, nothing for a refused list that stops the run).
COUNTED = {Severity.WARNING: "warnings", Severity.REJECTED: "rows_rejected"}
DERIVED_COUNTERS = frozenset(COUNTED.values())

# Codes of problems that a page reads back (stored fields, never the message text).
LIST_DIFFERENCE = "list-difference"


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem: ``code`` is the security's code (or a problem code such as
    LIST_DIFFERENCE), ``detail`` the offending answer or row."""

    message: str
    severity: Severity = Severity.ERROR
    code: str = ""
    detail: str | bytes | None = ""
    security_id: int | None = None
    # What kind of warning it is, for the run's summary ("2 warning(s) about suspicious
    # units"); not stored. Warnings without a kind are summed as "other".
    kind: str = ""

    @classmethod
    def warning(cls, message: str, **fields) -> Problem:
        return cls(message, Severity.WARNING, **fields)

    @classmethod
    def of_row(cls, problem: RowProblem, security_id: int | None = None) -> Problem:
        """A row a parser refused (rejected) or accepted with a doubt (warning)."""
        if problem.fatal:
            return cls(
                problem.message, Severity.REJECTED, problem.code or "", problem.row, security_id
            )
        kind = problem.kind or "other"
        return cls(
            problem.message, Severity.WARNING, problem.code or "", problem.row, security_id, kind
        )

    @classmethod
    def of_error(cls, error: Exception, *, code: str = "", security_id: int | None = None):
        """An error with the source's answer, when it kept one, as the detail."""
        detail = getattr(error, "body", "") or ""
        return cls(str(error), Severity.ERROR, code, detail, security_id)

    def as_row(self, run_id: int) -> SyncRunError:
        return SyncRunError(
            run_id=run_id,
            message=str(self.message)[:MESSAGE_LIMIT],
            code=self.code or "",
            severity=self.severity,
            detail=_text(self.detail)[:DETAIL_LIMIT],
            security_id=self.security_id,
        )


def _text(detail: str | bytes | None) -> str:
    if not detail:
        return ""
    if isinstance(detail, bytes):
        return detail.decode("utf-8", errors="replace")
    return str(detail)
