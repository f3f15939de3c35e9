"""The suite's collection order: slow-tier tests first when both tiers run
(tests/conftest.py), so that pytest-xdist starts the long tests first."""
import types

from tests.conftest import pytest_collection_modifyitems


class _Item:
    def __init__(self, name: str, slow: bool):
        self.name, self.slow = name, slow

    def get_closest_marker(self, name):
        return object() if name == 'slow' and self.slow else None


def test_slow_tests_are_ordered_first_and_the_rest_kept():
    flags = [False, True, False, False, True, False, True]
    items = [_Item(f't{i}', slow) for i, slow in enumerate(flags)]
    config = types.SimpleNamespace(option=types.SimpleNamespace(loadgroup=False))
    pytest_collection_modifyitems(config, items)
    assert [i.name for i in items] == ['t1', 't4', 't6', 't0', 't2', 't3', 't5']
