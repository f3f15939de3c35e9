"""The floors of the package: every import between catravs packages points down.

Floor 0: ``registry``, ``structures``, ``utils``, ``version`` (``utils`` imports no
catravs package at all); floor 1: ``datasets``, ``evaluation``, ``models``; floor 2:
``engine``, ``visualization``; floor 3: ``apis``; floor 4: ``analysis`` (the tools'
back-ends). A module may import its own package and any package on a lower floor;
packages on one floor may import each other only without a cycle. The imports are
read from the source (``ast``), function-level imports included, so a lazy import
that climbs a floor is found too. ``catravs/__init__.py`` (the package's entry,
which installs the checkpoint loader) is the one exception.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE_DIR = Path(__file__).resolve().parents[1] / 'catravs'

FLOORS = {
    'registry': 0, 'structures': 0, 'utils': 0, 'version': 0,
    'datasets': 1, 'evaluation': 1, 'models': 1,
    'engine': 2, 'visualization': 2,
    'apis': 3,
    'analysis': 4,
}
#: packages that may import no other catravs package
SELF_CONTAINED = {'utils'}


def module_name(path: Path, root: Path) -> str:
    """``catravs/models/necks/x.py`` -> ``catravs.models.necks.x`` (a package's
    ``__init__`` is named after the package)."""
    parts = list(path.relative_to(root.parent).with_suffix('').parts)
    if parts[-1] == '__init__':
        parts.pop()
    return '.'.join(parts)


def _exists(root: Path, module: str) -> bool:
    """Whether ``module`` is a package or a module file under ``root``'s parent."""
    path = root.parent / module.replace('.', '/')
    return path.is_dir() or path.with_suffix('.py').is_file()


def _dynamic_import_target(call: ast.Call) -> str | None:
    """The module of ``importlib.import_module('catravs.x')`` / ``__import__('catravs.x')``
    when it is written as a string constant, else None."""
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, 'id', '')
    if name not in ('import_module', '__import__') or not call.args:
        return None
    first = call.args[0]
    if isinstance(first, ast.Constant) and isinstance(first.value, str):
        return first.value
    return None


def imported_modules(path: Path, root: Path) -> list[tuple[str, int]]:
    """Every catravs module that ``path`` imports, absolute or relative, or by name at run
    time (``importlib.import_module`` with a string constant), with its line."""
    name = module_name(path, root)
    is_package = path.name == '__init__.py'
    top = root.name
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding='utf-8'), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against this module's package
                base = name.split('.')
                base = base if is_package else base[:-1]
                base = base[:len(base) - (node.level - 1)]
                target = '.'.join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ''
            # ``from catravs.x import y`` may name a submodule y: count both
            found.append((target, node.lineno))
            found += [(f'{target}.{alias.name}', node.lineno) for alias in node.names
                      if _exists(root, f'{target}.{alias.name}')]
        elif isinstance(node, ast.Call) and _dynamic_import_target(node):
            found.append((_dynamic_import_target(node), node.lineno))
    return [(mod, line) for mod, line in found if mod == top or mod.startswith(f'{top}.')]


def package_of(module: str) -> str | None:
    """The floor-carrying package of a module (``catravs.models.x`` -> ``models``);
    None for the package root itself."""
    parts = module.split('.')
    return parts[1] if len(parts) > 1 else None


def package_edges(root: Path) -> dict[tuple[str, str], list[str]]:
    """``{(from package, to package): ['file:line', ...]}`` over every module of ``root``."""
    edges: dict[tuple[str, str], list[str]] = {}
    for path in sorted(root.rglob('*.py')):
        src = package_of(module_name(path, root))
        if src is None:
            continue  # catravs/__init__.py
        for target, line in imported_modules(path, root):
            dst = package_of(target)
            if dst is not None and dst != src:
                edges.setdefault((src, dst), []).append(
                    f'{path.relative_to(root.parent)}:{line}')
    return edges


def find_cycle(edges) -> list[str] | None:
    """One cycle of the package graph (as a path that ends where it starts), or None."""
    graph: dict[str, set[str]] = {}
    for src, dst in edges:
        graph.setdefault(src, set()).add(dst)
    state: dict[str, int] = {}  # 1: on the stack, 2: done

    def visit(node: str, stack: list[str]) -> list[str] | None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [node, nxt] if nxt in stack else [node, nxt]
            if nxt not in state:
                cycle = visit(nxt, stack + [node])
                if cycle:
                    return cycle
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state:
            cycle = visit(start, [])
            if cycle:
                return cycle
    return None


def floor_violations(edges: dict[tuple[str, str], list[str]]) -> list[str]:
    """What breaks the floor order: unknown packages, imports that go up, imports
    out of a self-contained package, and a cycle."""
    problems = []
    for (src, dst), where in sorted(edges.items()):
        unknown = [p for p in (src, dst) if p not in FLOORS]
        if unknown:
            problems.append(f'package {unknown[0]} has no floor in FLOORS ({where[0]})')
        elif src in SELF_CONTAINED:
            problems.append(f'{src} imports {dst}, but {src} imports no catravs package: '
                            f'{", ".join(where)}')
        elif FLOORS[dst] > FLOORS[src]:
            problems.append(f'{src} (floor {FLOORS[src]}) imports {dst} (floor '
                            f'{FLOORS[dst]}), an arrow back up: {", ".join(where)}')
    cycle = find_cycle(edges)
    if cycle:
        problems.append(f'cycle between packages: {" -> ".join(cycle)}')
    return problems


def test_catravs_imports_follow_the_floors():
    edges = package_edges(PACKAGE_DIR)
    assert edges, 'no imports between packages were found: the parser is broken'
    assert ('apis', 'models') in edges or ('apis', 'structures') in edges
    assert floor_violations(edges) == []


def test_every_package_has_a_floor():
    packages = {p.name for p in PACKAGE_DIR.iterdir()
                if (p / '__init__.py').exists() or p.suffix == '.py'}
    packages = {p.removesuffix('.py') for p in packages} - {'__init__'}
    assert packages - set(FLOORS) == set(), 'a new package needs its floor in FLOORS'


def _fake_package(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / 'catravs'
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    for pkg in ('', 'utils', 'models', 'apis', 'engine', 'models/necks'):
        (root / pkg).mkdir(parents=True, exist_ok=True)
        (root / pkg / '__init__.py').touch()
    return root


@pytest.mark.parametrize('files, expected', [
    # a lazy import inside a function, climbing from models to engine
    ({'models/necks/x.py': 'def f():\n    from catravs.engine import hooks\n'},
     'models (floor 1) imports engine (floor 2)'),
    # a relative import out of utils
    ({'utils/x.py': 'from ..models import necks\n'}, 'utils imports models'),
    # utils importing even the bottom-floor registry
    ({'utils/x.py': 'import catravs.registry\n', 'registry.py': ''}, 'utils imports registry'),
    # an import by name at run time, climbing from models to engine
    ({'models/necks/x.py': 'import importlib\n\n\ndef f():\n'
                           "    return importlib.import_module('catravs.engine')\n"},
     'imports engine (floor 2), an arrow back up: catravs/models/necks/x.py:5'),
    ({'utils/x.py': "hooks = __import__('catravs.engine.hooks')\n"}, 'utils imports engine'),
    # two packages of one floor importing each other
    ({'engine/a.py': 'from catravs.visualization import v\n',
      'visualization/__init__.py': 'from ..engine import a\n'}, 'cycle between packages'),
])
def test_violations_are_found(tmp_path, files, expected):
    problems = floor_violations(package_edges(_fake_package(tmp_path, files)))
    assert any(expected in p for p in problems), problems


def test_downward_imports_pass(tmp_path):
    root = _fake_package(tmp_path, {
        'apis/x.py': 'from catravs.models.necks import x\nfrom ..utils import y\n',
        'models/necks/x.py': 'from ...utils import y\nfrom . import z\n'})
    edges = package_edges(root)
    assert set(edges) == {('apis', 'models'), ('apis', 'utils'), ('models', 'utils')}
    assert floor_violations(edges) == []
