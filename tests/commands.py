"""Running a management command in-process, its output captured, as the command tests do."""

import io

from django.core.management import call_command


def run_command(*args, **options) -> str:
    """Run ``manage.py *args``; return what it wrote to stdout (stderr is swallowed)."""
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO(), **options)
    return out.getvalue()
