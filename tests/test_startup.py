"""A command starts with the garbage collector paused (etfsync_site/startup.py) and runs with it
on again: a command that forgot to turn it back on would grow without bound."""

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
