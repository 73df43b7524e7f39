"""Bad input: malformed answers become per-item problems kept for inspection, never a crash of
the run or a traceback in the admin; bad command-line arguments get one line and exit 2."""

import datetime as dt
import os
import subprocess
import sys

import pytest
from django.urls import reverse
from django.utils.html import escape

from etfs.models import SyncRunError, SyncStatus
from etfs.sync.lists import sync_etf_lists
from tests.bars import assert_same_bars, served_bars, stored_bars
from tests.reliability.conftest import LIST, PROJECT, sync_prices

CODE = "510001"
ERROR, REJECTED = SyncRunError.Severity.ERROR, SyncRunError.Severity.REJECTED


def assert_the_admin_shows(client, run, *errors: SyncRunError) -> None:
    """The run's page renders (no traceback) and shows each problem and its offending answer."""
    page = client.get(reverse("admin:etfs_syncrun_change", args=[run.pk]))
    assert page.status_code == 200
    content = page.content.decode()
    for error in errors:
        assert escape(error.message) in content
        assert escape(error.detail[:300]) in content
    listing = client.get(
        reverse("admin:etfs_syncrunerror_changelist") + f"?run__id__exact={run.pk}"
    )
    assert listing.status_code == 200


@pytest.mark.django_db(transaction=True)
class TestMalformedKlines:
    """One fund's k-line answer is malformed; the other five are stored."""

    def others(self, server) -> dict:
        return served_bars(server, codes={f.code for f in server.funds.values()} - {CODE})

    @pytest.mark.parametrize(
        ("fault", "reason", "offending"),
        [
            ("truncated", "sent invalid JSON: ", '{"rc": 0, "rt": 6'),
            ("jsonp", "sent invalid JSON (JSONP-wrapped?)", 'jQuery1124({"rc": 0'),
            ("wrong-shape", f"k-lines {CODE}: 'data' has no 'klines'", '"items": [1, 2, 3]'),
            ("data-null", "the source knows no such security (data is null)", '"data": null'),
        ],
    )
    def test_a_malformed_answer_fails_only_its_fund_and_keeps_the_answer(
        self, server, admin_client, fault, reason, offending
    ):
        server.fail(fault, times=None, code=CODE)  # it persists: asking again does not help

        run = sync_prices()

        assert run.status == SyncStatus.PARTIAL
        assert (run.items_done, run.items_failed) == (6, 1)
        [error] = run.errors.all()
        assert (error.code, error.severity) == (CODE, ERROR)
        assert reason in error.message
        assert reason in run.error_summary
        assert offending in error.detail
        assert len(error.detail) <= 2000
        assert_same_bars(stored_bars(), self.others(server))
        assert_the_admin_shows(admin_client, run, error)

    def test_garbage_bars_are_rejected_one_by_one_with_their_line(self, server, admin_client):
        server.fail("garbage", code=CODE)

        run = sync_prices()

        # The fund answered, but not one of its bars was good: it failed, the run is partial.
        assert run.status == SyncStatus.PARTIAL
        assert (run.items_done, run.items_failed) == (6, 1)
        rejected = list(run.errors.filter(severity=REJECTED))
        served = len(served_bars(server, codes={CODE}))
        assert len(rejected) == run.rows_rejected == served
        assert {(error.code, error.severity) for error in rejected} == {(CODE, REJECTED)}
        failed = run.errors.get(severity=ERROR)
        assert failed.message == (
            f"k-lines {CODE}: every one of the {served} row(s) was rejected; first: "
            f"{rejected[0].message}"
        )
        assert run.error_summary == (
            f"1 of 6 ETF(s) failed, first: {CODE}: {failed.message}; "
            f"{served} bar(s) rejected by sanity checks"
        )
        reasons = " | ".join(error.message for error in rejected)
        for reason in (
            "'abc' is not a number",
            "close is negative",
            "high 0.001 is below open/close",
            "k-line has 4 fields, expected 11",
            "bad date '2024-02-30'",
            "volume or amount is a placeholder",
            "volume '0x10' is not a number",
            "implausibly large",
        ):
            assert reason in reasons
        assert all(error.detail.count(",") in (3, 10) for error in rejected)  # the k-line
        assert_same_bars(stored_bars(), self.others(server))
        assert_the_admin_shows(admin_client, run, *rejected[:8])

    def test_a_captcha_page_is_a_ban_and_the_page_is_kept(self, server, admin_client):
        server.ban_from(CODE, "html")

        run = sync_prices()

        assert run.status in (SyncStatus.PARTIAL, SyncStatus.FAILED)
        error = run.errors.get(severity=ERROR)
        assert "sent an HTML page instead of JSON" in error.message
        assert "<title>访问受限</title>" in error.detail
        assert_the_admin_shows(admin_client, run, error)


@pytest.mark.django_db(transaction=True)
class TestMalformedLists:
    @pytest.mark.parametrize(
        ("fault", "reason", "offending"),
        [
            ("truncated", "sent invalid JSON: ", '{"rc": 0, "rt": 6'),
            ("jsonp", "sent invalid JSON (JSONP-wrapped?)", "jQuery1124("),
            ("diff-object", "'data.diff' is an object keyed by position", '"diff": {"0": {'),
            ("wrong-shape", "'data.total' is None, expected a count", '"items": [1, 2, 3]'),
            ("html", "sent an HTML page instead of JSON", "<title>访问受限</title>"),
        ],
    )
    def test_a_malformed_list_fails_the_run_with_the_answer_kept(
        self, fake_eastmoney, admin_client, fault, reason, offending
    ):
        fake_eastmoney.fail(fault, times=None, path=LIST)

        run = sync_etf_lists()

        assert run.status == SyncStatus.FAILED
        assert run.error_summary.startswith("could not fetch the ETF list: ")
        assert reason in run.error_summary
        error = run.errors.get(severity=ERROR)
        assert reason in error.message
        assert offending in error.detail
        assert_the_admin_shows(admin_client, run, error)

    def test_a_list_answer_without_data_stores_and_delists_nothing(self, fake_eastmoney):
        sync_etf_lists()
        fake_eastmoney.fail("data-null", path=LIST)

        run = sync_etf_lists()

        assert run.status == SyncStatus.PARTIAL
        assert "XSHG: the source listed no funds; nothing marked delisted" in run.error_summary
        assert run.rows_delisted == 0


# --- the command line --------------------------------------------------------------------------

BAD_ARGUMENTS = {
    "start-year-not-a-number": (
        ["sync_etf_prices", "--start-year", "abc"],
        "error: argument --start-year: invalid int value: 'abc'",
    ),
    # Dates go through the API's limits (etfs.limits): one line, like the API's 400.
    "start-not-a-date": (
        ["sync_etf_prices", "--start", "2024-13-01"],
        "CommandError: --start: 2024-13-01 is not a calendar date",
    ),
    "end-not-a-date": (
        ["sync_etf_prices", "--end", "yesterday"],
        "CommandError: --end: 'yesterday' is not a date written YYYY-MM-DD",
    ),
    # Python 3.11's fromisoformat reads these three; the command must not.
    "start-not-iso": (
        ["sync_etf_prices", "--start", "20240101"],
        "CommandError: --start: '20240101' is not a date written YYYY-MM-DD",
    ),
    "start-in-year-one": (
        ["sync_etf_prices", "--start", "0001-01-01"],
        "CommandError: --start: must be from 1990-01-01 to today",
    ),
    "start-in-the-future": (
        ["sync_etf_prices", "--start", f"{dt.date.today().year + 4}-01-01"],
        "CommandError: --start: must be from 1990-01-01 to today",
    ),
    "full-and-start": (
        ["sync_etf_prices", "--full", "--start", "2024-01-01"],
        "error: argument --start: not allowed with argument --full",
    ),
    "start-year-out-of-range": (
        ["sync_etf_prices", "--start-year", "1800"],
        ("CommandError: --start-year", "1990"),
    ),
    "start-after-end": (
        ["sync_etf_prices", "--start", "2024-03-01", "--end", "2024-01-01"],
        ("CommandError: --start", "2024-03-01", "2024-01-01"),
    ),
    "unknown-exchange": (
        ["sync_etf_lists", "--exchange", "XXXX"],
        "error: argument --exchange: invalid choice: 'XXXX'",
    ),
}


@pytest.fixture(scope="module")
def command_results() -> dict:
    """Run every bad command line at once (each is a Django start-up); name -> result."""
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "etfsync_site.settings_test"}
    processes = {
        name: subprocess.Popen(
            [sys.executable, "manage.py", *arguments],
            cwd=PROJECT,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name, (arguments, _) in BAD_ARGUMENTS.items()
    }
    results = {}
    for name, process in processes.items():
        stdout, stderr = process.communicate(timeout=60)
        results[name] = (process.returncode, stdout, stderr)
    return results


@pytest.mark.parametrize("name", BAD_ARGUMENTS)
def test_a_bad_argument_is_one_line_and_exit_status_2(command_results, name):
    returncode, stdout, stderr = command_results[name]
    expected = BAD_ARGUMENTS[name][1]
    expected = (expected,) if isinstance(expected, str) else expected

    assert returncode == 2, stderr
    assert stdout == ""
    assert "Traceback" not in stderr
    lines = stderr.strip().splitlines()
    # argparse prints its usage first; the error itself is one line, the last.
    errors = [line for line in lines if "error:" in line.lower()]
    assert errors == [lines[-1]]
    assert all(fragment in lines[-1] for fragment in expected)
    if expected[0].startswith("CommandError"):
        assert len(lines) == 1  # no usage: the arguments parsed, their values did not fit
