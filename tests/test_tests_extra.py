"""The ``tests`` extra brings everything the suite needs, PyAV included.

About 30 tests (the video demo's, the video reader's) skip where PyAV is missing
(``pytest.importorskip('av')``): an install whose ``tests`` extra stopped pulling in
PyAV would pass with those tests silently skipped. These tests fail instead. The
oracle is the installed distribution's metadata (``importlib.metadata``), which pip
wrote from ``setup.py`` at install time, against ``requirements/tests.txt`` (with the
files it includes), where the extra is declared.
"""
from __future__ import annotations

import importlib
import re
from importlib.metadata import PackageNotFoundError, distribution, version
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
INSTALL = "pip install -e '.[tests]'"


def requirement_name(line: str) -> str:
    """``'av>=12.0; extra == "tests"'`` -> ``'av'`` (normalised as pip does)."""
    return re.sub(r'[-_.]+', '-', re.split(r'[<>=!~\[; ]', line.strip(), maxsplit=1)[0]).lower()


def declared(name: str = 'tests') -> set[str]:
    """The distributions that ``requirements/{name}.txt`` names, following ``-r`` includes."""
    names = set()
    for line in (REPO_ROOT / 'requirements' / f'{name}.txt').read_text().splitlines():
        line = line.split('#', 1)[0].strip()
        if line.startswith('-r'):
            names |= declared(Path(line[2:].strip()).stem)
        elif line and not line.startswith('-'):
            names.add(requirement_name(line))
    return names


def installed_extra(extra: str = 'tests') -> set[str]:
    """The distributions of catravs' installed metadata for ``extra``."""
    requires = distribution('catravs').requires or []
    return {requirement_name(r) for r in requires
            if re.search(rf'extra\s*==\s*["\']{extra}["\']', r)}


def test_the_installed_tests_extra_holds_what_requirements_declare():
    want, got = declared('tests'), installed_extra('tests')
    assert 'av' in want, 'requirements/tests.txt no longer includes PyAV (video.txt)'
    missing = sorted(want - got)
    assert not missing, (f"catravs' installed 'tests' extra lacks {missing}, which "
                         'requirements/tests.txt declares: setup.py must add them to the '
                         f'extra (then {INSTALL} again)')


def test_every_distribution_of_the_tests_extra_is_installed():
    extra = installed_extra('tests')
    assert 'av' in extra, "catravs' installed 'tests' extra does not include PyAV"
    missing = []
    for name in sorted(extra):
        try:
            version(name)
        except PackageNotFoundError:
            missing.append(name)
    assert not missing, f'not installed: {missing}; {INSTALL}'


def test_pyav_imports():
    """Where the tests extra is installed, ``import av`` works (so nothing skips)."""
    try:
        importlib.import_module('av')
    except ImportError as err:
        raise AssertionError(f'PyAV does not import ({err}); the video tests would skip. '
                             f'{INSTALL}') from err
