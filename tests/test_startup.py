"""What a command's start-up leaves out, and what it must not: the garbage collector is paused
while Django starts (etfsync_site/startup.py) and on again for the command; the admin's pages
are registered by the URL configuration and the admin's check, not at start-up
(etfsync_site/admin_app.py)."""

from tests.test_deployment import GOOD_KEY, run

REPORT = (
    "import gc; print(gc.isenabled(), gc.get_freeze_count() > 10_000, gc.get_threshold()[0] > 0)"
)


def test_a_command_runs_with_the_collector_on_and_start_up_frozen():
    result = run("manage.py", "shell", "--no-imports", "-c", REPORT, SECRET_KEY=GOOD_KEY)

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "True", "True"]


def test_a_server_started_without_manage_py_keeps_its_collector():
    script = "import django, gc; django.setup(); print(gc.isenabled(), gc.get_freeze_count() == 0)"
    result = run("-c", script, SECRET_KEY=GOOD_KEY)

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "True"]


def test_a_command_starts_without_the_admin_s_pages_and_the_check_still_sees_them():
    script = (
        "from django.contrib import admin; from django.core import checks; "
        "print(len(admin.site._registry)); "
        "problems = checks.run_checks(tags=[checks.Tags.admin]); "
        "print(len(admin.site._registry) > 10, problems == [])"
    )
    result = run("manage.py", "shell", "--no-imports", "-c", script, SECRET_KEY=GOOD_KEY)

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["0", "True", "True"]
