"""How a run reads to a person: its progress, rate and time left, its problems grouped by kind.

Reads only; the admin, the front page and the parent-run summary present what these return.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from django.db.models import Count
from django.utils import timezone

from etfs.models import SyncRun

# What varies between two instances of one problem: dates, codes, counts, addresses.
_VARYING = [
    (re.compile(r"\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2})?)?"), "<date>"),
    (re.compile(r"#\d+"), "#<n>"),
    # Counts and codes; an HTTP status stays, it is the kind of problem.
    (re.compile(r"(?<![\w.])(?<!HTTP )\d+(\.\d+)?(?![\w.])"), "<n>"),
    (re.compile(r"0x[0-9a-f]+", re.IGNORECASE), "<address>"),
]
KIND_LENGTH = 160
# Distinct messages read to build the groups; a run with more shows the most frequent ones.
MESSAGE_LIMIT = 5000


def problem_kind(message: str) -> str:
    """The part of a message that names the kind of problem, with the varying bits masked.

    "511010: cannot reach push2his…" and "159915: cannot reach push2his…" are one kind; so are
    "chunk #11 cancelled: cancelled on request" and "chunk #12 …".
    """
    text = " ".join(message.split())
    for pattern, replacement in _VARYING:
        text = pattern.sub(replacement, text)
    if len(text) > KIND_LENGTH:
        text = text[: KIND_LENGTH - 1] + "…"
    return text


@dataclass
class ProblemGroup:
    severity: str
    kind: str
    count: int = 0
    codes: list[str] = field(default_factory=list)  # the first few, as examples
    code_count: int = 0  # how many different codes the kind has

    @property
    def more_codes(self) -> int:
        return max(0, self.code_count - len(self.codes))


def grouped_problems(run: SyncRun, examples: int = 5) -> list[ProblemGroup]:
    """A run's problems grouped by severity and kind, the most frequent first, each with a few
    of its codes and how many codes it has in all.

    Ties come in message order, so the examples shown are the same on every server (without
    it PostgreSQL 15 and 18 returned the equal counts in different orders).
    """
    rows = (
        run.errors.order_by()
        .values_list("severity", "message", "code")
        .annotate(n=Count("id"))
        .order_by("-n", "severity", "message", "code")[:MESSAGE_LIMIT]
    )
    groups: dict[tuple[str, str], ProblemGroup] = {}
    codes: dict[tuple[str, str], set[str]] = {}
    for severity, message, code, count in rows:
        key = (severity, problem_kind(message))
        group = groups.setdefault(key, ProblemGroup(severity, key[1]))
        group.count += count
        if code and code not in codes.setdefault(key, set()):
            codes[key].add(code)
            group.code_count += 1
    for key, group in groups.items():
        group.codes = sorted(codes.get(key, ()))[:examples]
    return sorted(groups.values(), key=lambda group: (-group.count, group.severity, group.kind))


# A note that counts the chunk's own items ("12 ETF(s) have no bar for 2026-11-27: ..."): the
# chunks hold different ETFs, so the parent's note is the sum. "3 of 50 ETF(s) failed" is not
# one: its "of" total and its first error belong to its chunk.
_COUNTED_NOTE = re.compile(r"^(\d+) (?!of )(.+)$")


def chunk_summary(chunks: list[tuple[int, str, str]]) -> str:
    """The whole run's notes from its chunks' summaries.

    Notes that count the chunk's items add up into one ("61 ETF(s) have no bar ...", not one
    chunk's "50"); the other notes read one line per kind of chunk outcome instead of one per
    chunk. ``chunks`` holds (id, status, error summary); chunks without a summary are left out.
    """
    totals: dict[str, int] = {}
    groups: dict[tuple[str, str], list[tuple[int, str]]] = {}
    for pk, status, text in chunks:
        rest = []
        for note in filter(None, (part.strip() for part in (text or "").split("; "))):
            counted = _COUNTED_NOTE.match(note)
            if counted:
                totals[counted[2]] = totals.get(counted[2], 0) + int(counted[1])
            else:
                rest.append(note)
        if rest:
            outcome = "; ".join(rest)
            groups.setdefault((status, problem_kind(outcome)), []).append((pk, outcome))
    parts = [f"{count} {note}" for note, count in totals.items()]
    for (status, _), members in sorted(groups.items(), key=lambda item: -len(item[1])):
        ids = [f"#{pk}" for pk, _ in members]
        if len(ids) > 6:
            ids = [*ids[:3], "…", ids[-1]]
        label = "chunk" if len(members) == 1 else f"{len(members)} chunks"
        parts.append(f"{label} {', '.join(ids)} {status}: {members[0][1]}")
    return "; ".join(parts)


@dataclass(frozen=True)
class RunProgress:
    done: int
    total: int
    elapsed: dt.timedelta | None
    items_per_minute: float | None
    rows_per_second: float | None
    time_left: dt.timedelta | None
    # Since when the rate is measured: the first item done one by one (or the start).
    measured_since: dt.datetime | None = None

    @property
    def percent(self) -> int:
        return int(100 * self.done / self.total) if self.total else 0


def run_progress(run: SyncRun, now: dt.datetime | None = None) -> RunProgress:
    """Progress of a run, with its rate and the time left at that rate while it is active.

    The rate is measured from the first item done one by one: the time before it (planning, a
    list pass, the queue of a chunk) and the items done at once before it (up to date, taken
    from the list) say nothing about the pace of the items left. A run without such an item
    (one from before first_item_at was kept, or all done at once) is measured from its start.
    """
    now = now or timezone.now()
    end = run.finished_at or now
    elapsed = end - run.started_at if run.started_at else None
    done, total = run.items_done, run.items_total
    rows = run.rows_created + run.rows_updated + run.rows_unchanged
    since, paced = run.started_at, done
    if run.first_item_at:
        since, paced = run.first_item_at, done - run.items_before_first_item
    seconds = (end - since).total_seconds() if since else 0
    items_per_minute = 60 * paced / seconds if seconds > 0 and paced > 0 else None
    time_left = None
    if items_per_minute and not run.is_final and total > done:
        time_left = dt.timedelta(seconds=60 * (total - done) / items_per_minute)
    return RunProgress(
        done=done,
        total=total,
        elapsed=elapsed,
        items_per_minute=items_per_minute,
        rows_per_second=rows / seconds if seconds > 0 and rows else None,
        time_left=time_left,
        measured_since=since if items_per_minute else None,
    )
