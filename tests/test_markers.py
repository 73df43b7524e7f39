"""The markers of the fast inner loop (CONTRIBUTING.md) reach the tests they name."""

from pathlib import Path

import pytest

from tests.conftest import BROWSER_TESTS, pytest_collection_modifyitems


class CollectedTest:
    """What the hook reads of a collected test: its path, its fixtures, its markers."""

    def __init__(self, path: Path, fixturenames=()):
        self.path = path
        self.fixturenames = list(fixturenames)
        self.markers: list[str] = []

    def add_marker(self, marker):
        self.markers.append(marker.name)


def test_a_test_that_starts_a_cluster_is_a_qcluster_test_wherever_it_lives():
    here = Path(__file__)
    starts_one = CollectedTest(here, ["db", "start_qcluster"])
    does_not = CollectedTest(here, ["db", "fake_eastmoney"])

    pytest_collection_modifyitems(None, [starts_one, does_not])

    assert starts_one.markers == ["qcluster"]
    assert does_not.markers == []


def test_every_test_in_the_browser_folder_is_a_browser_test():
    in_folder = CollectedTest(BROWSER_TESTS / "test_pages.py")

    pytest_collection_modifyitems(None, [in_folder])

    assert in_folder.markers == ["browser"]


@pytest.mark.parametrize("marker", ["browser", "qcluster", "soak"])
def test_the_inner_loop_markers_are_declared(pytestconfig, marker):
    declared = [line.split(":")[0] for line in pytestconfig.getini("markers")]
    assert marker in declared
