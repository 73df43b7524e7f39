"""Settings a server must not run with, and the one switch for serving over HTTPS.

The checks run ``manage.py`` (and the WSGI module) in a subprocess on the production settings,
as a deployment would, with the environment given here (it wins over a local .env file).
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.contrib.messages import constants
from django.contrib.messages.storage.base import Message
from django.contrib.messages.storage.cookie import CookieStorage
from django.test import RequestFactory
from django.utils.safestring import mark_safe

PROJECT = Path(__file__).resolve().parent.parent
DEFAULT_KEY = "insecure-dev-key-change-me-in-production"
GOOD_KEY = "a-random-key-of-sixty-characters-for-the-deployment-tests-0123"
REFUSED = (
    "while DEBUG is off: set SECRET_KEY to a random string (./quickstart.sh writes one into .env)"
)


def run(*args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "SECRET_KEY", "DEBUG", "ETFSYNC_", "SECURE_"))
    }
    environment.update(DJANGO_SETTINGS_MODULE="etfsync_site.settings", **env)
    return subprocess.run(
        [sys.executable, *args], cwd=PROJECT, env=environment, capture_output=True, text=True
    )


@pytest.mark.parametrize(
    "key, flaw",
    [
        (DEFAULT_KEY, "is the public default"),
        ("x" * 49, "is shorter than 50 characters"),
        # What Django's own deploy check (security.W009) flags beside the length:
        ("a" * 50, "has fewer than 5 distinct characters"),
        ("abcd" * 20, "has fewer than 5 distinct characters"),
        (
            "django-insecure-" + GOOD_KEY,
            "starts with 'django-insecure-' (a development key)",
        ),
    ],
)
def test_a_command_refuses_to_start_on_a_known_short_or_weak_key(key, flaw):
    result = run("manage.py", "check", SECRET_KEY=key, DEBUG="false")

    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"etfsync refuses to start: SECRET_KEY {flaw} {REFUSED}"
    ]


def test_the_web_server_refuses_to_start_on_the_default_key():
    code = "import django; django.setup(); import etfsync_site.wsgi"
    result = run("-c", code, SECRET_KEY=DEFAULT_KEY, DEBUG="false")

    assert result.returncode != 0
    assert REFUSED in result.stderr.strip().splitlines()[-1]


def test_with_debug_on_the_default_key_is_allowed():
    result = run("manage.py", "check", SECRET_KEY=DEFAULT_KEY, DEBUG="true")

    assert result.returncode == 0, result.stderr


def test_the_https_switch_makes_the_deployment_check_clean():
    without = run("manage.py", "check", "--deploy", SECRET_KEY=GOOD_KEY, DEBUG="false")
    with_https = run(
        "manage.py",
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        SECRET_KEY=GOOD_KEY,
        DEBUG="false",
        ETFSYNC_HTTPS="true",
    )

    for warning in ("W004", "W008", "W012", "W016"):
        assert f"security.{warning}" in without.stderr
    assert with_https.returncode == 0, with_https.stderr
    assert "no issues" in with_https.stdout


def test_behind_a_proxy_its_header_marks_requests_secure():
    result = run(
        "-c",
        "from django.conf import settings; print(settings.SECURE_PROXY_SSL_HEADER)",
        SECRET_KEY=GOOD_KEY,
        BEHIND_TLS_PROXY="true",
    )

    assert result.stdout.strip() == "('HTTP_X_FORWARDED_PROTO', 'https')"


@pytest.mark.django_db
def test_a_forged_messages_cookie_is_never_rendered(client):
    """Messages live in the session: a messages cookie, even one signed with the right key,
    is not read, so nothing in it reaches an admin's page."""
    client.force_login(User.objects.create_superuser("admin", password="unused"))
    forged = CookieStorage(RequestFactory().get("/"))._encode(
        [Message(constants.INFO, mark_safe("<script>alert('forged')</script>"))]
    )
    client.cookies["messages"] = forged

    page = client.get("/admin/").content.decode()

    assert "alert('forged')" not in page


@pytest.mark.django_db
def test_a_new_token_secret_leaves_the_server_only_in_its_page(client):
    client.force_login(User.objects.create_superuser("admin", password="unused"))
    form = {"name": "cron", "owner": User.objects.get().pk, "expires_at_0": "", "expires_at_1": ""}

    created = client.post("/admin/etfs/apitoken/add/", form)
    shown = client.get(created.url)

    assert "messages" not in created.cookies and "messages" not in shown.cookies
    assert "is <code>" in shown.content.decode()


def test_the_quick_start_writes_a_random_key_into_env_once(tmp_path):
    """The quick start's key step, run as the script runs it, twice."""
    script = (PROJECT / "quickstart.sh").read_text()
    start = script.index("# A random SECRET_KEY")
    step = script[start : script.index("\nfi\n", start) + 4]
    (tmp_path / ".venv" / "bin").mkdir(parents=True)
    (tmp_path / ".venv" / "bin" / "python").symlink_to(sys.executable)
    (tmp_path / ".env").write_text("DEBUG=false\n")

    for _ in range(2):
        subprocess.run(["bash", "-euc", step], cwd=tmp_path, check=True)

    lines = (tmp_path / ".env").read_text().splitlines()
    [key_line] = [line for line in lines if line.startswith("SECRET_KEY=")]
    assert lines[0] == "DEBUG=false"
    assert len(key_line.removeprefix("SECRET_KEY=")) >= 50
    result = run("manage.py", "check", SECRET_KEY=key_line.removeprefix("SECRET_KEY="))
    assert result.returncode == 0, result.stderr


def fake_python(folder: Path, name: str, version: tuple[int, int]) -> None:
    """A ``python`` that answers the quick start's version check as ``version`` would, and
    records instead of creating the virtual environment."""
    script = folder / name
    script.write_text(
        "#!/bin/bash\n"
        f'if [ "$1" = --version ]; then echo "Python {version[0]}.{version[1]}.0"; exit 0; fi\n'
        'if [ "$1" = -c ]; then\n'
        f'  exec {sys.executable} -c "import sys; sys.version_info = {version}; $2"\n'
        "fi\n"
        f'echo "{name} $*" > chosen; exit 3\n'
    )
    script.chmod(0o755)


def run_quick_start(tmp_path, *pythons: tuple[str, tuple[int, int]]):
    """The quick start in a copy of its own, on a PATH with only these Pythons (and dirname)."""
    checkout, path = tmp_path / "checkout", tmp_path / "bin"
    checkout.mkdir()
    path.mkdir()
    (checkout / "quickstart.sh").write_text((PROJECT / "quickstart.sh").read_text())
    (path / "dirname").symlink_to("/usr/bin/dirname")
    for name, version in pythons:
        fake_python(path, name, version)
    result = subprocess.run(
        ["/bin/bash", "quickstart.sh"],
        cwd=checkout,
        env={"PATH": str(path)},
        capture_output=True,
        text=True,
    )
    return result, checkout


def test_the_quick_start_says_in_one_line_which_python_it_needs(tmp_path):
    result, _ = run_quick_start(tmp_path, ("python3", (3, 9)), ("python3.10", (3, 10)))

    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "etfsync needs Python 3.11, 3.12 or 3.13 (python3: Python 3.9.0); install one and "
        "run ./quickstart.sh again"
    ]


def test_the_quick_start_takes_a_supported_python_beside_an_old_python3(tmp_path):
    result, checkout = run_quick_start(tmp_path, ("python3", (3, 9)), ("python3.12", (3, 12)))

    assert result.returncode == 3  # the fake's "venv" step: the quick start went on with it
    assert (checkout / "chosen").read_text() == "python3.12 -m venv .venv\n"


@pytest.mark.parametrize(
    ("arguments", "syncs"),
    [
        ((), ["python manage.py sync_etf_lists"]),
        (("--no-sync",), []),
        (("--exchange", "XSHG"), ["python manage.py sync_etf_lists --exchange XSHG"]),
    ],
)
def test_the_quick_start_sets_up_and_syncs_unless_told_not_to(tmp_path, arguments, syncs):
    """Offline (docs/operations.md's recipe) the quick start sets up without its sync; its
    other arguments go to the sync. A ``.venv`` that records the commands it is given."""
    checkout = tmp_path / "checkout"
    (checkout / ".venv" / "bin").mkdir(parents=True)
    (checkout / "quickstart.sh").write_text((PROJECT / "quickstart.sh").read_text())
    for name in ("python", "pip"):
        program = checkout / ".venv" / "bin" / name
        program.write_text(
            "#!/bin/bash\n"
            f'if [ "$1" = -c ]; then exec {sys.executable} "$@"; fi\n'
            f'echo "{name} $*" >> commands\n'
        )
        program.chmod(0o755)

    subprocess.run(["/bin/bash", "quickstart.sh", *arguments], cwd=checkout, check=True)

    commands = (checkout / "commands").read_text().splitlines()
    assert commands[0].startswith("pip install")
    assert [command.split()[2] for command in commands[1:5]] == [
        "migrate",
        "collectstatic",
        "ensure_admin",
        "setup_schedules",
    ]
    assert commands[5:] == syncs
    assert (checkout / ".env").read_text().startswith("SECRET_KEY=")


def test_the_shipped_supervisor_restarts_the_workers_and_calls_a_real_check():
    """deploy/: systemd restarts the cluster when it ends and when check_workers fails; a
    cluster that does not stop on SIGTERM is killed after a timeout."""
    from configparser import ConfigParser

    from django.core.management import get_commands

    def unit(name: str) -> ConfigParser:
        parser = ConfigParser(interpolation=None, strict=False)
        parser.optionxform = str
        parser.read(PROJECT / "deploy" / "systemd" / name)
        return parser

    workers = unit("etfsync-qcluster.service")["Service"]
    check = unit("etfsync-check-workers.service")
    restart = unit("etfsync-qcluster-restart.service")["Service"]
    probe = (PROJECT / "deploy" / "kubernetes" / "qcluster.yaml").read_text()

    assert (workers["Restart"], workers["KillMode"]) == ("always", "mixed")
    assert int(workers["TimeoutStopSec"]) > 0
    assert workers["ExecStart"].endswith("manage.py qcluster")
    assert check["Service"]["ExecStart"].endswith("manage.py check_workers")
    assert check["Unit"]["OnFailure"] == "etfsync-qcluster-restart.service"
    assert restart["ExecStart"].endswith("restart etfsync-qcluster.service")
    assert '"manage.py", "check_workers"' in probe
    assert "check_workers" in get_commands()
