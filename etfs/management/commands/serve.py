"""One command for the whole service on one machine: the web server and the django-q2 workers.

Processes are run and stopped by honcho (the Python Foreman: a Procfile runner), whose manager
prefixes each line with the process's name, stops the other process when one ends, and on
Ctrl-C stops both (SIGTERM to each process group, SIGKILL after 5 s). Production runs the two
under a supervisor instead (docs/operations.md).
"""

from __future__ import annotations

import shlex
import sys

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from honcho.manager import SIGNALS, Manager
from honcho.printer import Printer

STOPPED_ON_REQUEST = {details["rc"] for details in SIGNALS.values()}  # Ctrl-C, SIGTERM


class Command(BaseCommand):
    help = (
        "Run the web server (the admin at http://ADDRESS/admin/) and the django-q2 workers "
        "together, on the configured database; Ctrl-C stops both."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "address",
            nargs="?",
            default="127.0.0.1:8000",
            help="Where the web server listens (runserver's [ip:]port; 127.0.0.1:8000).",
        )

    def handle(self, *args, address: str, **options):
        manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
        manager = Manager(Printer(self.stdout))
        # --noreload: the service is run, not developed; one web process to stop, not two.
        manager.add_process("web", shlex.join([*manage, "runserver", "--noreload", address]))
        manager.add_process("worker", shlex.join([*manage, "qcluster"]))
        manager.loop()
        status = manager.returncode
        if status and status not in STOPPED_ON_REQUEST:
            raise CommandError(
                f"a process stopped by itself (status {status}); the other was stopped too",
                returncode=status,
            )
