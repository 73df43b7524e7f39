"""The paging guard every paged source keeps (etfs/providers/paging.py)."""

import pytest

from etfs.providers.base import ProviderDataError
from etfs.providers.paging import PageGuard


def test_new_rows_pass_and_a_page_of_old_ones_ends_the_paging():
    guard = PageGuard("a list")

    assert guard.fresh([{"code": "1"}, {"code": "2"}]) == [{"code": "1"}, {"code": "2"}]
    assert not guard.exhausted
    assert guard.fresh([{"code": "2"}, {"code": "3"}]) == [{"code": "3"}]
    assert not guard.exhausted
    assert guard.fresh([{"code": "1"}]) == []
    assert guard.exhausted


def test_an_empty_page_ends_the_paging():
    guard = PageGuard("a list")
    guard.fresh([1])

    assert guard.fresh([]) == [] and guard.exhausted


def test_a_page_that_repeats_the_previous_one_is_a_paging_fault():
    guard = PageGuard("SZSE report 1945")
    guard.fresh([["159915", "创业板ETF"]])

    with pytest.raises(ProviderDataError, match="SZSE report 1945: page 2 repeats page 1"):
        guard.fresh([["159915", "创业板ETF"]])


def test_rows_no_text_can_show_are_still_told_apart():
    guard = PageGuard("a list")

    assert len(guard.fresh([[10**5000], [10**5000 + 1]])) == 2
