"""The suite's collection order: slow-tier tests first when both tiers run
(tests/conftest.py), so that pytest-xdist starts the long tests first."""
import subprocess
import sys

from tests.conftest import REPO_ROOT


def test_slow_tests_are_collected_first():
    module = 'tests/models/test_tpavi_parity.py'  # fast and slow tests, interleaved in the file
    out = subprocess.run(
        [sys.executable, '-m', 'pytest', '--collect-only', '-q', '-p', 'no:cacheprovider',
         '-p', 'no:xdist', '-m', 'slow or not slow', module],
        cwd=REPO_ROOT, capture_output=True, text=True, check=True).stdout
    ids = [line for line in out.splitlines() if line.startswith(module)]
    slow = subprocess.run(
        [sys.executable, '-m', 'pytest', '--collect-only', '-q', '-p', 'no:cacheprovider',
         '-p', 'no:xdist', '-m', 'slow', module],
        cwd=REPO_ROOT, capture_output=True, text=True, check=True).stdout
    slow_ids = [line for line in slow.splitlines() if line.startswith(module)]
    assert 0 < len(slow_ids) < len(ids)
    assert ids[:len(slow_ids)] == slow_ids  # the slow ones first, in file order
    assert sorted(ids[len(slow_ids):]) == sorted(set(ids) - set(slow_ids))
