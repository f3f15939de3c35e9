"""What is imported is declared, and what is declared is used.

Every third-party module that ``catravs/``, ``tools/``, ``projects/`` or ``tests/``
imports (read with ``ast``, function-level imports included) must belong to a
distribution named in ``requirements/*.txt``; every distribution named there must be
imported somewhere, or be listed in :data:`USED_WITHOUT_IMPORT` with the reason.
Modules map to distributions through the installed metadata
(``importlib.metadata.packages_distributions``), the oracle pip itself uses.
"""
from __future__ import annotations

import ast
import re
import sys
from importlib.metadata import packages_distributions
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
SOURCE_DIRS = ('catravs', 'tools', 'projects', 'tests')

#: declared distributions that no module imports, and why they are needed
USED_WITHOUT_IMPORT = {
    'tensorboard': "MMEngine's TensorboardVisBackend (configs' vis_backends) needs it",
    'pytest-xdist': 'pytest -n 2 (the README test command)',
    'ruff': 'the linter (a command)',
}


def normalise(name: str) -> str:
    return re.sub(r'[-_.]+', '-', name).lower()


def declared() -> dict[str, str]:
    """``{distribution: requirements file}`` over ``requirements/*.txt``."""
    found = {}
    for path in sorted((REPO_ROOT / 'requirements').glob('*.txt')):
        for line in path.read_text().splitlines():
            line = line.split('#', 1)[0].strip()
            if line and not line.startswith('-'):
                found[normalise(re.split(r'[<>=!~\[; ]', line, maxsplit=1)[0])] = path.name
    return found


def imported_top_modules(paths) -> dict[str, str]:
    """``{top-level module: first file:line that imports it}`` (absolute imports only)."""
    found: dict[str, str] = {}
    for path in paths:
        tree = ast.parse(path.read_text(encoding='utf-8'), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                found.setdefault(name.split('.')[0],
                                 f'{path.relative_to(REPO_ROOT)}:{node.lineno}')
    return found


def first_party_names() -> set[str]:
    """Top-level names importable from the repository itself: its packages (``catravs``,
    ``tools``, ``projects``, ``tests``), and the tool scripts, which import sibling scripts
    by their bare name (a script's folder is ``sys.path[0]``). A sub-package's name
    (``catravs/datasets``, ``tests/datasets``) is no top-level name: ``import datasets``
    is the third-party package."""
    names = set(SOURCE_DIRS)
    names.update(path.stem for path in (REPO_ROOT / 'tools').rglob('*.py'))
    return names


def check(imports: dict[str, str], requirements: dict[str, str],
          module_to_dists: dict[str, list[str]], local: set[str]) -> list[str]:
    problems, used = [], set()
    for module, where in sorted(imports.items()):
        if module in sys.stdlib_module_names or module in local or module == '__future__':
            continue
        dists = [normalise(d) for d in module_to_dists.get(module, [])]
        if not dists:
            problems.append(f"'{module}' ({where}) is imported but no installed distribution "
                            'provides it')
        elif not set(dists) & set(requirements):
            problems.append(f"'{module}' ({where}) is imported but its distribution "
                            f"{dists[0]} is not declared in requirements/")
        used.update(dists)
    for dist, file in sorted(requirements.items()):
        if dist not in used and dist not in USED_WITHOUT_IMPORT:
            problems.append(f'{dist} is declared in requirements/{file} but nothing imports it')
    return problems


def test_imports_are_declared_and_declarations_used():
    paths = [p for folder in SOURCE_DIRS for p in sorted((REPO_ROOT / folder).rglob('*.py'))]
    imports = imported_top_modules(paths)
    assert {'torch', 'mmengine', 'einops', 'PIL'} <= set(imports)
    assert check(imports, declared(), packages_distributions(), first_party_names()) == []


def test_the_check_finds_both_kinds_of_problem():
    module_to_dists = {'PIL': ['Pillow'], 'yaml': ['PyYAML'], 'torch': ['torch']}
    problems = check({'PIL': 'a.py:1', 'torch': 'b.py:2', 'os': 'c.py:3', 'mine': 'd.py:4'},
                     {'torch': 'runtime.txt', 'pyyaml': 'runtime.txt'},
                     module_to_dists, local={'mine'})
    assert problems == [
        "'PIL' (a.py:1) is imported but its distribution pillow is not declared in "
        'requirements/',
        'pyyaml is declared in requirements/runtime.txt but nothing imports it']


def test_a_third_party_module_named_like_a_sub_package_is_not_first_party():
    """``import datasets`` (Hugging Face's) is third party, though ``catravs/datasets`` and
    ``tests/datasets`` exist; a tool's sibling script and ``tests`` stay first party."""
    local = first_party_names()
    problems = check({'datasets': 'a.py:1', 'convert_pretrained': 'b.py:2', 'tests': 'c.py:3'},
                     {}, {'datasets': ['datasets']}, local)
    assert problems == ["'datasets' (a.py:1) is imported but its distribution datasets is not "
                        'declared in requirements/']
